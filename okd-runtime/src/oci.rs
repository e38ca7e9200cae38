//! The registry client for payloads: okd-core's [`ImageRegistry`] over the OCI distribution
//! API (oci-client). Used for every backend's payload, since all of them leave their images
//! in a registry.
//!
//! Loopback registries are spoken to over plain HTTP, like Podman's `insecure = true` entry
//! for them; others over HTTPS unless listed as insecure. Credentials come from the same
//! auth file Podman and Docker use (`REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `~/.docker/config.json`), else anonymous.

use std::path::PathBuf;

use async_trait::async_trait;
use oci_client::{
    Client, Reference,
    client::{ClientConfig, ClientProtocol},
    errors::OciDistributionError,
    secrets::RegistryAuth,
};
use okd_core::{
    Error, ErrorKind, Result,
    payload::{ImageRef, ImageRegistry, media, sha256},
};

/// A registry client. One per command; it caches tokens per repository.
pub struct OciRegistry {
    client: Client,
    /// Each registry's credentials, read from the auth files once.
    credentials: std::sync::Mutex<std::collections::HashMap<String, RegistryAuth>>,
}

impl std::fmt::Debug for OciRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OciRegistry").finish_non_exhaustive()
    }
}

impl OciRegistry {
    /// A client for `images`: plain HTTP to those on loopback and to the `insecure` registries
    /// (`host:port`), HTTPS to the rest.
    pub fn for_images(images: &[&ImageRef], insecure: &[String]) -> OciRegistry {
        // reqwest is built without a crypto provider so that only ring is linked (kube uses
        // it too); installing it twice is harmless, so every client makes sure it is there.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut plain: Vec<String> = insecure.to_vec();
        plain.extend(images.iter().filter(|i| i.is_loopback()).map(|i| i.registry.clone()));
        let config = ClientConfig { protocol: ClientProtocol::HttpsExcept(plain), ..Default::default() };
        OciRegistry { client: Client::new(config), credentials: Default::default() }
    }

    fn reference(image: &ImageRef) -> Result<Reference> {
        image.to_string().parse().map_err(|e| Error::invalid(format!("`{image}`: {e}")))
    }

    /// Gives the client this registry's credentials (read from the auth files once) and returns
    /// them. oci-client then fetches and caches a token per repository and operation when a
    /// request needs one.
    async fn prepare(&self, reference: &Reference) -> RegistryAuth {
        let registry = reference.resolve_registry();
        let auth = self
            .credentials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(registry.to_owned())
            .or_insert_with(|| credentials(registry))
            .clone();
        self.client.store_auth_if_needed(registry, &auth).await;
        auth
    }
}

impl OciRegistry {
    /// Every tag of `image`'s repository (empty for a repository that does not exist yet),
    /// page by page as the distribution API hands them out.
    pub async fn tags(&self, image: &ImageRef) -> Result<Vec<String>> {
        const PAGE: usize = 1000;
        let reference = Self::reference(image)?;
        let auth = self.prepare(&reference).await;
        let mut tags: Vec<String> = Vec::new();
        loop {
            let page = match self
                .client
                .list_tags(&reference, &auth, Some(PAGE), tags.last().map(String::as_str))
                .await
            {
                Ok(page) => page.tags,
                Err(e) => {
                    let error = registry_error(&reference, "list the tags of", e);
                    if error.kind() == ErrorKind::NotFound {
                        return Ok(tags);
                    }
                    return Err(error);
                }
            };
            let full = page.len() >= PAGE;
            tags.extend(page);
            if !full {
                return Ok(tags);
            }
        }
    }
}

/// Basic credentials for `registry` from the container tools' auth files, if any.
fn credentials(registry: &str) -> RegistryAuth {
    let mut files: Vec<PathBuf> = Vec::new();
    if let Some(f) = std::env::var_os("REGISTRY_AUTH_FILE") {
        files.push(f.into());
    }
    if let Some(d) = std::env::var_os("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(d).join("containers/auth.json"));
    }
    if let Some(h) = std::env::var_os("HOME") {
        files.push(PathBuf::from(&h).join(".config/containers/auth.json"));
        files.push(PathBuf::from(h).join(".docker/config.json"));
    }
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
        let Some(auth) = value["auths"][registry]["auth"].as_str() else { continue };
        if let Some((user, password)) = decode_basic(auth) {
            return RegistryAuth::Basic(user, password);
        }
    }
    RegistryAuth::Anonymous
}

fn decode_basic(auth: &str) -> Option<(String, String)> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD.decode(auth).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

fn registry_error(reference: &Reference, action: &str, e: OciDistributionError) -> Error {
    let kind = match &e {
        OciDistributionError::ImageManifestNotFoundError(_) => ErrorKind::NotFound,
        OciDistributionError::AuthenticationFailure(_) | OciDistributionError::UnauthorizedError { .. } => {
            ErrorKind::Unauthorized
        }
        OciDistributionError::ServerError { code, .. } if *code == 404 => ErrorKind::NotFound,
        OciDistributionError::RegistryError { envelope, .. }
            if envelope.errors.iter().any(|e| format!("{:?}", e.code).contains("Unknown")) =>
        {
            ErrorKind::NotFound
        }
        _ => ErrorKind::Unavailable,
    };
    let mut error = Error::new(kind, format!("could not {action} {reference}")).with_source(e);
    if kind == ErrorKind::Unavailable {
        error = error.with_help(format!(
            "check that the registry {} is running and reachable, and for a plain-HTTP registry that is \
             not on loopback pass --insecure-registry HOST:PORT",
            reference.resolve_registry()
        ));
    }
    error
}

#[async_trait]
impl ImageRegistry for OciRegistry {
    async fn manifest(&self, image: &ImageRef) -> Result<(Vec<u8>, String)> {
        let reference = Self::reference(image)?;
        let auth = self.prepare(&reference).await;
        let (bytes, digest) = self
            .client
            .pull_manifest_raw(&reference, &auth, media::ACCEPTED)
            .await
            .map_err(|e| registry_error(&reference, "read the manifest of", e))?;
        if let Some(expected) = &image.digest
            && &sha256(&bytes) != expected
        {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("the manifest of {image} does not match its digest"),
            ));
        }
        Ok((bytes.to_vec(), digest))
    }

    async fn blob(&self, image: &ImageRef, digest: &str) -> Result<Vec<u8>> {
        let reference = Self::reference(image)?;
        self.prepare(&reference).await;
        let mut out = Vec::new();
        // pull_blob verifies the digest as it reads.
        self.client
            .pull_blob(&reference, digest, &mut out)
            .await
            .map_err(|e| registry_error(&reference, "read a blob of", e))?;
        Ok(out)
    }

    async fn mount_blob(&self, to: &ImageRef, from: &ImageRef, digest: &str) -> Result<()> {
        let (target, source) = (Self::reference(to)?, Self::reference(from)?);
        self.prepare(&target).await;
        if self.client.blob_exists(&target, digest).await.unwrap_or(false) {
            return Ok(());
        }
        if to.registry == from.registry && self.client.mount_blob(&target, &source, digest).await.is_ok() {
            return Ok(());
        }
        // Across registries, or where mounts are refused: copy through memory.
        let data = self.blob(from, digest).await?;
        self.push_blob(to, data, digest).await
    }

    async fn push_blob(&self, image: &ImageRef, data: Vec<u8>, digest: &str) -> Result<()> {
        let reference = Self::reference(image)?;
        self.prepare(&reference).await;
        self.client
            .push_blob(&reference, data, digest)
            .await
            .map_err(|e| registry_error(&reference, "push a blob to", e))?;
        Ok(())
    }

    async fn push_manifest(&self, image: &ImageRef, data: Vec<u8>, media_type: &str) -> Result<String> {
        let reference = Self::reference(image)?;
        self.prepare(&reference).await;
        let digest = sha256(&data);
        let content_type = media_type
            .parse()
            .map_err(|_| Error::new(ErrorKind::Internal, format!("`{media_type}` is not a header value")))?;
        self.client
            .push_manifest_raw(&reference, data, content_type)
            .await
            .map_err(|e| registry_error(&reference, "push the manifest of", e))?;
        Ok(digest)
    }
}

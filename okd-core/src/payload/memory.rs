//! An in-memory registry for tests: repositories of blobs and tagged manifests, with the
//! digests a real registry would compute.

use std::{
    collections::{BTreeMap, HashMap},
    sync::Mutex,
};

use async_trait::async_trait;

use super::{ImageRef, ImageRegistry, sha256};
use crate::{Error, ErrorKind, Result};

#[derive(Debug, Default)]
struct Repository {
    blobs: HashMap<String, Vec<u8>>,
    manifests: HashMap<String, Vec<u8>>,
    tags: BTreeMap<String, String>,
}

/// A registry held in memory. Mounts copy, as a registry without cross-repository mounts does.
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    repositories: Mutex<HashMap<String, Repository>>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(&self, image: &ImageRef, f: impl FnOnce(&mut Repository) -> T) -> T {
        let mut repos = self.repositories.lock().unwrap_or_else(|p| p.into_inner());
        f(repos.entry(image.name()).or_default())
    }

    /// Stores an image: its blobs, then its manifest under `image`'s tag. Returns the digest.
    pub fn put_image(&self, image: &ImageRef, blobs: Vec<Vec<u8>>, manifest: Vec<u8>) -> String {
        self.with(image, |r| {
            for b in blobs {
                r.blobs.insert(sha256(&b), b);
            }
            let digest = sha256(&manifest);
            r.manifests.insert(digest.clone(), manifest);
            if let Some(tag) = &image.tag {
                r.tags.insert(tag.clone(), digest.clone());
            }
            digest
        })
    }
}

fn missing(what: &str, image: &ImageRef) -> Error {
    Error::new(ErrorKind::NotFound, format!("{what} not found in {}", image.name()))
}

#[async_trait]
impl ImageRegistry for MemoryRegistry {
    async fn manifest(&self, image: &ImageRef) -> Result<(Vec<u8>, String)> {
        self.with(image, |r| {
            let digest = match (&image.digest, &image.tag) {
                (Some(d), _) => d.clone(),
                (None, Some(t)) => {
                    r.tags.get(t).cloned().ok_or_else(|| missing(&format!("tag {t}"), image))?
                }
                (None, None) => return Err(missing("an untagged manifest", image)),
            };
            let bytes = r
                .manifests
                .get(&digest)
                .cloned()
                .ok_or_else(|| missing(&format!("manifest {digest}"), image))?;
            Ok((bytes, digest))
        })
    }

    async fn blob(&self, image: &ImageRef, digest: &str) -> Result<Vec<u8>> {
        self.with(image, |r| {
            r.blobs.get(digest).cloned().ok_or_else(|| missing(&format!("blob {digest}"), image))
        })
    }

    async fn mount_blob(&self, to: &ImageRef, from: &ImageRef, digest: &str) -> Result<()> {
        let blob = self.blob(from, digest).await?;
        self.with(to, |r| r.blobs.insert(digest.to_owned(), blob));
        Ok(())
    }

    async fn push_blob(&self, image: &ImageRef, data: Vec<u8>, digest: &str) -> Result<()> {
        if sha256(&data) != digest {
            return Err(Error::invalid(format!("blob upload to {}: digest mismatch", image.name())));
        }
        self.with(image, |r| r.blobs.insert(digest.to_owned(), data));
        Ok(())
    }

    async fn push_manifest(&self, image: &ImageRef, data: Vec<u8>, _media_type: &str) -> Result<String> {
        let value: serde_json::Value = serde_json::from_slice(&data)
            .map_err(|e| Error::invalid("manifest is not JSON").with_source(e))?;
        // A registry refuses a manifest whose blobs it lacks.
        let mut needed: Vec<String> = super::image::layer_digests(&value);
        needed.extend(super::image::config_digest(&value).map(str::to_owned));
        self.with(image, |r| {
            if let Some(d) = needed.iter().find(|d| !r.blobs.contains_key(*d)) {
                return Err(Error::invalid(format!(
                    "manifest refers to blob {d} that {} lacks",
                    image.name()
                )));
            }
            let digest = sha256(&data);
            r.manifests.insert(digest.clone(), data);
            if let Some(tag) = &image.tag {
                r.tags.insert(tag.clone(), digest.clone());
            }
            Ok(digest)
        })
    }
}

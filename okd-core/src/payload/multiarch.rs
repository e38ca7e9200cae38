//! Pushing the release image. When the CVO image is a manifest list, the release image is one
//! too: per platform of the CVO, that platform's CVO with the same `release-manifests/` layer on
//! top, under an index of the CVO list's own type, as `oc adm release new --keep-manifest-list`
//! makes it. The image references keep whatever each input is (a list stays a list), so every
//! platform's release points at the same component images.

use serde::Serialize;
use serde_json::{Value, json};

use super::{
    ImageRef, ImageRegistry, Layer, image, image::media, parse_json, release_config, release_manifest, sha256,
};
use crate::{Error, ErrorKind, Result};

/// One platform's release image inside a multi-arch release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformImage {
    /// `linux/arm64`, with `/variant` when the CVO list gives one.
    pub platform: String,
    /// The platform image's manifest digest.
    pub digest: String,
}

/// The CVO image an assembly builds on: as the input list or manifest names it.
pub(super) struct Base<'a> {
    pub(super) image: &'a ImageRef,
    /// The single-image manifest (the linux/amd64 member of a list), its config and digest.
    pub(super) manifest: &'a Value,
    pub(super) config: &'a Value,
    pub(super) manifest_digest: &'a str,
}

/// What the release is: its manifest's context and the layer every platform shares.
pub(super) struct Release<'a> {
    pub(super) name: &'a str,
    pub(super) created: &'a str,
    pub(super) layer: &'a Layer,
}

/// Pushes the release image to `target` and returns its digest, and the platform images when
/// it is a list.
pub(super) async fn push(
    registry: &dyn ImageRegistry,
    target: &ImageRef,
    base: &Base<'_>,
    release: &Release<'_>,
) -> Result<(String, Vec<PlatformImage>)> {
    let (raw, _) = registry.manifest(base.image).await?;
    let top = parse_json(&raw, &format!("the manifest of {}", base.image))?;
    let Some(members) = top.get("manifests").and_then(Value::as_array) else {
        let (digest, _, _) =
            push_one(registry, target, base.image, base.manifest, base.config, base.manifest_digest, release)
                .await?;
        return Ok((digest, Vec::new()));
    };
    let mut entries = Vec::new();
    let mut platforms = Vec::new();
    // Attestation manifests (platform unknown/unknown) describe an image; they are not one.
    for member in members.iter().filter(|m| m["platform"]["os"] == "linux") {
        let digest = member["digest"].as_str().ok_or_else(|| {
            Error::invalid(format!("a member of {}'s manifest list has no digest", base.image))
        })?;
        let at = base.image.at_digest(digest);
        let (bytes, member_digest) = registry.manifest(&at).await?;
        let manifest = parse_json(&bytes, &format!("the manifest of {at}"))?;
        let config_digest =
            image::config_digest(&manifest).ok_or_else(|| Error::invalid(format!("{at} has no config")))?;
        let config = parse_json(&registry.blob(&at, config_digest).await?, &format!("the config of {at}"))?;
        let (pushed, size, media_type) =
            push_one(registry, target, &at, &manifest, &config, &member_digest, release).await?;
        let platform = &member["platform"];
        let mut name = format!(
            "{}/{}",
            platform["os"].as_str().unwrap_or("linux"),
            platform["architecture"].as_str().unwrap_or("unknown")
        );
        if let Some(variant) = platform["variant"].as_str() {
            name = format!("{name}/{variant}");
        }
        platforms.push(PlatformImage { platform: name, digest: pushed.clone() });
        entries.push(json!({"mediaType": media_type, "size": size, "digest": pushed, "platform": platform}));
    }
    if entries.is_empty() {
        return Err(Error::invalid(format!("the manifest list of {} has no linux image", base.image)));
    }
    let list_type = match top.get("mediaType").and_then(Value::as_str) {
        Some(media::DOCKER_LIST) => media::DOCKER_LIST,
        _ => media::OCI_INDEX,
    };
    let index = json!({"schemaVersion": 2, "mediaType": list_type, "manifests": entries});
    let bytes =
        serde_json::to_vec(&index).map_err(|e| Error::new(ErrorKind::Internal, "index").with_source(e))?;
    // The index goes last: the tag ends on it, and every member it names is already there.
    let digest = registry.push_manifest(target, bytes, list_type).await?;
    Ok((digest, platforms))
}

/// Pushes one platform's release image (its CVO's layers mounted, the release layer and the new
/// config uploaded) under `target`'s tag; returns its digest, size and media type.
async fn push_one(
    registry: &dyn ImageRegistry,
    target: &ImageRef,
    from: &ImageRef,
    manifest: &Value,
    config: &Value,
    manifest_digest: &str,
    release: &Release<'_>,
) -> Result<(String, usize, &'static str)> {
    let config =
        release_config(config, release.name, manifest_digest, &release.layer.diff_id, release.created)?;
    let config_bytes =
        serde_json::to_vec(&config).map_err(|e| Error::new(ErrorKind::Internal, "config").with_source(e))?;
    let (manifest, media_type) = release_manifest(manifest, &config_bytes, release.layer)?;
    let manifest_bytes = serde_json::to_vec(&manifest)
        .map_err(|e| Error::new(ErrorKind::Internal, "manifest").with_source(e))?;
    for digest in image::layer_digests(&manifest).iter().filter(|d| **d != release.layer.digest) {
        registry.mount_blob(target, from, digest).await?;
    }
    registry.push_blob(target, release.layer.blob.clone(), &release.layer.digest).await?;
    registry.push_blob(target, config_bytes.clone(), &sha256(&config_bytes)).await?;
    let size = manifest_bytes.len();
    let digest = registry.push_manifest(target, manifest_bytes, media_type).await?;
    Ok((digest, size, media_type))
}

/// The linux platform images of a manifest list or index (empty for a single image), in the
/// list's order.
pub(super) fn platforms_of(manifest: &Value) -> Vec<PlatformImage> {
    let Some(members) = manifest.get("manifests").and_then(Value::as_array) else { return Vec::new() };
    members
        .iter()
        .filter(|m| m["platform"]["os"] == "linux")
        .filter_map(|m| {
            let p = &m["platform"];
            let mut platform = format!("linux/{}", p["architecture"].as_str()?);
            if let Some(v) = p["variant"].as_str() {
                platform.push('/');
                platform.push_str(v);
            }
            Some(PlatformImage { platform, digest: m["digest"].as_str()?.to_owned() })
        })
        .collect()
}

//! The release image's bytes: the `release-manifests/` layer, and the config and manifest that
//! put it on top of the CVO image (oc new.go `writePayload`, `ConfigurationCallback`).

use std::io::{Read, Write};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::manifests::ManifestFile;
use crate::{Error, ErrorKind, Result};

/// The manifest media types the payload reads and writes.
pub mod media {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// Docker schema 2 manifest.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// OCI gzip layer.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// Docker gzip layer.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// OCI config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// Docker config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Every manifest type a pull accepts.
    pub const ACCEPTED: &[&str] = &[OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST];
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A gzip layer and the two digests an image needs of it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The compressed bytes, as pushed.
    pub blob: Vec<u8>,
    /// sha256 of `blob` (the manifest's layer digest).
    pub digest: String,
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids` entry).
    pub diff_id: String,
}

/// Tars and gzips `release-manifests/` in oc's order and modes: the directory (0777), then
/// image-references and release-metadata, then every manifest (0444), the first three with the
/// newest manifest mtime so the layer is reproducible from its inputs.
pub fn release_layer(
    image_references: &[u8],
    release_metadata: &[u8],
    files: &[ManifestFile],
) -> Result<Layer> {
    let newest = files.iter().map(|f| f.mtime).max().unwrap_or(0);
    let mut builder = tar::Builder::new(Vec::new());
    let mut append = |path: &str, mode: u32, mtime: u64, data: &[u8], dir: bool| -> std::io::Result<()> {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(if dir { tar::EntryType::Directory } else { tar::EntryType::Regular });
        header.set_mode(mode);
        header.set_mtime(mtime);
        header.set_size(data.len() as u64);
        builder.append_data(&mut header, path, data)
    };
    let layer_error = |e: std::io::Error| {
        Error::new(ErrorKind::Internal, "writing the release-manifests layer").with_source(e)
    };
    append("release-manifests/", 0o777, newest, &[], true).map_err(layer_error)?;
    append("release-manifests/image-references", 0o444, newest, image_references, false)
        .map_err(layer_error)?;
    append("release-manifests/release-metadata", 0o444, newest, release_metadata, false)
        .map_err(layer_error)?;
    for f in files {
        append(&format!("release-manifests/{}", f.name), 0o444, f.mtime, &f.content, false)
            .map_err(layer_error)?;
    }
    let tar = builder.into_inner().map_err(layer_error)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).map_err(layer_error)?;
    let blob = gz.finish().map_err(layer_error)?;
    Ok(Layer { digest: sha256(&blob), diff_id: sha256(&tar), blob })
}

/// The top-level regular files under `dir/` in a layer blob (gzip or plain tar), in tar
/// order. Paths may start with `/` or `./`; whiteouts and deeper files are skipped, as oc
/// skips directories when it writes the payload.
pub fn files_in_layer(blob: &[u8], dir: &str) -> Result<Vec<ManifestFile>> {
    let reader: Box<dyn Read + '_> = if blob.starts_with(&[0x1f, 0x8b]) {
        Box::new(flate2::read::GzDecoder::new(blob))
    } else if blob.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(Error::not_implemented("payload", "reading zstd-compressed layers"));
    } else {
        Box::new(blob)
    };
    let bad = |e: std::io::Error| Error::invalid("an image layer is not a readable tar").with_source(e);
    let mut archive = tar::Archive::new(reader);
    let mut files = Vec::new();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let path = path.trim_start_matches("./").trim_start_matches('/');
        let Some(name) = path.strip_prefix(dir).and_then(|p| p.strip_prefix('/')) else { continue };
        if name.is_empty() || name.contains('/') || name.starts_with(".wh.") {
            continue;
        }
        let name = name.to_owned();
        let mtime = entry.header().mtime().unwrap_or(0);
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(bad)?;
        files.push(ManifestFile { name, content, mtime });
    }
    Ok(files)
}

/// The release image's config: the CVO's, with its labels replaced by exactly the two release
/// labels, the new layer's diff_id appended, one history entry, and the container fields that
/// describe how the CVO was built cleared.
pub fn release_config(
    base: &Value,
    release_name: &str,
    base_digest: &str,
    diff_id: &str,
    created: &str,
) -> Result<Value> {
    let mut config = base.clone();
    let object = config
        .as_object_mut()
        .ok_or_else(|| Error::invalid("the CVO image's config is not a JSON object"))?;
    for key in ["container", "parent", "container_config"] {
        object.remove(key);
    }
    object.insert("created".into(), json!(created));
    object.insert("history".into(), json!([{"created": created, "comment": "Release image for OpenShift"}]));
    object.entry("os").or_insert(json!("linux"));
    object.entry("architecture").or_insert(json!("amd64"));
    let inner = object.entry("config").or_insert(json!({}));
    if let Some(inner) = inner.as_object_mut() {
        inner.insert(
            "Labels".into(),
            json!({"io.openshift.release": release_name, "io.openshift.release.base-image-digest": base_digest}),
        );
    }
    let diff_ids = object
        .get_mut("rootfs")
        .and_then(|r| r.get_mut("diff_ids"))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::invalid("the CVO image's config has no rootfs.diff_ids"))?;
    diff_ids.push(json!(diff_id));
    Ok(config)
}

/// The release image's manifest: the CVO's, with the new config and the layer on top, in the
/// CVO manifest's own format (Docker or OCI) so its layers need no conversion.
pub fn release_manifest(base: &Value, config: &[u8], layer: &Layer) -> Result<(Value, &'static str)> {
    let media_type = base.get("mediaType").and_then(Value::as_str).unwrap_or(media::OCI_MANIFEST);
    let (manifest_type, config_type, layer_type) = if media_type == media::DOCKER_MANIFEST {
        (media::DOCKER_MANIFEST, media::DOCKER_CONFIG, media::DOCKER_LAYER_GZIP)
    } else {
        (media::OCI_MANIFEST, media::OCI_CONFIG, media::OCI_LAYER_GZIP)
    };
    let mut manifest = base.clone();
    let object = manifest
        .as_object_mut()
        .ok_or_else(|| Error::invalid("the CVO image's manifest is not a JSON object"))?;
    object.insert("mediaType".into(), json!(manifest_type));
    object.insert(
        "config".into(),
        json!({"mediaType": config_type, "size": config.len(), "digest": sha256(config)}),
    );
    let layers = object
        .get_mut("layers")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| Error::invalid("the CVO image's manifest has no layers"))?;
    layers.push(json!({"mediaType": layer_type, "size": layer.blob.len(), "digest": layer.digest}));
    // Annotations describe the CVO build, not the release.
    object.remove("annotations");
    Ok((manifest, manifest_type))
}

/// Layer digests of an image manifest, bottom first.
pub fn layer_digests(manifest: &Value) -> Vec<String> {
    manifest
        .get("layers")
        .and_then(Value::as_array)
        .map(|l| l.iter().filter_map(|d| d.get("digest")?.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// The config digest of an image manifest.
pub fn config_digest(manifest: &Value) -> Option<&str> {
    manifest.get("config")?.get("digest")?.as_str()
}

/// For a manifest list or index, the `linux/<arch>` member's digest; `None` for a single image.
pub fn platform_member(manifest: &Value, arch: &str) -> Option<Result<String>> {
    let members = manifest.get("manifests")?.as_array()?;
    let found = members.iter().find(|m| {
        let p = &m["platform"];
        p["os"] == "linux" && p["architecture"] == arch
    });
    let arches: Vec<&str> = members.iter().filter_map(|m| m["platform"]["architecture"].as_str()).collect();
    Some(found.and_then(|m| m["digest"].as_str().map(str::to_owned)).ok_or_else(|| {
        Error::invalid(format!("the manifest list has no linux/{arch} image"))
            .with_help(format!("it has: {}", arches.join(", ")))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_layer_round_trips_in_oc_order() {
        let files = vec![
            ManifestFile { name: "0000_70_a.yaml".into(), content: b"kind: A".to_vec(), mtime: 100 },
            ManifestFile { name: "0000_80_b.yaml".into(), content: b"kind: B".to_vec(), mtime: 200 },
        ];
        let layer = release_layer(b"{}", b"{\"kind\":\"cincinnati-metadata-v0\"}", &files).expect("layer");
        assert_eq!(layer.digest, sha256(&layer.blob));
        let read = files_in_layer(&layer.blob, "release-manifests").expect("reads back");
        let names: Vec<_> = read.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["image-references", "release-metadata", "0000_70_a.yaml", "0000_80_b.yaml"]);
        assert_eq!(read[0].mtime, 200, "metadata files take the newest manifest mtime");
        assert_eq!(read[2].mtime, 100);
        let again = release_layer(b"{}", b"{\"kind\":\"cincinnati-metadata-v0\"}", &files).expect("layer");
        assert_eq!(again.digest, layer.digest, "the same inputs give the same layer");
    }

    #[test]
    fn the_config_carries_exactly_the_release_labels() {
        let base = json!({"architecture": "amd64", "config": {"Labels": {"a": "b"}, "Entrypoint": ["/cvo"]},
            "container_config": {}, "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]}});
        let config = release_config(&base, "4.17.0", "sha256:cvo", "sha256:2", "2026-01-01T00:00:00Z")
            .expect("config");
        assert_eq!(
            config["config"]["Labels"],
            json!({"io.openshift.release": "4.17.0", "io.openshift.release.base-image-digest": "sha256:cvo"})
        );
        assert_eq!(config["config"]["Entrypoint"], json!(["/cvo"]));
        assert_eq!(config["rootfs"]["diff_ids"], json!(["sha256:1", "sha256:2"]));
        assert!(config.get("container_config").is_none());
    }
}

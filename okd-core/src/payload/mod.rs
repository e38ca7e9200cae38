//! Release payloads: the CVO image plus one `release-manifests/` layer, assembled the way
//! `oc adm release new` does it, read back the way `oc adm release info` does, and compared.
//!
//! Pure rules over an injected [`ImageRegistry`]; the CLI wires in a real registry client,
//! tests an in-memory one. See `shared/reference/release-payload.md` for the format.

mod derive;
mod image;
mod info;
mod manifests;
mod memory;
mod multiarch;
mod partner;
mod reference;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use serde_json::Value;

pub use derive::{
    DeriveOptions, DerivedRelease, DockerfileLocation, TagSource, derive_manifest, image_labels, tag_sources,
};
pub use image::{Layer, files_in_layer, media, release_config, release_layer, release_manifest, sha256};
pub use info::{PayloadDiff, ReleaseInfo, TagChange, TagInfo, diff, read, read_arch, resolve_arch};
pub use manifests::{
    ImageStream, ManifestFile, ObjectReference, OperatorManifests, StreamMeta, StreamSpec, StreamTag,
};
pub use memory::MemoryRegistry;
pub use multiarch::PlatformImage;
pub use partner::{TagOrigin, merge, pin};
pub use reference::{ImageRef, valid_tag};
pub use stream::{Stream, mirror_mapping, nightlies};

use crate::{Error, Result};

/// The label that makes an image's `/manifests` part of the payload.
pub const OPERATOR_LABEL: &str = "io.openshift.release.operator";
/// The tag whose image the release image is built on.
pub const BASE_TAG: &str = "cluster-version-operator";
/// Component version keys oc accepts in `io.openshift.build.versions`.
pub const ALLOWED_VERSION_KEYS: &[&str] =
    &["kubernetes", "machine-os", "kernel", "crio", "kubectl", "kubernetes-tests"];
/// okd-build's label for the content hash of a path source: a commit stand-in, so diffs can tell
/// a code change from a rebuild for sources that have no commit.
pub const SOURCE_CONTENT_LABEL: &str = "io.okd-build.source-content";

/// A container registry, as far as payloads need one. Object safe; every method takes a fully
/// qualified reference.
#[async_trait]
pub trait ImageRegistry: Send + Sync + std::fmt::Debug {
    /// The raw manifest `image` names, and its digest.
    async fn manifest(&self, image: &ImageRef) -> Result<(Vec<u8>, String)>;
    /// Blob `digest` of `image`'s repository.
    async fn blob(&self, image: &ImageRef, digest: &str) -> Result<Vec<u8>>;
    /// Makes blob `digest` of `from`'s repository available in `to`'s (a cross-repository
    /// mount where the registry allows it, else a copy). A no-op when it is already there.
    async fn mount_blob(&self, to: &ImageRef, from: &ImageRef, digest: &str) -> Result<()>;
    /// Uploads a blob whose sha256 is `digest`.
    async fn push_blob(&self, image: &ImageRef, data: Vec<u8>, digest: &str) -> Result<()>;
    /// Uploads a manifest under `image`'s tag and returns its digest.
    async fn push_manifest(&self, image: &ImageRef, data: Vec<u8>, media_type: &str) -> Result<String>;
}

/// One input tag: its name in the payload and its image, by digest.
#[derive(Debug, Clone)]
pub struct PayloadTag {
    /// Tag name (`cli`, `cluster-version-operator`, ...).
    pub name: String,
    /// The image; must carry a digest.
    pub image: ImageRef,
}

/// The payload tags of `plan` from a run's results: every `payload: true` component, at the
/// image and digest its build reported. The image's repository is the one the backend pushed to
/// (Konflux's IMAGE_URL, the local backend's `<registry>/<repository>:<component>`), so
/// payloads work whichever backend built the images. A payload component without a successful
/// or reused result with a digest is NotFound, naming it.
pub fn tags_from_run(
    plan: &crate::plan::Plan,
    status: &crate::backend::RunStatus,
) -> Result<Vec<PayloadTag>> {
    let (tags, missing) = built_tags(plan, status)?;
    match missing.first() {
        None => Ok(tags),
        Some(name) => Err(Error::new(
            crate::ErrorKind::NotFound,
            if status.run.0.is_empty() {
                format!("payload component {name} has no built image")
            } else {
                format!("payload component {name} has no built image in run {}", status.run)
            },
        )),
    }
}

/// The payload tags `status` has images for, and the payload components it has none for (in
/// plan order). A partner payload (`--from-release`) takes the missing ones from the release.
pub fn built_tags(
    plan: &crate::plan::Plan,
    status: &crate::backend::RunStatus,
) -> Result<(Vec<PayloadTag>, Vec<String>)> {
    use crate::backend::Outcome;
    let (mut tags, mut missing) = (Vec::new(), Vec::new());
    for component in plan.components.iter().filter(|c| c.payload) {
        let result = status
            .components
            .iter()
            .find(|r| r.name == component.name && matches!(r.outcome, Outcome::Succeeded | Outcome::Reused));
        let Some((image, digest)) = result.and_then(|r| Some((r.image.as_deref(), r.digest.as_deref()?)))
        else {
            missing.push(component.name.clone());
            continue;
        };
        let image = ImageRef::parse(image.unwrap_or(&component.image))
            .map_err(|e| e.context(format!("the image of {}", component.name)))?;
        tags.push(PayloadTag { name: component.name.clone(), image: image.at_digest(digest) });
    }
    Ok((tags, missing))
}

/// How to assemble.
#[derive(Debug, Clone)]
pub struct AssembleOptions {
    /// The release name, a strict semver (`4.17.0-0.okd-scos-2026-01-20-123456`).
    pub name: String,
    /// Where to push; the tag defaults to the name.
    pub to: ImageRef,
    /// Releases this one upgrades from (`release-metadata.previous`).
    pub previous: Vec<String>,
    /// Tags kept even when no operator references them (oc `--include`).
    pub include: Vec<String>,
    /// `release-metadata.metadata`.
    pub metadata: BTreeMap<String, String>,
    /// Creation time, RFC 3339 in seconds.
    pub created: String,
}

/// What assembling produced.
#[derive(Debug, Clone, Serialize)]
pub struct Assembled {
    /// The pushed release image, by tag.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// `release-manifests/image-references`.
    pub image_references: ImageStream,
    /// Manifest file names in the layer.
    pub manifests: Vec<String>,
    /// Tags no operator references: in the payload only because they were included. oc without
    /// `--include` would prune them.
    pub unreferenced: Vec<String>,
    /// Tags pruned because nothing references or includes them.
    pub pruned: Vec<String>,
    /// When the CVO image is a manifest list, the release is one too: its platform images.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformImage>,
    /// Where each tag came from, when the payload started from another release or replaced
    /// tags (empty when every tag was built by the run).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub origins: BTreeMap<String, TagOrigin>,
    /// The release it started from (`--from-release`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_release: Option<String>,
}

/// `release-metadata`, with the fields in the order oc writes them.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ReleaseMetadata {
    /// `cincinnati-metadata-v0`.
    pub kind: String,
    /// The release name.
    pub version: String,
    /// Releases it upgrades from, sorted.
    #[serde(default)]
    pub previous: Vec<String>,
    /// Releases it upgrades to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub next: Vec<String>,
    /// Free-form keys (`url`, channels, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// What one input image contributes.
struct Input {
    tag: PayloadTag,
    pull_spec: String,
    manifest_digest: String,
    labels: BTreeMap<String, String>,
    manifests: Option<Vec<ManifestFile>>,
    manifest: Value,
    config: Value,
}

/// Parses a manifest, following a list to its linux/amd64 image.
async fn image_manifest(registry: &dyn ImageRegistry, image: &ImageRef) -> Result<(Value, String)> {
    image_manifest_for(registry, image, "amd64").await.map(|(m, d, _)| (m, d))
}

/// Parses a manifest, following a list to its linux/`arch` image; with the list's platforms
/// (empty for a single image).
async fn image_manifest_for(
    registry: &dyn ImageRegistry,
    image: &ImageRef,
    arch: &str,
) -> Result<(Value, String, Vec<PlatformImage>)> {
    let (bytes, digest) = registry.manifest(image).await?;
    let manifest = parse_json(&bytes, &format!("the manifest of {image}"))?;
    let platforms = multiarch::platforms_of(&manifest);
    match image::platform_member(&manifest, arch) {
        None => Ok((manifest, digest, platforms)),
        Some(member) => {
            let member = image.at_digest(&member.map_err(|e| e.context(image.to_string()))?);
            let (bytes, digest) = registry.manifest(&member).await?;
            Ok((parse_json(&bytes, &format!("the manifest of {member}"))?, digest, platforms))
        }
    }
}

fn parse_json(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| Error::invalid(format!("{what} is not JSON")).with_source(e))
}

async fn read_input(registry: &dyn ImageRegistry, tag: PayloadTag) -> Result<Input> {
    let digest = tag.image.digest.clone().ok_or_else(|| {
        Error::invalid(format!("payload tag {} is not a digest reference ({})", tag.name, tag.image))
    })?;
    let (manifest, manifest_digest) = image_manifest(registry, &tag.image).await?;
    let config_digest = image::config_digest(&manifest)
        .ok_or_else(|| Error::invalid(format!("{} has no config", tag.image)))?
        .to_owned();
    let config = parse_json(
        &registry.blob(&tag.image, &config_digest).await?,
        &format!("the config of {}", tag.image),
    )?;
    let labels: BTreeMap<String, String> = config["config"]["Labels"]
        .as_object()
        .map(|l| l.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default();
    let manifests = if labels.get(OPERATOR_LABEL).is_some_and(|v| !v.is_empty()) {
        // oc reads /manifests from the last layer only; an image whose last layer lacks it
        // contributes no manifests there either.
        let last = image::layer_digests(&manifest)
            .pop()
            .ok_or_else(|| Error::invalid(format!("{} has no layers", tag.image)))?;
        Some(files_in_layer(&registry.blob(&tag.image, &last).await?, "manifests")?)
    } else {
        None
    };
    let pull_spec = tag.image.at_digest(&digest).to_string();
    Ok(Input { tag, pull_spec, manifest_digest, labels, manifests, manifest, config })
}

/// The tag annotations oc copies from labels (`io.openshift.build.*`), plus okd-build's own.
fn tag_annotations(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| k.starts_with("io.openshift.build.") || k.as_str() == SOURCE_CONTENT_LABEL)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `key=version,...` from `io.openshift.build.versions`, checked against oc's allowed keys.
fn component_versions(tag: &str, labels: &BTreeMap<String, String>) -> Result<Vec<(String, String)>> {
    let Some(text) = labels.get("io.openshift.build.versions") else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, version) = pair.split_once('=').ok_or_else(|| {
            Error::invalid(format!("{tag}: io.openshift.build.versions entry `{pair}` is not KEY=VERSION"))
        })?;
        if !ALLOWED_VERSION_KEYS.contains(&key) {
            return Err(Error::invalid(format!("{tag}: component version key `{key}` is not allowed"))
                .with_help(format!("oc accepts only {}", ALLOWED_VERSION_KEYS.join(", "))));
        }
        let version = version.split('+').next().unwrap_or(version);
        semver::Version::parse(version).map_err(|e| {
            Error::invalid(format!("{tag}: version `{version}` of `{key}` is not semver: {e}"))
        })?;
        out.push((key.to_owned(), version.to_owned()));
    }
    Ok(out)
}

/// Assembles the release image from `tags` and pushes it to `options.to`.
pub async fn assemble(
    registry: &dyn ImageRegistry,
    tags: Vec<PayloadTag>,
    options: &AssembleOptions,
) -> Result<Assembled> {
    semver::Version::parse(&options.name).map_err(|e| {
        Error::invalid(format!("release name `{}` is not a strict semver: {e}", options.name))
            .with_help("payload names look like 4.17.0-0.okd-scos-2026-01-20-123456")
    })?;
    for p in &options.previous {
        semver::Version::parse(p)
            .map_err(|e| Error::invalid(format!("--previous `{p}` is not semver: {e}")))?;
    }
    let mut seen = BTreeSet::new();
    if let Some(dup) = tags.iter().find(|t| !seen.insert(t.name.clone())) {
        return Err(Error::invalid(format!("payload tag {} is given twice", dup.name)));
    }
    let mut inputs: Vec<Input> = futures::stream::iter(tags.into_iter().map(|t| read_input(registry, t)))
        .buffered(8)
        .try_collect()
        .await?;
    inputs.sort_by(|a, b| a.tag.name.cmp(&b.tag.name));

    let pull_specs: BTreeMap<String, String> =
        inputs.iter().map(|i| (i.tag.name.clone(), i.pull_spec.clone())).collect();
    let mut versions: BTreeMap<String, String> = BTreeMap::new();
    for input in &inputs {
        for (key, version) in component_versions(&input.tag.name, &input.labels)? {
            match versions.get(&key) {
                Some(other) if other != &version && key != "machine-os" => {
                    return Err(Error::invalid(format!(
                        "component `{key}` is reported as both {other} and {version} ({} is one of them)",
                        input.tag.name
                    )));
                }
                _ => {
                    versions.insert(key, version);
                }
            }
        }
    }

    let mut taken = BTreeSet::new();
    let mut files = Vec::new();
    let mut referenced: BTreeSet<String> = BTreeSet::new();
    let mut operators = BTreeSet::new();
    for input in &inputs {
        let Some(manifests) = &input.manifests else { continue };
        let operator = OperatorManifests { tag: input.tag.name.clone(), files: manifests.clone() };
        let rewritten =
            manifests::rewrite_operator(&operator, &options.name, &pull_specs, &versions, &mut taken)?;
        operators.insert(input.tag.name.clone());
        referenced.extend(rewritten.references);
        files.extend(rewritten.files);
    }

    let base = inputs.iter().find(|i| i.tag.name == BASE_TAG).ok_or_else(|| {
        Error::invalid(format!(
            "the payload has no `{BASE_TAG}` tag, whose image the release image is built on"
        ))
        .with_help(format!("add a payload component named {BASE_TAG}"))
    })?;
    let keep = |name: &str| {
        referenced.contains(name)
            || operators.contains(name)
            || options.include.iter().any(|i| i == name)
            || name == BASE_TAG
    };
    let pruned: Vec<String> =
        inputs.iter().filter(|i| !keep(&i.tag.name)).map(|i| i.tag.name.clone()).collect();
    let unreferenced: Vec<String> = inputs
        .iter()
        .map(|i| &i.tag.name)
        .filter(|n| keep(n) && !referenced.contains(*n) && !operators.contains(*n) && n.as_str() != BASE_TAG)
        .cloned()
        .collect();

    let image_references = ImageStream {
        kind: "ImageStream".into(),
        api_version: "image.openshift.io/v1".into(),
        metadata: StreamMeta {
            name: options.name.clone(),
            creation_timestamp: Some(options.created.clone()),
            annotations: BTreeMap::new(),
        },
        spec: StreamSpec {
            lookup_policy: Some(serde_json::json!({"local": false})),
            tags: inputs
                .iter()
                .filter(|i| keep(&i.tag.name))
                .map(|i| StreamTag {
                    name: i.tag.name.clone(),
                    annotations: tag_annotations(&i.labels),
                    from: Some(ObjectReference { kind: "DockerImage".into(), name: i.pull_spec.clone() }),
                })
                .collect(),
        },
        status: Some(serde_json::json!({"dockerImageRepository": ""})),
    };
    let mut previous = options.previous.clone();
    previous.sort();
    let metadata = ReleaseMetadata {
        kind: "cincinnati-metadata-v0".into(),
        version: options.name.clone(),
        previous,
        next: Vec::new(),
        metadata: options.metadata.clone(),
    };
    let layer = release_layer(&pretty(&image_references)?, &pretty(&metadata)?, &files)?;
    let target = match &options.to.tag {
        Some(_) => options.to.clone(),
        None => options.to.with_tag(&options.name.replace('+', "_")),
    };
    let base = multiarch::Base {
        image: &base.tag.image,
        manifest: &base.manifest,
        config: &base.config,
        manifest_digest: &base.manifest_digest,
    };
    let release = multiarch::Release { name: &options.name, created: &options.created, layer: &layer };
    let (digest, platforms) = multiarch::push(registry, &target, &base, &release).await?;
    Ok(Assembled {
        image: target.to_string(),
        digest,
        image_references,
        manifests: files.into_iter().map(|f| f.name).collect(),
        unreferenced,
        pruned,
        platforms,
        origins: BTreeMap::new(),
        from_release: None,
    })
}

/// JSON indented by two spaces, as oc writes the metadata files.
fn pretty<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec_pretty(value)
        .map_err(|e| Error::new(crate::ErrorKind::Internal, "serialising").with_source(e))
}

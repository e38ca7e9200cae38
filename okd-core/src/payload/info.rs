//! Reading a release image back (`oc adm release info`) and comparing two (`oc adm release
//! info A B`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    BASE_TAG, ImageRef, ImageRegistry, ImageStream, PlatformImage, ReleaseMetadata, SOURCE_CONTENT_LABEL,
    files_in_layer, image, image_manifest_for, manifests::parse_image_stream, parse_json,
};
use crate::{Error, Result};

/// One payload tag as `oc adm release info --commits` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TagInfo {
    /// Tag name.
    pub name: String,
    /// The digest pull spec.
    pub pull_spec: String,
    /// Its digest.
    pub digest: Option<String>,
    /// `io.openshift.build.commit.id`, when the image had one.
    pub commit: Option<String>,
    /// `io.openshift.build.source-location`.
    pub source_location: Option<String>,
    /// okd-build's content hash of a path source, when there is no commit.
    pub source_content: Option<String>,
    /// When the tag's image is a manifest list and an arch was asked for: that arch's image
    /// digest ([`resolve_arch`]). Per-arch comparisons need it; list digests say nothing per arch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch_digest: Option<String>,
}

impl TagInfo {
    /// What identifies the source: the commit, else okd-build's content hash.
    pub fn source_identity(&self) -> Option<&str> {
        self.commit.as_deref().or(self.source_content.as_deref())
    }
}

/// A release image, read back.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    /// The reference it was read from.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The release name: release-metadata's version, else image-references' name.
    pub name: String,
    /// When it was created (config `created`).
    pub created: Option<String>,
    /// `io.openshift.release.base-image-digest`.
    pub base_image_digest: Option<String>,
    /// release-metadata, when present.
    pub metadata: Option<ReleaseMetadata>,
    /// Every tag, sorted by name.
    pub tags: Vec<TagInfo>,
    /// Manifest file names in `release-manifests/`.
    pub manifests: Vec<String>,
    /// When the release is a manifest list: its platform images (the rest was read from the
    /// asked-for arch's).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub platforms: Vec<PlatformImage>,
    /// The architecture read.
    pub arch: String,
    /// Inconsistencies a consumer (oc, the CVO) would refuse or warn about.
    pub warnings: Vec<String>,
    /// The image-references stream as stored.
    #[serde(skip)]
    pub references: ImageStream,
    /// Manifest contents by name, for comparing.
    #[serde(skip)]
    pub manifest_contents: BTreeMap<String, Vec<u8>>,
}

fn non_empty(map: &BTreeMap<String, String>, key: &str) -> Option<String> {
    map.get(key).filter(|v| !v.is_empty()).cloned()
}

/// Reads the release image `image` from `registry`: its config, and image-references,
/// release-metadata and manifests from its last layer. A multi-arch release is read for amd64.
pub async fn read(registry: &dyn ImageRegistry, image: &ImageRef) -> Result<ReleaseInfo> {
    read_arch(registry, image, "amd64").await
}

/// [`read`], for the linux/`arch` image when the release is a manifest list.
pub async fn read_arch(registry: &dyn ImageRegistry, image: &ImageRef, arch: &str) -> Result<ReleaseInfo> {
    let (manifest, digest, platforms) = image_manifest_for(registry, image, arch).await?;
    // A list's own digest names the release; the arch's image digest is in `platforms`.
    let digest = match platforms.is_empty() {
        true => digest,
        false => registry.manifest(image).await?.1,
    };
    let config_digest = image::config_digest(&manifest)
        .ok_or_else(|| Error::invalid(format!("{image} has no config")))?
        .to_owned();
    let config = parse_json(&registry.blob(image, &config_digest).await?, &format!("the config of {image}"))?;
    let labels = &config["config"]["Labels"];
    let label = |k: &str| labels[k].as_str().map(str::to_owned);
    let last = image::layer_digests(&manifest)
        .pop()
        .ok_or_else(|| Error::invalid(format!("{image} has no layers")))?;
    let files = files_in_layer(&registry.blob(image, &last).await?, "release-manifests")?;
    let not_release = || {
        Error::invalid(format!(
            "{image} is not a release image: its last layer has no release-manifests/image-references"
        ))
        .with_help("point at an image made by `okd payload assemble` or `oc adm release new`")
    };
    let refs = files.iter().find(|f| f.name == "image-references").ok_or_else(not_release)?;
    let references =
        parse_image_stream(&String::from_utf8_lossy(&refs.content), &format!("{image}'s image-references"))?;
    let metadata = match files.iter().find(|f| f.name == "release-metadata") {
        Some(f) => Some(serde_json::from_slice::<ReleaseMetadata>(&f.content).map_err(|e| {
            Error::invalid(format!("{image}'s release-metadata is not cincinnati metadata")).with_source(e)
        })?),
        None => None,
    };
    let mut tags: Vec<TagInfo> = references
        .spec
        .tags
        .iter()
        .map(|t| {
            let pull_spec = t.pull_spec().unwrap_or_default().to_owned();
            TagInfo {
                name: t.name.clone(),
                digest: pull_spec.split_once('@').map(|(_, d)| d.to_owned()),
                pull_spec,
                commit: non_empty(&t.annotations, "io.openshift.build.commit.id"),
                source_location: non_empty(&t.annotations, "io.openshift.build.source-location"),
                source_content: non_empty(&t.annotations, SOURCE_CONTENT_LABEL),
                arch_digest: None,
            }
        })
        .collect();
    tags.sort_by(|a, b| a.name.cmp(&b.name));
    let mut warnings = Vec::new();
    let name = metadata.as_ref().map_or(references.metadata.name.clone(), |m| m.version.clone());
    if let Some(m) = &metadata {
        if m.kind != "cincinnati-metadata-v0" {
            warnings.push(format!("release-metadata kind is `{}`, not cincinnati-metadata-v0", m.kind));
        }
        if m.version != references.metadata.name {
            warnings.push(format!(
                "image-references is named {} but release-metadata says {}; the CVO refuses this payload",
                references.metadata.name, m.version
            ));
        }
    }
    let base_image_digest = label("io.openshift.release.base-image-digest");
    match (tags.iter().find(|t| t.name == BASE_TAG), &base_image_digest) {
        (None, _) => warnings.push(format!("no `{BASE_TAG}` tag")),
        (Some(t), Some(d)) if t.digest.as_ref() != Some(d) => {
            // In a multi-arch release each platform's image is built on that platform's CVO
            // image, while the tag names the CVO's list.
            let member = match platforms.is_empty() {
                true => None,
                false => base_member(registry, t, arch).await,
            };
            if member.as_ref() != Some(d) {
                warnings.push(format!("the {BASE_TAG} tag's digest is not the base-image-digest label {d}"));
            }
        }
        _ => {}
    }
    for t in tags.iter().filter(|t| t.digest.is_none()) {
        warnings.push(format!("tag {} is not a digest reference: {}", t.name, t.pull_spec));
    }
    let manifest_contents: BTreeMap<String, Vec<u8>> = files
        .into_iter()
        .filter(|f| f.name != "image-references" && f.name != "release-metadata")
        .map(|f| (f.name, f.content))
        .collect();
    Ok(ReleaseInfo {
        image: image.to_string(),
        digest,
        name,
        created: config["created"].as_str().map(str::to_owned),
        base_image_digest,
        metadata,
        tags,
        manifests: manifest_contents.keys().cloned().collect(),
        platforms,
        arch: arch.to_owned(),
        warnings,
        references,
        manifest_contents,
    })
}

/// The digest of the linux/`arch` image of `tag`'s manifest list, if it is one.
async fn base_member(registry: &dyn ImageRegistry, tag: &TagInfo, arch: &str) -> Option<String> {
    let image = ImageRef::parse(&tag.pull_spec).ok()?;
    let (bytes, _) = registry.manifest(&image).await.ok()?;
    image::platform_member(&serde_json::from_slice(&bytes).ok()?, arch)?.ok()
}

/// Fills in `arch_digest` for every tag whose image is a manifest list: the digest of its
/// linux/`arch` image. A list without that arch is an error naming the tag.
pub async fn resolve_arch(registry: &dyn ImageRegistry, info: &mut ReleaseInfo, arch: &str) -> Result<()> {
    use futures::{StreamExt, TryStreamExt};
    let reads = info.tags.iter().map(|tag| async move {
        let Ok(image) = ImageRef::parse(&tag.pull_spec) else { return Ok(None) };
        let (bytes, _) = registry.manifest(&image).await?;
        let manifest = parse_json(&bytes, &format!("the manifest of {image}"))?;
        match image::platform_member(&manifest, arch) {
            None => Ok(None),
            Some(member) => member.map(Some).map_err(|e| e.context(format!("tag {}", tag.name))),
        }
    });
    let digests: Vec<Option<String>> = futures::stream::iter(reads).buffered(8).try_collect().await?;
    for (tag, digest) in info.tags.iter_mut().zip(digests) {
        tag.arch_digest = digest;
    }
    Ok(())
}

/// A tag present in both payloads whose image differs.
#[derive(Debug, Clone, Serialize)]
pub struct TagChange {
    /// Tag name.
    pub name: String,
    /// Before.
    pub from: TagInfo,
    /// After.
    pub to: TagInfo,
}

/// The difference between two payloads, in oc's four sections.
#[derive(Debug, Clone, Serialize)]
pub struct PayloadDiff {
    /// Release name and digest before.
    pub from: (String, String),
    /// Release name and digest after.
    pub to: (String, String),
    /// Whether the two are the same image.
    pub identical: bool,
    /// Tags only in the second.
    pub added: Vec<TagInfo>,
    /// Tags only in the first.
    pub removed: Vec<TagInfo>,
    /// Different source (commit, or content for path sources): a code change.
    pub changed: Vec<TagChange>,
    /// Same source, different image: a rebuild.
    pub rebuilt: Vec<TagChange>,
    /// Tags whose pull spec is identical.
    pub unchanged: usize,
    /// Manifest files added, removed or changed.
    pub manifests_changed: Vec<String>,
}

/// Compares `a` (before) with `b` (after) the way `oc adm release info A B` does: a tag whose
/// pull spec string is identical (or, read for one arch, whose arch image is) is unchanged; otherwise it changed when both sides know their
/// source and the sources differ, and was rebuilt when the source is the same or unknown.
pub fn diff(a: &ReleaseInfo, b: &ReleaseInfo) -> PayloadDiff {
    let before: BTreeMap<&str, &TagInfo> = a.tags.iter().map(|t| (t.name.as_str(), t)).collect();
    let after: BTreeMap<&str, &TagInfo> = b.tags.iter().map(|t| (t.name.as_str(), t)).collect();
    let mut out = PayloadDiff {
        from: (a.name.clone(), a.digest.clone()),
        to: (b.name.clone(), b.digest.clone()),
        identical: a.digest == b.digest,
        added: b.tags.iter().filter(|t| !before.contains_key(t.name.as_str())).cloned().collect(),
        removed: a.tags.iter().filter(|t| !after.contains_key(t.name.as_str())).cloned().collect(),
        changed: Vec::new(),
        rebuilt: Vec::new(),
        unchanged: 0,
        manifests_changed: Vec::new(),
    };
    for (name, old) in &before {
        let Some(new) = after.get(name) else { continue };
        let same_arch_image = old.arch_digest.is_some() && old.arch_digest == new.arch_digest;
        if old.pull_spec == new.pull_spec || same_arch_image {
            out.unchanged += 1;
            continue;
        }
        let change = TagChange { name: name.to_string(), from: (*old).clone(), to: (*new).clone() };
        match (old.source_identity(), new.source_identity()) {
            (Some(x), Some(y)) if x != y => out.changed.push(change),
            _ => out.rebuilt.push(change),
        }
    }
    let names: std::collections::BTreeSet<&String> =
        a.manifest_contents.keys().chain(b.manifest_contents.keys()).collect();
    out.manifests_changed = names
        .into_iter()
        .filter(|n| {
            let old = a.manifest_contents.get(*n).map(|c| normalise(c, a));
            let new = b.manifest_contents.get(*n).map(|c| normalise(c, b));
            old != new
        })
        .cloned()
        .collect();
    out
}

/// A manifest with every pull spec mapped back to its tag name and the release name replaced,
/// so two payloads' manifests compare equal unless their text really changed.
fn normalise(content: &[u8], release: &ReleaseInfo) -> String {
    let mut text = String::from_utf8_lossy(content).into_owned();
    for tag in release.tags.iter().filter(|t| !t.pull_spec.is_empty()) {
        text = text.replace(&tag.pull_spec, &format!("<tag:{}>", tag.name));
    }
    if !release.name.is_empty() {
        text = text.replace(&release.name, "<release>");
    }
    text
}

//! A release manifest derived from a release image: one component per image-references tag,
//! built from the git source and commit its image's labels name. What the planning note asks
//! for when it wonders whether build configs can come "from some other source (metadata in the
//! CVO?)", and how a partner starts from somebody else's release.

use std::{collections::BTreeMap, fmt::Write, path::PathBuf};

use serde::Serialize;

use super::{ImageRef, ImageRegistry, ReleaseInfo, image, parse_json};
use crate::{Error, Result, Warning};

/// Labels naming the source repository, most specific first: OpenShift's (oc copies them into
/// image-references), then Konflux/buildah's and the OCI annotation keys.
const LOCATION_LABELS: &[&str] =
    &["io.openshift.build.source-location", "vcs-url", "org.opencontainers.image.source"];
/// Labels naming the commit, in the same order.
const COMMIT_LABELS: &[&str] =
    &["io.openshift.build.commit.id", "vcs-ref", "org.opencontainers.image.revision"];
const REF_LABEL: &str = "io.openshift.build.commit.ref";

/// One tag's image and what its labels say about its source.
#[derive(Debug, Clone, Serialize)]
pub struct TagSource {
    /// The tag.
    pub name: String,
    /// The image, by digest.
    pub image: String,
    /// The repository, when a label names it.
    pub git: Option<String>,
    /// The commit, when a label names it.
    pub commit: Option<String>,
    /// The branch or tag it was built from, when a label names it.
    pub reference: Option<String>,
}

/// Where a component's Dockerfile is, from a second source matched by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerfileLocation {
    /// Relative to the context.
    pub dockerfile: String,
    /// Relative to the source root.
    pub context: String,
    /// Build args the second source gives (a variant's `TAGS=scos`): the Dockerfile may need them.
    pub build_args: BTreeMap<String, String>,
}

/// What [`derive_manifest`] made.
#[derive(Debug, Clone, Serialize)]
pub struct DerivedRelease {
    /// The release manifest text.
    #[serde(skip)]
    pub manifest: String,
    /// The release image it came from, by digest.
    pub from: String,
    /// Every tag and its source.
    pub tags: Vec<TagSource>,
    /// Tags that became components.
    pub components: usize,
    /// Components whose Dockerfile location came from the second source.
    pub located: usize,
    /// What could not be derived.
    pub warnings: Vec<Warning>,
}

impl DerivedRelease {
    /// One line for stderr.
    pub fn summary(&self) -> String {
        format!(
            "{} tags: {} components ({} with their Dockerfile from --dockerfiles-from), {} warnings",
            self.tags.len(),
            self.components,
            self.located,
            self.warnings.len()
        )
    }
}

/// The first non-empty label of `keys`.
fn first(labels: &BTreeMap<String, String>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| labels.get(*k).filter(|v| !v.trim().is_empty()).map(|v| v.trim().to_owned()))
}

/// Reads the labels of every tag's image, for `arch` where an image is a manifest list.
/// image-references annotations fill in what an image's labels lack (oc copies them from the
/// labels, so they agree when both are there).
pub async fn tag_sources(
    registry: &dyn ImageRegistry,
    release: &ReleaseInfo,
    arch: &str,
) -> Result<Vec<TagSource>> {
    use futures::{StreamExt, TryStreamExt};
    let reads = release.tags.iter().map(|tag| async move {
        let image = ImageRef::parse(&tag.pull_spec)
            .map_err(|e| e.context(format!("tag {} of {}", tag.name, release.image)))?;
        let mut labels = image_labels(registry, &image, arch).await?;
        if let Some(stream_tag) = release.references.spec.tags.iter().find(|t| t.name == tag.name) {
            for (k, v) in &stream_tag.annotations {
                labels.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok::<_, Error>(TagSource {
            name: tag.name.clone(),
            image: tag.pull_spec.clone(),
            git: first(&labels, LOCATION_LABELS),
            commit: first(&labels, COMMIT_LABELS),
            reference: first(&labels, &[REF_LABEL]),
        })
    });
    futures::stream::iter(reads).buffered(8).try_collect().await
}

/// The config labels of `image`, following a manifest list to its `linux/<arch>` member.
pub async fn image_labels(
    registry: &dyn ImageRegistry,
    image: &ImageRef,
    arch: &str,
) -> Result<BTreeMap<String, String>> {
    let (bytes, _) = registry.manifest(image).await?;
    let mut manifest = parse_json(&bytes, &format!("the manifest of {image}"))?;
    if let Some(member) = image::platform_member(&manifest, arch) {
        let member = image.at_digest(&member.map_err(|e| e.context(image.to_string()))?);
        let (bytes, _) = registry.manifest(&member).await?;
        manifest = parse_json(&bytes, &format!("the manifest of {member}"))?;
    }
    let config_digest = image::config_digest(&manifest)
        .ok_or_else(|| Error::invalid(format!("{image} has no config")))?
        .to_owned();
    let config = parse_json(&registry.blob(image, &config_digest).await?, &format!("the config of {image}"))?;
    Ok(config["config"]["Labels"]
        .as_object()
        .map(|l| l.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default())
}

/// Text as a YAML double-quoted scalar (a JSON string is one), so no label can break the file.
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// How the derived manifest is named and where its images go.
#[derive(Debug, Clone)]
pub struct DeriveOptions {
    /// The release name (default: the release image's repository name).
    pub name: Option<String>,
    /// `scos`, `okd`, ...: written as the manifest's `variant`.
    pub variant: Option<String>,
    /// Output registry and repository (default: the release image's registry and repository
    /// without `-release`).
    pub output: Option<(String, String)>,
    /// Dockerfile locations by component name (`--dockerfiles-from`).
    pub dockerfiles: BTreeMap<String, DockerfileLocation>,
    /// What `dockerfiles` came from, for the warnings.
    pub dockerfiles_from: Option<PathBuf>,
}

/// The release manifest for `release` whose tags' sources are `sources`.
pub fn derive_manifest(
    release: &ReleaseInfo,
    sources: Vec<TagSource>,
    options: &DeriveOptions,
) -> DerivedRelease {
    let file = PathBuf::from(&release.image);
    let warn = |message: String| Warning { file: file.clone(), line: 0, message };
    let mut warnings = Vec::new();
    let image = ImageRef::parse(&release.image).ok();
    let repository = image.as_ref().map_or("okd/release".to_owned(), |i| i.repository.clone());
    let default_name = repository.rsplit('/').next().unwrap_or("okd").trim_end_matches("-release").to_owned();
    let name = options.name.clone().unwrap_or(default_name);
    let (registry, out_repo) = options.output.clone().unwrap_or_else(|| {
        (
            image.as_ref().map_or("localhost".to_owned(), |i| i.registry.clone()),
            repository.trim_end_matches("-release").to_owned(),
        )
    });
    let mut out = String::new();
    let _ =
        writeln!(out, "# Derived by `okd import release-image` from {}@{}", release.image, release.digest);
    out.push_str(
        "# One component per image-references tag, built from the repository and commit its image's\n\
         # labels name (io.openshift.build.source-location / commit.id, else vcs-url / vcs-ref).\n",
    );
    if options.dockerfiles.is_empty() {
        out.push_str("# Dockerfile paths are not in a payload: every component builds ./Dockerfile unless\n# --dockerfiles-from names a release manifest, ocp-build-data or ci-operator configs.\n");
    }
    let _ = writeln!(out, "name: {}", q(&name));
    let _ = writeln!(out, "version: {}", q(&release.name));
    if let Some(v) = &options.variant {
        let _ = writeln!(out, "variant: {}", q(v));
    }
    let _ = writeln!(out, "output: {{ registry: {}, repository: {} }}", q(&registry), q(&out_repo));
    out.push_str("components:\n");
    let (mut components, mut located) = (0, 0);
    for tag in &sources {
        let Some(git) = &tag.git else {
            warnings.push(warn(format!(
                "tag {}: its image {} has no source-location, vcs-url or org.opencontainers.image.source label, so its source is unknown; left out (add it by hand, or --replace it when assembling)",
                tag.name, tag.image
            )));
            continue;
        };
        let Some(commit) = &tag.commit else {
            warnings.push(warn(format!(
                "tag {}: its image names the repository {git} but no commit (io.openshift.build.commit.id or vcs-ref); left out",
                tag.name
            )));
            continue;
        };
        components += 1;
        let _ = writeln!(out, "  - name: {}", q(&tag.name));
        let _ = writeln!(out, "    source: {{ git: {}, ref: {} }}", q(git), q(commit));
        match options.dockerfiles.get(&tag.name) {
            Some(loc) => {
                located += 1;
                if loc.context != "." {
                    let _ = writeln!(out, "    context: {}", q(&loc.context));
                }
                if loc.dockerfile != "Dockerfile" {
                    let _ = writeln!(out, "    dockerfile: {}", q(&loc.dockerfile));
                }
                if !loc.build_args.is_empty() {
                    let args: Vec<String> =
                        loc.build_args.iter().map(|(k, v)| format!("{}: {}", q(k), q(v))).collect();
                    let _ = writeln!(out, "    build_args: {{ {} }}", args.join(", "));
                }
            }
            None if options.dockerfiles_from.is_some() => warnings.push(warn(format!(
                "tag {}: no component of that name in {}; it builds ./Dockerfile",
                tag.name,
                options.dockerfiles_from.as_deref().map_or(String::new(), |p| p.display().to_string())
            ))),
            None => {}
        }
        let mut comment = format!("    payload: true  # {}", tag.image);
        if let Some(r) = &tag.reference {
            let _ = write!(comment, " (built from {})", r.replace(['\n', '\r'], " "));
        }
        out.push_str(&comment);
        out.push('\n');
    }
    DerivedRelease {
        manifest: out,
        from: format!("{}@{}", release.image.split('@').next().unwrap_or(&release.image), release.digest),
        tags: sources,
        components,
        located,
        warnings,
    }
}

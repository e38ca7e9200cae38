//! `okd import payload-pipeline DIR`: a release manifest from a checkout of
//! okd-project/okd-payload-pipeline.
//!
//! The BuildConfigs listed in `buildconfigs/kustomization.yaml` are the component catalogue. They
//! are read after the kustomization's patches (the builder, cli and artifacts `as` lists, by
//! label selector or name) and, with `--variant`, the `variants/<name>` overlay (`TAGS`, extra
//! `tools` tags) are applied, as `kubectl kustomize` would. Each BuildConfig becomes a component
//! named after its output tag:
//!
//! - `spec.source.git` → `source` (`.git` trimmed), `contextDir` → `context`, `dockerfilePath` →
//!   `dockerfile`, `buildArgs` → `build_args`;
//! - `dockerStrategy.from` → `last_from`; `source.images[].as` → `replace`; `release:<tag>` is
//!   `member:<tag>`, `tools:<tag>` is `stream:<tag>` (the `tools` ImageStream gives `streams`);
//!   the `as` lists kustomize adds to most BuildConfigs become the release-wide `replace`, and
//!   the BuildConfigs its selectors leave out keep those names external (`image:<same name>`);
//! - a Dockerfile copied from `release:forked-dockerfiles` (`source.images[].paths`) cannot be
//!   expressed (a manifest does not copy files into a source): the component keeps the
//!   BuildConfig's `dockerfile` and gets a warning naming the fork, except `artifacts`, which has
//!   no git source and so builds the fork's folder of okd-payload-pipeline itself;
//! - `payload: true` except for build infrastructure (`builder`, `base`, `forked-dockerfiles`)
//!   and `*-base` images that only serve as parents: `oc adm release new` prunes those.
//!
//! The batch lists of the Argo templates are checked against the references: a component in no
//! batch, one scheduled no later than a parent, a reference nothing outputs (network-tools takes
//! `release:ovn-kubernetes`, which BuildConfig ovn-kubernetes no longer outputs). Each is a
//! warning with the file and line; a reference nothing provides is not emitted, so the FROM
//! stays as written. Whatever a manifest cannot carry is a warning, never dropped silently.

mod batches;
mod buildconfig;
mod emit;
mod kustomize;
mod map;
mod order;
mod release;
mod tree;
mod warn;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use okd_core::{Error, ErrorKind, Result, Warning, manifest::load_str};
use serde::Serialize;

pub use warn::WarningKind;

use kustomize::Resource;
use tree::At;
use warn::Warns;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Apply the overlay `variants/<variant>/kustomization.yaml` (`fcos`, `fcos-multiarch`, `scos`).
    pub variant: Option<String>,
    /// The release name (default: the overlay's namespace, else `okd-<variant>`, else the
    /// Namespace resource's name, else `okd`).
    pub name: Option<String>,
    /// The release version (default `X.Y.0-0.<name>` from the `release-X.Y` refs).
    pub version: Option<String>,
    /// The output registry (default the cluster's internal registry, as the BuildConfigs push).
    pub registry: Option<String>,
    /// The output repository (default `<namespace>/release`, the `release` ImageStream, with the
    /// overlay's namespace, else the Namespace resource's, else `okd`).
    pub repository: Option<String>,
}

/// The internal registry the BuildConfigs push to (`release:<tag>` in the working namespace).
const INTERNAL_REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";

/// A component the import produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedComponent {
    /// The component name: the BuildConfig's output tag.
    pub name: String,
    /// The BuildConfig's `metadata.name` (what the batch lists say).
    pub buildconfig: String,
    /// The BuildConfig file and the line of its name.
    pub file: PathBuf,
    pub line: u32,
    pub git: String,
    pub reference: String,
    pub context: String,
    pub dockerfile: String,
    pub payload: bool,
    pub last_from: Option<String>,
    /// `<git>@<ref>:<path>` of the forked Dockerfile the BuildConfig copies in, if any.
    pub forked_dockerfile: Option<String>,
    /// The batch that builds it (`batch 2`), if the lists were read and name it.
    pub batch: Option<String>,
}

/// A BuildConfig that did not become a component (each also has a warning).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedBuildConfig {
    pub name: String,
    pub file: PathBuf,
    pub line: u32,
    pub reason: String,
}

/// The release-level values the manifest got.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReleaseDefaults {
    pub name: String,
    pub version: String,
    pub registry: String,
    pub repository: String,
    /// From the from-scratch template's `architectures`.
    pub arches: Option<Vec<String>>,
}

/// The result of [`import_payload_pipeline`].
#[derive(Debug, Clone, Serialize)]
pub struct PayloadPipelineImport {
    /// The release manifest, in okd-build's format.
    #[serde(skip)]
    pub manifest: String,
    pub dir: PathBuf,
    pub variant: Option<String>,
    /// BuildConfigs read (imported + skipped).
    pub buildconfigs: usize,
    /// Components, in `resources` order.
    pub components: Vec<ImportedComponent>,
    pub skipped: Vec<SkippedBuildConfig>,
    /// `release` ImageStream tags that no BuildConfig builds alone (placeholders, re-tags).
    pub placeholders: Vec<String>,
    /// Streams, from the `tools` ImageStream.
    pub streams: Vec<String>,
    /// The batches the lists define, in order (initial, the list's, the OS build), by BuildConfig.
    pub batches: Vec<Vec<String>>,
    pub release: ReleaseDefaults,
    /// What could not be mapped or is wrong in the repository, each with its file and line.
    pub warnings: Vec<Warning>,
    /// The kind of each warning, index for index.
    pub warning_kinds: Vec<WarningKind>,
    /// How many warnings of each kind.
    pub warning_counts: BTreeMap<WarningKind, usize>,
}

impl PayloadPipelineImport {
    /// One line: what was read, made, skipped and warned about.
    pub fn summary(&self) -> String {
        let variant = self.variant.as_ref().map(|v| format!(" (variant {v})")).unwrap_or_default();
        format!(
            "{} BuildConfigs{variant}: {} components ({} payload), {} skipped, {} placeholder tags, {} streams, {} batches, {} warnings",
            self.buildconfigs,
            self.components.len(),
            self.components.iter().filter(|c| c.payload).count(),
            self.skipped.len(),
            self.placeholders.len(),
            self.streams.len(),
            self.batches.len(),
            self.warnings.len()
        )
    }

    /// The warnings of one kind.
    pub fn warnings_of(&self, kind: WarningKind) -> Vec<&Warning> {
        self.warnings.iter().zip(&self.warning_kinds).filter(|(_, k)| **k == kind).map(|(w, _)| w).collect()
    }
}

/// Reads the checkout at `dir` and writes a release manifest from its BuildConfigs.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for a `dir` that is not a checkout (no
/// `buildconfigs/kustomization.yaml`), an unknown variant, a file that is not YAML, a listed
/// resource that does not exist, and a BuildConfig field of the wrong type, located at its file
/// and line with a fix; IO errors for what cannot be read.
pub fn import_payload_pipeline(dir: &Path, options: &ImportOptions) -> Result<PayloadPipelineImport> {
    check_options(options)?;
    if !dir.is_dir() {
        return Err(Error::invalid(format!("{} is not a folder", dir.display())).with_help(
            "pass the root of a checkout of https://github.com/okd-project/okd-payload-pipeline",
        ));
    }
    let base_file = dir.join("buildconfigs").join("kustomization.yaml");
    if !base_file.is_file() {
        return Err(kustomize::error_no_kustomization(dir));
    }
    let mut warns = Warns::default();
    let base = kustomize::read(&base_file, &mut warns)?;
    let mut resources: Vec<Resource> = Vec::new();
    kustomize::load_resources(&base, &|_| false, &mut resources, &mut warns)?;
    unlisted(&base, &mut warns)?;
    kustomize::apply(&base, &mut resources, dir, &mut warns);
    let mut namespace = None;
    if let Some(variant) = &options.variant {
        namespace = overlay(dir, variant, &mut resources, &mut warns)?;
    }
    let mut found = release::classify(&resources, &mut warns)?;
    let buildconfigs = found.bcs.len() + found.skipped.len();
    if buildconfigs == 0 {
        return Err(At::file(&base.file).error(
            "no BuildConfig in any resource of this kustomization",
            "list the BuildConfig files under resources:",
        ));
    }
    let schedule = batches::read(dir, &mut warns)?;
    let known: BTreeSet<&str> =
        found.bcs.iter().map(|b| b.name.as_str()).chain(found.skipped.iter().map(|s| s.0.as_str())).collect();
    let slots = schedule.as_ref().map(|s| order::slots(s, &known, &mut warns));
    let cat =
        map::Catalogue { release: &found.tags, slots: slots.as_ref(), streams: &found.streams, root: dir };
    let mut mapped = map::map(std::mem::take(&mut found.bcs), &cat, &mut warns);
    order::break_cycles(&mut mapped.comps, &mut warns);
    if let Some(slots) = &slots {
        order::check(&mapped.comps, slots, dir, &mut warns);
    }
    let placeholders = release::placeholders(&found.tags, &mapped.comps, &mut warns);
    let release = release::defaults(
        options,
        namespace,
        found.namespace.clone(),
        &mapped.comps,
        schedule.as_ref(),
        &mut warns,
    );
    let manifest = emit::manifest(&emit::Input {
        dir,
        variant: options.variant.as_deref(),
        release: &release,
        streams: &found.streams,
        replace: &mapped.replace,
        comps: &mapped.comps,
    });
    // The text must load: a failure here is a bug in the importer, not in the input.
    load_str(&dir.join("imported-release.yaml"), &manifest, &Default::default())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("the imported manifest does not load: {e}")))?;
    let mut skipped: Vec<SkippedBuildConfig> = found
        .skipped
        .iter()
        .map(|(name, reason, at)| SkippedBuildConfig {
            name: name.clone(),
            file: at.file.to_path_buf(),
            line: at.line,
            reason: reason.clone(),
        })
        .collect();
    skipped.extend(mapped.skipped.iter().map(|(bc, reason)| SkippedBuildConfig {
        name: bc.name.clone(),
        file: bc.at.file.to_path_buf(),
        line: bc.at.line,
        reason: reason.clone(),
    }));
    let components = mapped
        .comps
        .iter()
        .map(|c| ImportedComponent {
            name: c.name.clone(),
            buildconfig: c.bc.name.clone(),
            file: c.bc.at.file.to_path_buf(),
            line: c.bc.at.line,
            git: c.git.clone(),
            reference: c.reference.clone(),
            context: c.context.clone(),
            dockerfile: c.dockerfile.clone(),
            payload: c.payload,
            last_from: c.last_from.clone(),
            forked_dockerfile: c.forked.clone(),
            batch: slots.as_ref().and_then(|s| s.get(&c.bc.name)).map(|(_, label, _)| label.clone()),
        })
        .collect();
    let (kinds, warnings): (Vec<WarningKind>, Vec<Warning>) = warns.finish().into_iter().unzip();
    let mut warning_counts = BTreeMap::new();
    for kind in &kinds {
        *warning_counts.entry(*kind).or_default() += 1;
    }
    Ok(PayloadPipelineImport {
        manifest,
        dir: dir.to_path_buf(),
        variant: options.variant.clone(),
        buildconfigs,
        components,
        skipped,
        placeholders,
        streams: found.streams.keys().cloned().collect(),
        batches: schedule
            .map(|s| s.batches.into_iter().map(|(_, b)| b.into_iter().map(|e| e.name).collect()).collect())
            .unwrap_or_default(),
        release,
        warnings,
        warning_kinds: kinds,
        warning_counts,
    })
}

/// YAML files next to the kustomization that it does not list: kustomize leaves them out, so
/// does the import, but silently dropping a BuildConfig would hide a mistake.
fn unlisted(base: &kustomize::Kustomization, warns: &mut Warns) -> Result<()> {
    let Some(folder) = base.file.parent() else { return Ok(()) };
    let listed: BTreeSet<PathBuf> = base.resources.iter().map(|(n, _)| tree_path(&folder.join(n))).collect();
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| Error::io(folder, "list", e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .filter(|p| p.file_name().is_some_and(|n| n != "kustomization.yaml" && n != "kustomization.yml"))
        .collect();
    files.sort();
    for file in files {
        if !listed.contains(&tree_path(&file)) {
            let at = At::file(&std::sync::Arc::new(file.clone()));
            warns.at(
                WarningKind::Kustomize,
                &at,
                format!(
                    "not listed in {}'s resources: kustomize leaves it out, and so does the import",
                    base.file.display()
                ),
            );
        }
    }
    Ok(())
}

fn tree_path(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Applies `variants/<variant>`; returns its namespace.
fn overlay(
    dir: &Path,
    variant: &str,
    resources: &mut [Resource],
    warns: &mut Warns,
) -> Result<Option<String>> {
    let folder = dir.join("variants").join(variant);
    let file = folder.join("kustomization.yaml");
    if variant.is_empty() || variant.contains(['/', '\\']) || !file.is_file() {
        let mut known: Vec<String> = std::fs::read_dir(dir.join("variants"))
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.join("kustomization.yaml").is_file())
                    .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        known.sort();
        let help = if known.is_empty() {
            "this checkout has no variants/<name>/kustomization.yaml: leave out --variant".to_owned()
        } else {
            format!("known variants: {}", known.join(", "))
        };
        return Err(Error::invalid(format!("--variant {variant}: no {}", file.display())).with_help(help));
    }
    let k = kustomize::read(&file, warns)?;
    let mut has_base = false;
    for (name, at) in &k.resources {
        let path = folder.join(name);
        if kustomize::same_path(&path, &dir.join("buildconfigs")) {
            has_base = true;
        } else if !kustomize::same_path(&path, &dir.join("argo-workflows/okd-workflows")) {
            warns.at(WarningKind::Kustomize, at, format!(
                "resource {name} is not read: the import reads the BuildConfigs and the batch lists of argo-workflows/okd-workflows (Tekton pipelines are not imported)"
            ));
        }
    }
    if !has_base {
        warns.at(WarningKind::Kustomize, &At::file(&k.file), "this overlay does not include ../../buildconfigs; its patches are applied to the BuildConfigs anyway");
    }
    kustomize::apply(&k, resources, dir, warns);
    Ok(k.namespace.map(|(ns, _)| ns))
}

/// Options are checked before anything is read.
fn check_options(options: &ImportOptions) -> Result<()> {
    if let Some(version) = &options.version
        && semver::Version::parse(version).is_err()
    {
        return Err(Error::invalid(format!("--version {version} is not a semantic version"))
            .with_help("write MAJOR.MINOR.PATCH with optional pre-release, e.g. 4.15.0 or 4.15.0-0.okd-2024-05-10-000000"));
    }
    if options.name.as_ref().is_some_and(|n| n.trim().is_empty() || n.contains(['\n', '\r'])) {
        return Err(Error::invalid("--name is empty").with_help("name the release, e.g. --name okd-fcos"));
    }
    if let Some(registry) = &options.registry
        && (registry.is_empty() || registry.contains(['/', ' ']))
    {
        return Err(Error::invalid(format!("--registry {registry} is not a registry host"))
            .with_help("write a host with an optional port and no scheme, e.g. quay.io or 127.0.0.1:5000"));
    }
    if let Some(repository) = &options.repository {
        let valid = repository.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        });
        if !valid {
            return Err(Error::invalid(format!("--repository {repository} is not a repository path"))
                .with_help("use lowercase path components separated by '/', e.g. okd/okd-fcos"));
        }
    }
    Ok(())
}

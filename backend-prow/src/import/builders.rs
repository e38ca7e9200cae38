//! Builders per Go version in a ci-operator import: every `from` or `inputs` target that is a
//! base image naming a Go version (`ocp/builder:rhel-9-golang-1.24-openshift-4.22`) is a
//! builder reference; with `--okd-builders` it points at `builder-golang-X-Y`, built from the
//! template (see okd-core's `doozer::builders`). `build_root` images are listed, not built:
//! okd-build builds each Dockerfile from the git source, never in a build root.

use std::{collections::BTreeMap, path::PathBuf};

use okd_core::{
    Error, Location, Result,
    doozer::{
        Warning,
        builders::{BuilderTemplate, GoReference, ImportedGoVersion, summarize},
    },
    plan::go::{GoVersion, go_version},
};
use serde::Serialize;

use super::{map::Comp, parse::Config};

/// A config's `build_root` image that names a Go version.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuildRootGo {
    pub file: PathBuf,
    pub line: u32,
    pub image: String,
    pub version: GoVersion,
}

/// What the Go builders change in a ci-operator import.
#[derive(Debug, Default)]
pub(super) struct ProwBuilders {
    pub(super) versions: Vec<ImportedGoVersion>,
    pub(super) build_roots: Vec<BuildRootGo>,
    /// Builder components' manifest text.
    pub(super) components: String,
}

/// Finds the Go builder references of `comps` (through `streams`, name -> pull spec) and, with
/// a template, points each at its version's builder.
pub(super) fn apply(
    configs: &[Config],
    comps: &mut [Comp],
    streams: &BTreeMap<String, String>,
    template: Option<&BuilderTemplate>,
    warnings: &mut Vec<Warning>,
) -> Result<ProwBuilders> {
    let mut references = Vec::new();
    // Each version's users' arches, so a builder exists for every arch built on it.
    let mut arches: BTreeMap<GoVersion, Vec<Option<Vec<String>>>> = BTreeMap::new();
    for c in comps.iter_mut() {
        let (name, file, own_arches) = (c.name.clone(), c.file.clone(), c.arches.clone());
        for t in c.last_from.iter_mut().chain(c.replace.values_mut()) {
            let Some(stream) = t.text.strip_prefix("stream:") else { continue };
            let image = streams.get(stream).map_or(stream, String::as_str);
            let Some(version) = go_version(image).or_else(|| go_version(stream)) else { continue };
            references.push(GoReference {
                component: name.clone(),
                reference: image.to_owned(),
                version,
                file: file.clone(),
                line: t.line,
            });
            arches.entry(version).or_default().push(own_arches.clone());
            if template.is_some() {
                t.text = format!("member:{}", version.builder_name());
            }
        }
    }
    let versions = summarize(&references, template, warnings);
    let mut components = String::new();
    if let Some(template) = template {
        for v in &versions {
            let name = v.version.builder_name();
            if let Some(c) = comps.iter().find(|c| c.name == name) {
                return Err(Error::invalid_at(
                    Location::new(&c.file, c.to_at.line, c.to_at.column),
                    format!(
                        "image {} is named {name}, the name --okd-builders gives Go {}'s builder",
                        c.to, v.version
                    ),
                    "rename the image or import without --okd-builders",
                ));
            }
            let users = arches.get(&v.version).map(Vec::as_slice).unwrap_or_default();
            components.push_str(&template.component(v.version, union(users).as_deref()));
        }
        warnings.extend(template.warning());
    }
    let build_roots = configs
        .iter()
        .filter_map(|c| {
            let (image, line) = c.build_root.clone()?;
            Some(BuildRootGo { file: c.file.clone(), line, version: go_version(&image)?, image })
        })
        .collect();
    Ok(ProwBuilders { versions, build_roots, components })
}

/// The arches a builder needs: none to write when no user names its own (the release's then),
/// else every arch any user builds for (amd64 for a user that names none, the release's
/// default in a ci-operator import).
fn union(users: &[Option<Vec<String>>]) -> Option<Vec<String>> {
    if users.iter().all(Option::is_none) {
        return None;
    }
    let mut out: Vec<String> = Vec::new();
    for arch in users.iter().flat_map(|u| u.clone().unwrap_or_else(|| vec!["amd64".to_owned()])) {
        if !out.contains(&arch) {
            out.push(arch);
        }
    }
    Some(out)
}

//! Reading ocp-build-data as Doozer does, and turning it into an okd-build release manifest.
//!
//! The order follows art-tools (see `ocp-build-data-doozer.md` §2.1, §4.2, §8): group `vars` are
//! substituted into the raw text of every file before it is parsed; the group config is
//! group.yml, then group.ext.yml, then the `konflux:` stanza, then (OKD) the `okd:` stanza; each
//! image is its file, then (OKD) the `okd:` stanza with `from` replaced whole and
//! `enabled_repos` cleared. releases.yml assemblies are not applied: okd-build imports the
//! `stream` view.
//!
//! Nothing that cannot be mapped is dropped silently: it becomes a [`Warning`] with the file and
//! line, or a [`Skipped`] entry with the reason.

mod emit;
mod image;
pub mod text;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Serialize;
use serde_json::Value;

use crate::{Error, Location, Result};
use text::{deep_merge, get, parse_yaml, scalar, substitute};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// `okd` applies the OKD overlays (group and image `okd:` stanzas, `okd.mode`).
    pub variant: Option<String>,
    /// `--var NAME=VALUE`: overrides group vars.
    pub vars: BTreeMap<String, String>,
    /// Import only payload images and the members they build on.
    pub payload_only: bool,
}

impl ImportOptions {
    fn okd(&self) -> bool {
        self.variant.as_deref() == Some("okd")
    }
}

pub use crate::error::Warning;

/// An image file that did not become a component, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Skipped {
    /// The distgit key (file stem).
    pub key: String,
    /// The reason.
    pub reason: String,
}

/// An image that became a component.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Imported {
    /// The distgit key.
    pub key: String,
    /// The component name (the payload tag for payload images).
    pub component: String,
    /// Whether it is a payload image.
    pub payload: bool,
}

/// The result of an import.
#[derive(Debug, Clone, Serialize)]
pub struct Import {
    /// The release manifest, in okd-build's format.
    #[serde(skip)]
    pub manifest: String,
    /// Image files read.
    pub images: usize,
    /// Images that became components, by distgit key.
    pub imported: Vec<Imported>,
    /// Images left out, with the reason.
    pub skipped: Vec<Skipped>,
    /// What could not be mapped.
    pub warnings: Vec<Warning>,
}

impl Import {
    /// One line: what was imported, skipped and warned about.
    pub fn summary(&self) -> String {
        let payload = self.imported.iter().filter(|i| i.payload).count();
        let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
        for s in &self.skipped {
            *reasons.entry(s.reason.split(':').next().unwrap_or("other")).or_default() += 1;
        }
        let reasons = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect::<Vec<_>>().join(", ");
        format!(
            "{} image files: {} imported ({payload} payload), {} skipped{}, {} warnings",
            self.images,
            self.imported.len(),
            self.skipped.len(),
            if reasons.is_empty() { String::new() } else { format!(" ({reasons})") },
            self.warnings.len()
        )
    }
}

/// The group configuration, layered.
#[derive(Debug)]
struct Group {
    name: String,
    major_minor: Option<(String, String)>,
    arches: Vec<String>,
    public_upstreams: Vec<(String, String)>,
    vars: BTreeMap<String, String>,
}

impl Group {
    /// Where the imported release's images go (the manifest's `output`).
    fn output(&self) -> (String, String) {
        ("quay.io".to_owned(), format!("okd/{}", self.name))
    }
}

/// A stream, as the manifest will know it.
#[derive(Debug, Clone)]
struct StreamDef {
    image: Option<String>,
    upstream: Option<String>,
}

/// Imports the ocp-build-data branch checked out at `dir`.
pub fn import(dir: &Path, options: &ImportOptions) -> Result<Import> {
    let group = load_group(dir, options)?;
    let mut warnings = Vec::new();
    let (streams, stream_names) = load_streams(dir, &group, &mut warnings)?;
    let images_dir = dir.join("images");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&images_dir)
        .map_err(|e| {
            Error::io(&images_dir, "list", e).with_help("pass the root of an ocp-build-data branch checkout")
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    let context = image::Context { group: &group, streams: &stream_names, okd: options.okd() };
    let mut loaded = Vec::new();
    let mut skipped = Vec::new();
    for file in &files {
        match image::load(file, &context)? {
            image::Loaded::Image(img) => loaded.push(*img),
            image::Loaded::Skipped(s, w) => {
                skipped.push(s);
                warnings.extend(w);
            }
        }
    }
    let built = image::map_all(loaded, &context, options.payload_only, &mut skipped, &mut warnings);
    if built.is_empty() {
        let reasons: Vec<String> =
            skipped.iter().take(3).map(|s| format!("{}: {}", s.key, s.reason)).collect();
        return Err(Error::invalid(format!(
            "nothing to import from {}: all {} images were skipped ({}{})",
            dir.display(),
            files.len(),
            reasons.join("; "),
            if skipped.len() > 3 { "; ..." } else { "" }
        ))
        .with_help("check --variant and --payload-only, and that the checkout has the images' parents"));
    }
    let manifest = emit::manifest(&group, options, &streams, &built);
    // What we emit must load: a failure here is our bug, not the user's.
    let path = dir.join("release.yaml");
    crate::manifest::load_str(&path, &manifest, &Default::default()).map_err(|e| {
        Error::new(crate::ErrorKind::Internal, format!("the imported manifest does not load: {e}"))
    })?;
    skipped.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Import {
        manifest,
        images: files.len(),
        imported: built
            .iter()
            .map(|c| Imported { key: c.key.clone(), component: c.name.clone(), payload: c.payload })
            .collect(),
        skipped,
        warnings,
    })
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, "read", e))
}

fn parse(path: &Path, text: &str) -> Result<Value> {
    parse_yaml(text).map_err(|(line, column, message)| {
        Error::invalid_at(
            Location::new(path, line, column),
            message,
            "fix the YAML syntax of this ocp-build-data file",
        )
    })
}

fn load_group(dir: &Path, options: &ImportOptions) -> Result<Group> {
    let path = dir.join("group.yml");
    if !path.is_file() {
        return Err(Error::invalid(format!("{} has no group.yml", dir.display()))
            .with_help("pass the root of an ocp-build-data release branch checkout, e.g. openshift-4.22"));
    }
    let raw = read(&path)?;
    // group.yml is read twice, as Doozer does: raw for its vars, then substituted.
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    if let Some(Value::Object(v)) = parse(&path, &raw)?.get("vars") {
        vars.extend(v.iter().filter_map(|(k, v)| scalar(v).map(|v| (k.clone(), v))));
    }
    vars.insert("runtime_assembly".into(), "stream".into());
    vars.extend(options.vars.clone());
    let mut config = parse(&path, &substitute(&raw, &vars))?;
    let ext = dir.join("group.ext.yml");
    if ext.is_file() {
        deep_merge(&mut config, &parse(&ext, &substitute(&read(&ext)?, &vars))?);
    }
    for overlay in ["konflux"].into_iter().chain(options.okd().then_some("okd")) {
        if let Some(o) = config.get(overlay).cloned().filter(Value::is_object) {
            deep_merge(&mut config, &o);
        }
    }
    let major_minor = vars.get("MAJOR").zip(vars.get("MINOR")).map(|(a, b)| (a.clone(), b.clone()));
    let mut name = get(&config, &["name"]).and_then(scalar).unwrap_or_else(|| "ocp-build-data".to_owned());
    if options.okd() {
        name = match &major_minor {
            Some((major, minor)) => format!("okd-{major}.{minor}"),
            None => name.replace("openshift-", "okd-"),
        };
    }
    let arches = get(&config, &["arches"])
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(scalar).filter_map(|a| go_arch(&a)).collect())
        .unwrap_or_else(|| vec!["amd64".to_owned()]);
    let mut public_upstreams: Vec<(String, String)> = get(&config, &["public_upstreams"])
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|e| Some((scalar(e.get("private")?)?, scalar(e.get("public")?)?)))
                .collect()
        })
        .unwrap_or_default();
    // Longest prefix wins (art-tools get_public_upstream).
    public_upstreams.sort_by_key(|(private, _)| std::cmp::Reverse(private.len()));
    Ok(Group { name, major_minor, arches, public_upstreams, vars })
}

/// Doozer's arch names to Go's.
fn go_arch(arch: &str) -> Option<String> {
    match arch {
        "x86_64" | "amd64" => Some("amd64".into()),
        "aarch64" | "arm64" => Some("arm64".into()),
        "ppc64le" => Some("ppc64le".into()),
        "s390x" => Some("s390x".into()),
        _ => None,
    }
}

/// Stream name or alias -> (stream name, whether it has an image to build from).
type StreamNames = BTreeMap<String, (String, bool)>;

/// streams.yml: the streams and a map from every name and alias to the stream's name.
fn load_streams(
    dir: &Path,
    group: &Group,
    warnings: &mut Vec<Warning>,
) -> Result<(BTreeMap<String, StreamDef>, StreamNames)> {
    let path = dir.join("streams.yml");
    let mut streams = BTreeMap::new();
    let mut names = BTreeMap::new();
    if !path.is_file() {
        return Ok((streams, names));
    }
    let text = substitute(&read(&path)?, &group.vars);
    let Value::Object(map) = parse(&path, &text)? else { return Ok((streams, names)) };
    for (name, entry) in map {
        let image = entry.get("image").and_then(scalar).filter(|i| i != "not_applicable");
        if image.is_none() {
            warnings.push(Warning {
                file: path.clone(),
                line: text::line_of(&text, &[&name]),
                message: format!(
                    "stream '{name}' has no buildable image (not_applicable); images that use it are skipped"
                ),
            });
        }
        let buildable = image.is_some();
        names.insert(name.clone(), (name.clone(), buildable));
        for alias in entry.get("aliases").and_then(Value::as_array).into_iter().flatten().filter_map(scalar) {
            names.insert(alias, (name.clone(), buildable));
        }
        let upstream = entry.get("upstream_image").and_then(scalar);
        streams.insert(name, StreamDef { image, upstream });
    }
    Ok((streams, names))
}

#[cfg(test)]
mod tests;

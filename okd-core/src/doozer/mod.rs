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

pub mod builders;
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
    /// `--okd-builders`: build one `builder-golang-X-Y` per Go version from this template and
    /// point every Go builder reference at its version's.
    pub okd_builders: Option<builders::BuilderTemplate>,
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
    /// The Go versions the imported components' builders name, oldest first.
    pub go_versions: Vec<builders::ImportedGoVersion>,
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
    image: String,
    upstream: Option<String>,
    /// The Go version its name, aliases or images name, when it is a Go builder.
    go: Option<crate::plan::go::GoVersion>,
}

/// Imports the ocp-build-data branch checked out at `dir`.
pub fn import(dir: &Path, options: &ImportOptions) -> Result<Import> {
    let mut warnings = Vec::new();
    let group = load_group(dir, options, &mut warnings)?;
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
    let mut built = image::map_all(loaded, &context, options.payload_only, &mut skipped, &mut warnings);
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
    let go = builders::apply(&mut built, &streams, options.okd_builders.as_ref(), &mut warnings)?;
    let manifest = emit::manifest(&group, options, &streams, &built, &go);
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
        go_versions: go.versions,
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

/// One file of the group config: as written, with vars substituted, and parsed.
struct GroupFile {
    path: PathBuf,
    raw: String,
    text: String,
    value: Value,
}

impl GroupFile {
    /// Where the key at `path` is, within the file as written (a substituted var may add lines).
    fn at(&self, path: &[&str]) -> Location {
        let line = text::line_of(&self.text, path).min(self.raw.lines().count().max(1) as u32);
        let indent = self.raw.lines().nth(line as usize - 1).map_or(0, |l| l.len() - l.trim_start().len());
        Location::new(&self.path, line, indent as u32 + 1)
    }
}

fn read_group_file(path: PathBuf, vars: &BTreeMap<String, String>) -> Result<GroupFile> {
    let raw = read(&path)?;
    let text = substitute(&raw, vars);
    let value = parse(&path, &text)?;
    Ok(GroupFile { path, raw, text, value })
}

/// Where the layered group config's `key` was set: the last stanza and file to set it, in the
/// order `load_group` layers them (group.yml, group.ext.yml, then each overlay); else the top of
/// group.yml.
fn origin(files: &[GroupFile], overlays: &[&str], key: &str) -> Location {
    let paths = overlays.iter().rev().map(|o| vec![*o, key]).chain(std::iter::once(vec![key]));
    for path in paths {
        if let Some(file) = files.iter().rev().find(|f| get(&f.value, &path).is_some()) {
            return file.at(&path);
        }
    }
    Location::new(&files[0].path, 1, 1)
}

fn load_group(dir: &Path, options: &ImportOptions, warnings: &mut Vec<Warning>) -> Result<Group> {
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
    let text = substitute(&raw, &vars);
    let mut files = vec![GroupFile { value: parse(&path, &text)?, path, raw, text }];
    let ext = dir.join("group.ext.yml");
    if ext.is_file() {
        files.push(read_group_file(ext, &vars)?);
    }
    let mut config = files[0].value.clone();
    for file in &files[1..] {
        deep_merge(&mut config, &file.value);
    }
    let overlays: Vec<&str> = ["konflux"].into_iter().chain(options.okd().then_some("okd")).collect();
    for overlay in &overlays {
        if let Some(o) = config.get(overlay).cloned().filter(Value::is_object) {
            deep_merge(&mut config, &o);
        }
    }
    let major_minor = vars.get("MAJOR").zip(vars.get("MINOR")).map(|(a, b)| (a.clone(), b.clone()));
    let name = group_name(&config, &files, &overlays, major_minor.as_ref(), options)?;
    let arches = group_arches(&config, &files, &overlays, warnings);
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

/// Whether every character may be in a release manifest's name.
fn release_name_chars(name: &str) -> bool {
    name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
}

/// Whether `name` can be a release manifest's name. The manifest's rule (`Loader::release` in
/// okd-core/src/manifest/load.rs, not public): 1 to 253 lowercase letters, digits, '-', '.' and '_'.
fn valid_release_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && release_name_chars(name)
}

/// The release name: the group's `name` (`okd-MAJOR.MINOR` for OKD). One that the manifest would
/// refuse is an error at the line that set it: renaming the release behind the user's back would
/// make a manifest (and image repository) they did not ask for.
fn group_name(
    config: &Value,
    files: &[GroupFile],
    overlays: &[&str],
    major_minor: Option<&(String, String)>,
    options: &ImportOptions,
) -> Result<String> {
    if options.okd()
        && let Some((major, minor)) = major_minor
    {
        let name = format!("okd-{major}.{minor}");
        if valid_release_name(&name) {
            return Ok(name);
        }
        let (var, value) = [("MAJOR", major), ("MINOR", minor)]
            .into_iter()
            .find(|(_, v)| !release_name_chars(v))
            .unwrap_or(if major.len() >= minor.len() { ("MAJOR", major) } else { ("MINOR", minor) });
        let message =
            format!("the OKD release name '{name}' (okd-MAJOR.MINOR) is not valid: {var} is '{value}'");
        let help = format!(
            "make {var} a version number (e.g. MAJOR 4, MINOR 22): the release name is at most 253 lowercase letters, digits, '-', '.' and '_'"
        );
        return Err(if options.vars.contains_key(var) {
            Error::invalid(format!("--var {var}: {message}")).with_help(help)
        } else {
            Error::invalid_at(files[0].at(&["vars", var]), message, help)
        });
    }
    let mut name = get(config, &["name"]).and_then(scalar).unwrap_or_else(|| "ocp-build-data".to_owned());
    if options.okd() {
        name = name.replace("openshift-", "okd-");
    }
    if valid_release_name(&name) {
        return Ok(name);
    }
    Err(Error::invalid_at(
        origin(files, overlays, "name"),
        format!("the group name '{name}' is not a valid release name"),
        "the group's `name` is the release name: use at most 253 lowercase letters, digits, '-', '.' and '_' (after vars are substituted), e.g. name: openshift-{MAJOR}.{MINOR}",
    ))
}

/// The group's arches in Go names. Arches okd-build does not know are ignored with a warning at
/// the `arches` that set them; when none is left the release builds for amd64, the manifest's
/// default, as it does when the group has no `arches`.
fn group_arches(
    config: &Value,
    files: &[GroupFile],
    overlays: &[&str],
    warnings: &mut Vec<Warning>,
) -> Vec<String> {
    const DEFAULT: &str = "amd64";
    const KNOWN: &str = "x86_64, aarch64, ppc64le, s390x";
    let value = match get(config, &["arches"]) {
        None | Some(Value::Null) => return vec![DEFAULT.to_owned()],
        Some(v) => v,
    };
    let location = origin(files, overlays, "arches");
    let mut warn = |message: String| {
        warnings.push(Warning {
            file: location.file.clone(),
            line: location.line,
            message: crate::error::clip_quotes(&message),
        });
    };
    let Some(list) = value.as_array() else {
        warn(format!("arches is not a list of arches; the release builds for {DEFAULT}"));
        return vec![DEFAULT.to_owned()];
    };
    let mut arches: Vec<String> = Vec::new();
    let mut ignored: Vec<String> = Vec::new();
    for entry in list {
        let written = scalar(entry).unwrap_or_else(|| entry.to_string());
        match go_arch(&written) {
            Some(arch) if !arches.contains(&arch) => arches.push(arch),
            Some(_) => {}
            None => ignored.push(format!("'{written}'")),
        }
    }
    let ignored = ignored.join(", ");
    if arches.is_empty() {
        warn(if ignored.is_empty() {
            format!("arches is empty; the release builds for {DEFAULT}")
        } else {
            format!(
                "arches has no arch okd-build knows ({KNOWN}): {ignored} ignored; the release builds for {DEFAULT}"
            )
        });
        arches.push(DEFAULT.to_owned());
    } else if !ignored.is_empty() {
        warn(format!("arches: {ignored} ignored: okd-build knows {KNOWN}"));
    }
    arches
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

/// Stream name or alias -> (stream name, `None` when it has an image to build from, else why
/// images cannot use it).
type StreamNames = BTreeMap<String, (String, Option<String>)>;

/// Whether `name` can name a stream in a release manifest: the manifest's rule (`Loader::streams`
/// in okd-core/src/manifest/load.rs, not public) refuses an empty name, ':' and spaces.
fn valid_stream_name(name: &str) -> bool {
    !name.is_empty() && !name.contains([':', ' '])
}

/// streams.yml: the streams and a map from every name and alias to the stream's name. A stream
/// whose name or image a manifest cannot hold is left out with a warning; images that use it are
/// skipped, as for a stream that is not there.
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
    let raw = read(&path)?;
    let text = substitute(&raw, &group.vars);
    let Value::Object(map) = parse(&path, &text)? else { return Ok((streams, names)) };
    // The line within the file as written (a substituted var may add lines).
    let lines = raw.lines().count().max(1) as u32;
    let mut warn = |at: &[&str], message: String| {
        warnings.push(Warning {
            file: path.clone(),
            line: text::line_of(&text, at).min(lines),
            message: crate::error::clip_quotes(&message),
        });
    };
    for (name, entry) in map {
        let unusable = if !valid_stream_name(&name) {
            warn(
                &[&name],
                format!(
                    "stream name '{name}' is not valid in a release manifest (it is empty or has ':' or a space); the stream is not imported and images that use it are skipped"
                ),
            );
            Some("is not imported: its name is not valid".to_owned())
        } else {
            match entry.get("image").and_then(scalar).filter(|i| i != "not_applicable") {
                None => {
                    warn(
                        &[&name],
                        format!(
                            "stream '{name}' has no buildable image (not_applicable); images that use it are skipped"
                        ),
                    );
                    Some("has no image (not_applicable)".to_owned())
                }
                // The manifest checks a stream's image as it checks an `image:` target.
                Some(image) if crate::manifest::Target::parse(&format!("image:{image}")).is_err() => {
                    warn(
                        &[&name, "image"],
                        format!(
                            "stream '{name}': image '{image}' is not an image reference (it is empty or has spaces); the stream is not imported and images that use it are skipped"
                        ),
                    );
                    Some("is not imported: its image is not an image reference".to_owned())
                }
                Some(image) => {
                    let upstream = entry.get("upstream_image").and_then(scalar);
                    let (go, disagreement) =
                        builders::stream_version(&name, &aliases_of(&entry), upstream.as_deref(), &image);
                    if let Some(message) = disagreement {
                        warn(&[&name], format!("stream '{name}': {message}"));
                    }
                    streams.insert(name.clone(), StreamDef { image, upstream, go });
                    None
                }
            }
        };
        names.insert(name.clone(), (name.clone(), unusable.clone()));
        for alias in aliases_of(&entry) {
            names.insert(alias, (name.clone(), unusable.clone()));
        }
    }
    Ok((streams, names))
}

/// A streams.yml entry's `aliases`.
fn aliases_of(entry: &Value) -> Vec<String> {
    entry.get("aliases").and_then(Value::as_array).into_iter().flatten().filter_map(scalar).collect()
}

#[cfg(test)]
mod tests;

//! `okd import ci-operator PATH...`: a release manifest from ci-operator configs
//! (openshift/release `ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml`).
//!
//! Each `images` item becomes a component built from `https://github.com/<org>/<repo>` at the
//! config's branch; `from` becomes `last_from` and `inputs.<tag>.as` the component's `replace`,
//! pointing at a member when the tag is built in the release (by the same config, or promoted
//! into the stream a base image names by another imported config), else at the base image's
//! stream. The promotion stream gives the release's name, version and output. Whatever a
//! manifest cannot carry is a warning with the file and line, never dropped silently.

mod builders;
mod emit;
mod items;
mod map;
mod node;
mod parse;
mod promotion;
mod warn;

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

use okd_core::{Error, ErrorKind, Result, doozer::Warning, manifest::load_str};
use serde::Serialize;

pub use builders::BuildRootGo;
use node::Reader;
use parse::Config;
use warn::Warnings;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Keep only configs of this variant (`okd-scos` for `...__okd-scos.yaml`).
    pub variant: Option<String>,
    /// The release name (default `okd-scos`).
    pub name: Option<String>,
    /// The release version (default `X.Y.0` from the promotion stream `scos-X.Y`).
    pub version: Option<String>,
    /// The output registry (default `registry.ci.openshift.org`).
    pub registry: Option<String>,
    /// The output repository (default the promotion stream, `<namespace>/<name>`).
    pub repository: Option<String>,
    /// Where repositories are cloned from instead of `https://github.com`: `<base>/<org>/<repo>`
    /// (a mirror, or `file:///srv/git` to reproduce builds offline).
    pub git_base: Option<String>,
    /// `--okd-builders`: build one `builder-golang-X-Y` per Go version from this template and
    /// point every Go builder base image at its version's.
    pub okd_builders: Option<okd_core::doozer::builders::BuilderTemplate>,
}

/// Where ci-operator's repositories live.
const GITHUB: &str = "https://github.com/";

/// A config that was imported.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedConfig {
    pub file: PathBuf,
    pub org: String,
    pub repo: String,
    pub branch: String,
    pub variant: Option<String>,
    /// Its image items.
    pub images: usize,
}

/// A component the import produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedComponent {
    /// The component name (the image's `to`, made a DNS-1123 label if it is not one).
    pub name: String,
    /// The image's `to`.
    pub image: String,
    /// The config and the line of its `to`.
    pub file: PathBuf,
    pub line: u32,
    pub git: String,
    pub reference: String,
    pub payload: bool,
}

/// A YAML file that was not imported, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedFile {
    pub file: PathBuf,
    pub reason: String,
}

/// An image item that did not become a component (each also has a warning).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedImage {
    pub file: PathBuf,
    pub line: u32,
    pub image: String,
    pub reason: String,
}

/// An `inputs.<tag>.as` word that names a Dockerfile stage (`builder` for `FROM ... AS
/// builder`), not an image: okd-build resolves stage references before any replacement.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DroppedAlias {
    pub file: PathBuf,
    pub line: u32,
    pub component: String,
    pub input: String,
    pub alias: String,
}

/// The release-level values the manifest got.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ReleaseDefaults {
    pub name: String,
    pub version: String,
    pub registry: String,
    pub repository: String,
    /// The promotion stream they follow, `<namespace>/<name>`.
    pub stream: Option<String>,
}

/// The result of [`import_ci_operator`].
#[derive(Debug, Clone, Serialize)]
pub struct CiOperatorImport {
    /// The release manifest, in okd-build's format.
    #[serde(skip)]
    pub manifest: String,
    /// YAML files read.
    pub files: usize,
    /// Configs imported (of the variant asked for, with images).
    pub configs: Vec<ImportedConfig>,
    /// Components, in file order.
    pub components: Vec<ImportedComponent>,
    pub skipped_files: Vec<SkippedFile>,
    pub skipped_images: Vec<SkippedImage>,
    pub stage_aliases: Vec<DroppedAlias>,
    pub release: ReleaseDefaults,
    /// What could not be mapped, each with its file and line.
    pub warnings: Vec<Warning>,
    /// The Go versions the images' builder base images name, oldest first.
    pub go_versions: Vec<okd_core::doozer::builders::ImportedGoVersion>,
    /// `build_root` images that name a Go version (reported, not built).
    pub build_roots: Vec<BuildRootGo>,
}

impl CiOperatorImport {
    /// One line: what was read, made, skipped and warned about.
    pub fn summary(&self) -> String {
        format!(
            "{} YAML files: {} ci-operator configs -> {} components ({} payload), {} files and {} images skipped, {} stage aliases dropped, {} warnings",
            self.files,
            self.configs.len(),
            self.components.len(),
            self.components.iter().filter(|c| c.payload).count(),
            self.skipped_files.len(),
            self.skipped_images.len(),
            self.stage_aliases.len(),
            self.warnings.len()
        )
    }
}

/// Reads the ci-operator configs at `paths` (files, or folders searched for `*.yaml`) and
/// writes a release manifest from them.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] with the file and line for a file that is not YAML or has a
/// field of the wrong type, for a tag built by two configs, and when nothing is left to import;
/// IO errors for what cannot be read.
pub fn import_ci_operator(paths: &[PathBuf], options: &ImportOptions) -> Result<CiOperatorImport> {
    check_options(options)?;
    let files = collect(paths)?;
    let (mut configs, mut skipped_files, mut warnings) = (Vec::new(), Vec::new(), Vec::new());
    let mut shown = Vec::new();
    let mut variants = BTreeSet::new();
    for (file, root) in &files {
        let text = std::fs::read_to_string(file).map_err(|e| Error::io(file, "read", e))?;
        let skip = |reason: String| SkippedFile { file: file.clone(), reason };
        let Some(node) = node::parse(file, &text)? else {
            let reason = "it holds several YAML documents; a ci-operator config is one".to_owned();
            warnings.push(Warning {
                file: file.clone(),
                line: 1,
                message: format!("not a ci-operator config: {reason}; skipped"),
            });
            skipped_files.push(skip(reason));
            continue;
        };
        if let Some(reason) = parse::not_a_config(&node) {
            warnings.push(Warning {
                file: file.clone(),
                line: 1,
                message: format!("not a ci-operator config: {reason}; skipped"),
            });
            skipped_files.push(skip(reason));
            continue;
        }
        let reader = Reader { file };
        let mut w = Warnings::new(file.clone());
        let real = file.canonicalize().unwrap_or_else(|_| file.clone());
        let info = parse::info(reader, &node, &real, &mut w)?;
        variants.insert(info.variant.clone().unwrap_or_else(|| "none".into()));
        if let Some(wanted) = &options.variant
            && info.variant.as_ref() != Some(wanted)
        {
            skipped_files
                .push(skip(format!("variant {}, not {wanted}", info.variant.as_deref().unwrap_or("none"))));
            continue;
        }
        let config = parse::config(reader, &node, info, w)?;
        if config.items.is_empty() {
            skipped_files.push(skip("it builds no images".into()));
            continue;
        }
        shown.push(
            root.as_ref().and_then(|r| file.strip_prefix(r).ok()).unwrap_or(file).display().to_string(),
        );
        configs.push(config);
    }
    if configs.is_empty() {
        let wanted = options.variant.as_ref().map(|v| format!(" of variant {v}")).unwrap_or_default();
        let message = if files.is_empty() {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            format!("nothing to import: no *.yaml file in {}", shown.join(", "))
        } else {
            let variants = variants.into_iter().collect::<Vec<_>>().join(", ");
            let found =
                if variants.is_empty() { String::new() } else { format!(" (variants found: {variants})") };
            format!(
                "nothing to import: none of the {} YAML files is a ci-operator config{wanted} that builds images{found}",
                files.len()
            )
        };
        return Err(Error::invalid(message)
        .with_help("pass ci-operator configs or folders of them (openshift/release ci-operator/config/<org>/<repo>/), and check --variant"));
    }
    for config in &mut configs {
        warnings.append(&mut config.warnings);
    }
    let mut mapped = map::map_all(&configs)?;
    if let Some(base) = &options.git_base {
        for comp in &mut mapped.comps {
            if let Some(org_repo) = comp.git.strip_prefix(GITHUB) {
                comp.git = format!("{}/{org_repo}", base.trim_end_matches('/'));
            }
        }
    }
    warnings.extend(mapped.warnings);
    let go = builders::apply(
        &configs,
        &mut mapped.comps,
        &mapped.streams,
        options.okd_builders.as_ref(),
        &mut warnings,
    )?;
    let release = release_defaults(&configs, &mapped.comps, options, &mut warnings);
    let comps: Vec<(String, &map::Comp)> =
        mapped.comps.iter().map(|c| (shown[c.config].clone(), c)).collect();
    let inputs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
    let manifest = emit::manifest(
        &inputs,
        options.variant.as_deref(),
        configs.len(),
        &release,
        &mapped.streams,
        &go.components,
        &comps,
    );
    // The text must load: a failure here is a bug in the importer, not in the input.
    let base = paths.first().map_or_else(
        || PathBuf::from("."),
        |p| if p.is_dir() { p.clone() } else { p.parent().map(Path::to_path_buf).unwrap_or_default() },
    );
    load_str(&base.join("imported-release.yaml"), &manifest, &Default::default())
        .map_err(|e| Error::new(ErrorKind::Internal, format!("the imported manifest does not load: {e}")))?;
    Ok(CiOperatorImport {
        manifest,
        files: files.len(),
        configs: configs
            .iter()
            .map(|c| ImportedConfig {
                file: c.file.clone(),
                org: c.info.org.clone(),
                repo: c.info.repo.clone(),
                branch: c.info.branch.clone(),
                variant: c.info.variant.clone(),
                images: c.items.len(),
            })
            .collect(),
        components: mapped
            .comps
            .iter()
            .map(|c| ImportedComponent {
                name: c.name.clone(),
                image: c.to.clone(),
                file: c.file.clone(),
                line: c.to_at.line,
                git: c.git.clone(),
                reference: c.reference.clone(),
                payload: c.payload,
            })
            .collect(),
        skipped_files,
        skipped_images: mapped.skipped,
        stage_aliases: mapped.dropped,
        release,
        warnings,
        go_versions: go.versions,
        build_roots: go.build_roots,
    })
}

/// Options are checked before anything is read, so a bad flag never costs a walk of a tree.
fn check_options(options: &ImportOptions) -> Result<()> {
    if let Some(base) = &options.git_base
        && (!base.contains("://") || base.contains(char::is_whitespace))
    {
        return Err(Error::invalid(format!("--git-base {base} is not a URL"))
            .with_help("e.g. --git-base https://git.example.com/mirror or --git-base file:///srv/git"));
    }
    if let Some(version) = &options.version
        && semver::Version::parse(version).is_err()
    {
        return Err(Error::invalid(format!("--version {version} is not a semantic version"))
            .with_help("write MAJOR.MINOR.PATCH with optional pre-release, e.g. 4.21.0 or 4.21.0-0.okd-scos-2026-01-01-000000"));
    }
    if options.name.as_ref().is_some_and(|n| n.trim().is_empty() || n.contains(['\n', '\r'])) {
        return Err(Error::invalid("--name is empty").with_help("name the release, e.g. --name okd-scos"));
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
                .with_help("use lowercase path components separated by '/', e.g. okd/okd-scos"));
        }
    }
    Ok(())
}

/// The files to read, each with the folder it was found under (None for a file named itself):
/// folders are searched for `*.yaml` (ci-operator's extension) in name order, hidden folders
/// left out; a file reached twice is read once.
fn collect(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Option<PathBuf>)>> {
    if paths.is_empty() {
        return Err(
            Error::invalid("no PATH given").with_help("pass ci-operator config files or folders of them")
        );
    }
    let (mut out, mut seen) = (Vec::new(), BTreeSet::new());
    for path in paths {
        let mut found = Vec::new();
        if path.is_dir() {
            walk(path, &mut found)?;
        } else {
            std::fs::metadata(path).map_err(|e| Error::io(path, "read", e))?;
            found.push(path.clone());
        }
        let root = path.is_dir().then(|| path.clone());
        for file in found {
            if seen.insert(file.canonicalize().unwrap_or_else(|_| file.clone())) {
                out.push((file, root.clone()));
            }
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, "list", e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| Error::io(dir, "list", e)))
        .collect::<Result<_>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if !path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                walk(&path, out)?;
            }
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The stream a config promotes into: its first `<namespace>/<name>` target, enabled ones first.
fn stream_of(config: &Config) -> Option<(String, u32)> {
    let named = || config.promotion.iter().filter(|p| p.name.is_some());
    let target = named().find(|p| !p.disabled).or_else(|| named().next())?;
    Some((format!("{}/{}", target.namespace, target.name.as_deref().unwrap_or_default()), target.line))
}

/// Name, version and output: the options', else from the stream most imported configs promote
/// into (warning about each config that promotes elsewhere).
fn release_defaults(
    configs: &[Config],
    comps: &[map::Comp],
    options: &ImportOptions,
    warnings: &mut Vec<Warning>,
) -> ReleaseDefaults {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for (stream, _) in configs.iter().filter_map(stream_of) {
        match counts.iter_mut().find(|(s, _)| *s == stream) {
            Some((_, n)) => *n += 1,
            None => counts.push((stream, 1)),
        }
    }
    // The most common; among equals the first read.
    let stream = counts.iter().rev().max_by_key(|(_, n)| *n).map(|(s, _)| s.clone());
    for config in configs {
        if let (Some((own, line)), Some(chosen)) = (stream_of(config), &stream)
            && own != *chosen
        {
            warnings.push(Warning {
                file: config.file.clone(),
                line,
                message: format!(
                    "this config promotes to {own}; the manifest's version and output follow {chosen}, where most imported configs promote"
                ),
            });
        }
    }
    let name = options.name.clone().unwrap_or_else(|| "okd-scos".to_owned());
    let at = |s: &Option<String>| {
        configs
            .iter()
            .find_map(|c| {
                stream_of(c).filter(|(own, _)| Some(own) == s.as_ref()).map(|(_, l)| (c.file.clone(), l))
            })
            .or_else(|| comps.first().map(|c| (c.file.clone(), c.to_at.line)))
            .unwrap_or_default()
    };
    let version = options.version.clone().unwrap_or_else(|| {
        match stream.as_deref().and_then(version_of) {
            Some(v) => v,
            None => {
                let (file, line) = at(&stream);
                let message = match &stream {
                    Some(s) => format!("cannot read a version X.Y from the promotion stream {s}; the version is 0.0.0, pass --version"),
                    None => "no imported config promotes to a named stream; the version is 0.0.0, pass --version".into(),
                };
                warnings.push(Warning { file, line, message });
                "0.0.0".to_owned()
            }
        }
    });
    let registry = options.registry.clone().unwrap_or_else(|| "registry.ci.openshift.org".to_owned());
    let repository = options.repository.clone().unwrap_or_else(|| match &stream {
        Some(s) => s.clone(),
        None => {
            let (file, line) = at(&stream);
            let message = format!("no imported config promotes to a named stream; the output repository is origin/{name}, pass --repository");
            warnings.push(Warning { file, line, message });
            format!("origin/{name}")
        }
    });
    ReleaseDefaults { name, version, registry, repository, stream }
}

/// `X.Y.0` from a stream name ending in `X.Y`: `scos-4.21`, `4.21`, `scos-5.0`.
fn version_of(stream: &str) -> Option<String> {
    let name = stream.rsplit('/').next()?;
    let tail = name.rsplit('-').next()?;
    let (major, minor) = tail.split_once('.')?;
    let number =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    (number(major) && number(minor)).then(|| format!("{major}.{minor}.0"))
}

//! Builders per Go version, for the importers (`okd import ocp-build-data` and `okd import
//! ci-operator`): OKD cannot pull OCP's builder images, so with `--okd-builders TEMPLATE_DIR`
//! every builder reference that names a Go version points at a `builder-golang-X-Y` component
//! built from that template with `GO_VERSION=X.Y`; without it the report lists the versions and
//! one warning says what stays external.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Serialize;

use super::{StreamDef, Warning, image::Built};
use crate::{
    Error, Location, Result,
    plan::go::{GoVersion, go_version},
};

/// The `--okd-builders` template folder, checked.
#[derive(Debug, Clone)]
pub struct BuilderTemplate {
    /// The folder, as the user named it.
    pub dir: PathBuf,
    /// The folder relative to the manifest's folder: the builders' `source.path`.
    pub source_path: String,
    /// Whether its Dockerfile declares `ARG GO_VERSION` (without it every builder is the same).
    pub declares_go_version: bool,
}

impl BuilderTemplate {
    /// Checks `dir` (a folder with a Dockerfile okd-build can parse) and says where it is from
    /// `manifest_dir`, the folder the imported manifest will be read from: a path source must be
    /// inside it.
    pub fn open(dir: &Path, manifest_dir: &Path) -> Result<Self> {
        let shown = dir.display();
        let help = "pass a folder holding the Dockerfile every builder-golang-X-Y is built from, with ARG GO_VERSION (see examples/okd-builders)";
        let meta = std::fs::metadata(dir).map_err(|e| {
            let why =
                if e.kind() == std::io::ErrorKind::NotFound { "no such folder" } else { "cannot be read" };
            Error::invalid(format!("--okd-builders {shown}: {why}")).with_help(help).with_source(e)
        })?;
        if !meta.is_dir() {
            return Err(
                Error::invalid(format!("--okd-builders {shown} is a file, not a folder")).with_help(help)
            );
        }
        let dockerfile = dir.join("Dockerfile");
        let text = std::fs::read_to_string(&dockerfile).map_err(|e| {
            let message = match e.kind() {
                std::io::ErrorKind::NotFound => format!("--okd-builders {shown} has no Dockerfile"),
                _ => format!("--okd-builders {shown}: cannot read {}", dockerfile.display()),
            };
            Error::invalid(message).with_help(help).with_source(e)
        })?;
        crate::dockerfile::parse(&dockerfile, &text, &BTreeMap::new())
            .map_err(|e| e.context(format!("--okd-builders {shown}")))?;
        let declares_go_version = text.lines().any(|line| {
            let mut words = line.split_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("ARG"))
                && words.any(|w| w.split('=').next() == Some("GO_VERSION"))
        });
        let absolute = |p: &Path| p.canonicalize().or_else(|_| std::path::absolute(p));
        let (template, base) = match (absolute(dir), absolute(manifest_dir)) {
            (Ok(t), Ok(b)) => (t, b),
            (Err(e), _) | (_, Err(e)) => {
                return Err(Error::invalid(format!("--okd-builders {shown}: cannot tell where it is"))
                    .with_help(help)
                    .with_source(e));
            }
        };
        let relative = template.strip_prefix(&base).map_err(|_| {
            Error::invalid(format!(
                "--okd-builders {shown} is outside {}, the folder the manifest is read from; a path source must be inside it",
                base.display()
            ))
            .with_help("put the template folder under the manifest's folder (the -O file's folder, else the current one), e.g. copy examples/okd-builders there")
        })?;
        let source_path = match relative.to_str() {
            Some("") => ".".to_owned(),
            Some(p) => p.to_owned(),
            None => {
                return Err(Error::invalid(format!("--okd-builders {shown}: the path is not UTF-8"))
                    .with_help("rename the folder so a manifest can name it"));
            }
        };
        Ok(BuilderTemplate { dir: dir.to_path_buf(), source_path, declares_go_version })
    }

    /// The warning for a template whose Dockerfile ignores `GO_VERSION`, if it does.
    pub fn warning(&self) -> Option<Warning> {
        (!self.declares_go_version).then(|| Warning {
            file: self.dir.join("Dockerfile"),
            line: 1,
            message: "the --okd-builders Dockerfile declares no ARG GO_VERSION: every builder-golang-X-Y is built the same".into(),
        })
    }

    /// The manifest text of Go `version`'s builder component, as a `components:` list entry
    /// (strings as JSON strings, which YAML reads as they are).
    pub fn component(&self, version: GoVersion, arches: Option<&[String]>) -> String {
        let q = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
        let mut out = format!(
            "  - name: {}  # Go {version}'s builder, from the --okd-builders template\n    source: {{ path: {} }}\n    build_args: {{ GO_VERSION: {} }}\n",
            version.builder_name(),
            q(&self.source_path),
            q(&version.to_string())
        );
        if let Some(arches) = arches {
            let list: Vec<String> = arches.iter().map(|a| q(a)).collect();
            out.push_str(&format!("    arches: [{}]\n", list.join(", ")));
        }
        out
    }
}

/// One builder reference that names a Go version, where an importer found it.
#[derive(Debug, Clone)]
pub struct GoReference {
    /// The component that builds on it.
    pub component: String,
    /// The reference as the source wrote it: `stream:rhel-9-golang`, a pull spec.
    pub reference: String,
    /// The Go version it names.
    pub version: GoVersion,
    /// Where.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
}

/// One Go version an import found, for its report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportedGoVersion {
    /// The Go version.
    pub version: GoVersion,
    /// The component that builds its builder (with `--okd-builders`), else none: the
    /// references stay as they are.
    pub builder: Option<String>,
    /// The upstream builder references that name it, each once.
    pub references: Vec<String>,
    /// The components that build on it.
    pub components: Vec<String>,
}

/// The Go versions of `references`, oldest first; without a template, one warning (at the
/// first reference) says which references stay external and what `--okd-builders` would do.
pub fn summarize(
    references: &[GoReference],
    template: Option<&BuilderTemplate>,
    warnings: &mut Vec<Warning>,
) -> Vec<ImportedGoVersion> {
    let mut by_version: BTreeMap<GoVersion, ImportedGoVersion> = BTreeMap::new();
    for r in references {
        let entry = by_version.entry(r.version).or_insert_with(|| ImportedGoVersion {
            version: r.version,
            builder: template.map(|_| r.version.builder_name()),
            references: Vec::new(),
            components: Vec::new(),
        });
        if !entry.references.contains(&r.reference) {
            entry.references.push(r.reference.clone());
        }
        if !entry.components.contains(&r.component) {
            entry.components.push(r.component.clone());
        }
    }
    let versions: Vec<ImportedGoVersion> = by_version.into_values().collect();
    if let (None, Some(first)) = (template, references.first()) {
        let each: Vec<String> = versions
            .iter()
            .map(|v| format!("Go {} ({}; {})", v.version, v.references.join(", "), count(v.components.len())))
            .collect();
        let names: Vec<String> = versions.iter().map(|v| v.version.builder_name()).collect();
        warnings.push(Warning {
            file: first.file.clone(),
            line: first.line.max(1),
            message: format!(
                "builder images of {} stay external, and OKD cannot pull OCP's builders; --okd-builders TEMPLATE_DIR would build {} and point each component at its Go version's",
                each.join(", "),
                names.join(", ")
            ),
        });
    }
    versions
}

/// `1 component`, `2 components`.
fn count(n: usize) -> String {
    format!("{n} component{}", if n == 1 { "" } else { "s" })
}

/// One line for the import's report on stderr: each Go version, its builder (or `external`)
/// and how many components build on it; `None` when no builder names a Go version.
pub fn report_line(versions: &[ImportedGoVersion]) -> Option<String> {
    let each: Vec<String> = versions
        .iter()
        .map(|v| {
            format!(
                "{} ({}, {})",
                v.version,
                v.builder.as_deref().unwrap_or("external"),
                count(v.components.len())
            )
        })
        .collect();
    (!each.is_empty()).then(|| format!("Go builders: {}", each.join(", ")))
}

/// What the Go builders change in an ocp-build-data import.
#[derive(Debug, Default)]
pub(super) struct DoozerBuilders {
    pub versions: Vec<ImportedGoVersion>,
    /// Builder components' manifest text.
    pub components: String,
    /// Release-wide replacements: each remapped stream's upstream (CI) image, so a Dockerfile
    /// line that names it outside the positional `from` finds the builder too.
    pub replace: BTreeMap<String, String>,
}

/// The Go version a stream is for: the first its name, aliases, upstream image or image names
/// (in that order: what images ask for comes first), and a message when they disagree.
pub(super) fn stream_version(
    name: &str,
    aliases: &[String],
    upstream: Option<&str>,
    image: &str,
) -> (Option<GoVersion>, Option<String>) {
    let names =
        std::iter::once(name).chain(aliases.iter().map(String::as_str)).chain(upstream).chain([image]);
    let found: Vec<(&str, GoVersion)> = names.filter_map(|n| Some((n, go_version(n)?))).collect();
    let Some(&(first_name, first)) = found.first() else { return (None, None) };
    let other = found.iter().find(|(_, v)| *v != first).map(|(n, v)| {
        format!("'{first_name}' names Go {first} but '{n}' names Go {v}; the stream counts as Go {first}")
    });
    (Some(first), other)
}

/// Finds every Go builder reference of the imported components (stream and image parents) and,
/// with a template, points it at its version's builder component.
pub(super) fn apply(
    built: &mut [Built],
    streams: &BTreeMap<String, StreamDef>,
    template: Option<&BuilderTemplate>,
    warnings: &mut Vec<Warning>,
) -> Result<DoozerBuilders> {
    let mut references = Vec::new();
    let mut replace = BTreeMap::new();
    for b in built.iter_mut() {
        let (file, line) = (b.file.clone(), b.from_line);
        for target in b.builders.iter_mut().chain(b.final_.as_mut()) {
            let (version, upstream) = if let Some(name) = target.strip_prefix("stream:") {
                match streams.get(name) {
                    Some(def) => (def.go, def.upstream.clone()),
                    None => (None, None),
                }
            } else if let Some(image) = target.strip_prefix("image:") {
                (go_version(image), None)
            } else {
                (None, None)
            };
            let Some(version) = version else { continue };
            references.push(GoReference {
                component: b.name.clone(),
                reference: target.clone(),
                version,
                file: file.clone(),
                line,
            });
            if template.is_some() {
                let member = format!("member:{}", version.builder_name());
                if let Some(upstream) = upstream {
                    replace.insert(upstream, member.clone());
                }
                *target = member;
            }
        }
    }
    let versions = summarize(&references, template, warnings);
    let mut components = String::new();
    if let Some(template) = template {
        for v in &versions {
            let name = v.version.builder_name();
            if let Some(b) = built.iter().find(|b| b.name == name) {
                return Err(Error::invalid_at(
                    Location::new(&b.file, 1, 1),
                    format!(
                        "image {} is named {name}, the name --okd-builders gives Go {}'s builder",
                        b.key, v.version
                    ),
                    "rename the image (payload_name) or import without --okd-builders",
                ));
            }
            components.push_str(&template.component(v.version, None));
        }
        warnings.extend(template.warning());
    }
    Ok(DoozerBuilders { versions, components, replace })
}

#[cfg(test)]
#[path = "builders_tests.rs"]
mod tests;

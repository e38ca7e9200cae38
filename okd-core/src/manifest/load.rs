//! Reading and validating a manifest. Every check here reports the first problem it finds with
//! the file, line and column, and a help line that says how to fix it.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

use serde_saphyr::{Location as YamlLocation, SnippetMode};

use super::{
    Output, Release, Stream, Target, is_dns1123_label,
    raw::{RawRelease, S},
};
use crate::{Error, Location, Result};

const DOCS: &str = "see docs/release-manifest.md";
const ARCHES: &[&str] = &["amd64", "arm64", "ppc64le", "s390x"];

/// How to load a manifest.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Apply this variant instead of the one the manifest names.
    pub variant: Option<String>,
}

/// Reads and validates the manifest at `path`.
pub fn load(path: &Path, options: &LoadOptions) -> Result<Release> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(path, "read the release manifest", e).with_help("pass the path of a release YAML file")
    })?;
    load_str(path, &text, options)
}

/// Validates manifest `text` as if it had been read from `path` (used in errors, and as the base
/// of relative paths).
pub fn load_str(path: &Path, text: &str, options: &LoadOptions) -> Result<Release> {
    // A manifest's booleans are `true` and `false`: YAML 1.1's `no`/`yes`/`on`/`off` (and a
    // quoted "no") read as something else to half the tools that read the same file.
    let mut yaml = yaml_options(text.len());
    yaml.strict_booleans = true;
    let raw: RawRelease =
        serde_saphyr::from_str_with_options(text, yaml).map_err(|e| yaml_error(path, &e))?;
    Loader { path, text }.release(raw, options)
}

/// YAML parser options for a text of `len` bytes. serde-saphyr's default budget (250,000 nodes)
/// refuses releases past ~15,000 components and the largest CRDs. Every node takes at least two
/// bytes of text, so limits that grow with the input admit any real file, while aliases (the way
/// to blow a small text up) keep their default cap.
pub fn yaml_options(len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = budget.max_nodes.max(len / 2 + 1);
    budget.max_events = budget.max_events.max(len + 1);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

pub(super) fn yaml_error(path: &Path, err: &serde_saphyr::Error) -> Error {
    let message = err.render_with_options(serde_saphyr::render_options! { snippets: SnippetMode::Off });
    // The rendered message may lead with its own position; ours comes from Location.
    let mut message = message.lines().next().unwrap_or("invalid YAML").trim().to_owned();
    if let Some(i) = message.rfind(" at line ") {
        message.truncate(i);
    }
    // serde-saphyr's advice is for Rust callers, not for someone editing a manifest.
    let help = if message.starts_with("duplicate mapping key") {
        message = message.split(", set DuplicateKeyPolicy").next().unwrap_or_default().to_owned();
        "a key may appear only once in a mapping; remove one of them".to_owned()
    } else if message.starts_with("unknown field") {
        // The key is quoted in backquotes, and may hold backquotes of its own: cut it whole.
        if let (Some(start), Some(end)) = (message.find('`'), message.rfind("`, expected")) {
            let key = &message[start + 1..end.max(start + 1)];
            if key.chars().count() > crate::error::MAX_QUOTED {
                let cut: String = key.chars().take(crate::error::MAX_QUOTED).collect();
                message = format!("{}{cut}…{}", &message[..=start], &message[end..]);
            }
        }
        format!("fix the key's spelling or remove it; {DOCS}")
    } else if message.starts_with("multiple YAML documents") {
        message = "the manifest holds more than one YAML document (a `---` line starts another)".to_owned();
        "a manifest is one document: remove the `---` line and what follows it, or split the file in two"
            .to_owned()
    } else if message.contains("boolean") {
        message = "expected a boolean: `true` or `false`".to_owned();
        "write true or false, unquoted; YAML 1.1 spellings (no, yes, on, off) and quoted strings are not booleans here".to_owned()
    } else if message.starts_with("budget breached") {
        let what = message
            .split(": ")
            .nth(1)
            .and_then(|rest| rest.split([' ', '{', '(']).next())
            .unwrap_or("size")
            .to_owned();
        message = format!("the manifest is over the reader's limit for {what}");
        "a release manifest is at most a few megabytes: remove what is not part of the release (long comments, generated text)".to_owned()
    } else if message == "unexpected end of input" {
        message = "the manifest is empty or ends early".to_owned();
        format!("a manifest needs name, version, output and components; {DOCS}")
    } else {
        format!("the manifest must match the release format; {DOCS}")
    };
    let location = match err.location() {
        Some(l) => Location::new(path, l.line() as u32, l.column() as u32),
        None => Location::new(path, 1, 1),
    };
    Error::invalid_at(location, message, help)
}

pub(super) struct Loader<'a> {
    pub(super) path: &'a Path,
    pub(super) text: &'a str,
}

impl Loader<'_> {
    pub(super) fn at(&self, loc: YamlLocation) -> Location {
        let mut location = Location::new(self.path, loc.line() as u32, loc.column() as u32);
        let span = loc.span();
        if let (Some(start), Some(len)) = (span.byte_offset(), span.byte_len()) {
            let (start, len) = (start as usize, len as usize);
            if start + len <= self.text.len() {
                location = location.with_span(start..start + len);
            }
        }
        location
    }

    pub(super) fn fail<T>(
        &self,
        loc: YamlLocation,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Result<T> {
        Err(Error::invalid_at(self.at(loc), message, help))
    }

    fn release(&self, raw: RawRelease, options: &LoadOptions) -> Result<Release> {
        let name = &raw.name;
        // It names ImageStreams, Applications and tags: 253 characters at most (a DNS subdomain).
        if name.value.is_empty()
            || name.value.len() > 253
            || !name
                .value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
        {
            self.fail(
                name.referenced,
                format!("release name '{}' is not valid", name.value),
                "use at most 253 lowercase letters, digits, '-', '.' and '_', e.g. okd-mini",
            )?;
        }
        let version = semver::Version::parse(&raw.version.value).or_else(|e| {
            self.fail(
                raw.version.referenced,
                format!("version '{}' is not strict semver: {e}", raw.version.value),
                "write MAJOR.MINOR.PATCH with an optional pre-release, e.g. 4.17.0-0.okd-mini",
            )
        })?;
        let arches = match &raw.arches {
            Some(list) => self.arches(list)?,
            None => vec!["amd64".to_owned()],
        };
        let output = self.output(&raw)?;
        let streams = self.streams(&raw)?;
        let components = &raw.components.value;
        if components.is_empty() {
            self.fail(
                raw.components.referenced,
                "the release has no components",
                "list at least one component",
            )?;
        }
        let mut names = BTreeMap::new();
        for component in components {
            let n = &component.value.name;
            if !is_dns1123_label(&n.value) {
                self.fail(
                    n.referenced,
                    format!("component name '{}' is not a DNS-1123 label", n.value),
                    "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit",
                )?;
            }
            if let Some(first) = names.insert(n.value.as_str(), n.referenced) {
                self.fail(
                    n.referenced,
                    format!("component '{}' is declared twice (first at line {})", n.value, first.line()),
                    "give every component a unique name; it is the payload tag",
                )?;
            }
        }
        let scope = Scope { members: names.keys().copied().collect(), streams: &streams };
        let replace = self.replace_map(&raw.replace, &scope)?;
        let variant = options.variant.clone().or_else(|| raw.variant.as_ref().map(|v| v.value.clone()));
        if let (Some(v), None) = (&raw.variant, &options.variant)
            && v.value.is_empty()
        {
            self.fail(
                v.referenced,
                "the variant name is empty",
                "name a variant, e.g. scos, or remove the key",
            )?;
        }
        if let Some(v) = &variant {
            self.check_variant(v, raw.variant.as_ref().filter(|_| options.variant.is_none()), components)?;
        }
        let components = components
            .iter()
            .map(|c| self.component(&c.value, &arches, variant.as_deref(), &scope))
            .collect::<Result<Vec<_>>>()?;
        Ok(Release {
            path: self.path.to_path_buf(),
            dir: self.path.parent().map(Path::to_path_buf).unwrap_or_default(),
            name: raw.name.value,
            version,
            variant,
            arches,
            output,
            streams,
            replace,
            components,
        })
    }

    /// A variant no component defines would silently pick every default Dockerfile: a typo
    /// (`socs`) must be an error that lists the variants there are.
    fn check_variant(
        &self,
        variant: &str,
        written: Option<&S<String>>,
        components: &[S<super::raw::RawComponent>],
    ) -> Result<()> {
        let known: std::collections::BTreeSet<&str> =
            components.iter().flat_map(|c| c.value.variants.keys().map(String::as_str)).collect();
        if known.contains(variant) {
            return Ok(());
        }
        let (what, help) = if variant.is_empty() {
            (
                "the variant name is empty".to_owned(),
                "name a variant, e.g. scos, or remove the key".to_owned(),
            )
        } else {
            (format!("no component defines the variant '{variant}'"), String::new())
        };
        let help = match (help.is_empty(), known.is_empty()) {
            (false, _) => help,
            (true, true) => "this manifest defines no variants: remove `variant` (or --variant)".to_owned(),
            (true, false) => {
                format!("known variants: {}", known.iter().copied().collect::<Vec<_>>().join(", "))
            }
        };
        match written {
            Some(v) => self.fail(v.referenced, what, help),
            None => Err(Error::invalid(format!("--variant {variant:?}: {what} in {}", self.path.display()))
                .with_help(help)),
        }
    }

    pub(super) fn arches(&self, list: &S<Vec<S<String>>>) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for arch in &list.value {
            if !ARCHES.contains(&arch.value.as_str()) {
                self.fail(
                    arch.referenced,
                    format!("unknown architecture '{}'", arch.value),
                    format!("use one of {} (Go names: x86_64 is amd64, aarch64 is arm64)", ARCHES.join(", ")),
                )?;
            }
            if !out.contains(&arch.value) {
                out.push(arch.value.clone());
            }
        }
        if out.is_empty() {
            self.fail(
                list.referenced,
                "an empty arches list builds nothing",
                "list at least one architecture, or remove the key to use the default",
            )?;
        }
        Ok(out)
    }

    fn output(&self, raw: &RawRelease) -> Result<Output> {
        let (registry, repository) = (&raw.output.registry, &raw.output.repository);
        if registry.value.is_empty() || registry.value.contains(['/', ' ']) || registry.value.contains("://")
        {
            self.fail(
                registry.referenced,
                format!("output registry '{}' is not a registry host", registry.value),
                "write a host with an optional port and no scheme, e.g. 127.0.0.1:5000 or quay.io",
            )?;
        }
        let valid_repo = !repository.value.is_empty()
            && repository.value.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b))
            });
        if !valid_repo {
            self.fail(
                repository.referenced,
                format!("output repository '{}' is not a valid repository path", repository.value),
                "use lowercase path components separated by '/', e.g. okd/okd-mini",
            )?;
        }
        Ok(Output { registry: registry.value.clone(), repository: repository.value.clone() })
    }

    fn streams(&self, raw: &RawRelease) -> Result<BTreeMap<String, Stream>> {
        let mut alias_owner: BTreeMap<&str, &str> = BTreeMap::new();
        let mut out = BTreeMap::new();
        for (name, stream) in &raw.streams {
            let s = &stream.value;
            if name.is_empty() || name.contains([':', ' ']) {
                self.fail(
                    stream.referenced,
                    format!("stream name '{name}' is not valid"),
                    "use a name without ':' or spaces",
                )?;
            }
            if s.image.value.trim().is_empty() {
                self.fail(
                    s.image.referenced,
                    format!("stream '{name}' has an empty image"),
                    "give the pull spec builds should use",
                )?;
            }
            if s.image.value.chars().any(char::is_whitespace) {
                self.fail(
                    s.image.referenced,
                    format!("stream '{name}': image '{}' has spaces", s.image.value),
                    "an image reference has no spaces: write e.g. quay.io/centos/centos:stream9",
                )?;
            }
            for alias in &s.aliases {
                if let Some(other) = alias_owner.insert(&alias.value, name) {
                    self.fail(
                        alias.referenced,
                        format!("alias '{}' is claimed by streams '{other}' and '{name}'", alias.value),
                        "an upstream reference can stand for only one stream; remove one of the aliases",
                    )?;
                }
            }
            let aliases = s.aliases.iter().map(|a| a.value.clone()).collect();
            out.insert(name.clone(), Stream { image: s.image.value.clone(), aliases });
        }
        Ok(out)
    }

    pub(super) fn target(&self, text: &S<String>, scope: &Scope<'_>) -> Result<Target> {
        let target = Target::parse(&text.value).or_else(|message| {
            self.fail(text.referenced, message, "write member:NAME, stream:NAME or image:PULLSPEC")
        })?;
        match &target {
            Target::Member(name) if !scope.members.contains(name.as_str()) => self.fail(
                text.referenced,
                format!("'{}' names no component of this release", text.value),
                format!("known components: {}", join(scope.members.iter())),
            ),
            Target::Stream(name) if !scope.streams.contains_key(name) => self.fail(
                text.referenced,
                format!("'{}' names no stream of this release", text.value),
                if scope.streams.is_empty() {
                    "declare it under `streams:`".to_owned()
                } else {
                    format!("known streams: {}", join(scope.streams.keys()))
                },
            ),
            _ => Ok(target),
        }
    }

    pub(super) fn replace_map(
        &self,
        map: &BTreeMap<String, S<String>>,
        scope: &Scope<'_>,
    ) -> Result<BTreeMap<String, Target>> {
        let mut out = BTreeMap::new();
        for (from, to) in map {
            if from.trim().is_empty() {
                self.fail(
                    to.referenced,
                    "a replace key is empty",
                    "the key is the exact FROM text to replace",
                )?;
            }
            out.insert(from.clone(), self.target(to, scope)?);
        }
        Ok(out)
    }
}

pub(super) struct Scope<'a> {
    pub(super) members: BTreeSet<&'a str>,
    pub(super) streams: &'a BTreeMap<String, Stream>,
}

fn join<T: std::fmt::Display>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

//! The release manifest: one YAML file that describes an OKD release once.
//!
//! [`load`] reads and validates a manifest and returns a [`Release`] with the selected variant
//! already applied, so the rest of okd-build never sees variants or raw YAML. Every input error
//! names the file, the line and the column, and says how to fix it. The format is documented in
//! `docs/release-manifest.md`.

mod component;
mod load;
mod raw;

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
};

use serde::Serialize;

pub use load::{LoadOptions, load, load_str, yaml_options};

use crate::Location;

/// A release, as described by its manifest, with the variant applied.
#[derive(Debug, Clone, Serialize)]
pub struct Release {
    /// The manifest file, as it was named.
    pub path: PathBuf,
    /// The folder that path sources are relative to.
    #[serde(skip)]
    pub dir: PathBuf,
    /// The release stream name.
    pub name: String,
    /// The release version (strict semver).
    pub version: semver::Version,
    /// The variant whose overrides were applied, if any.
    pub variant: Option<String>,
    /// Architectures components build for unless they say otherwise.
    pub arches: Vec<String>,
    /// Where built images go.
    pub output: Output,
    /// External images FROM lines may resolve to, by stream name.
    pub streams: BTreeMap<String, Stream>,
    /// Release-wide exact-text replacements of FROM and --from references.
    pub replace: BTreeMap<String, Target>,
    /// The components, in manifest order.
    pub components: Vec<Component>,
}

impl Release {
    /// The component called `name`.
    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    /// The image reference a component's build is tagged with: `<registry>/<repository>:<name>`.
    pub fn output_image(&self, component: &str) -> String {
        format!("{}/{}:{component}", self.output.registry, self.output.repository)
    }
}

/// The registry and repository that built images are tagged into.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    /// Registry host and optional port, e.g. `127.0.0.1:5000` or `quay.io`.
    pub registry: String,
    /// Repository path inside the registry, e.g. `okd/okd-mini`.
    pub repository: String,
}

/// An external image, and the upstream names that stand for it in Dockerfiles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stream {
    /// The pull spec builds use.
    pub image: String,
    /// Exact FROM texts that resolve to this stream (rule `stream-alias`).
    pub aliases: Vec<String>,
}

/// What a FROM or --from reference is pointed at.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// Another component's output image; makes that component a parent in the build graph.
    Member(String),
    /// A stream from the manifest's `streams`.
    Stream(String),
    /// A literal pull spec.
    Image(String),
}

impl Target {
    /// Parses `member:NAME`, `stream:NAME` or `image:PULLSPEC`.
    pub fn parse(text: &str) -> Result<Target, String> {
        let (kind, rest) = text.split_once(':').ok_or_else(|| format!("'{text}' is not a target"))?;
        if rest.is_empty() {
            return Err(format!("'{text}' names no {kind}"));
        }
        match kind {
            "member" => Ok(Target::Member(rest.to_owned())),
            "stream" => Ok(Target::Stream(rest.to_owned())),
            "image" if rest.chars().any(char::is_whitespace) => {
                Err(format!("'{text}': an image reference has no spaces"))
            }
            "image" => Ok(Target::Image(rest.to_owned())),
            _ => Err(format!("'{text}' has an unknown target kind '{kind}'")),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Member(n) => write!(f, "member:{n}"),
            Target::Stream(n) => write!(f, "stream:{n}"),
            Target::Image(i) => write!(f, "image:{i}"),
        }
    }
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where a component's source comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A folder next to the manifest, read in place. The path is relative to the manifest's
    /// folder and never leaves it.
    Path(PathBuf),
    /// A git repository and a ref (branch, tag or commit), fetched into the cache.
    Git {
        /// Clone URL (https, ssh or file).
        url: String,
        /// Branch, tag or commit; `HEAD` when the manifest gives none.
        #[serde(rename = "ref")]
        reference: String,
    },
}

/// Doozer's positional parent mapping: the FROMs that are not stage references pair, in order,
/// with `builders` and then `final`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PositionalFrom {
    /// One target per external builder-stage FROM, in order.
    pub builders: Vec<Target>,
    /// The target of the last external FROM.
    #[serde(rename = "final")]
    pub final_: Option<Target>,
}

impl PositionalFrom {
    /// All targets in pairing order.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.builders.iter().chain(self.final_.as_ref())
    }
}

/// One image of the release, with its variant overrides applied.
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    /// The payload tag and the component's identity; a DNS-1123 label.
    pub name: String,
    /// Where the source comes from.
    pub source: Source,
    /// The Dockerfile, relative to the context.
    pub dockerfile: String,
    /// The build context, relative to the source root.
    pub context: String,
    /// Whether the image is a tag of the release payload.
    pub payload: bool,
    /// Architectures to build for.
    pub arches: Vec<String>,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    /// Exact-text replacements that win over the release's.
    pub replace: BTreeMap<String, Target>,
    /// Doozer-style positional mapping.
    pub from: Option<PositionalFrom>,
    /// Replacement for the last FROM only.
    pub last_from: Option<Target>,
    /// Where the component is declared, for errors about it found later (e.g. in its Dockerfile).
    #[serde(skip)]
    pub declared_at: Location,
}

impl Component {
    /// The Dockerfile's path relative to the source root.
    pub fn dockerfile_path(&self) -> PathBuf {
        let context = Path::new(&self.context);
        if context == Path::new(".") {
            PathBuf::from(&self.dockerfile)
        } else {
            context.join(&self.dockerfile)
        }
    }

    /// Every `member:` this component's configuration names, which may or may not be used by its
    /// Dockerfile.
    pub fn configured_targets(&self) -> impl Iterator<Item = &Target> {
        self.replace
            .values()
            .chain(self.from.iter().flat_map(PositionalFrom::targets))
            .chain(self.last_from.as_ref())
    }
}

/// Is `name` a DNS-1123 label (RFC 1123): lowercase alphanumerics and '-', at most 63
/// characters, starting and ending with an alphanumeric.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod unit_tests {
    use super::*;

    #[test]
    fn targets_parse_and_print() {
        for text in ["member:base", "stream:busybox", "image:quay.io/a/b:c"] {
            assert_eq!(Target::parse(text).map(|t| t.to_string()), Ok(text.to_owned()));
        }
        assert!(Target::parse("base").is_err());
        assert!(Target::parse("member:").is_err());
        assert!(Target::parse("tag:x").is_err());
    }

    #[test]
    fn dns1123_labels() {
        assert!(is_dns1123_label("cluster-version-operator"));
        assert!(is_dns1123_label("a1"));
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad:?}");
        }
    }
}

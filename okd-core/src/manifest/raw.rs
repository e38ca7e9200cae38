//! The manifest exactly as written, before validation. Values that later checks complain about
//! are `Spanned`, so those complaints can point at the line and column.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub(super) type S<T> = Spanned<T>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRelease {
    pub name: S<String>,
    pub version: S<String>,
    #[serde(default)]
    pub variant: Option<S<String>>,
    #[serde(default)]
    pub arches: Option<S<Vec<S<String>>>>,
    pub output: RawOutput,
    #[serde(default)]
    pub streams: BTreeMap<String, S<RawStream>>,
    #[serde(default)]
    pub replace: BTreeMap<String, S<String>>,
    pub components: S<Vec<S<RawComponent>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutput {
    pub registry: S<String>,
    pub repository: S<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStream {
    pub image: S<String>,
    #[serde(default)]
    pub aliases: Vec<S<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    #[serde(default)]
    pub path: Option<S<String>>,
    #[serde(default)]
    pub git: Option<S<String>>,
    #[serde(default, rename = "ref")]
    pub reference: Option<S<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFrom {
    #[serde(default)]
    pub builders: Vec<S<String>>,
    #[serde(default, rename = "final")]
    pub final_: Option<S<String>>,
}

/// The keys a component and its variants share.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOverrides {
    #[serde(default)]
    pub dockerfile: Option<S<String>>,
    #[serde(default)]
    pub context: Option<S<String>>,
    #[serde(default)]
    pub build_args: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub replace: Option<BTreeMap<String, S<String>>>,
    #[serde(default)]
    pub from: Option<S<RawFrom>>,
    #[serde(default)]
    pub last_from: Option<S<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawComponent {
    pub name: S<String>,
    pub source: S<RawSource>,
    #[serde(default)]
    pub payload: bool,
    #[serde(default)]
    pub arches: Option<S<Vec<S<String>>>>,
    #[serde(default)]
    pub variants: BTreeMap<String, RawOverrides>,
    // Spelled out rather than `#[serde(flatten)] RawOverrides`: serde ignores
    // `deny_unknown_fields` on a struct with a flattened field, and typos must be errors.
    #[serde(default)]
    pub dockerfile: Option<S<String>>,
    #[serde(default)]
    pub context: Option<S<String>>,
    #[serde(default)]
    pub build_args: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub replace: Option<BTreeMap<String, S<String>>>,
    #[serde(default)]
    pub from: Option<S<RawFrom>>,
    #[serde(default)]
    pub last_from: Option<S<String>>,
}

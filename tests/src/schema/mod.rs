//! CRD schemas as validators (being built: until then every object passes and [`Schemas::load`]
//! reads nothing).

use std::path::Path;

use serde_json::Value;

/// How a server treats fields the schema does not know (`fieldValidation` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FieldValidation {
    /// Unknown fields are an error (422).
    Strict,
    /// Unknown fields are pruned and reported in a Warning header (the default).
    #[default]
    Warn,
    /// Unknown fields are pruned silently.
    Ignore,
}

/// One API resource the schemas describe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// API group ("" for core).
    pub group: String,
    /// Version, e.g. v1.
    pub version: String,
    /// Kind, e.g. PipelineRun.
    pub kind: String,
    /// Plural resource name, e.g. pipelineruns.
    pub plural: String,
    /// Whether objects live in namespaces.
    pub namespaced: bool,
    /// Whether `/status` is a subresource.
    pub status_subresource: bool,
}

/// Every schema loaded.
#[derive(Debug, Default, Clone)]
pub struct Schemas {}

impl Schemas {
    /// Loads every CRD under `dir`.
    pub fn load(_dir: &Path) -> Result<Schemas, String> {
        Ok(Schemas {})
    }

    /// `$OKD_SHARED/schemas`, or `None` (and a note on stderr) when OKD_SHARED is unset.
    pub fn from_env() -> Option<Schemas> {
        None
    }

    /// The resources the schemas describe.
    pub fn resources(&self) -> Vec<ResourceInfo> {
        Vec::new()
    }

    /// Validates (and, outside Strict, prunes unknown fields of) `object`, of `group/version`
    /// `kind`. Ok: warnings (pruned fields). Err: causes, one per problem, each naming the field
    /// path (`spec.params[0].name: Required value`).
    pub fn validate(
        &self,
        _group: &str,
        _version: &str,
        _kind: &str,
        _object: &mut Value,
        _mode: FieldValidation,
    ) -> Result<Vec<String>, Vec<String>> {
        Ok(Vec::new())
    }
}

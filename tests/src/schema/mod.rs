//! CRD schemas as validators, as kube-apiserver uses them: structural pruning of unknown fields
//! (an error under [`FieldValidation::Strict`]), OpenAPI value validation, ObjectMeta checks and
//! defaulting.
//!
//! [`Schemas::load`] reads every `apiextensions.k8s.io/v1` CustomResourceDefinition in a
//! directory (every served version) and, from Swagger 2.0 documents, OpenShift's BuildConfig,
//! Build and ImageStream (built-in types with no CRD; their schemas are not structural, so
//! properties are the known fields, `required` is required, and free-form objects take anything).
//!
//! Not checked: `x-kubernetes-validations` (CEL rules), list-type set/map uniqueness, string
//! formats (date-time, duration, ...), and update-time rules (immutability, ratcheting).

mod check;
mod compile;
mod meta;
#[cfg(test)]
mod tests;

use std::{
    collections::BTreeMap,
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, Once, PoisonError},
};

use serde_json::Value;

use compile::{Compiler, Schema};

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
#[derive(Default, Clone)]
pub struct Schemas {
    resources: Arc<BTreeMap<(String, String, String), Resource>>,
}

/// One (group, version, kind) and its schema.
#[derive(Debug)]
struct Resource {
    info: ResourceInfo,
    /// The root schema without its `metadata` property.
    root: Schema,
    /// The root schema's `metadata` property (value validations only: ObjectMeta decides which
    /// fields exist).
    metadata: Option<Schema>,
}

/// Swagger definitions served as resources: definition, group, version, kind, plural, whether
/// `/status` is a subresource. All are namespaced.
const SWAGGER_TYPES: &[(&str, &str, &str, &str, &str, bool)] = &[
    (
        "com.github.openshift.api.build.v1.BuildConfig",
        "build.openshift.io",
        "v1",
        "BuildConfig",
        "buildconfigs",
        false,
    ),
    ("com.github.openshift.api.build.v1.Build", "build.openshift.io", "v1", "Build", "builds", false),
    (
        "com.github.openshift.api.image.v1.ImageStream",
        "image.openshift.io",
        "v1",
        "ImageStream",
        "imagestreams",
        true,
    ),
];

impl fmt::Debug for Schemas {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kinds: Vec<String> = self.resources.keys().map(|(g, v, k)| format!("{g}/{v} {k}")).collect();
        f.debug_struct("Schemas").field("resources", &kinds).finish()
    }
}

impl Schemas {
    /// Loads every CRD under `dir`.
    pub fn load(dir: &Path) -> Result<Schemas, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if matches!(ext, "yaml" | "yml" | "json") {
                files.push(path);
            }
        }
        files.sort();
        // The Argo and Shipwright CRDs are megabytes of YAML: parse the files in parallel.
        let loaded: Vec<Result<Vec<Resource>, String>> = std::thread::scope(|scope| {
            let jobs: Vec<_> = files.iter().map(|file| scope.spawn(move || load_file(file))).collect();
            jobs.into_iter()
                .map(|job| job.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
                .collect()
        });
        let mut resources = BTreeMap::new();
        for resource in loaded.into_iter().collect::<Result<Vec<_>, _>>()?.into_iter().flatten() {
            let key =
                (resource.info.group.clone(), resource.info.version.clone(), resource.info.kind.clone());
            resources.entry(key).or_insert(resource);
        }
        if resources.is_empty() {
            return Err(format!(
                "no CustomResourceDefinition or known OpenAPI definition in {}",
                dir.display()
            ));
        }
        Ok(Schemas { resources: Arc::new(resources) })
    }

    /// `$OKD_SHARED/schemas`, or `None` (and a note on stderr) when OKD_SHARED is unset.
    ///
    /// Loaded once per directory and shared. Panics when OKD_SHARED is set but its schemas
    /// cannot be loaded: a CI run must not silently skip validation.
    pub fn from_env() -> Option<Schemas> {
        static NOTE: Once = Once::new();
        static LOADED: Mutex<BTreeMap<PathBuf, Schemas>> = Mutex::new(BTreeMap::new());
        let Some(shared) = std::env::var_os("OKD_SHARED") else {
            NOTE.call_once(|| eprintln!("schema validation is off: OKD_SHARED is unset"));
            return None;
        };
        let dir = PathBuf::from(shared).join("schemas");
        let mut loaded = LOADED.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(schemas) = loaded.get(&dir) {
            return Some(schemas.clone());
        }
        let schemas = Schemas::load(&dir).unwrap_or_else(|e| {
            panic!("OKD_SHARED is set but the schemas in {} cannot be loaded: {e}", dir.display())
        });
        loaded.insert(dir, schemas.clone());
        Some(schemas)
    }

    /// The resources the schemas describe.
    pub fn resources(&self) -> Vec<ResourceInfo> {
        self.resources.values().map(|r| r.info.clone()).collect()
    }

    /// Validates (and, outside Strict, prunes unknown fields of) `object`, of `group/version`
    /// `kind`. Ok: warnings (pruned fields). Err: causes, one per problem, each naming the field
    /// path (`spec.params[0].name: Required value`).
    pub fn validate(
        &self,
        group: &str,
        version: &str,
        kind: &str,
        object: &mut Value,
        mode: FieldValidation,
    ) -> Result<Vec<String>, Vec<String>> {
        let key = (group.to_owned(), version.to_owned(), kind.to_owned());
        let Some(resource) = self.resources.get(&key) else { return Ok(Vec::new()) };
        let Some(map) = object.as_object_mut() else {
            return Err(vec![format!("Invalid value: {kind} must be a JSON object")]);
        };
        let remove = mode != FieldValidation::Strict;
        let mut unknown = Vec::new();
        let mut dropped = Vec::new();
        for (key, child) in map.iter_mut() {
            if let Some(property) = resource.root.properties.get(key) {
                check::prune(property, child, key, false, remove, &mut unknown);
            } else if key == "metadata" {
                check::prune(&meta::OBJECT_META, child, key, false, remove, &mut unknown);
            } else if !matches!(key.as_str(), "apiVersion" | "kind" | "spec" | "status")
                && !resource.root.keeps_unknown()
            {
                unknown.push(key.clone());
                dropped.push(key.clone());
            }
        }
        if remove {
            for key in dropped {
                map.remove(&key);
            }
        }

        let mut errors = Vec::new();
        check::check(&resource.root, &*object, "", &mut errors);
        match object.get("metadata") {
            Some(metadata) => {
                check::check(&meta::OBJECT_META, metadata, "metadata", &mut errors);
                if let Some(schema) = &resource.metadata {
                    check::check(schema, metadata, "metadata", &mut errors);
                }
                if let Some(metadata) = metadata.as_object() {
                    meta::check(metadata, "metadata", true, &mut errors);
                }
            }
            None => errors.push("metadata.name: Required value: name or generateName is required".to_owned()),
        }
        let unknown = unknown.into_iter().map(|path| format!("unknown field \"{path}\""));
        let warnings = match mode {
            FieldValidation::Strict => {
                errors.splice(0..0, unknown);
                Vec::new()
            }
            FieldValidation::Warn => unknown.collect(),
            FieldValidation::Ignore => Vec::new(),
        };
        if errors.is_empty() {
            return Ok(warnings);
        }
        let mut seen = std::collections::HashSet::new();
        errors.retain(|e| seen.insert(e.clone()));
        Err(errors)
    }

    /// Applies the schema's `default`s to `object` as kube-apiserver does: a property with a
    /// default that is missing from its parent object (or null without being nullable) gets
    /// it, at every depth the object reaches. Swagger-described types are not defaulted (their
    /// defaults live in Go code). A kind the schemas do not know is left alone.
    pub fn apply_defaults(&self, group: &str, version: &str, kind: &str, object: &mut Value) {
        let key = (group.to_owned(), version.to_owned(), kind.to_owned());
        if let Some(resource) = self.resources.get(&key) {
            check::apply_defaults(&resource.root, object);
        }
    }
}

/// The resources one file describes (none for a file that is neither a CRD nor a Swagger
/// document with a known definition).
fn load_file(path: &Path) -> Result<Vec<Resource>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.display();
    if path.extension().is_some_and(|e| e == "json") {
        let document: Value =
            serde_json::from_str(&text).map_err(|e| format!("{name}: invalid JSON: {e}"))?;
        return Ok(swagger_resources(document));
    }
    let document: Value =
        serde_saphyr::from_str_with_options(&text, okd_core::manifest::yaml_options(text.len()))
            .map_err(|e| format!("{name}: invalid YAML: {e}"))?;
    if document.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Ok(Vec::new());
    }
    crd_resources(&document).map_err(|e| format!("{name}: {e}"))
}

fn crd_resources(crd: &Value) -> Result<Vec<Resource>, String> {
    let spec = &crd["spec"];
    let text = |value: &Value, what: &str| {
        value.as_str().map(str::to_owned).ok_or_else(|| format!("not a CustomResourceDefinition: no {what}"))
    };
    let group = text(&spec["group"], "spec.group")?;
    let kind = text(&spec["names"]["kind"], "spec.names.kind")?;
    let plural = text(&spec["names"]["plural"], "spec.names.plural")?;
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    let versions = spec["versions"].as_array().ok_or("not a CustomResourceDefinition: no spec.versions")?;
    let mut resources = Vec::new();
    for version in versions {
        if version["served"] == Value::Bool(false) {
            continue;
        }
        let name = text(&version["name"], "spec.versions[].name")?;
        // apiextensions.k8s.io/v1beta1 kept one schema and subresources for all versions.
        let schema = match &version["schema"]["openAPIV3Schema"] {
            Value::Null => &spec["validation"]["openAPIV3Schema"],
            schema => schema,
        };
        let status =
            version["subresources"]["status"].is_object() || spec["subresources"]["status"].is_object();
        let mut compiler = Compiler::default();
        let root = compiler.compile(schema);
        for pattern in &compiler.bad_patterns {
            eprintln!("schema: {group}/{name} {kind}: pattern {pattern:?} is not supported, not checked");
        }
        let info = ResourceInfo {
            group: group.clone(),
            version: name,
            kind: kind.clone(),
            plural: plural.clone(),
            namespaced,
            status_subresource: status,
        };
        resources.push(resource(info, root));
    }
    Ok(resources)
}

fn swagger_resources(mut document: Value) -> Vec<Resource> {
    let Some(Value::Object(definitions)) = document.get_mut("definitions").map(Value::take) else {
        return Vec::new();
    };
    let mut compiler = Compiler::swagger(definitions);
    let mut resources = Vec::new();
    for &(definition, group, version, kind, plural, status) in SWAGGER_TYPES {
        let Some(root) = compiler.definition(definition) else { continue };
        let info = ResourceInfo {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            plural: plural.to_owned(),
            namespaced: true,
            status_subresource: status,
        };
        resources.push(resource(info, root));
    }
    resources
}

fn resource(info: ResourceInfo, mut root: Schema) -> Resource {
    let metadata = root.properties.remove("metadata");
    Resource { info, root, metadata }
}

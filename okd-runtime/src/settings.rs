//! Typed backend settings, read from layers with the `config` crate:
//!
//! 1. the backend's defaults (its settings struct's `Default`);
//! 2. the user's settings file, `backends.<name>` (`$OKD_CONFIG`, else
//!    `$XDG_CONFIG_HOME/okd/config.yaml`, else `~/.config/okd/config.yaml`; a missing file is fine);
//! 3. the environment, `OKD_<NAME>__<KEY>` (the name upper-cased with `-` as `_`, two underscores
//!    before the key: `OKD_DOOZER_KONFLUX__GIT_REMOTE`);
//! 4. the command line (`--context`, `-n`, `--kubeconfig`, `--engine`, `--set KEY=VALUE`).
//!
//! Later layers win. An empty value unsets a key. A key the backend does not have is refused with
//! where it came from and the keys it does have, which are read off the settings struct itself
//! (its serialized default), so the list cannot drift from the fields. docs/configuration.md
//! documents every key.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use config::{Config, Environment, File, FileFormat, Source};
use okd_core::{Error, Result, registry::BackendSettings};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

/// The settings every Kubernetes backend shares, flattened into its own settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    /// kubeconfig context; the kubeconfig's current context when unset.
    pub context: Option<String>,
    /// kubeconfig file; `$KUBECONFIG`, else `~/.kube/config` when unset.
    pub kubeconfig: Option<String>,
    /// Namespace; the context's namespace when unset.
    pub namespace: Option<String>,
}

/// Where settings come from besides the command line.
#[derive(Debug, Clone, Default)]
pub struct SettingsLayers {
    /// The settings file, when there is one.
    file: Option<PathBuf>,
    /// The environment to read `OKD_<NAME>__<KEY>` from; the process's when `None`.
    env: Option<BTreeMap<String, String>>,
}

impl SettingsLayers {
    /// The user's file and the process environment.
    pub fn user() -> Self {
        SettingsLayers { file: Some(default_file()), env: None }
    }

    /// No file and an empty environment: defaults and flags only.
    pub fn none() -> Self {
        SettingsLayers { file: None, env: Some(BTreeMap::new()) }
    }

    /// With `file` as the settings file.
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Self {
        self.file = Some(file.into());
        self
    }

    /// With `env` as the environment (tests).
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Self {
        self.env = Some(env);
        self
    }

    /// The settings file consulted.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// `backend`'s settings as `T`: defaults < file < environment < `flags`.
    pub fn load<T>(&self, backend: &str, flags: &BackendSettings) -> Result<T>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        let known = known_keys::<T>(backend)?;
        let prefix = format!("OKD_{}", backend.to_uppercase().replace('-', "_"));
        let mut builder = Config::builder();
        if let Some(table) = self.file_table(backend)? {
            for key in table.keys() {
                check_key(backend, &known, key, || {
                    format!(
                        "{}: backends.{backend}.{key}",
                        self.file.as_deref().unwrap_or(Path::new("")).display()
                    )
                })?;
            }
            let json = serde_json::Value::Object(table).to_string();
            builder = builder.add_source(File::from_str(&json, FileFormat::Json));
        }
        let env = self.env_vars(&prefix);
        for var in env.keys() {
            let key = var[prefix.len() + 2..].to_lowercase();
            check_key(backend, &known, &key, || var.clone())?;
        }
        builder = builder.add_source(
            Environment::with_prefix(&prefix)
                .prefix_separator("__")
                .separator("__")
                .source(Some(env.into_iter().collect())),
        );
        for (key, value) in flags {
            check_key(backend, &known, key, || format!("--set {key}={value}"))?;
            builder =
                builder.set_override(key.as_str(), value.as_str()).map_err(|e| bad(backend, &known, e))?;
        }
        let merged = builder.build().map_err(|e| bad(backend, &known, e))?;
        // An empty value unsets a key: `--set namespace=` falls back to the default.
        let mut values = merged.collect().map_err(|e| bad(backend, &known, e))?;
        values.retain(|_, v| !matches!(&v.kind, config::ValueKind::String(s) if s.is_empty()));
        let mut builder = Config::builder();
        for (key, value) in values {
            builder = builder.set_override(key.as_str(), value).map_err(|e| bad(backend, &known, e))?;
        }
        builder.build().and_then(Config::try_deserialize).map_err(|e| bad(backend, &known, e))
    }

    /// `backends.<backend>` of the settings file, when the file exists and has it.
    fn file_table(&self, backend: &str) -> Result<Option<serde_json::Map<String, serde_json::Value>>> {
        let Some(path) = &self.file else { return Ok(None) };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(path, "read the settings file", e)),
        };
        let file: SettingsFile = serde_saphyr::from_str(&text).map_err(|e| {
            Error::invalid(format!("settings file {}: {}", path.display(), first_line(&e.to_string())))
                .with_help(
                    "write `backends:` with one mapping of KEY: VALUE per backend (docs/configuration.md)",
                )
        })?;
        let table = file.backends.get(backend).or_else(|| file.backends.get(&backend.replace('-', "_")));
        match table {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Object(map)) => Ok(Some(map.clone())),
            Some(_) => Err(Error::invalid(format!(
                "settings file {}: backends.{backend} must be a mapping of KEY: VALUE",
                path.display()
            ))),
        }
    }

    /// The `<prefix>__*` variables of the environment.
    fn env_vars(&self, prefix: &str) -> BTreeMap<String, String> {
        let wanted = format!("{prefix}__");
        let matches = |k: &str| k.len() > wanted.len() && k[..wanted.len()].eq_ignore_ascii_case(&wanted);
        match &self.env {
            Some(env) => {
                env.iter().filter(|(k, _)| matches(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
            }
            None => std::env::vars().filter(|(k, _)| matches(k)).collect(),
        }
    }
}

/// The settings file's shape: only `backends` for now, so a typo at the top is caught.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    #[serde(default)]
    backends: BTreeMap<String, serde_json::Value>,
}

/// `$OKD_CONFIG`, else `$XDG_CONFIG_HOME/okd/config.yaml`, else `~/.config/okd/config.yaml`.
pub fn default_file() -> PathBuf {
    let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
    if let Some(file) = std::env::var_os("OKD_CONFIG").filter(|v| !v.is_empty()) {
        return PathBuf::from(file);
    }
    if let Some(dir) = absolute("XDG_CONFIG_HOME") {
        return dir.join("okd/config.yaml");
    }
    match absolute("HOME") {
        Some(home) => home.join(".config/okd/config.yaml"),
        None => PathBuf::from(".okd/config.yaml"),
    }
}

/// The keys `T` has: the fields of its serialized default (flattened fields included), so the
/// list cannot drift from the struct.
pub fn known_keys<T: Serialize + Default>(backend: &str) -> Result<BTreeSet<String>> {
    match serde_json::to_value(T::default()) {
        Ok(serde_json::Value::Object(map)) => Ok(map.into_iter().map(|(k, _)| k).collect()),
        _ => Err(Error::new(
            okd_core::ErrorKind::Internal,
            format!("backend '{backend}': its settings do not serialize as a mapping"),
        )),
    }
}

fn check_key(
    backend: &str,
    known: &BTreeSet<String>,
    key: &str,
    origin: impl FnOnce() -> String,
) -> Result<()> {
    if known.contains(key) {
        return Ok(());
    }
    Err(Error::invalid(format!("{}: backend '{backend}' has no setting '{key}'", origin()))
        .with_help(valid(known)))
}

fn valid(known: &BTreeSet<String>) -> String {
    if known.is_empty() {
        "it takes no settings".to_owned()
    } else {
        format!("its settings are: {}", known.iter().cloned().collect::<Vec<_>>().join(", "))
    }
}

fn bad(backend: &str, known: &BTreeSet<String>, e: config::ConfigError) -> Error {
    Error::invalid(format!("backend '{backend}' settings: {}", first_line(&e.to_string())))
        .with_help(valid(known))
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &line[..i]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Demo {
        #[serde(flatten)]
        cluster: ClusterConfig,
        git_remote: Option<String>,
        jobs: Option<u32>,
        cancel: Option<bool>,
    }

    fn flags(pairs: &[(&str, &str)]) -> BackendSettings {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order_and_values_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.yaml");
        std::fs::write(
            &file,
            "backends:\n  doozer-konflux:\n    context: from-file\n    namespace: file-ns\n    jobs: 3\n    git_remote: file://x\n",
        )
        .unwrap();
        let env = BTreeMap::from([
            ("OKD_DOOZER_KONFLUX__NAMESPACE".to_owned(), "env-ns".to_owned()),
            ("OKD_DOOZER_KONFLUX__CANCEL".to_owned(), "true".to_owned()),
            ("OKD_KONFLUX__NAMESPACE".to_owned(), "other-backend".to_owned()),
        ]);
        let layers = SettingsLayers::none().with_file(&file).with_env(env);
        let demo: Demo =
            layers.load("doozer-konflux", &flags(&[("context", "from-flag"), ("git_remote", "")])).unwrap();
        assert_eq!(demo.cluster.context.as_deref(), Some("from-flag"));
        assert_eq!(demo.cluster.namespace.as_deref(), Some("env-ns"));
        assert_eq!(demo.jobs, Some(3));
        assert_eq!(demo.cancel, Some(true));
        assert_eq!(demo.git_remote, None, "an empty value unsets");
    }

    #[test]
    fn unknown_keys_name_their_origin_and_the_valid_keys() {
        let layers = SettingsLayers::none();
        let e = layers.load::<Demo>("konflux", &flags(&[("nmespace", "x")])).unwrap_err();
        assert!(
            e.to_string().contains("--set nmespace=x: backend 'konflux' has no setting 'nmespace'"),
            "{e}"
        );
        let help = e.help().unwrap();
        assert!(help.contains("cancel, context, git_remote, jobs, kubeconfig, namespace"), "{help}");
        let env = BTreeMap::from([("OKD_KONFLUX__NMESPACE".to_owned(), "x".to_owned())]);
        let e = SettingsLayers::none()
            .with_env(env)
            .load::<Demo>("konflux", &BackendSettings::new())
            .unwrap_err();
        assert!(e.to_string().starts_with("OKD_KONFLUX__NMESPACE: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "backends:\n  konflux: { nmespace: x }\n").unwrap();
        let e = SettingsLayers::none()
            .with_file(&file)
            .load::<Demo>("konflux", &BackendSettings::new())
            .unwrap_err();
        assert!(e.to_string().contains("backends.konflux.nmespace"), "{e}");
    }

    #[test]
    fn bad_values_and_bad_files_are_input_errors() {
        let e = SettingsLayers::none().load::<Demo>("konflux", &flags(&[("jobs", "many")])).unwrap_err();
        assert_eq!(e.kind(), okd_core::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("jobs"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yaml");
        std::fs::write(&file, "backend:\n  konflux: {}\n").unwrap();
        let e = SettingsLayers::none()
            .with_file(&file)
            .load::<Demo>("konflux", &BackendSettings::new())
            .unwrap_err();
        assert!(e.to_string().contains("c.yaml"), "{e}");
        let missing = SettingsLayers::none().with_file(dir.path().join("none.yaml"));
        assert_eq!(missing.load::<Demo>("konflux", &BackendSettings::new()).unwrap(), Demo::default());
    }
}

//! Backends by name, as OpenDAL picks services by scheme.
//!
//! Each backend crate exports its names and a `register` function; the CLI calls them once at
//! start. A registry is a plain value, not a global, so tests build their own.

use std::{collections::BTreeMap, sync::Arc};

use crate::{
    Error, ErrorKind, Result,
    backend::{BackendInfo, BuildBackend},
};

/// Configuration handed to a backend factory: string keys and values, from the config file,
/// the environment and flags. Each backend parses what it understands in its `config.rs` and
/// refuses keys it does not know.
pub type BackendConfig = BTreeMap<String, String>;

/// Builds a backend from its configuration.
pub type Factory = fn(&BackendConfig) -> Result<Arc<dyn BuildBackend>>;

/// Describes a backend without building it.
pub type Describe = fn() -> BackendInfo;

/// The known backends.
#[derive(Debug, Default, Clone)]
pub struct BackendRegistry {
    entries: BTreeMap<&'static str, (Describe, Factory)>,
}

impl BackendRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name`. `info` must not need configuration: `okd backends` lists every backend
    /// without connecting to anything.
    pub fn register(&mut self, name: &'static str, info: Describe, factory: Factory) {
        self.entries.insert(name, (info, factory));
    }

    /// The registered names, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.entries.keys().copied().collect()
    }

    /// The static description of every backend.
    pub fn infos(&self) -> Vec<BackendInfo> {
        self.entries.values().map(|(info, _)| info()).collect()
    }

    /// The static description of `name`.
    pub fn info(&self, name: &str) -> Result<BackendInfo> {
        self.entries.get(name).map(|(info, _)| info()).ok_or_else(|| self.unknown(name))
    }

    /// Builds backend `name` from `config`.
    pub fn get(&self, name: &str, config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
        let (_, factory) = self.entries.get(name).ok_or_else(|| self.unknown(name))?;
        factory(config)
    }

    fn unknown(&self, name: &str) -> Error {
        Error::new(ErrorKind::InvalidInput, format!("unknown backend '{name}'"))
            .with_help(format!("known backends: {}", self.names().join(", ")))
    }
}

/// Refuses configuration keys a backend does not know; backends call it from `config.rs`.
pub fn check_keys(backend: &str, config: &BackendConfig, known: &[&str]) -> Result<()> {
    match config.keys().find(|k| !known.contains(&k.as_str())) {
        None => Ok(()),
        Some(key) => Err(Error::invalid(format!("backend '{backend}' has no setting '{key}'")).with_help(
            if known.is_empty() {
                format!("'{backend}' takes no settings")
            } else {
                format!("its settings are: {}", known.join(", "))
            },
        )),
    }
}

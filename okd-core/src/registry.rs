//! Backends by name, as OpenDAL picks services by scheme.
//!
//! Each backend crate exports its names and a `register` function; the CLI calls them once at
//! start. A registry is a plain value, not a global, so tests build their own.
//!
//! The registry is generic over `C`, what a factory is handed besides the settings: okd-runtime's
//! `Runtime` (the run store, the state and cache folders, the settings layers). okd-core knows
//! nothing of it, so the model stays free of IO.

use std::{collections::BTreeMap, sync::Arc};

use crate::{
    Error, ErrorKind, Result,
    backend::{BackendInfo, BuildBackend},
};

/// Settings given for one backend on the command line (`--context`, `--set KEY=VALUE`, ...), by
/// key. Each backend turns them, layered over its settings file and environment, into its own
/// typed configuration and refuses keys it does not know.
pub type BackendSettings = BTreeMap<String, String>;

/// Builds a backend from its context and settings.
pub type Factory<C> = fn(&C, &BackendSettings) -> Result<Arc<dyn BuildBackend>>;

/// Describes a backend without building it.
pub type Describe = fn() -> BackendInfo;

/// The known backends.
pub struct BackendRegistry<C> {
    entries: BTreeMap<&'static str, (Describe, Factory<C>)>,
}

impl<C> std::fmt::Debug for BackendRegistry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendRegistry").field("names", &self.names()).finish()
    }
}

impl<C> Default for BackendRegistry<C> {
    fn default() -> Self {
        BackendRegistry { entries: BTreeMap::new() }
    }
}

impl<C> Clone for BackendRegistry<C> {
    fn clone(&self) -> Self {
        BackendRegistry { entries: self.entries.clone() }
    }
}

impl<C> BackendRegistry<C> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `name`. `info` must not need configuration: `okd backends` lists every backend
    /// without connecting to anything.
    pub fn register(&mut self, name: &'static str, info: Describe, factory: Factory<C>) {
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

    /// Builds backend `name` with `context` and `settings`.
    pub fn get(&self, name: &str, context: &C, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
        let (_, factory) = self.entries.get(name).ok_or_else(|| self.unknown(name))?;
        factory(context, settings)
    }

    fn unknown(&self, name: &str) -> Error {
        Error::new(ErrorKind::InvalidInput, format!("unknown backend '{name}'"))
            .with_help(format!("known backends: {}", self.names().join(", ")))
    }
}

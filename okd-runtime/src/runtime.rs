//! [`Runtime`]: what the CLI hands every backend factory: where state and the git cache live,
//! the run store (opened on first use, so rendering never creates a state folder), and the
//! settings layers each backend's typed configuration is read from.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
};

use okd_core::{Result, registry::BackendSettings, source::SourceOptions};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    RunDriver,
    settings::SettingsLayers,
    store::{RunStore, SqliteRunStore},
};

/// Every backend by name, built with a [`Runtime`].
pub type BackendRegistry = okd_core::registry::BackendRegistry<Runtime>;

/// The run store, opened when first needed and then shared.
#[derive(Clone)]
pub struct StoreHandle(Arc<StoreInner>);

struct StoreInner {
    /// The state folder to open `state.db` in; `None` when a store was given.
    dir: Option<PathBuf>,
    store: Mutex<Option<Arc<dyn RunStore>>>,
}

impl std::fmt::Debug for StoreHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreHandle").field("dir", &self.0.dir).finish_non_exhaustive()
    }
}

impl StoreHandle {
    /// The SQLite store in `dir`, opened on first use.
    pub fn open_on_use(dir: impl Into<PathBuf>) -> Self {
        StoreHandle(Arc::new(StoreInner { dir: Some(dir.into()), store: Mutex::new(None) }))
    }

    /// A store that is already open (tests, fakes, embedding).
    pub fn from_store(store: Arc<dyn RunStore>) -> Self {
        StoreHandle(Arc::new(StoreInner { dir: None, store: Mutex::new(Some(store)) }))
    }

    /// The store, opening it now if it is not open yet.
    pub fn get(&self) -> Result<Arc<dyn RunStore>> {
        let mut slot = self.0.store.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(store) = slot.as_ref() {
            return Ok(store.clone());
        }
        // A handle made from a store always has it; only `open_on_use` gets here.
        let dir = self.0.dir.as_deref().ok_or_else(|| {
            okd_core::Error::new(
                okd_core::ErrorKind::Internal,
                "a run store handle with neither store nor folder",
            )
        })?;
        let store: Arc<dyn RunStore> = Arc::new(SqliteRunStore::open(dir)?);
        *slot = Some(store.clone());
        Ok(store)
    }
}

impl StoreHandle {
    /// The store if it is open or exists on disk, without creating one: for reads that are
    /// optional (a render that pins what earlier runs built), which must not leave a state
    /// folder behind on a machine that never built.
    pub fn existing(&self) -> Result<Option<Arc<dyn RunStore>>> {
        let open = self.0.store.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if open.is_some() {
            return Ok(open);
        }
        match &self.0.dir {
            Some(dir) if dir.join(crate::store::DB_FILE).is_file() => self.get().map(Some),
            _ => Ok(None),
        }
    }
}

/// What every backend factory is handed.
#[derive(Debug, Clone)]
pub struct Runtime {
    state_dir: PathBuf,
    cache_dir: PathBuf,
    store: StoreHandle,
    settings: SettingsLayers,
}

impl Runtime {
    /// State in `state_dir` (the store opened there on first use), git sources cached in
    /// `cache_dir`, settings from the user's file and environment.
    pub fn new(state_dir: impl Into<PathBuf>, cache_dir: impl Into<PathBuf>) -> Self {
        let state_dir = state_dir.into();
        Runtime {
            store: StoreHandle::open_on_use(state_dir.clone()),
            state_dir,
            cache_dir: cache_dir.into(),
            settings: SettingsLayers::user(),
        }
    }

    /// The defaults: `$XDG_STATE_HOME/okd` and `$XDG_CACHE_HOME/okd/git`.
    pub fn default_dirs() -> Self {
        Runtime::new(SqliteRunStore::default_dir(), SourceOptions::default_cache_dir())
    }

    /// The same runtime over another store.
    pub fn with_store(mut self, store: StoreHandle) -> Self {
        self.store = store;
        self
    }

    /// The same runtime with other settings layers (tests; `--config`).
    pub fn with_settings(mut self, settings: SettingsLayers) -> Self {
        self.settings = settings;
        self
    }

    /// The state folder: the store and build logs.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Where run logs go: `<state>/logs/<run>/`.
    pub fn logs_dir(&self) -> PathBuf {
        self.state_dir.join("logs")
    }

    /// The git cache folder.
    pub fn cache_dir(&self) -> &Path {
        &self.cache_dir
    }

    /// Source options reading from the cache (offline: planning fetched what it needed).
    pub fn source_options(&self) -> SourceOptions {
        SourceOptions { offline: true, cache_dir: self.cache_dir.clone(), ..SourceOptions::default() }
    }

    /// The run store.
    pub fn store(&self) -> &StoreHandle {
        &self.store
    }

    /// The settings layers.
    pub fn settings_layers(&self) -> &SettingsLayers {
        &self.settings
    }

    /// `backend`'s typed settings: its defaults, under the settings file, under `OKD_<BACKEND>__*`
    /// variables, under `flags`. See [`SettingsLayers::load`].
    pub fn settings<T>(&self, backend: &str, flags: &BackendSettings) -> Result<T>
    where
        T: DeserializeOwned + Serialize + Default,
    {
        self.settings.load(backend, flags)
    }

    /// A run driver for `backend` over this runtime's store and log folder.
    pub fn driver(&self, backend: &'static str) -> RunDriver {
        RunDriver::new(backend, self.store.clone(), self.logs_dir())
    }
}

//! Settings of the local backend.

use okd_core::{
    Result,
    registry::{BackendConfig, check_keys},
};

/// Which engine, and where state is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalConfig {
    /// Engine socket or URL (`engine`); else CONTAINER_HOST, DOCKER_HOST, the usual sockets.
    pub engine: Option<String>,
    /// State folder (`state`); else `$XDG_STATE_HOME/okd`.
    pub state: Option<String>,
    /// Git cache folder (`cache`) that git sources are exported from; else the default cache.
    pub cache: Option<String>,
}

impl LocalConfig {
    /// Parses and checks `config`.
    pub fn parse(backend: &str, config: &BackendConfig) -> Result<Self> {
        check_keys(backend, config, &["engine", "state", "cache"])?;
        let get = |k: &str| config.get(k).cloned();
        Ok(LocalConfig { engine: get("engine"), state: get("state"), cache: get("cache") })
    }
}

//! Settings of the Prow backends.

use okd_core::{
    Result,
    registry::{BackendConfig, check_keys},
};

/// Where jobs are triggered and configs are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProwConfig {
    /// Gangway's base URL (`gangway_url`).
    pub gangway_url: Option<String>,
    /// A checkout of openshift/release to write ci-operator configs into (`release_repo`).
    pub release_repo: Option<String>,
}

impl ProwConfig {
    /// Parses and checks `config`.
    pub fn parse(backend: &str, config: &BackendConfig) -> Result<Self> {
        check_keys(backend, config, &["gangway_url", "release_repo"])?;
        Ok(ProwConfig {
            gangway_url: config.get("gangway_url").cloned(),
            release_repo: config.get("release_repo").cloned(),
        })
    }
}

//! Settings of the payload-pipeline backend.

use okd_core::{
    Result,
    registry::{BackendConfig, check_keys},
};

/// Which cluster and namespace, and which build engine.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArgoConfig {
    /// kubeconfig context (`context`).
    pub context: Option<String>,
    /// Namespace of the workflows and builds (`namespace`).
    pub namespace: Option<String>,
    /// `buildconfig` (OpenShift Builds, the default) or `shipwright` (`engine`).
    pub engine: Option<String>,
}

impl ArgoConfig {
    /// Parses and checks `config`.
    pub fn parse(backend: &str, config: &BackendConfig) -> Result<Self> {
        check_keys(backend, config, &["context", "namespace", "engine"])?;
        let get = |k: &str| config.get(k).cloned();
        Ok(ArgoConfig { context: get("context"), namespace: get("namespace"), engine: get("engine") })
    }
}

//! Settings of the Konflux backends.

use okd_core::{
    Result,
    registry::{BackendConfig, check_keys},
};

/// Which cluster and namespace, and which pipeline bundle.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KonfluxConfig {
    /// kubeconfig context (`context`).
    pub context: Option<String>,
    /// Tenant namespace (`namespace`).
    pub namespace: Option<String>,
    /// Pipeline bundle reference for docker-build-oci-ta (`pipeline_bundle`).
    pub pipeline_bundle: Option<String>,
    /// Git remote that generated sources are pushed to (`git_remote`, doozer-konflux only).
    pub git_remote: Option<String>,
}

impl KonfluxConfig {
    /// Parses and checks `config`.
    pub fn parse(backend: &str, config: &BackendConfig) -> Result<Self> {
        check_keys(backend, config, &["context", "namespace", "pipeline_bundle", "git_remote"])?;
        let get = |k: &str| config.get(k).cloned();
        Ok(KonfluxConfig {
            context: get("context"),
            namespace: get("namespace"),
            pipeline_bundle: get("pipeline_bundle"),
            git_remote: get("git_remote"),
        })
    }
}

//! The local backend: its description and construction.
//!
//! Engine discovery, builds, the state store and payload assembly are not built yet; until they
//! are, the backend is a [`Skeleton`] that answers NotImplemented.

use std::sync::Arc;

use okd_core::{
    Result,
    backend::{BackendInfo, BuildBackend, Capabilities, Maturity, Skeleton, TriggerModel},
    registry::BackendConfig,
};

use crate::{LOCAL, config::LocalConfig};

/// A `local` backend from registry configuration.
pub fn local(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    LocalConfig::parse(LOCAL, config)?;
    Ok(Arc::new(Skeleton::new(local_info)))
}

/// What building on a local engine is and costs.
pub fn local_info() -> BackendInfo {
    BackendInfo {
        name: LOCAL,
        summary: "Podman or Docker on this machine, through the Docker-compatible API",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities {
            source_of_truth: "the release manifest",
            config_location: "none beyond the release manifest",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::OnDemand,
            from_replacement: "okd-build rewrites the Dockerfile before each build",
            developer_feedback: "terminal progress, JSON events and kept logs",
            multi_arch: false,
            local_reproduction: true,
            only_if_changed: true,
            cancel: true,
            status_after_restart: true,
            kubernetes: false,
        },
    }
}

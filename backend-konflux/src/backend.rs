//! The Konflux backends: their descriptions and construction.
//!
//! Rendering, PipelineRun submission and watching are not built yet; until they are, both
//! strategies are [`Skeleton`]s that answer NotImplemented.

use std::sync::Arc;

use okd_core::{
    Result,
    backend::{BackendInfo, BuildBackend, Capabilities, Maturity, Skeleton, TriggerModel},
    registry::BackendConfig,
};

use crate::{DOOZER_KONFLUX, KONFLUX, config::KonfluxConfig};

/// A `konflux` backend from registry configuration.
pub fn konflux(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    KonfluxConfig::parse(KONFLUX, config)?;
    Ok(Arc::new(Skeleton::new(konflux_info)))
}

/// A `doozer-konflux` backend from registry configuration.
pub fn doozer_konflux(config: &BackendConfig) -> Result<Arc<dyn BuildBackend>> {
    KonfluxConfig::parse(DOOZER_KONFLUX, config)?;
    Ok(Arc::new(Skeleton::new(doozer_konflux_info)))
}

/// What the Konflux-only approach is and costs.
pub fn konflux_info() -> BackendInfo {
    BackendInfo {
        name: KONFLUX,
        summary: "Konflux only: .tekton PipelineRuns (Pipelines-as-Code) in every component repository",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities {
            source_of_truth: ".tekton PipelineRuns in each component repository",
            config_location: "<repo>/.tekton/<component>-pull-request.yaml and -push.yaml, plus tenant objects",
            configs_touched_per_repo: 2,
            trigger_model: TriggerModel::Continuous,
            from_replacement: "none in Konflux: repositories carry an OKD Dockerfile, or pass the base as a build arg",
            developer_feedback: "GitHub check runs from Pipelines-as-Code",
            multi_arch: true,
            local_reproduction: false,
            only_if_changed: true,
            cancel: true,
            status_after_restart: true,
            kubernetes: true,
        },
    }
}

/// What the Doozer + Konflux approach is and costs.
pub fn doozer_konflux_info() -> BackendInfo {
    BackendInfo {
        name: DOOZER_KONFLUX,
        summary: "Doozer + Konflux: sources generated from ocp-build-data, PipelineRuns created directly",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities {
            source_of_truth: "ocp-build-data",
            config_location: "generated build branches; Application and Components in the tenant namespace",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "Doozer rewrites FROM lines positionally (from.builder[] + from)",
            developer_feedback: "none from the system (Pipelines-as-Code is off); okd-build posts commit statuses",
            multi_arch: true,
            local_reproduction: false,
            only_if_changed: true,
            cancel: true,
            status_after_restart: true,
            kubernetes: true,
        },
    }
}

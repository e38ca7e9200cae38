//! The Prow backends: their descriptions and construction.
//!
//! Job submission, config generation and status are not built yet; until they are, both
//! strategies are [`Skeleton`]s that answer NotImplemented.

use std::sync::Arc;

use okd_core::{
    Result,
    backend::{Approach, BackendInfo, BuildBackend, Capabilities, Maturity, Skeleton, TriggerModel},
    registry::BackendSettings,
};
use okd_runtime::Runtime;

use crate::{DOOZER_PROW, PROW, config::ProwConfig};

/// A `prow` backend from the runtime and settings (checked, then unused until it is built).
pub fn prow(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    runtime.settings::<ProwConfig>(PROW, settings)?;
    Ok(Arc::new(Skeleton::new(prow_info)))
}

/// A `doozer-prow` backend from the runtime and settings (checked, then unused until it is built).
pub fn doozer_prow(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    runtime.settings::<ProwConfig>(DOOZER_PROW, settings)?;
    Ok(Arc::new(Skeleton::new(doozer_prow_info)))
}

/// What the Prow + ci-operator approach is and costs.
pub fn prow_info() -> BackendInfo {
    BackendInfo {
        name: PROW,
        summary: "Prow + ci-operator: configs in openshift/release, pre/post-submit builds, promotion to an ImageStream",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities::NONE,
        approach: Approach {
            source_of_truth: "ci-operator configs in openshift/release",
            config_location: "openshift/release: ci-operator/config/<org>/<repo>/<org>-<repo>-<branch>__okd-scos.yaml",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Continuous,
            from_replacement: "ci-operator `from` (last FROM) and `inputs.<tag>.as`, applied by the OpenShift Build API",
            developer_feedback: "GitHub commit statuses on every pull request",
        },
    }
}

/// What the Doozer + Prow approach is and costs.
pub fn doozer_prow_info() -> BackendInfo {
    BackendInfo {
        name: DOOZER_PROW,
        summary: "Doozer + Prow: sources generated from ocp-build-data, built by Prow jobs",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities::NONE,
        approach: Approach {
            source_of_truth: "ocp-build-data",
            config_location: "generated build branches, plus job configs in openshift/release",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "Doozer rewrites FROM lines positionally (from.builder[] + from)",
            developer_feedback: "none from the system; okd-build posts commit statuses",
        },
    }
}

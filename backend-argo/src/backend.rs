//! The payload-pipeline backend: its description and construction.
//!
//! Workflow generation and submission are not built yet; until they are, the backend is a
//! [`Skeleton`] that answers NotImplemented.

use std::sync::Arc;

use okd_core::{
    Result,
    backend::{Approach, BackendInfo, BuildBackend, Capabilities, Maturity, Skeleton, TriggerModel},
    registry::BackendSettings,
};
use okd_runtime::Runtime;

use crate::{PAYLOAD_PIPELINE, config::ArgoConfig};

/// A `payload-pipeline` backend from the runtime and settings (checked, then unused until it is built).
pub fn payload_pipeline(runtime: &Runtime, settings: &BackendSettings) -> Result<Arc<dyn BuildBackend>> {
    runtime.settings::<ArgoConfig>(PAYLOAD_PIPELINE, settings)?;
    Ok(Arc::new(Skeleton::new(payload_pipeline_info)))
}

/// What the okd-payload-pipeline approach is and costs.
pub fn payload_pipeline_info() -> BackendInfo {
    BackendInfo {
        name: PAYLOAD_PIPELINE,
        summary: "okd-payload-pipeline: Argo Workflows driving OpenShift Builds (or Shipwright) in one cluster",
        maturity: Maturity::Skeleton,
        capabilities: Capabilities::NONE,
        approach: Approach {
            source_of_truth: "BuildConfigs in okd-payload-pipeline, maintained by hand",
            config_location: "okd-payload-pipeline: buildconfigs/ and argo-workflows/ WorkflowTemplates",
            configs_touched_per_repo: 0,
            trigger_model: TriggerModel::Batch,
            from_replacement: "BuildConfig source.images[].as and dockerStrategy.from, applied by the OpenShift Build API",
            developer_feedback: "none from the system; workflow status only",
        },
    }
}

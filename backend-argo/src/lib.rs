//! okd-payload-pipeline: Argo Workflows driving OpenShift Builds (or Shipwright).
//!
//! Registered with its capabilities; its operations are not built yet and return NotImplemented.

mod backend;
mod config;

pub use backend::{payload_pipeline, payload_pipeline_info};
pub use config::{ArgoConfig, BuildEngine};

/// Registry name of the okd-payload-pipeline approach.
pub const PAYLOAD_PIPELINE: &str = "payload-pipeline";

/// Registers the backend.
pub fn register(registry: &mut okd_runtime::BackendRegistry) {
    registry.register(PAYLOAD_PIPELINE, payload_pipeline_info, payload_pipeline);
}

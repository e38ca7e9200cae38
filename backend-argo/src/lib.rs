//! okd-payload-pipeline: Argo Workflows driving OpenShift Builds (or Shipwright).
//!
//! - [`config`]: settings; nothing connects until a build, status or cancel.
//! - `render`: pure functions from a plan to the pipeline repository (BuildConfigs or
//!   Shipwright Builds, ImageStreams, a WorkflowTemplate whose DAG is the build graph) and to
//!   the Workflow of one run.
//! - `names`: names and labels shared by render and build.
//! - [`status`]: a component's task state read off the run's Workflow.
//! - `client`: the cluster through kube-rs (apply, the run's Workflow and its watch, the release
//!   ImageStream); `build`: a run's component builds (a run driver `ComponentBuilder` over one
//!   Workflow); `backend`: the [`BuildBackend`](okd_core::backend::BuildBackend).

mod backend;
mod build;
mod client;
pub mod config;
pub mod import;
mod names;
mod render;
pub mod status;

pub use backend::{PayloadPipelineBackend, payload_pipeline, payload_pipeline_info};
pub use config::{ArgoConfig, BuildEngine, Settings};
pub use names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL};

/// Registry name of the okd-payload-pipeline approach.
pub const PAYLOAD_PIPELINE: &str = "payload-pipeline";

/// Registers the backend.
pub fn register(registry: &mut okd_runtime::BackendRegistry) {
    registry.register(PAYLOAD_PIPELINE, payload_pipeline_info, payload_pipeline);
}
#[doc(hidden)]
pub use render::testing as render_testing;

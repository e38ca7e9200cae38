//! Names and labels shared by render and build.

use okd_core::backend::RunId;

pub use okd_core::backend::names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL, label_value};

/// The Workflow parameter / task name → component mapping: tasks are named after components.
pub const COMPONENT_PARAM: &str = "component";
/// The WorkflowTemplate render writes and builds instantiate.
pub const TEMPLATE_NAME: &str = "okd-build";

/// The Workflow of a run: deterministic, so a resubmission finds it.
pub fn workflow_name(run: &RunId) -> String {
    format!("okd-build-{}", okd_core::backend::names::short_hash(&run.0, 10))
}

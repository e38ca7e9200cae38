//! Names and labels shared by render and build.

use okd_core::backend::RunId;

pub use okd_core::backend::names::{COMPONENT_LABEL, RUN_ANNOTATION, RUN_LABEL, label_value};

/// The Workflow parameter / task name → component mapping: tasks are named after components.
pub const COMPONENT_PARAM: &str = "component";
/// The WorkflowTemplate render writes and builds instantiate.
pub const TEMPLATE_NAME: &str = "okd-build";

/// The Workflow of a run building `components`, at its `attempt` (0 first): deterministic, so
/// a resubmission of the same run finds it; a different set of components (a rerun after some
/// built) or a new attempt (after the same set failed) gets a new one.
pub fn workflow_name(run: &RunId, components: &[String], attempt: usize) -> String {
    let key = format!("{}\n{}", run.0, components.join(","));
    let hash = okd_core::backend::names::short_hash(&key, 10);
    if attempt == 0 { format!("okd-build-{hash}") } else { format!("okd-build-{hash}-{attempt}") }
}

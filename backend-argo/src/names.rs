//! Names and labels shared by render and build.

use okd_core::backend::RunId;
use sha2::{Digest, Sha256};

/// The label on every Workflow a run creates: the run id as a label value.
pub const RUN_LABEL: &str = "okd-build.io/run";
/// The annotation carrying the full run id (a label value is limited to 63 characters).
pub const RUN_ANNOTATION: &str = "okd-build.io/run";
/// The label naming the component an object builds.
pub const COMPONENT_LABEL: &str = "okd-build.io/component";
/// The Workflow parameter / task name → component mapping: tasks are named after components.
pub const COMPONENT_PARAM: &str = "component";
/// The WorkflowTemplate render writes and builds instantiate.
pub const TEMPLATE_NAME: &str = "okd-build";

/// A label value for `text`: itself when it is one, else a prefix and a hash.
pub fn label_value(text: &str) -> String {
    let ok = |s: &str| {
        s.len() <= 63
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && s.bytes().next().is_none_or(|b| b.is_ascii_alphanumeric())
            && s.bytes().last().is_none_or(|b| b.is_ascii_alphanumeric())
    };
    if ok(text) {
        return text.to_owned();
    }
    let hash = hex::encode(&Sha256::digest(text.as_bytes())[..6]);
    let prefix: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').take(50).collect();
    format!("{}-{hash}", prefix.trim_matches('-')).trim_start_matches('-').to_owned()
}

/// The Workflow of a run: deterministic, so a resubmission finds it.
pub fn workflow_name(run: &RunId) -> String {
    let hash = hex::encode(&Sha256::digest(run.0.as_bytes())[..5]);
    format!("okd-build-{hash}")
}

//! Pure functions from a plan to what the okd-payload-pipeline way needs: the pipeline
//! repository's files (`artifacts`), the objects a build applies (`cluster_objects`) and the
//! Workflow of one run (`workflow`).
//!
//! THIS FILE IS A STUB; the render is being written. Signatures are the contract with build.rs.

use okd_core::{
    Error, Result, Warning,
    backend::{Artifact, RunId},
    plan::Plan,
};
use serde_json::Value;

use crate::config::Settings;

/// The pipeline repository's files, under repository `<pipeline_org>/<pipeline_repo>`, and what
/// the Build API cannot express, as located warnings.
pub(crate) fn artifacts(_plan: &Plan, _settings: &Settings) -> Result<(Vec<Artifact>, Vec<Warning>)> {
    Err(Error::not_implemented("payload-pipeline", "render"))
}

/// The objects a build applies before it creates its Workflow, in apply order: ImageStreams,
/// then BuildConfigs (or Shipwright Builds), each with `metadata.namespace` unset.
pub(crate) fn cluster_objects(_plan: &Plan, _settings: &Settings) -> Result<Vec<Value>> {
    Err(Error::not_implemented("payload-pipeline", "render"))
}

/// The Workflow of `run`, named `name`: a DAG whose tasks are `components` (each task named
/// after its component, depending on its parents among `components`; parents outside are
/// built already), labelled [`crate::names::RUN_LABEL`] and annotated with the run id.
pub(crate) fn workflow(
    _plan: &Plan,
    _settings: &Settings,
    _name: &str,
    _run: &RunId,
    _components: &[String],
) -> Result<Value> {
    Err(Error::not_implemented("payload-pipeline", "render"))
}

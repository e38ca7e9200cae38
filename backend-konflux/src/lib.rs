//! The Konflux backends: Konflux only (`.tekton` PipelineRuns in every repository, built by
//! Pipelines-as-Code) and Doozer + Konflux (sources generated from the manifest, pushed to build
//! branches, PipelineRuns created directly).
//!
//! - [`config`]: settings; nothing connects until a build, status or cancel.
//! - `render`: pure functions from a plan to `.tekton` files, OKD Dockerfiles, tenant objects.
//! - [`status`]: a PipelineRun's status as an outcome.
//! - `client`: the kube-rs calls, with retries and a watch that resumes.
//! - `build`: one component's build on the cluster (a run driver `ComponentBuilder`); `backend`:
//!   the [`BuildBackend`](okd_core::backend::BuildBackend) over okd-runtime's run driver.
//! - [`import_tekton`]: a release manifest from existing `.tekton` files.

mod backend;
mod build;
mod client;
pub mod config;
mod import;
mod names;
mod render;
pub mod status;
mod strategy;

pub use backend::{KonfluxBackend, doozer_konflux, konflux};
pub use config::{DEFAULT_PIPELINE_BUNDLE, KonfluxConfig, Settings};
pub use import::{ImportedComponent, SkippedFile, TektonImport, import_tekton};
pub use strategy::{Strategy, doozer_konflux_info, konflux_info};

/// Registry name of the Konflux-only approach.
pub const KONFLUX: &str = "konflux";
/// Registry name of the Doozer + Konflux approach.
pub const DOOZER_KONFLUX: &str = "doozer-konflux";

/// The label okd-build puts on every PipelineRun it creates: the component it builds.
pub const COMPONENT_LABEL: &str = names::COMPONENT_LABEL;
/// The label (the run id, as a label value) on every PipelineRun a run creates.
pub const RUN_LABEL: &str = names::RUN_LABEL;

/// Registers both strategies.
pub fn register(registry: &mut okd_runtime::BackendRegistry) {
    registry.register(KONFLUX, konflux_info, konflux);
    registry.register(DOOZER_KONFLUX, doozer_konflux_info, doozer_konflux);
}

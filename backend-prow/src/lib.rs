//! Prow + ci-operator, and Doozer + Prow.
//!
//! - [`config`]: settings; nothing connects until a build, status or cancel.
//! - `render`: pure functions from a plan to what openshift/release carries: a ci-operator
//!   config per repository and branch, and the jobs prowgen generates for it.
//! - [`status`]: a ProwJob's state as an outcome.
//! - `client`: Gangway (trigger, abort) and app.ci through kube-rs (the run's ProwJob watch, the
//!   integration ImageStream).
//! - `build`: a run's component builds (a run driver `ComponentBuilder`: one job per config,
//!   shared by its images); `backend`: the [`BuildBackend`](okd_core::backend::BuildBackend).
//! - [`import`]: a release manifest from ci-operator configs.

mod backend;
mod build;
mod client;
pub mod config;
pub mod import;
mod names;
mod promoted;
mod render;
pub mod status;
mod strategy;

pub use backend::{ProwBackend, TOKEN_ENV, doozer_prow, prow};
pub use config::{ProwConfig, Settings};
pub use names::{COMPONENTS_ANNOTATION, RUN_ANNOTATION, RUN_LABEL};
pub use strategy::{Strategy, doozer_prow_info, prow_info};

/// Registry name of the Prow + ci-operator approach.
pub const PROW: &str = "prow";
/// Registry name of the Doozer + Prow approach.
pub const DOOZER_PROW: &str = "doozer-prow";

/// Registers both strategies.
pub fn register(registry: &mut okd_runtime::BackendRegistry) {
    registry.register(PROW, prow_info, prow);
    registry.register(DOOZER_PROW, doozer_prow_info, doozer_prow);
}

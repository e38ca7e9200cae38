//! Shared by the backend-prow tests: okd-mini with every component in a git repository of its
//! own (file://, as OKD's components are git sources), planned and rendered.
#![allow(dead_code, clippy::unwrap_used)]
// Each test target uses some of the shared helpers.
#![allow(unused_imports)]

use std::sync::Arc;

use backend_prow::{ProwConfig, Strategy};
use okd_core::{
    backend::{BackendPlan, BuildBackend},
    plan::Plan,
};
use okd_runtime::{Runtime, SettingsLayers};

pub use okd_tests::repos::{git, okd_mini_git, plan_of, repository, shared, workspace};

/// A backend from settings `pairs` (no settings file, no environment).
pub fn backend(strategy: Strategy, pairs: &[(&str, &str)]) -> Arc<dyn BuildBackend> {
    let flags = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let runtime = Runtime::default_dirs().with_settings(SettingsLayers::none());
    let config: ProwConfig = runtime.settings(strategy.name(), &flags).unwrap();
    Arc::new(backend_prow::ProwBackend::from_config(strategy, &runtime, &config).unwrap())
}

pub async fn backend_plan(strategy: Strategy, pairs: &[(&str, &str)], plan: Arc<Plan>) -> BackendPlan {
    backend(strategy, pairs).plan(plan, &Default::default()).await.unwrap()
}

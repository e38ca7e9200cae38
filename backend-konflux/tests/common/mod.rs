//! Shared by the backend-konflux tests: planning okd-mini and the shared corpus.
#![allow(dead_code, clippy::unwrap_used)]

use std::{path::PathBuf, sync::Arc};

use backend_konflux::{KonfluxBackend, KonfluxConfig, Strategy};
use okd_core::{
    backend::{BackendPlan, BuildBackend},
    manifest::{LoadOptions, load, load_str},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `$OKD_SHARED`, or `None` after saying plainly that the test skips.
pub fn shared(test: &str) -> Option<PathBuf> {
    match std::env::var_os("OKD_SHARED") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            eprintln!("skipping {test}: OKD_SHARED is unset (CI sets it to the shared folder)");
            None
        }
    }
}

pub async fn okd_mini() -> Arc<Plan> {
    let release = load(&workspace().join("examples/okd-mini/release.yaml"), &LoadOptions::default()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let options = SourceOptions { offline: true, cache_dir: cache.path().to_path_buf(), jobs: 4 };
    let sources = read_sources(&release, &options).await.unwrap();
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

/// Plans manifest `text` offline with an empty cache (git sources stay unread).
pub async fn plan_offline(path: PathBuf, text: &str) -> Arc<Plan> {
    let release = load_str(&path, text, &LoadOptions::default()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let options = SourceOptions { offline: true, cache_dir: cache.path().to_path_buf(), jobs: 4 };
    let sources = read_sources(&release, &options).await.unwrap();
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

pub fn backend(strategy: Strategy, namespace: Option<&str>) -> KonfluxBackend {
    let config = KonfluxConfig {
        cluster: okd_runtime::ClusterConfig { namespace: namespace.map(str::to_owned), ..Default::default() },
        git_remote: Some("https://git.example/okd/okd-build-sources".into()),
        ..KonfluxConfig::default()
    };
    KonfluxBackend::from_config(strategy, &okd_runtime::Runtime::default_dirs(), &config)
}

pub async fn backend_plan(strategy: Strategy, namespace: Option<&str>, plan: Arc<Plan>) -> BackendPlan {
    backend(strategy, namespace).plan(plan, &Default::default()).await.unwrap()
}

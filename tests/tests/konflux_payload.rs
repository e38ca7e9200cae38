#![allow(clippy::unwrap_used)]
//! `okd payload assemble` from a Konflux run whose images sit in a registry: okd-mini is built
//! and pushed by the local backend on the real engine, the fake cluster's Tekton controller
//! reports those images as the PipelineRuns' IMAGE_URL and IMAGE_DIGEST, and the payload is
//! assembled from the Doozer + Konflux run's status and read back from the real registry.
//! Without an engine the test says it skips, except under CI, where it fails.

use std::{path::Path, sync::Arc};

use backend_konflux::{KonfluxBackend, Settings, Strategy};
use backend_local::{LocalBackend, LocalConfig};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use okd_core::{
    backend::{BuildBackend, BuildBackendExt, BuildOptions},
    manifest::{LoadOptions, load},
    payload::{self, AssembleOptions, ImageRef},
    plan::{Plan, PlanOptions, plan},
    source::{SourceOptions, read_sources},
};
use okd_runtime::oci::OciRegistry;
use okd_runtime::{Runtime, SettingsLayers, retry::Backoff};
use okd_tests::kube::{
    controllers::{Controllers, Script},
    server::{FakeApiServer, ServerOptions},
};

async fn okd_mini(dir: &Path, repository: &str) -> Arc<Plan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    okd_core::source::copy_tree(&root.join("examples/okd-mini"), dir).unwrap();
    let path = dir.join("release.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("repository: okd/okd-mini", &format!("repository: {repository}"));
    std::fs::write(&path, text).unwrap();
    let release = load(&path, &LoadOptions::default()).unwrap();
    let options = SourceOptions { offline: true, cache_dir: dir.join("cache"), jobs: 2 };
    let sources = read_sources(&release, &options).await.unwrap();
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_is_assembled_from_a_konflux_run_whose_images_are_in_a_registry() {
    if !okd_tests::engine::require() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-konflux-payload-{}", std::process::id());
    let plan = okd_mini(&tmp.path().join("okd-mini"), &repository).await;

    // The images: built and pushed by the local backend, so they really are in the registry.
    let runtime = |state: &str| {
        Runtime::new(tmp.path().join(state), tmp.path().join("cache")).with_settings(SettingsLayers::none())
    };
    let local = LocalBackend::new(&runtime("local-state"), LocalConfig::default());
    let local_plan = local.plan_default(plan.clone()).await.unwrap();
    let mut push = BuildOptions::default().with_jobs(2);
    push.push = true;
    let (pushed, _) = local.build_collect(&local_plan, &push).await;
    let pushed = pushed.unwrap();
    assert!(pushed.succeeded(), "{pushed:?}");

    // The cluster reports exactly those images for the PipelineRuns of the same components.
    let mut script = Script::new();
    for c in &pushed.components {
        script = script.image(&c.name, c.image.as_deref().unwrap(), c.digest.as_deref().unwrap());
    }
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let _controllers = Controllers::start(server.store(), script);
    server.write_kubeconfig(&tmp.path().join("kubeconfig"), "tenant");
    let kubeconfig = Kubeconfig::read_from(tmp.path().join("kubeconfig")).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.unwrap();
    let remote = tmp.path().join("remote.git");
    let init =
        std::process::Command::new("git").args(["init", "-q", "--bare"]).arg(&remote).status().unwrap();
    assert!(init.success());
    let settings = Settings {
        backoff: Backoff::fast(),
        git_remote: Some(format!("file://{}", remote.display())),
        ..Settings::default()
    };
    let client = Client::try_from(config).unwrap();
    let konflux =
        KonfluxBackend::new(Strategy::DoozerKonflux, &runtime("konflux-state"), client, "tenant", settings);
    let konflux_plan = konflux.plan_default(plan.clone()).await.unwrap();
    let (report, _) = konflux.build_collect(&konflux_plan, &BuildOptions::default().with_jobs(4)).await;
    let report = report.unwrap();
    assert!(report.succeeded());

    // What `okd payload assemble --backend doozer-konflux` does: the run's status, its images,
    // the registry.
    let status = konflux.status(&report.run).await.unwrap();
    let tags = payload::tags_from_run(&plan, &status).unwrap();
    let to = ImageRef::parse(&format!("127.0.0.1:5000/{repository}-release:4.17.0-0.okd-mini")).unwrap();
    let images: Vec<&ImageRef> = tags.iter().map(|t| &t.image).chain([&to]).collect();
    let registry = OciRegistry::for_images(&images, &[]);
    let options = AssembleOptions {
        name: "4.17.0-0.okd-mini".into(),
        to: to.clone(),
        previous: Vec::new(),
        include: tags.iter().map(|t| t.name.clone()).collect(),
        metadata: Default::default(),
        created: "2026-11-23T00:00:00Z".into(),
    };
    let assembled = payload::assemble(&registry, tags, &options).await.unwrap();
    let info = payload::read(&registry, &to.at_digest(&assembled.digest)).await.unwrap();
    assert!(info.warnings.is_empty(), "{:?}", info.warnings);
    let payload_components: Vec<_> =
        plan.components.iter().filter(|c| c.payload).map(|c| c.name.clone()).collect();
    assert_eq!(info.tags.len(), payload_components.len());
    for t in &info.tags {
        let built = pushed.components.iter().find(|c| c.name == t.name).unwrap();
        assert_eq!(
            t.pull_spec,
            format!("127.0.0.1:5000/{repository}@{}", built.digest.as_deref().unwrap()),
            "{}",
            t.name
        );
    }
}

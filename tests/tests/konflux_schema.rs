#![allow(clippy::unwrap_used)]
//! Every object the Konflux backends render or create validates against the real CRD schemas
//! in `$OKD_SHARED/schemas` (Strict: an unknown field is an error): the `.tekton` PipelineRuns,
//! the Application, Components and ImageRepositories, the Doozer + Konflux run templates, and the
//! PipelineRuns a build creates. Skips, saying so, when OKD_SHARED is unset.

use std::{path::PathBuf, sync::Arc};

use backend_konflux::{KonfluxBackend, KonfluxConfig, Settings, Strategy};
use kube::{
    Client, Config,
    config::{KubeConfigOptions, Kubeconfig},
};
use okd_core::{
    backend::{BuildBackend, BuildOptions, EventSink},
    doozer::{ImportOptions, import},
    manifest::{LoadOptions, load, load_str},
    plan::{Plan, PlanOptions, plan},
    source::{Origin, SourceOptions, SourceState, read_sources},
};
use okd_runtime::retry::Backoff;
use okd_tests::{
    kube::{
        controllers::{Controllers, Script},
        server::{FakeApiServer, ServerOptions},
        store::Gvr,
    },
    schema::{FieldValidation, Schemas},
};
use serde_json::Value;

fn schemas(test: &str) -> Option<Schemas> {
    if std::env::var_os("OKD_SHARED").is_none() {
        eprintln!("skipping {test}: OKD_SHARED is unset, so the CRD schemas cannot be read (CI sets it)");
        return None;
    }
    Schemas::from_env()
}

/// Validates `object` strictly; panics naming `what` and every problem.
fn check(schemas: &Schemas, what: &str, mut object: Value) {
    let api_version = object["apiVersion"].as_str().unwrap().to_owned();
    let kind = object["kind"].as_str().unwrap().to_owned();
    let (group, version) = api_version.split_once('/').unwrap();
    let known =
        schemas.resources().iter().any(|r| r.group == group && r.version == version && r.kind == kind);
    assert!(known, "{what}: no schema for {api_version} {kind}");
    if let Err(problems) = schemas.validate(group, version, &kind, &mut object, FieldValidation::Strict) {
        panic!("{what} ({kind}) does not validate:\n  {}", problems.join("\n  "));
    }
}

fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text).unwrap().into_iter().filter(|d| !d.is_null()).collect()
}

async fn plan_from(path: PathBuf, text: Option<&str>) -> Arc<Plan> {
    plan_with(path, text, false).await
}

/// Plans a manifest; with `as_git`, every source read from a folder counts as a commit of its
/// own repository (what the Konflux-only approach builds).
async fn plan_with(path: PathBuf, text: Option<&str>, as_git: bool) -> Arc<Plan> {
    let release = match text {
        Some(text) => load_str(&path, text, &LoadOptions::default()).unwrap(),
        None => load(&path, &LoadOptions::default()).unwrap(),
    };
    let cache = tempfile::tempdir().unwrap();
    let options = SourceOptions { offline: true, cache_dir: cache.path().to_path_buf(), jobs: 4 };
    let mut sources = read_sources(&release, &options).await.unwrap();
    if as_git {
        for (name, state) in sources.0.iter_mut() {
            if let SourceState::Read(snapshot) = state {
                let url = format!("https://github.com/okd-mini/{name}");
                snapshot.origin = Origin::Git {
                    url,
                    reference: "main".into(),
                    commit: "0123456789abcdef0123456789abcdef01234567".into(),
                };
            }
        }
    }
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

/// Validates every YAML document of every artifact; returns how many per kind.
async fn check_rendered(schemas: &Schemas, strategy: Strategy, plan: Arc<Plan>) -> Vec<(String, usize)> {
    let config = KonfluxConfig {
        cluster: okd_runtime::ClusterConfig { namespace: Some("okd-tenant".into()), ..Default::default() },
        git_remote: Some("https://git.example/okd/sources".into()),
        git_auth_secret: Some("okd-build-git".into()),
        ..KonfluxConfig::default()
    };
    let backend = KonfluxBackend::from_config(strategy, &okd_runtime::Runtime::default_dirs(), &config);
    let rendered = backend.plan(plan, &Default::default()).await.unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for artifact in rendered
        .artifacts
        .iter()
        .filter(|a| a.path.ends_with(".yaml") && a.path != "konflux/repositories.yaml")
    {
        for doc in documents(&artifact.content) {
            *counts.entry(doc["kind"].as_str().unwrap().to_owned()).or_insert(0) += 1;
            check(schemas, &format!("{strategy:?} {}", artifact.path), doc);
        }
    }
    counts.into_iter().collect()
}

#[tokio::test]
async fn rendered_objects_validate_against_the_real_crds() {
    let Some(schemas) = schemas("rendered_objects_validate_against_the_real_crds") else { return };
    let mini =
        plan_from(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml"), None)
            .await;
    let counts = check_rendered(&schemas, Strategy::Konflux, mini.clone()).await;
    assert_eq!(
        counts,
        [
            ("Application".into(), 1),
            ("Component".into(), 10),
            ("ImageRepository".into(), 10),
            ("PipelineRun".into(), 20)
        ]
    );
    let counts = check_rendered(&schemas, Strategy::DoozerKonflux, mini).await;
    assert_eq!(
        counts,
        [
            ("Application".into(), 1),
            ("Component".into(), 10),
            ("ImageRepository".into(), 1),
            ("PipelineRun".into(), 10)
        ]
    );
    let shared = PathBuf::from(std::env::var_os("OKD_SHARED").unwrap());
    let branch = shared.join("corpus/ocp-build-data/openshift-4.22");
    let imported =
        import(&branch, &ImportOptions { variant: Some("okd".into()), ..Default::default() }).unwrap();
    // Sources as if read (made up in memory: the corpus's repositories are out of reach), so
    // every component renders its PipelineRuns; offline, the ones needing an OKD Dockerfile
    // would render none.
    let path = branch.join("imported.yaml");
    let release = std::sync::Arc::new(
        okd_core::manifest::load_str(&path, &imported.manifest, &Default::default()).unwrap(),
    );
    let sources = okd_tests::synthetic::sources_in_memory(&release);
    let okd = std::sync::Arc::new(okd_core::plan::plan(release, &sources, &Default::default()).unwrap());
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        let counts = check_rendered(&schemas, strategy, okd.clone()).await;
        let runs = counts.iter().find(|(k, _)| k == "PipelineRun").unwrap().1;
        assert_eq!(runs, if strategy == Strategy::Konflux { 500 } else { 250 });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_a_build_creates_validate_against_the_real_crds() {
    let Some(schemas) = schemas("objects_a_build_creates_validate_against_the_real_crds") else { return };
    let server = FakeApiServer::start(ServerOptions::default()).await;
    let _controllers = Controllers::start(server.store(), Script::new());
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig, "tenant");
    // okd-mini's path sources: Doozer + Konflux generates and pushes them to a bare remote.
    let remote = dir.path().join("remote.git");
    let init =
        std::process::Command::new("git").args(["init", "-q", "--bare"]).arg(&remote).status().unwrap();
    assert!(init.success());
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml");
    for strategy in [Strategy::DoozerKonflux, Strategy::Konflux] {
        let mini = plan_with(manifest.clone(), None, strategy == Strategy::Konflux).await;
        let config = Config::from_custom_kubeconfig(
            Kubeconfig::read_from(&kubeconfig).unwrap(),
            &KubeConfigOptions::default(),
        )
        .await
        .unwrap();
        let runtime = okd_runtime::Runtime::new(dir.path().join("state"), dir.path().join("cache"))
            .with_settings(okd_runtime::SettingsLayers::none());
        let settings = Settings {
            backoff: Backoff::fast(),
            git_remote: Some(format!("file://{}", remote.display())),
            git_auth_secret: Some("okd-build-git".into()),
            application: Some(format!("okd-mini-{}", strategy.name())),
            ..Settings::default()
        };
        let backend =
            KonfluxBackend::new(strategy, &runtime, Client::try_from(config).unwrap(), "tenant", settings);
        let planned = backend.plan(mini, &Default::default()).await.unwrap();
        let report = backend
            .build(&planned, &BuildOptions::default().with_jobs(4), EventSink::discard())
            .await
            .unwrap();
        assert!(report.succeeded(), "{strategy:?}: {report:?}");
    }
    let store = server.store();
    let mut seen = 0;
    for (group, version, plural) in [
        ("tekton.dev", "v1", "pipelineruns"),
        ("appstudio.redhat.com", "v1alpha1", "applications"),
        ("appstudio.redhat.com", "v1alpha1", "components"),
        ("appstudio.redhat.com", "v1alpha1", "imagerepositories"),
    ] {
        for mut object in store.list(&Gvr::new(group, version, plural), None).0 {
            // What the server and the controllers add is not ours to check.
            if let Some(map) = object.as_object_mut() {
                map.remove("status");
            }
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            check(&schemas, &format!("created {plural}/{name}"), object);
            seen += 1;
        }
    }
    // Per strategy ten PipelineRuns and one Application; the Components of both strategies
    // share names, so the second finds the first's; ImageRepositories: one shared, ten apart.
    assert_eq!(seen, 20 + 2 + 10 + 11);
}

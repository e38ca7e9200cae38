#![allow(clippy::unwrap_used)]
//! Every backend crate registers under its name, describes itself, and, while it is a skeleton,
//! refuses every operation with NotImplemented rather than pretending to work.

use std::{collections::HashMap, path::Path, sync::Arc};

use okd_core::{
    ErrorKind,
    backend::Capabilities,
    backend::{BackendPlan, BuildBackend, BuildOptions, EventSink, Maturity, RunId},
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
    registry::BackendSettings,
};
use okd_runtime::{BackendRegistry, Runtime, SettingsLayers};

/// A runtime whose state would go to a folder of the test's, with no settings file or variables.
fn runtime(state: &Path) -> Runtime {
    Runtime::new(state.join("state"), state.join("cache")).with_settings(SettingsLayers::none())
}

fn registry() -> BackendRegistry {
    let mut r = BackendRegistry::new();
    backend_prow::register(&mut r);
    backend_konflux::register(&mut r);
    backend_argo::register(&mut r);
    backend_local::register(&mut r);
    r
}

#[test]
fn the_six_approaches_are_registered_by_name() {
    let r = registry();
    assert_eq!(r.names(), ["doozer-konflux", "doozer-prow", "konflux", "local", "payload-pipeline", "prow"]);
    let state = tempfile::tempdir().unwrap();
    let runtime = runtime(state.path());
    for name in r.names() {
        let backend = r.get(name, &runtime, &BackendSettings::new()).unwrap();
        assert_eq!(backend.info().name, name);
        assert_eq!(r.info(name).unwrap().name, name);
    }
    assert!(!state.path().join("state").exists(), "building a backend opens no store");
    let konflux = r.info("konflux").unwrap();
    assert_eq!(
        konflux.approach.configs_touched_per_repo, 2,
        "Konflux-only puts two PipelineRuns in every repository"
    );
    assert!(r.info("local").unwrap().capabilities.local_reproduction);
}

#[test]
fn skeletons_claim_no_capability() {
    let r = registry();
    for info in r.infos() {
        if info.maturity == Maturity::Skeleton {
            assert_eq!(
                info.capabilities,
                Capabilities::default(),
                "{} claims what it has not built",
                info.name
            );
        } else {
            assert!(info.capabilities.cancel && info.capabilities.status_after_restart, "{}", info.name);
        }
    }
}

#[test]
fn unknown_backends_and_settings_are_input_errors_that_list_the_choices() {
    let r = registry();
    let state = tempfile::tempdir().unwrap();
    let runtime = runtime(state.path());
    let e = r.get("jenkins", &runtime, &BackendSettings::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.help(),
        Some("known backends: doozer-konflux, doozer-prow, konflux, local, payload-pipeline, prow")
    );
    let config = BackendSettings::from([("namespaces".to_owned(), "x".to_owned())]);
    let e = r.get("konflux", &runtime, &config).unwrap_err();
    assert!(e.message().contains("no setting 'namespaces'"), "{e}");
    assert!(e.help().unwrap().contains("namespace"), "{e:?}");
    // Every backend refuses what it does not take, and says what it does.
    for name in r.names() {
        let e =
            r.get(name, &runtime, &BackendSettings::from([("nope".to_owned(), "1".to_owned())])).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{name}");
        assert!(e.help().unwrap().starts_with("its settings are: "), "{name}: {e:?}");
    }
}

#[tokio::test]
async fn skeletons_refuse_every_operation_explicitly() {
    let text = "name: r\nversion: 1.0.0\noutput: { registry: r, repository: o/r }\ncomponents:\n  - { name: a, source: { path: a } }\n";
    let release = Arc::new(load_str(Path::new("r.yaml"), text, &LoadOptions::default()).unwrap());
    let files = HashMap::from([("a".to_owned(), "FROM scratch\n".to_owned())]);
    let core = Arc::new(
        plan(release.clone(), &sources_from_memory(&release, &files), &PlanOptions::default()).unwrap(),
    );
    let r = registry();
    let state = tempfile::tempdir().unwrap();
    let runtime = runtime(state.path());
    for name in r.names() {
        if r.info(name).unwrap().maturity != Maturity::Skeleton {
            continue;
        }
        let backend: Arc<dyn BuildBackend> = r.get(name, &runtime, &BackendSettings::new()).unwrap();
        let backend_plan = BackendPlan::new(backend.info().name, core.clone(), Vec::new());
        let run = RunId("run-1".into());
        let errors = [
            backend.plan(core.clone(), &Default::default()).await.unwrap_err(),
            backend.render(&backend_plan, Path::new("/nonexistent")).await.unwrap_err(),
            backend.build(&backend_plan, &BuildOptions::default(), EventSink::discard()).await.unwrap_err(),
            backend.status(&run).await.unwrap_err(),
            backend.cancel(&run).await.unwrap_err(),
        ];
        for e in errors {
            assert_eq!(e.kind(), ErrorKind::NotImplemented, "{name}: {e}");
            assert!(e.message().contains(name), "{e}");
        }
    }
}

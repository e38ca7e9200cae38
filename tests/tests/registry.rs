#![allow(clippy::unwrap_used)]
//! Every backend crate registers under its name, describes itself, and, while it is a skeleton,
//! refuses every operation with NotImplemented rather than pretending to work.

use std::{collections::HashMap, path::Path, sync::Arc};

use okd_core::{
    ErrorKind,
    backend::{BackendPlan, BuildBackend, BuildOptions, EventSink, Maturity, RunId},
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
    registry::{BackendConfig, BackendRegistry},
};

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
    for name in r.names() {
        // The local backend opens its state store; keep it out of the user's state folder.
        let config = match name {
            "local" => BackendConfig::from([("state".to_owned(), state.path().display().to_string())]),
            _ => BackendConfig::new(),
        };
        let backend = r.get(name, &config).unwrap();
        assert_eq!(backend.info().name, name);
        assert_eq!(r.info(name).unwrap().name, name);
    }
    let konflux = r.info("konflux").unwrap().capabilities;
    assert_eq!(konflux.configs_touched_per_repo, 2, "Konflux-only puts two PipelineRuns in every repository");
    assert!(r.info("local").unwrap().capabilities.local_reproduction);
}

#[test]
fn unknown_backends_and_settings_are_input_errors_that_list_the_choices() {
    let r = registry();
    let e = r.get("jenkins", &BackendConfig::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        e.help(),
        Some("known backends: doozer-konflux, doozer-prow, konflux, local, payload-pipeline, prow")
    );
    let config = BackendConfig::from([("namespaces".to_owned(), "x".to_owned())]);
    let e = r.get("konflux", &config).unwrap_err();
    assert!(e.message().contains("no setting 'namespaces'"), "{e}");
    assert!(e.help().unwrap().contains("namespace"), "{e:?}");
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
    for name in r.names() {
        if r.info(name).unwrap().maturity != Maturity::Skeleton {
            continue;
        }
        let backend: Arc<dyn BuildBackend> = r.get(name, &BackendConfig::new()).unwrap();
        let backend_plan =
            BackendPlan { backend: backend.info().name, core: core.clone(), artifacts: Vec::new() };
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

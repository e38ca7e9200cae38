#![allow(clippy::unwrap_used)]
//! Both Konflux strategies end to end against the fake API server and its scripted Tekton
//! controller, through kube-rs and a kubeconfig: build order, a failure that skips its
//! dependents (with the failed step's log), cancel, resubmission, dropped watches, a 429 storm,
//! pruned runs and timeouts. Doozer + Konflux pushes its generated sources to a local bare
//! repository. The conformance suite runs in conformance.rs.

mod cluster;

use std::time::Duration;

use backend_konflux::Strategy;
use cluster::*;
use okd_core::backend::{BuildBackend, EventKind, Outcome};
use okd_tests::kube::{controllers::Script, store::Gvr};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_strategies_build_parents_first_with_the_results_of_their_runs() {
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        let f = Fixture::new(strategy, Script::new().duration("base", Duration::from_millis(150))).await;
        let (report, events) = build(&f.backend().await, &f.plan).await;
        assert!(report.succeeded(), "{strategy:?}: {report:?}");
        assert!(position(&events, "base", "succeeded") < position(&events, "app", "started"), "{strategy:?}");
        assert!(position(&events, "app", "succeeded") < position(&events, "tool", "started"), "{strategy:?}");
        let runs = f.pipelineruns();
        assert_eq!(runs.len(), 5, "{strategy:?}: one PipelineRun per component");
        for c in &report.components {
            assert_eq!(c.digest.as_deref(), Some(Script::digest_for(&c.name).as_str()), "{strategy:?}");
            let run = runs
                .iter()
                .find(|r| r["metadata"]["labels"]["okd-build.io/component"] == c.name.as_str())
                .unwrap();
            assert_eq!(
                c.image.as_deref(),
                Some(param(run, "output-image").as_str()),
                "IMAGE_URL is the report's image"
            );
            assert_eq!(run["metadata"]["labels"]["appstudio.openshift.io/component"], c.name.as_str());
            assert_eq!(run["metadata"]["labels"]["pipelines.appstudio.openshift.io/type"], "build");
        }
        let app = runs.iter().find(|r| r["metadata"]["labels"]["okd-build.io/component"] == "app").unwrap();
        match strategy {
            Strategy::Konflux => {
                // The run Pipelines-as-Code would create on a push, placeholders filled.
                assert_eq!(param(app, "git-url"), "https://github.com/okd-conformance/app");
                assert_eq!(param(app, "revision"), format!("{:0>40}", hex_of("app")));
                assert!(param(app, "output-image").starts_with("127.0.0.1:5000/okd/conformance/app:"));
                assert_eq!(app["metadata"]["labels"]["pipelinesascode.tekton.dev/event-type"], "push");
                assert!(!serde_json::to_string(app).unwrap().contains("{{"), "no placeholder left: {app:#}");
            }
            Strategy::DoozerKonflux => {
                // Generated sources on the component's build branch, parents pinned by digest.
                let branch = "art-openshift-1.0-assembly-stream-dgk-app";
                let remote = f.remote();
                let git_dir = format!("--git-dir={}", remote.display());
                assert_eq!(param(app, "revision"), git(&[&git_dir, "rev-parse", branch]));
                assert_eq!(param(app, "git-url"), format!("file://{}", remote.display()));
                let dockerfile = git(&[&git_dir, "show", &format!("{branch}:Dockerfile")]);
                for parent in ["base", "builder"] {
                    let pin = format!("127.0.0.1:5000/okd/conformance@{}", Script::digest_for(parent));
                    assert!(dockerfile.contains(&pin), "{parent} is not pinned in:\n{dockerfile}");
                }
                let components = f
                    .server
                    .store()
                    .list(&Gvr::new("appstudio.redhat.com", "v1alpha1", "components"), None)
                    .0;
                assert_eq!(components.len(), 5);
                assert!(
                    components
                        .iter()
                        .all(|c| c["metadata"]["annotations"]["build.appstudio.openshift.io/status"]
                            == "{\"pac\":{\"state\":\"disabled\"}}")
                );
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_skips_dependents_and_reports_the_failed_step_log() {
    for strategy in [Strategy::Konflux, Strategy::DoozerKonflux] {
        let f = Fixture::new(strategy, Script::new().fail("builder", "make: *** [build] Error 2")).await;
        let (report, events) = build(&f.backend().await, &f.plan).await;
        let by = outcomes(&report);
        assert_eq!(
            (by["builder"], by["app"], by["tool"]),
            (Outcome::Failed, Outcome::Skipped, Outcome::Skipped)
        );
        assert_eq!((by["base"], by["solo"]), (Outcome::Succeeded, Outcome::Succeeded));
        let builder = report.components.iter().find(|c| c.name == "builder").unwrap();
        let reason = builder.reason.as_deref().unwrap();
        assert!(reason.contains("(Failed)") && reason.contains("make: *** [build] Error 2"), "{reason}");
        assert!(events.iter().any(|e| e.component == "builder"
            && matches!(&e.kind, EventKind::Log { line } if line.contains("Error 2"))));
        assert_eq!(f.pipelineruns().len(), 3, "skipped components create nothing");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_from_another_process_stops_the_runs_on_the_cluster() {
    let f = Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_secs(30))).await;
    let backend = f.backend().await;
    let planned = backend.plan(f.plan.clone(), &Default::default()).await.unwrap();
    let (running, run) = start_build(backend, planned).await;
    wait_for(|| f.running() >= 3, "three runs").await;
    let other = f.backend_with_state("other-state").await;
    other.cancel(&run).await.unwrap();
    let report = tokio::time::timeout(Duration::from_secs(10), running).await.unwrap().unwrap().unwrap();
    assert!(report.components.iter().all(|c| c.outcome != Outcome::Succeeded), "{report:?}");
    assert_eq!(f.running(), 0);
    for run in f.pipelineruns() {
        assert_eq!(run["spec"]["status"], "Cancelled");
    }
    let unknown = okd_core::backend::RunId("nothing-konflux-000000000000".into());
    assert_eq!(other.cancel(&unknown).await.unwrap_err().kind(), okd_core::ErrorKind::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resubmission_finds_the_existing_runs_running_or_finished() {
    let f = Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_millis(400))).await;
    let first = f.backend().await;
    let plan = f.plan.clone();
    let running = tokio::spawn(async move { build(&first, &plan).await });
    wait_for(|| f.running() >= 1, "a run").await;
    // Another machine, another state store: it can only find the runs by name.
    let (second, _) = build(&f.backend_with_state("second").await, &f.plan).await;
    let (first, _) = running.await.unwrap();
    assert!(first.succeeded() && second.succeeded(), "{first:?}\n{second:?}");
    assert_eq!(first.run, second.run);
    assert_eq!(f.pipelineruns().len(), 5, "the second build created no PipelineRun");
    let (third, _) = build(&f.backend_with_state("third").await, &f.plan).await;
    assert!(third.components.iter().all(|c| c.outcome == Outcome::Reused), "{third:?}");
    assert_eq!(f.pipelineruns().len(), 5);
    // A machine that never saw the run rebuilds its status from the cluster.
    let status = f.backend_with_state("fourth").await.status(&third.run).await.unwrap();
    assert_eq!(status.components.len(), 5);
    assert!(status.components.iter().all(|c| c.outcome == Outcome::Succeeded && c.digest.is_some()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_watches_resume_and_a_429_storm_is_ridden_out() {
    let f =
        Fixture::new(Strategy::Konflux, Script::new().default_duration(Duration::from_millis(1500))).await;
    let faults = f.server.faults();
    faults.fail_next(None, PIPELINERUNS, 429, 3, Some(1));
    // kube's own retry layer backs off exponentially from 5 ms when Retry-After is 0.
    faults.fail_next(None, PIPELINERUNS, 429, 15, Some(0));
    faults.fail_next(Some("POST"), PIPELINERUNS, 500, 2, None);
    let backend = f.backend().await;
    let plan = f.plan.clone();
    let running = tokio::spawn(async move { build(&backend, &plan).await });
    let watching = || f.server.requests().iter().filter(|r| r.query.contains("watch=true")).count();
    wait_for(|| f.running() >= 2 && watching() >= 2, "two runs watched").await;
    for _ in 0..4 {
        let before = watching();
        faults.drop_watches();
        wait_for(|| watching() > before, "a watch resumed").await;
    }
    let (report, _) = tokio::time::timeout(Duration::from_secs(60), running).await.unwrap().unwrap();
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(f.pipelineruns().len(), 5, "retried creates made no duplicates");
    let requests = f.server.requests();
    let throttled = requests.iter().filter(|r| r.status == 429).count();
    assert!(throttled >= 18, "{throttled} answers were 429");
    let watches = requests
        .iter()
        .filter(|r| r.path.starts_with(PIPELINERUNS) && r.query.contains("watch=true"))
        .count();
    assert!(watches >= 9, "watches were resumed after each drop ({watches} watch requests)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pruned_runs_still_report_and_timeouts_are_timeouts() {
    let script = Script::new().prune_finished_after(Duration::from_millis(1)).timeout("solo");
    let f = Fixture::new(Strategy::DoozerKonflux, script).await;
    let (report, _) = build(&f.backend().await, &f.plan).await;
    let by = outcomes(&report);
    assert_eq!(by["solo"], Outcome::Failed);
    let solo = report.components.iter().find(|c| c.name == "solo").unwrap();
    assert!(solo.reason.as_deref().unwrap().contains("timed out (PipelineRunTimeout)"), "{solo:?}");
    for name in ["base", "builder", "app", "tool"] {
        assert_eq!(by[name], Outcome::Succeeded, "{name}: {report:?}");
    }
    wait_for(|| f.pipelineruns().is_empty(), "the pruner").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_konflux_strategy_refuses_path_sources() {
    let f = Fixture::new(Strategy::Konflux, Script::new()).await;
    let plan = path_scenario(&f.dir.path().join("sources")).await;
    let (report, _) = build(&f.backend().await, &plan).await;
    let base = report.components.iter().find(|c| c.name == "base").unwrap();
    assert_eq!(base.outcome, Outcome::Failed);
    assert!(base.reason.as_deref().unwrap().contains("builds git commits"), "{base:?}");
    assert!(f.pipelineruns().is_empty());
}

#![allow(clippy::unwrap_used)]
//! payload-pipeline end to end on the fake cluster: okd-mini with every component in a git
//! repository of its own (file://), built through one Workflow per run whose DAG is the build
//! graph; the images are read back from the release ImageStream the tasks push to; a second run
//! submits only what changed.

mod cluster;
mod common;

use std::{collections::BTreeSet, time::Duration};

use backend_argo::{BuildEngine, Settings};
use cluster::{Fixture, build, outcomes, position};
use common::{git, okd_mini_git, plan_of};
use okd_core::backend::Outcome;
use okd_tests::kube::controllers::Script;
use serde_json::Value;

async fn fixture(engine: BuildEngine, script: Script) -> (Fixture, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = okd_mini_git(dir.path(), |text| text);
    let plan = plan_of(&manifest, dir.path()).await;
    let settings = Settings { engine, ..Settings::default() };
    let script = script.default_duration(Duration::from_millis(20));
    (Fixture::with_plan(script, dir, plan, settings).await, manifest)
}

/// The entry DAG's task names of a Workflow (the payload step aside).
fn tasks(wf: &Value) -> BTreeSet<String> {
    let entry = wf["spec"]["entrypoint"].as_str().unwrap();
    wf["spec"]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["name"] == entry)
        .flat_map(|t| t["dag"]["tasks"].as_array().unwrap().iter())
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .filter(|name| name != "release-payload")
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn okd_mini_builds_through_one_workflow_and_again_only_what_changed() {
    let (fixture, manifest) = fixture(BuildEngine::Buildconfig, Script::new()).await;
    let plan = fixture.plan.clone();
    let backend = fixture.backend().await;
    let (report, events) = build(&backend, &plan).await;
    assert!(report.components.iter().all(|c| c.outcome == Outcome::Succeeded), "{report:?}");

    // What the run applied: the release and tools streams and one BuildConfig per component,
    // each building its repository at the planned commit.
    let buildconfigs = fixture.list("build.openshift.io", "v1", "buildconfigs");
    assert_eq!(buildconfigs.len(), plan.components.len());
    for bc in &buildconfigs {
        let c = plan.component(bc["metadata"]["name"].as_str().unwrap()).unwrap();
        let okd_core::plan::PlannedSource::Commit { commit, .. } = &c.source else { panic!("git") };
        assert_eq!(bc["spec"]["source"]["git"]["ref"], commit.as_str(), "{}", c.name);
    }
    let streams: BTreeSet<String> = fixture
        .list("image.openshift.io", "v1", "imagestreams")
        .iter()
        .map(|s| s["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(streams.contains("release") && streams.contains("tools"), "{streams:?}");

    // One Workflow; its DAG is the plan; parents first; digests as the tasks pushed them.
    let workflows = fixture.workflows();
    assert_eq!(workflows.len(), 1);
    let wf = &workflows[0];
    let name = wf["metadata"]["name"].as_str().unwrap();
    assert_eq!(wf["metadata"]["labels"]["okd-build.io/run"], report.run.0.as_str());
    let all: BTreeSet<String> = plan.components.iter().map(|c| c.name.clone()).collect();
    assert_eq!(tasks(wf), all);
    for c in &plan.components {
        for parent in &c.depends_on {
            assert!(
                position(&events, parent, "succeeded") < position(&events, &c.name, "started"),
                "{}",
                c.name
            );
        }
    }
    for c in &report.components {
        let digest = Script::digest_for(&format!("{name}/{}", c.name));
        assert_eq!(c.digest.as_deref(), Some(digest.as_str()), "{}", c.name);
        assert!(c.image.as_deref().unwrap().ends_with(&format!("/okd/release:{}", c.name)), "{:?}", c.image);
    }

    // Nothing changed: nothing is submitted, everything is reused.
    let (again, _) = build(&backend, &plan).await;
    assert!(again.components.iter().all(|c| c.outcome == Outcome::Reused), "{again:?}");
    assert_eq!(fixture.workflows().len(), 1, "no Workflow for a run with nothing to build");

    // cli changed: the next Workflow holds cli and installer (which copies from it), no more.
    let repo = manifest.parent().unwrap().join("src/okd/cli");
    std::fs::write(repo.join("CHANGED"), "1\n").unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "change"]);
    let changed = plan_of(&manifest, manifest.parent().unwrap()).await;
    let (third, _) = build(&backend, &changed).await;
    let by = outcomes(&third);
    assert_eq!(
        (by["cli"], by["installer"], by["base"]),
        (Outcome::Succeeded, Outcome::Succeeded, Outcome::Reused)
    );
    let workflows = fixture.workflows();
    assert_eq!(workflows.len(), 2);
    let newest = workflows.iter().find(|w| w["metadata"]["name"] != name).unwrap();
    assert_eq!(tasks(newest), BTreeSet::from(["cli".to_owned(), "installer".to_owned()]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_task_fails_with_its_message_and_its_dependents_are_skipped() {
    let (fixture, _) = fixture(BuildEngine::Buildconfig, Script::new()).await;
    fixture.rescript(|s| s.fail("cli", "error: build error: make: *** [oc] Error 2"));
    let (report, _) = build(&fixture.backend().await, &fixture.plan).await;
    let by = outcomes(&report);
    assert_eq!(
        (by["cli"], by["installer"], by["console"]),
        (Outcome::Failed, Outcome::Skipped, Outcome::Succeeded)
    );
    let reason = report.components.iter().find(|c| c.name == "cli").unwrap().reason.clone().unwrap();
    assert!(reason.contains("make: *** [oc] Error 2") && reason.contains("task cli of Workflow"), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipwright_applies_builds_instead_of_buildconfigs_and_survives_429s() {
    let (fixture, _) = fixture(BuildEngine::Shipwright, Script::new()).await;
    fixture.server.faults().fail_next(None, cluster::RELEASE, 429, 4, Some(1));
    let (report, _) = build(&fixture.backend().await, &fixture.plan).await;
    assert!(report.components.iter().all(|c| c.outcome == Outcome::Succeeded), "{report:?}");
    assert_eq!(fixture.list("shipwright.io", "v1beta1", "builds").len(), fixture.plan.components.len());
    assert!(fixture.list("build.openshift.io", "v1", "buildconfigs").is_empty());
    // API requests: per component at most 3 (apply, stream read), plus one watch per run.
    let requests = fixture.server.requests();
    let watches = requests.iter().filter(|r| r.query.contains("watch=true")).count();
    assert_eq!(watches, 1, "{requests:#?}");
    assert!(requests.len() - watches <= 3 * report.components.len(), "{} requests", requests.len());
}

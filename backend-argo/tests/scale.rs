#![allow(clippy::unwrap_used)]
//! Scale: the corpus's 4.22 ocp-build-data import (250 components, ~200 repositories) built by
//! payload-pipeline through the fake cluster, with synthetic git sources (file://) standing in
//! for the GitHub repositories. Above the CRD's 200 tasks per template the Workflow's DAG is
//! split into parts; the build must finish within the request budget: at most 3 API requests
//! per component on the happy path plus one watch per run, never polling.

mod cluster;
mod common;

use std::time::{Duration, Instant};

use backend_argo::Settings;
use cluster::{Fixture, build, plan_git};
use okd_core::backend::Outcome;
use okd_tests::{kube::controllers::Script, synthetic::git_sources};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_4_22_corpus_builds_through_one_workflow_within_the_request_budget() {
    let Some(shared) =
        common::shared("the_4_22_corpus_builds_through_one_workflow_within_the_request_budget")
    else {
        return;
    };
    let options = okd_core::doozer::ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let imported =
        okd_core::doozer::import(&shared.join("corpus/ocp-build-data/openshift-4.22"), &options).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("okd-4.22.yaml");
    std::fs::write(&manifest, git_sources(&imported.manifest, dir.path())).unwrap();
    let plan = plan_git(&manifest, dir.path()).await;
    assert_eq!(plan.components.len(), 250);

    let script = Script::new().default_duration(Duration::from_millis(5));
    let fixture = Fixture::with_plan(script, dir, plan.clone(), Settings::default()).await;
    let before = fixture.server.requests().len();
    let started = Instant::now();
    let (report, _) = build(&fixture.backend().await, &plan).await;
    let elapsed = started.elapsed();
    let failed: Vec<_> = report
        .components
        .iter()
        .filter(|c| c.outcome != Outcome::Succeeded)
        .map(|c| (&c.name, &c.reason))
        .collect();
    assert!(failed.is_empty(), "not built: {failed:?}");
    let workflows = fixture.workflows();
    assert_eq!(workflows.len(), 1);
    let requests = fixture.server.requests();
    let watches = requests.iter().filter(|r| r.query.contains("watch=true")).count();
    let others = requests.len() - watches;
    eprintln!(
        "4.22 corpus through payload-pipeline: {} components, {others} API requests + {watches} watch, {elapsed:?}",
        report.components.len()
    );
    assert_eq!(watches, 1, "one watch per run");
    assert_eq!(
        report.api_requests,
        Some((requests.len() - before) as u64),
        "the run's own count (okd compare's REQ/COMP) is what the API server saw"
    );
    assert!(
        others <= 3 * report.components.len(),
        "{others} requests for {} components",
        report.components.len()
    );
}

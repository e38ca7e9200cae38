#![allow(clippy::unwrap_used)]
//! Scale: the corpus's 4.22 ocp-build-data import (250 components, ~200 repositories) built by
//! `prow` through the fake app.ci, with synthetic git sources (file://) standing in for the
//! GitHub repositories. It must finish, and stay within the request budget: at most 3 API
//! requests per component on the happy path plus one watch per run, never polling.
//! (BENCHMARKS.md has the timings and memory of the `okd` process for the same build.)

mod cluster;
mod common;

use std::time::{Duration, Instant};

use backend_prow::Strategy;
use cluster::{Fixture, build, plan_git};
use okd_core::backend::Outcome;
use okd_tests::{kube::controllers::Script, synthetic::git_sources};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_4_22_corpus_builds_through_prow_within_the_request_budget() {
    let Some(shared) = common::shared("the_4_22_corpus_builds_through_prow_within_the_request_budget") else {
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

    let fixture = Fixture::with_plan(
        Strategy::Prow,
        Script::new().default_duration(Duration::from_millis(5)),
        dir,
        plan.clone(),
    )
    .await;
    let before = fixture.server.requests().len();
    let started = Instant::now();
    let (report, _) = build(&fixture.backend().await, &plan).await;
    let elapsed = started.elapsed();
    let built = report.components.iter().filter(|c| c.outcome == Outcome::Succeeded).count();
    let failed: Vec<_> = report.components.iter().filter(|c| c.outcome != Outcome::Succeeded).collect();
    // Every component has a config: its positional FROMs are members or CI-registry builders.
    assert!(
        failed.is_empty(),
        "{} built; not built: {:?}",
        built,
        failed.iter().map(|c| (&c.name, &c.reason)).collect::<Vec<_>>()
    );

    let configs = fixture.gangway.executions().len();
    let requests = fixture.server.requests();
    let watches = requests.iter().filter(|r| r.query.contains("watch=true")).count();
    let others = requests.len() - watches;
    eprintln!(
        "4.22 corpus through prow: {built} components, {configs} jobs, {others} API requests + {watches} watch, {elapsed:?}"
    );
    assert_eq!(watches, 1, "one watch per run");
    assert_eq!(
        report.api_requests,
        Some((requests.len() - before) as u64),
        "the run's own count (okd compare's REQ/COMP) is what the API server saw"
    );
    assert!(others <= 3 * built, "{others} requests for {built} components");
    assert_eq!(fixture.prowjobs().len(), configs, "one ProwJob per config, none triggered twice");
}

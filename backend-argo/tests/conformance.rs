#![allow(clippy::unwrap_used)]
//! The conformance suite (okd-tests) against payload-pipeline on the fake cluster, with both
//! build engines; sources are git repositories (file://).

mod cluster;

use std::time::Duration;

use backend_argo::{BuildEngine, Settings};
use cluster::{Fixture, git_scenario, plan_git};
use okd_tests::{
    conformance::{CHECKS, Check, run_check},
    kube::controllers::Script,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_engines_pass_the_conformance_suite() {
    for engine in [BuildEngine::Buildconfig, BuildEngine::Shipwright] {
        for check in CHECKS {
            let dir = tempfile::tempdir().unwrap();
            let manifest = git_scenario(dir.path());
            let plan = plan_git(&manifest, dir.path()).await;
            let settings = Settings { engine, ..Settings::default() };
            let script = Script::new().default_duration(Duration::from_millis(30));
            let fixture = Fixture::with_plan(script, dir, plan, settings).await;
            let outcome = tokio::time::timeout(Duration::from_secs(60), run_check(check, &fixture)).await;
            let outcome = outcome.unwrap_or_else(|_| panic!("{engine:?} {check} timed out"));
            assert_eq!(outcome, Check::Passed, "{engine:?} {check}");
        }
    }
}

#![allow(clippy::unwrap_used)]
//! The conformance suite (okd-tests) against both Prow strategies on the fake app.ci: Gangway,
//! ProwJobs run by the scripted controller, promotion into the integration ImageStream; sources
//! are git repositories (file://).

mod cluster;
mod common;

use std::time::Duration;

use backend_prow::Strategy;
use cluster::Fixture;
use okd_tests::{
    conformance::{CHECKS, Check, run_check},
    kube::controllers::Script,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_strategies_pass_the_conformance_suite() {
    for strategy in [Strategy::Prow, Strategy::DoozerProw] {
        for check in CHECKS {
            let fixture =
                Fixture::new(strategy, Script::new().default_duration(Duration::from_millis(30))).await;
            let outcome = tokio::time::timeout(Duration::from_secs(60), run_check(check, &fixture)).await;
            let outcome = outcome.unwrap_or_else(|_| panic!("{strategy:?} {check} timed out"));
            assert_eq!(outcome, Check::Passed, "{strategy:?} {check}");
        }
    }
}

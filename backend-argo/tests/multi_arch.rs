#![allow(clippy::unwrap_used)]
//! payload-pipeline and architectures on the fake cluster: okd-mini's `cli` builds for amd64
//! and arm64. A run reports each architecture's result (in the report and the run store); a
//! component whose architecture no node has fails at once with a message that says so, its
//! dependents are skipped and neither is put in the Workflow; a failing arch step is named.

mod cluster;
mod common;

use std::time::Duration;

use backend_argo::Settings;
use cluster::{Fixture, build, outcomes};
use common::{okd_mini_git, plan_of};
use okd_core::backend::{ArchResult, BuildBackend, BuildBackendExt, BuildOptions, Outcome};
use okd_tests::kube::{controllers::Script, store::Gvr};
use serde_json::json;

fn add_node(fixture: &Fixture, name: &str, arch: &str) {
    let node = json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/arch": arch, "kubernetes.io/os": "linux"}},
    });
    fixture.server.store().create(&Gvr::new("", "v1", "nodes"), "", node).unwrap();
}

fn arches(results: &[ArchResult]) -> Vec<(&str, Outcome)> {
    results.iter().map(|a| (a.arch.as_str(), a.outcome)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_arch_is_reported_and_a_missing_arch_node_fails_with_a_message_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = okd_mini_git(dir.path(), |t| {
        t.replace("  - name: cli\n", "  - name: cli\n    arches: [amd64, arm64]\n")
    });
    let plan = plan_of(&manifest, dir.path()).await;
    assert_eq!(plan.component("cli").unwrap().arches, ["amd64", "arm64"]);
    let script = Script::new().default_duration(Duration::from_millis(20));
    let fixture = Fixture::with_plan(script, dir, plan.clone(), Settings::default()).await;
    add_node(&fixture, "worker-0", "amd64");

    // No arm64 node: cli fails without a Build, installer (which copies from it) is skipped.
    let backend = fixture.backend().await;
    let (report, _) = build(&backend, &plan).await;
    let by = outcomes(&report);
    assert_eq!(by["cli"], Outcome::Failed, "{report:?}");
    assert_eq!(by["installer"], Outcome::Skipped, "{report:?}");
    assert_eq!(by.values().filter(|o| **o == Outcome::Succeeded).count(), plan.components.len() - 2);
    let cli = report.components.iter().find(|c| c.name == "cli").unwrap();
    let reason = cli.reason.as_deref().unwrap();
    assert!(
        reason.contains("needs arm64")
            && reason.contains("no node")
            && reason.contains("kubernetes.io/arch=arm64"),
        "{reason}"
    );
    let workflow = &fixture.workflows()[0];
    let text = workflow["spec"].to_string();
    assert!(!text.contains("\"cli\"") && !text.contains("\"installer\""), "left out of the DAG: {text}");
    // Single-arch components report their one arch.
    let base = report.components.iter().find(|c| c.name == "base").unwrap();
    assert_eq!(arches(&base.arches), [("amd64", Outcome::Succeeded)]);

    // An arm64 node joins: the next run builds cli for both and reports each, also from the
    // run store (another process's `okd status`).
    add_node(&fixture, "worker-arm-0", "arm64");
    let (report, _) = build(&backend, &plan).await;
    assert!(report.succeeded(), "{report:?}");
    let cli = report.components.iter().find(|c| c.name == "cli").unwrap();
    assert_eq!(arches(&cli.arches), [("amd64", Outcome::Succeeded), ("arm64", Outcome::Succeeded)]);
    let status = fixture.backend().await.status(&report.run).await.unwrap();
    let stored = status.components.iter().find(|c| c.name == "cli").unwrap();
    assert_eq!(stored.arches, cli.arches);

    // One arch's Build fails: the reason names it.
    fixture.rescript(|s| s.fail_arch("cli", "arm64", "Build cli-arm64-1 failed: exec format error"));
    let planned = backend.plan(plan.clone(), &Default::default()).await.unwrap();
    let mut options = BuildOptions::default().with_jobs(4);
    options.force = true;
    options.only = vec!["cli".into()];
    let (report, _) = backend.build_collect(&planned, &options).await;
    let report = report.unwrap();
    let reason = report.components[0].reason.as_deref().unwrap();
    assert!(reason.contains("failed (arm64)") && reason.contains("exec format error"), "{reason}");
}

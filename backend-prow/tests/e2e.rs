#![allow(clippy::unwrap_used)]
//! Both Prow strategies end to end on the fake app.ci: okd-mini with every component in a git
//! repository of its own (file://), plus `cli-artifacts`, a second image of the `cli`
//! repository, so one ci-operator config (one ProwJob) builds two images. The busybox stream
//! is a CI-registry image, which ci-operator can name as a base image.

mod cluster;
mod common;

use std::{collections::HashMap, path::Path, sync::Arc, time::Duration};

use backend_prow::Strategy;
use cluster::{Fixture, build, outcomes};
use common::{git, okd_mini_git, plan_of};
use okd_core::{
    backend::{BuildEvent, Outcome},
    generate::build_branch,
    plan::{Plan, PlannedSource},
};
use okd_tests::{kube::controllers::Script, prow::promoted_digest};
use serde_json::Value;

const STREAM_IMAGE: &str = "registry.ci.openshift.org/origin/centos:stream9";

/// okd-mini from git, its stream on the CI registry, with `cli-artifacts` built from `cli`'s
/// repository.
async fn okd_mini(dir: &Path) -> Arc<Plan> {
    let cli = dir.join("src/okd/cli");
    let manifest = okd_mini_git(dir, |text| {
        let text = text.replace("image: localhost/okd-mini/busybox:1.36", &format!("image: {STREAM_IMAGE}"));
        format!(
            "{text}\n  - name: cli-artifacts\n    source: {{ git: \"file://{}\", ref: main }}\n    payload: true\n",
            cli.display()
        )
    });
    plan_of(&manifest, dir).await
}

async fn fixture(strategy: Strategy, script: Script) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let plan = okd_mini(dir.path()).await;
    Fixture::with_plan(strategy, script.default_duration(Duration::from_millis(20)), dir, plan).await
}

fn commit_of(plan: &Plan, component: &str) -> String {
    match &plan.component(component).unwrap().source {
        PlannedSource::Commit { commit, .. } => commit.clone(),
        other => panic!("{component} is not a git source: {other:?}"),
    }
}

fn position(events: &[BuildEvent], component: &str, kind: &str) -> usize {
    events.iter().position(|e| e.component == component && e.kind.name() == kind).unwrap_or(usize::MAX)
}

/// ProwJob name → the ProwJob.
fn by_name(jobs: &[Value]) -> HashMap<String, Value> {
    jobs.iter().map(|j| (j["metadata"]["name"].as_str().unwrap().to_owned(), j.clone())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prow_builds_okd_mini_from_git_one_job_per_config_parents_first() {
    let fixture = fixture(Strategy::Prow, Script::new()).await;
    let plan = fixture.plan.clone();
    let (report, events) = build(&fixture.backend().await, &plan).await;
    let by = outcomes(&report);
    assert_eq!(by.len(), 11, "{report:?}");
    assert!(by.values().all(|o| *o == Outcome::Succeeded), "{report:?}");

    // One ProwJob per repository: cli and cli-artifacts share the cli config's job.
    let jobs = fixture.prowjobs();
    assert_eq!(jobs.len(), 10, "{jobs:#?}");
    assert_eq!(fixture.job_of("cli"), fixture.job_of("cli-artifacts"));
    assert_eq!(fixture.job_of("cli"), "branch-ci-okd-cli-main-okd-scos-images");
    let jobs = by_name(&jobs);
    let prowjob_of = |component: &str| -> &Value {
        let job = fixture.job_of(component);
        jobs.values().find(|j| j["spec"]["job"] == job).unwrap_or_else(|| panic!("no ProwJob of {job}"))
    };
    for c in &report.components {
        // Triggered at the planned commit of the component's repository, labelled with the run.
        let prowjob = prowjob_of(&c.name);
        assert_eq!(prowjob["spec"]["type"], "postsubmit");
        assert_eq!(prowjob["spec"]["refs"]["base_sha"], commit_of(&plan, &c.name).as_str(), "{}", c.name);
        assert_eq!(prowjob["spec"]["refs"]["base_ref"], "main");
        assert_eq!(prowjob["metadata"]["labels"]["okd-build.io/run"], report.run.0.as_str());
        let listed = prowjob["metadata"]["annotations"]["okd-build.io/components"].as_str().unwrap();
        assert!(listed.split(',').any(|l| l == c.name), "{listed}");
        // What the promotion step tagged, read back from the integration stream.
        let name = prowjob["metadata"]["name"].as_str().unwrap();
        assert_eq!(c.digest.as_deref(), Some(promoted_digest(name, &c.name).as_str()), "{}", c.name);
        assert_eq!(
            c.image.as_deref(),
            Some(format!("registry.ci.openshift.org/origin/scos-4.17:{}", c.name).as_str())
        );
    }
    assert_eq!(prowjob_of("cli")["metadata"]["annotations"]["okd-build.io/components"], "cli,cli-artifacts");

    // Parents first: a component starts after every parent succeeded.
    for c in &plan.components {
        for parent in &c.depends_on {
            assert!(
                position(&events, parent, "succeeded") < position(&events, &c.name, "started"),
                "{} started before its parent {parent} succeeded",
                c.name
            );
        }
    }

    // Cheap on app.ci: one watch for the run, one list, one stream read per config.
    let requests = fixture.server.requests();
    let watches = requests.iter().filter(|r| r.query.contains("watch=true")).count();
    let others = requests.len() - watches;
    assert_eq!(watches, 1, "{requests:#?}");
    assert!(
        others <= 2 * report.components.len(),
        "{others} requests for {} components",
        report.components.len()
    );
    // One Gangway execution per config, and the token never reaches a log line.
    assert_eq!(fixture.gangway.executions().len(), 10);
    assert!(!events.iter().any(|e| format!("{e:?}").contains("s3cret-token")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_fails_every_image_of_its_config_and_skips_dependents() {
    let fixture = fixture(Strategy::Prow, Script::new()).await;
    let job = fixture.job_of("cli").to_owned();
    fixture.rescript(|s| s.fail(&job, "error: build image \"cli\" failed"));
    let (report, _) = build(&fixture.backend().await, &fixture.plan).await;
    let by = outcomes(&report);
    assert_eq!((by["cli"], by["cli-artifacts"]), (Outcome::Failed, Outcome::Failed), "{report:?}");
    let reason = report.components.iter().find(|c| c.name == "cli").unwrap().reason.clone().unwrap();
    assert!(reason.contains(&job), "{reason}");
    // installer copies from cli: skipped; the rest builds.
    assert_eq!(by["installer"], Outcome::Skipped, "{report:?}");
    assert_eq!(by["base"], Outcome::Succeeded);
    assert_eq!(by["console"], Outcome::Succeeded);
    assert_eq!(fixture.prowjobs().iter().filter(|j| j["spec"]["job"] == job.as_str()).count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gangway_429s_are_retried_without_duplicate_executions() {
    let fixture = fixture(Strategy::Prow, Script::new()).await;
    fixture.gangway.fail_next(429, 8);
    let (report, _) = build(&fixture.backend().await, &fixture.plan).await;
    assert!(report.components.iter().all(|c| c.outcome == Outcome::Succeeded), "{report:?}");
    assert_eq!(fixture.gangway.executions().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_run_reuses_what_is_still_in_the_stream() {
    let fixture = fixture(Strategy::Prow, Script::new()).await;
    let backend = fixture.backend().await;
    let (first, _) = build(&backend, &fixture.plan).await;
    assert!(first.components.iter().all(|c| c.outcome == Outcome::Succeeded), "{first:?}");
    let (second, _) = build(&backend, &fixture.plan).await;
    assert!(second.components.iter().all(|c| c.outcome == Outcome::Reused), "{second:?}");
    for (a, b) in first.components.iter().zip(&second.components) {
        assert_eq!((a.name.as_str(), &a.digest), (b.name.as_str(), &b.digest));
    }
    assert_eq!(fixture.prowjobs().len(), 10, "nothing triggered again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doozer_prow_pushes_pinned_sources_and_builds_each_branch() {
    let fixture = fixture(Strategy::DoozerProw, Script::new()).await;
    let plan = fixture.plan.clone();
    let (report, _) = build(&fixture.backend().await, &plan).await;
    assert!(report.components.iter().all(|c| c.outcome == Outcome::Succeeded), "{report:?}");
    // One config and one job per component, on its build branch of the sources remote.
    let jobs = fixture.prowjobs();
    assert_eq!(jobs.len(), 11);
    let remote = fixture.remote();
    let digest: HashMap<&str, &str> =
        report.components.iter().map(|c| (c.name.as_str(), c.digest.as_deref().unwrap())).collect();
    for c in &plan.components {
        let branch = build_branch(&plan.release, &c.name);
        let head = git(&remote, &["rev-parse", &format!("refs/heads/{branch}")]);
        let job = jobs.iter().find(|j| j["spec"]["job"] == fixture.job_of(&c.name)).unwrap();
        let refs = &job["spec"]["refs"];
        assert_eq!((refs["org"].as_str(), refs["repo"].as_str()), (Some("okd"), Some("okd-sources")));
        assert_eq!(
            (refs["base_ref"].as_str(), refs["base_sha"].as_str()),
            (Some(branch.as_str()), Some(head.as_str()))
        );
        // Every parent is pinned by the digest its job promoted.
        let dockerfile = git(&remote, &["show", &format!("{branch}:Dockerfile")]);
        for parent in &c.depends_on {
            assert!(
                dockerfile.contains(&format!("@{}", digest[parent.as_str()])),
                "{}: {dockerfile}",
                c.name
            );
        }
    }
}

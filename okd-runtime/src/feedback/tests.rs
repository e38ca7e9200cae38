#![allow(clippy::unwrap_used)]
//! The reporter over a mocked GitHub: statuses in event order on each component's commit, a
//! refused status counted and never an error, the release issue after the statuses.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, Mutex},
};

use okd_core::{
    backend::{BuildEvent, ComponentResult, EventKind, Outcome, RunId, RunReport},
    manifest::{LoadOptions, load_str},
    plan::{Plan, PlanOptions, plan},
    source::{Origin, SourceSnapshot, SourceState, Sources},
};

use super::{api::MockGitHubApi, *};

const RELEASE: &str = "name: mini\nversion: 1.0.0\noutput: { registry: 127.0.0.1:5000, repository: okd/mini }\n\
    components:\n  - { name: base, source: { git: https://github.com/okd/base, ref: main } }\n  \
    - { name: cli, source: { git: https://github.com/openshift/oc, ref: main } }\n";

fn mini() -> Plan {
    let release = Arc::new(load_str(Path::new("r.yaml"), RELEASE, &LoadOptions::default()).unwrap());
    let sources = release
        .components
        .iter()
        .map(|c| {
            let url = if c.name == "cli" {
                "https://github.com/openshift/oc"
            } else {
                "https://github.com/okd/base"
            };
            let origin =
                Origin::Git { url: url.into(), reference: "main".into(), commit: format!("{}0000", c.name) };
            let snapshot = SourceSnapshot {
                origin,
                dockerfile: "FROM scratch\n".into(),
                dockerfile_path: "Dockerfile".into(),
                content: c.name.clone(),
            };
            (c.name.clone(), SourceState::Read(snapshot))
        })
        .collect::<HashMap<_, _>>();
    plan(release, &Sources(sources), &PlanOptions::default()).unwrap()
}

fn result(name: &str, outcome: Outcome, reason: Option<&str>) -> ComponentResult {
    ComponentResult {
        name: name.into(),
        outcome,
        image: None,
        digest: Some("sha256:1".into()),
        reason: reason.map(Into::into),
        started: None,
        finished: None,
        fingerprint: None,
        arches: Vec::new(),
    }
}

fn report(components: Vec<ComponentResult>) -> RunReport {
    RunReport {
        run: RunId("mini-local-1".into()),
        backend: "local".into(),
        started: jiff::Timestamp::UNIX_EPOCH,
        finished: jiff::Timestamp::UNIX_EPOCH,
        components,
        logs: None,
        api_requests: None,
    }
}

type Posted = Arc<Mutex<Vec<(String, String, CommitStatus)>>>;

/// A GitHub that records statuses and refuses those of `refused` components with a 422.
fn recording(refused: &'static str) -> (MockGitHubApi, Posted) {
    let posted: Posted = Arc::default();
    let seen = posted.clone();
    let mut api = MockGitHubApi::new();
    api.expect_create_status().returning(move |repo, sha, status| {
        if status.context.ends_with(refused) {
            return Err(ApiFailure {
                status: Some(422),
                message: "Validation Failed".into(),
                ..ApiFailure::default()
            });
        }
        seen.lock().unwrap().push((repo.to_string(), sha.to_owned(), status.clone()));
        Ok(())
    });
    (api, posted)
}

fn options() -> FeedbackOptions {
    FeedbackOptions { policy: RetryPolicy::fast(), ..FeedbackOptions::new(None).unwrap() }
}

#[tokio::test]
async fn statuses_follow_the_events_and_a_refusal_is_counted_not_raised() {
    let (api, posted) = recording("/base");
    let plan = mini();
    let reporter = FeedbackReporter::with_api(
        &[FeedbackTarget::CommitStatuses],
        &plan,
        "local",
        options(),
        Arc::new(api),
        Box::new(RealTime),
    );
    assert!(reporter.notes().is_empty());
    for (component, kind) in [
        ("", EventKind::RunStarted { run: RunId("mini-local-1".into()) }),
        ("base", EventKind::Started),
        ("base", EventKind::Succeeded { image: "i".into(), digest: "sha256:b".into() }),
        ("cli", EventKind::Started),
        ("cli", EventKind::Link { url: "https://logs/cli".into() }),
        ("cli", EventKind::Failed { reason: "RUN make failed\nexit 2".into() }),
    ] {
        reporter.observe(&BuildEvent::now(component, kind));
    }
    let summary = reporter
        .finish(&report(vec![
            result("base", Outcome::Succeeded, None),
            result("cli", Outcome::Failed, Some("RUN make failed\nexit 2")),
        ]))
        .await;
    // The first pending of cli was still queued when its link came: only the linked one is sent.
    assert_eq!((summary.statuses_posted, summary.statuses_undelivered), (2, 2), "{summary:?}");
    assert!(
        summary.undelivered.iter().all(|u| u.component == "base" && u.reason.contains("422")),
        "{summary:?}"
    );
    let posted = posted.lock().unwrap();
    let seen: Vec<(&str, &str, &str, Option<&str>)> = posted
        .iter()
        .map(|(repo, sha, s)| (repo.as_str(), sha.as_str(), s.state.as_str(), s.target_url.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("openshift/oc", "cli0000", "pending", Some("https://logs/cli")),
            ("openshift/oc", "cli0000", "failure", Some("https://logs/cli")),
        ]
    );
    assert_eq!(posted[1].2.description, "RUN make failed");
    assert_eq!(posted[1].2.context, "okd-build/local/cli");
    assert!(
        summary.text().contains("github: 2 commit statuses posted, 2 not delivered"),
        "{}",
        summary.text()
    );
}

/// A GitHub whose status calls wait until the test opens the gate.
struct Gated(tokio::sync::watch::Receiver<bool>);

#[async_trait::async_trait]
impl GitHubApi for Gated {
    async fn create_status(&self, _: &Repo, _: &str, _: &CommitStatus) -> Result<(), ApiFailure> {
        let mut open = self.0.clone();
        let _ = open.wait_for(|open| *open).await;
        Ok(())
    }
    async fn open_issues(&self, _: &Repo, _: &str, _: u32) -> Result<Vec<Issue>, ApiFailure> {
        Err(ApiFailure::transport("not used"))
    }
    async fn create_issue(&self, _: &Repo, _: &NewIssue) -> Result<Issue, ApiFailure> {
        Err(ApiFailure::transport("not used"))
    }
    async fn update_issue(&self, _: &Repo, _: u64, _: &IssueUpdate) -> Result<(), ApiFailure> {
        Err(ApiFailure::transport("not used"))
    }
    async fn comment(&self, _: &Repo, _: u64, _: &str) -> Result<(), ApiFailure> {
        Err(ApiFailure::transport("not used"))
    }
}

#[tokio::test]
async fn observe_does_not_wait_for_github() {
    let (gate, open) = tokio::sync::watch::channel(false);
    let plan = mini();
    let reporter = FeedbackReporter::with_api(
        &[FeedbackTarget::CommitStatuses],
        &plan,
        "local",
        options(),
        Arc::new(Gated(open)),
        Box::new(RealTime),
    );
    for _ in 0..3 {
        reporter.observe(&BuildEvent::now("cli", EventKind::Started));
        reporter.observe(&BuildEvent::now(
            "cli",
            EventKind::Reused { image: "i".into(), digest: "sha256:c".into() },
        ));
    }
    assert_eq!(reporter.outstanding(), 6, "queued while GitHub has not answered");
    gate.send(true).unwrap();
    let summary = reporter.finish(&report(vec![result("cli", Outcome::Reused, None)])).await;
    assert_eq!((summary.statuses_posted, summary.statuses_undelivered), (6, 0));
}

#[tokio::test]
async fn only_the_issue_target_posts_no_statuses_and_reports_the_issue() {
    let mut api = MockGitHubApi::new();
    api.expect_create_status().never();
    api.expect_open_issues().returning(|_, _, _| Ok(Vec::new()));
    api.expect_create_issue().times(1).returning(|_, new| {
        assert!(new.body.contains("`openshift/oc@cli0000`"), "{}", new.body);
        assert!(new.body.contains("[log](https://logs/cli)"), "{}", new.body);
        Ok(Issue {
            number: 12,
            title: new.title.clone(),
            body: new.body.clone(),
            html_url: "https://gh/okd/okd/issues/12".into(),
            pull_request: false,
        })
    });
    let plan = mini();
    let repo = Repo::parse("okd/okd").unwrap();
    let reporter = FeedbackReporter::with_api(
        &[FeedbackTarget::ReleaseIssue(repo)],
        &plan,
        "local",
        options(),
        Arc::new(api),
        Box::new(RealTime),
    );
    reporter.observe(&BuildEvent::now("cli", EventKind::Started));
    reporter.observe(&BuildEvent::now("cli", EventKind::Link { url: "https://logs/cli".into() }));
    reporter.observe(&BuildEvent::now("cli", EventKind::Failed { reason: "boom".into() }));
    let summary = reporter
        .finish(&report(vec![
            result("base", Outcome::Succeeded, None),
            result("cli", Outcome::Failed, Some("boom")),
        ]))
        .await;
    assert_eq!(summary.statuses_posted + summary.statuses_undelivered, 0);
    let issue = summary.issue.clone().unwrap();
    assert_eq!((issue.number, issue.action), (12, IssueAction::Opened));
    assert!(summary.text().contains("github: issue okd/okd#12 opened"), "{}", summary.text());
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(json["issue"]["action"], "opened");
    assert_eq!(json["statuses_undelivered"], 0);
}

#[test]
fn report_targets_parse_or_name_the_valid_values() {
    let parsed =
        FeedbackTarget::parse_all(&["github".into(), "github-issue=okd-project/okd".into(), "github".into()])
            .unwrap();
    assert_eq!(
        parsed,
        [
            FeedbackTarget::CommitStatuses,
            FeedbackTarget::ReleaseIssue(Repo::parse("okd-project/okd").unwrap())
        ]
    );
    let err = FeedbackTarget::parse("slack").unwrap_err();
    assert!(err.to_string().contains("'slack' is not a report target"), "{err}");
    assert!(err.help().unwrap().contains("github-issue=OWNER/REPO"), "{err:?}");
    let err = FeedbackTarget::parse("github-issue=okd").unwrap_err();
    assert!(err.to_string().contains("is not OWNER/REPO"), "{err}");
    let err = FeedbackOptions::new(Some("ci/{backend}/{name}")).unwrap_err();
    assert!(err.to_string().contains("unknown placeholder {name}"), "{err}");
}

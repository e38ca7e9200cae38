//! The fake Gangway (over raw HTTP/1.1) and the fake GitHub (through octocrab).

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use octocrab::{
    Octocrab,
    models::{CombinedStatus, StatusState},
    params::{
        checks::{CheckRunConclusion, CheckRunOutput, CheckRunStatus},
        repos::{Commitish, Reference},
    },
};
use okd_tests::{
    github::FakeGitHub,
    prow::{FakeGangway, GangwayOptions, JobResult, JobScript},
};
use serde_json::{Value, json};

const TOKEN: &str = "sha256~app-ci-token";
const PERIODIC: &str = "periodic-ci-openshift-release-master-okd-scos-4.21-images";
const POSTSUBMIT: &str = "branch-ci-openshift-api-master-okd-scos-images";
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`), with blocking std I/O on
/// the blocking pool (okd-tests' tokio has no `io-util`).
async fn http(base: &str, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Reply {
    let addr = base.trim_start_matches("http://").to_owned();
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let raw = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(&addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read");
        raw
    })
    .await
    .expect("the request task");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a response head");
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("status");
    let headers =
        lines.filter_map(|l| l.split_once(": ")).map(|(n, v)| (n.to_owned(), v.to_owned())).collect();
    Reply { status, headers, body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

async fn trigger(gw: &FakeGangway, path: &str, body: &Value) -> Reply {
    http(&gw.url(), "POST", path, Some(TOKEN), Some(body)).await
}

/// Polls `GET /v1/executions/{id}` until a terminal status; returns every status seen and the
/// last body.
async fn poll(gw: &FakeGangway, id: &str) -> (Vec<String>, Value) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen: Vec<String> = Vec::new();
    loop {
        let reply = http(&gw.url(), "GET", &format!("/v1/executions/{id}"), Some(TOKEN), None).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let status = reply.body["job_status"].as_str().expect("job_status").to_owned();
        if seen.last() != Some(&status) {
            seen.push(status.clone());
        }
        if ["SUCCESS", "FAILURE", "ABORTED", "ERROR"].contains(&status.as_str()) {
            return (seen, reply.body);
        }
        assert!(Instant::now() < deadline, "{id} still {status}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn options() -> GangwayOptions {
    GangwayOptions::default()
        .token(TOKEN)
        .job(PERIODIC)
        .scripted(POSTSUBMIT, JobScript::new(Duration::from_millis(300), JobResult::Success))
        .scripted("periodic-flaky", JobScript::new(Duration::from_millis(30), JobResult::Failure))
}

#[tokio::test]
async fn gangway_periodic_and_postsubmit_succeed() {
    let gw = FakeGangway::start(options()).await;
    let periodic =
        trigger(&gw, "/v1/executions", &json!({"job_name": PERIODIC, "job_execution_type": "1"})).await;
    assert_eq!(periodic.status, 200, "{}", periodic.body);
    assert_eq!(periodic.body["job_status"], "TRIGGERED");
    assert_eq!(periodic.body["job_type"], "PERIODIC");

    let refs = json!({"org": "openshift", "repo": "api", "base_ref": "master", "base_sha": SHA});
    let body = json!({"jobExecutionType": "POSTSUBMIT", "refs": refs,
        "pod_spec_options": {"envs": {"RELEASE_IMAGE_LATEST": "quay.io/okd/scos-release:4.21"}}});
    let post = trigger(&gw, &format!("/v1/executions/{POSTSUBMIT}"), &body).await;
    assert_eq!(post.status, 200, "{}", post.body);
    assert_eq!(
        (post.body["job_name"].as_str(), post.body["refs"]["base_sha"].as_str()),
        (Some(POSTSUBMIT), Some(SHA))
    );
    assert_ne!(periodic.body["id"], post.body["id"]);

    let (seen, last) = poll(&gw, post.body["id"].as_str().expect("id")).await;
    assert_eq!(seen.last().map(String::as_str), Some("SUCCESS"));
    assert!(seen.iter().any(|s| s == "PENDING"), "{seen:?}");
    assert_eq!(last["job_type"], "POSTSUBMIT");
    assert!(last["job_url"].as_str().is_some_and(|u| u.contains(POSTSUBMIT)), "{last}");
    assert!(last["create_time"].is_string() && last["completion_time"].is_string(), "{last}");
    let (seen, _) = poll(&gw, periodic.body["id"].as_str().expect("id")).await;
    assert_eq!(seen.last().map(String::as_str), Some("SUCCESS"));

    let executions = gw.executions();
    assert_eq!(executions.len(), 2);
    assert_eq!((executions[0].job_type.as_str(), executions[0].via_path), ("PERIODIC", false));
    assert_eq!((executions[1].job_name.as_str(), executions[1].via_path), (POSTSUBMIT, true));
    assert_eq!(executions[1].request["refs"]["org"], "openshift");
    assert!(executions.iter().all(|e| e.job_status == "SUCCESS"));

    let listed =
        http(&gw.url(), "GET", &format!("/v1/executions?job_name={PERIODIC}"), Some(TOKEN), None).await;
    assert_eq!(listed.body["job_execution"].as_array().map(Vec::len), Some(1), "{}", listed.body);
    gw.stop().await;
}

#[tokio::test]
async fn gangway_scripted_failure_and_validation() {
    let gw = FakeGangway::start(options()).await;
    let reply =
        trigger(&gw, "/v1/executions", &json!({"job_name": "periodic-flaky", "job_execution_type": 1})).await;
    let (seen, last) = poll(&gw, reply.body["id"].as_str().expect("id")).await;
    assert_eq!(seen.last().map(String::as_str), Some("FAILURE"));
    assert!(last["completion_time"].is_string());

    let unknown =
        trigger(&gw, "/v1/executions", &json!({"job_name": "no-such-job", "job_execution_type": "PERIODIC"}))
            .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(unknown.body["code"], 5);
    assert!(unknown.body["message"].as_str().is_some_and(|m| m.contains("no-such-job")));

    let with_refs = json!({"job_name": PERIODIC, "job_execution_type": "1", "refs": {"org": "openshift"}});
    let bad = trigger(&gw, "/v1/executions", &with_refs).await;
    assert_eq!((bad.status, bad.body["code"].as_i64()), (400, Some(3)), "{}", bad.body);
    let no_refs =
        trigger(&gw, "/v1/executions", &json!({"job_name": POSTSUBMIT, "job_execution_type": "2"})).await;
    assert_eq!(no_refs.status, 400);
    let missing = http(&gw.url(), "GET", "/v1/executions/nope", Some(TOKEN), None).await;
    assert_eq!((missing.status, missing.body["code"].as_i64()), (404, Some(5)));
    assert_eq!(gw.executions().len(), 1);
    gw.stop().await;
}

#[tokio::test]
async fn gangway_auth_and_injected_failures() {
    let gw = FakeGangway::start(options()).await;
    let body = json!({"job_name": PERIODIC, "job_execution_type": "1"});
    let anonymous = http(&gw.url(), "POST", "/v1/executions", None, Some(&body)).await;
    assert_eq!((anonymous.status, anonymous.body["code"].as_i64()), (401, Some(16)));
    let wrong = http(&gw.url(), "POST", "/v1/executions", Some("sha256~other"), Some(&body)).await;
    assert_eq!((wrong.status, wrong.body["code"].as_i64()), (403, Some(7)));
    assert!(gw.executions().is_empty());

    gw.fail_next(503, 1);
    gw.fail_next(429, 1);
    let unavailable = trigger(&gw, "/v1/executions", &body).await;
    assert_eq!((unavailable.status, unavailable.body["code"].as_i64()), (503, Some(14)));
    assert_eq!(unavailable.header("retry-after"), Some("1"));
    let limited = trigger(&gw, "/v1/executions", &body).await;
    assert_eq!((limited.status, limited.header("retry-after")), (429, Some("1")));
    let ok = trigger(&gw, "/v1/executions", &body).await;
    assert_eq!(ok.status, 200);
    assert_eq!(gw.executions().len(), 1);
    gw.stop().await;

    let legacy = FakeGangway::start(GangwayOptions { legacy_get: true, ..GangwayOptions::default() }).await;
    let created = http(&legacy.url(), "POST", "/v1/executions", None, Some(&body)).await;
    let id = created.body["id"].as_str().expect("id");
    let got = http(&legacy.url(), "GET", &format!("/v1/executions/{id}"), None, None).await;
    assert_eq!(
        (got.body["job_name"].as_str(), got.body["job_type"].as_str()),
        (Some(""), Some("JOB_EXECUTION_TYPE_UNSPECIFIED"))
    );
    legacy.stop().await;
}

fn client(gh: &FakeGitHub) -> Octocrab {
    Octocrab::builder()
        .base_uri(gh.url())
        .expect("a base uri")
        .personal_token("ghp_fake".to_owned())
        .build()
        .expect("an octocrab client")
}

#[tokio::test]
async fn github_commit_statuses() {
    let gh = FakeGitHub::start().await;
    let octo = client(&gh);
    let repo = octo.repos("openshift", "api");
    let created = repo
        .create_status(SHA.to_owned(), StatusState::Pending)
        .context("ci/okd-build/images".to_owned())
        .description("building".to_owned())
        .target("https://example.test/run/1".to_owned())
        .send()
        .await
        .expect("create a status");
    assert!(created.id.is_some() && created.created_at.is_some() && created.creator.is_some());
    assert_eq!(created.state, StatusState::Pending);
    repo.create_status(SHA.to_owned(), StatusState::Success)
        .context("ci/okd-build/images".to_owned())
        .send()
        .await
        .expect("create a status");
    repo.create_status(SHA.to_owned(), StatusState::Success)
        .context("ci/okd-build/payload".to_owned())
        .send()
        .await
        .expect("create a status");

    let route = format!("/repos/openshift/api/commits/{SHA}/status");
    let combined: CombinedStatus = octo.get(route, None::<&()>).await.expect("the combined status");
    assert_eq!((combined.state, combined.total_count, combined.sha.as_str()), (StatusState::Success, 2, SHA));
    let listed = repo.list_statuses(SHA.to_owned()).send().await.expect("list statuses");
    assert_eq!(listed.items.len(), 3);
    assert_eq!(listed.items[0].context.as_deref(), Some("ci/okd-build/payload"));

    repo.create_status(SHA.to_owned(), StatusState::Error)
        .context("ci/okd-build/payload".to_owned())
        .send()
        .await
        .expect("create a status");
    gh.set_ref("openshift", "api", "main", SHA);
    let by_branch = repo.combined_status_for_ref(&Reference::Branch("main".into())).await.expect("by branch");
    assert_eq!(by_branch.state, StatusState::Failure);

    let recorded = gh.statuses("openshift", "api", SHA);
    assert_eq!(recorded.len(), 4);
    assert_eq!(recorded[0]["description"], "building");
    assert_eq!(recorded[0]["target_url"], "https://example.test/run/1");
    assert!(gh.requests().iter().all(|r| r.authorization.as_deref() == Some("Bearer ghp_fake")));
    gh.stop().await;
}

fn output(title: &str, summary: &str) -> CheckRunOutput {
    CheckRunOutput {
        title: title.into(),
        summary: summary.into(),
        text: Some("log tail".into()),
        annotations: Vec::new(),
        images: Vec::new(),
    }
}

#[tokio::test]
async fn github_check_runs() {
    let gh = FakeGitHub::start().await;
    let octo = client(&gh);
    let checks = octo.checks("openshift", "api");
    let run = checks
        .create_check_run("okd-scos-images", SHA)
        .status(CheckRunStatus::InProgress)
        .details_url("https://example.test/run/7")
        .external_id("run-7")
        .output(output("Building", "3 images"))
        .send()
        .await
        .expect("create a check run");
    assert_eq!((run.head_sha.as_str(), run.conclusion.as_deref()), (SHA, None));
    let done = checks
        .update_check_run(run.id)
        .status(CheckRunStatus::Completed)
        .conclusion(CheckRunConclusion::Success)
        .output(output("Built", "3 of 3 images"))
        .send()
        .await
        .expect("update the check run");
    assert_eq!(done.conclusion.as_deref(), Some("success"));
    assert!(done.completed_at.is_some());

    let listed = checks.list_check_runs_for_git_ref(Commitish(SHA.into())).send().await.expect("list");
    assert_eq!(listed.total_count, 1);
    assert_eq!(listed.check_runs[0].output.summary.as_deref(), Some("3 of 3 images"));

    let bad = checks.create_check_run("x", SHA).status(CheckRunStatus::Completed).send().await;
    let Err(octocrab::Error::GitHub { source, .. }) = bad else { panic!("expected a 422: {bad:?}") };
    assert_eq!(source.status_code.as_u16(), 422);

    let recorded = gh.check_runs("openshift", "api", SHA);
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (recorded[0]["status"].as_str(), recorded[0]["external_id"].as_str()),
        (Some("completed"), Some("run-7"))
    );
    assert_eq!(recorded[0]["details_url"], "https://example.test/run/7");
    gh.stop().await;
}

#[tokio::test]
async fn github_injected_failures() {
    let gh = FakeGitHub::start().await;
    let octo = client(&gh);
    let repo = octo.repos("openshift", "api");
    let send = || repo.create_status(SHA.to_owned(), StatusState::Success).context("ci".to_owned()).send();
    let github_error = |result: octocrab::Result<_>| match result {
        Err(octocrab::Error::GitHub { source, .. }) => source,
        other => panic!("expected a GitHub error: {other:?}"),
    };
    gh.fail_next(502, 1);
    gh.fail_next(403, 1);
    gh.fail_next(429, 1);
    let server = github_error(send().await);
    assert_eq!((server.status_code.as_u16(), server.message.as_str()), (502, "Server Error"));
    let primary = github_error(send().await);
    assert_eq!(primary.status_code.as_u16(), 403);
    assert!(primary.rate_limit_reset.is_some());
    let headers = primary.headers.as_ref().expect("headers");
    assert_eq!(headers.get("x-ratelimit-remaining").and_then(|v| v.to_str().ok()), Some("0"));
    let secondary = github_error(send().await);
    assert_eq!(secondary.status_code.as_u16(), 429);
    assert!(secondary.message.contains("secondary rate limit"));
    assert!(secondary.headers.as_ref().is_some_and(|h| h.contains_key("retry-after")));

    send().await.expect("succeeds after the injected failures");
    assert_eq!(gh.statuses("openshift", "api", SHA).len(), 1);
    assert_eq!(gh.requests().len(), 4);
    gh.stop().await;
}

//! A fake GitHub REST API for commit statuses and check runs, on 127.0.0.1, in the shapes
//! octocrab deserializes (`models::Status`, `models::CombinedStatus`, `models::checks`).
//!
//! - `POST /repos/{o}/{r}/statuses/{sha}`; `GET /repos/{o}/{r}/commits/{ref}/statuses` (and the
//!   older `GET /repos/{o}/{r}/statuses/{ref}`), newest first; `GET .../commits/{ref}/status`.
//! - `POST /repos/{o}/{r}/check-runs`, `GET|PATCH /repos/{o}/{r}/check-runs/{id}`,
//!   `GET .../commits/{ref}/check-runs` (`check_name`, `status`, `filter=latest|all`).
//! - Issues and their comments (`issues.rs`): `GET|POST /repos/{o}/{r}/issues`,
//!   `GET|PATCH /repos/{o}/{r}/issues/{n}`, `GET|POST /repos/{o}/{r}/issues/{n}/comments`.
//! - A `{ref}` is a SHA, or a branch/tag registered with [`FakeGitHub::set_ref`]
//!   (`main`, `heads/main`, `refs/heads/main`). Owner and repo are case-insensitive.
//! - Any token (or none) is accepted. Errors are `{message, documentation_url, status}`.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::{SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::{Body, Bytes},
    extract::{Path, Query, Request, State},
    http::{HeaderName, HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

use crate::prow::util::{Served, lock, rfc3339};

mod issues;

const DOCS: &str = "https://docs.github.com/rest";

/// One request as received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    pub authorization: Option<String>,
    /// The JSON body (`Null` when empty or not JSON).
    pub body: Value,
}

type Key = (String, String, String);

#[derive(Debug, Default)]
struct Inner {
    next_id: u64,
    /// (owner, repo, sha) -> statuses, oldest first.
    statuses: BTreeMap<Key, Vec<Value>>,
    /// (owner, repo, run), oldest first.
    check_runs: Vec<(String, String, Value)>,
    /// (owner, repo, branch or tag) -> sha.
    refs: BTreeMap<Key, String>,
    requests: Vec<RecordedRequest>,
    faults: VecDeque<u16>,
    /// Seconds from now that an injected primary rate limit resets in.
    reset_in: Option<u64>,
    issues: Vec<issues::StoredIssue>,
}

#[derive(Debug)]
struct Hub {
    url: String,
    inner: Mutex<Inner>,
}

/// A fake GitHub API on 127.0.0.1.
#[derive(Debug)]
pub struct FakeGitHub {
    hub: Arc<Hub>,
    server: Served,
}

impl FakeGitHub {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task.
    pub async fn start() -> Self {
        let mut hub = None;
        let server = Served::start(|url| {
            let state = Arc::new(Hub { url, inner: Mutex::default() });
            hub = Some(state.clone());
            Router::new()
                .route("/repos/{owner}/{repo}/statuses/{sha}", post(create_status).get(list_statuses_legacy))
                .route("/repos/{owner}/{repo}/commits/{*rest}", get(commits))
                .route("/repos/{owner}/{repo}/check-runs", post(create_check_run))
                .route("/repos/{owner}/{repo}/check-runs/{id}", get(get_check_run).patch(update_check_run))
                .route("/repos/{owner}/{repo}/issues", get(issues::list).post(issues::create))
                .route("/repos/{owner}/{repo}/issues/{number}", get(issues::get).patch(issues::update))
                .route(
                    "/repos/{owner}/{repo}/issues/{number}/comments",
                    get(issues::comments).post(issues::comment),
                )
                .fallback(|| async { gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS) })
                .layer(middleware::from_fn_with_state(state.clone(), front))
                .with_state(state)
        })
        .await;
        FakeGitHub { hub: hub.expect("the router was built"), server }
    }

    /// `http://127.0.0.1:PORT`, for `OctocrabBuilder::base_uri`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The statuses created for a commit, oldest first.
    pub fn statuses(&self, owner: &str, repo: &str, sha: &str) -> Vec<Value> {
        lock(&self.hub.inner).statuses.get(&key(owner, repo, sha)).cloned().unwrap_or_default()
    }

    /// The check runs for a commit (current state), oldest first.
    pub fn check_runs(&self, owner: &str, repo: &str, sha: &str) -> Vec<Value> {
        let inner = lock(&self.hub.inner);
        let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
        let runs =
            inner.check_runs.iter().filter(|(o, r, run)| *o == owner && *r == repo && run["head_sha"] == sha);
        runs.map(|(_, _, run)| run.clone()).collect()
    }

    /// Makes branch or tag `name` point at `sha`.
    pub fn set_ref(&self, owner: &str, repo: &str, name: &str, sha: &str) {
        lock(&self.hub.inner).refs.insert(key(owner, repo, name), sha.to_owned());
    }

    /// The repository's issues (current state), oldest first.
    pub fn issues(&self, owner: &str, repo: &str) -> Vec<Value> {
        let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
        let inner = lock(&self.hub.inner);
        inner.issues.iter().filter(|i| i.owner == owner && i.repo == repo).map(|i| i.issue.clone()).collect()
    }

    /// The comments on issue `number`, oldest first.
    pub fn comments(&self, owner: &str, repo: &str, number: u64) -> Vec<Value> {
        let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
        let inner = lock(&self.hub.inner);
        let found =
            inner.issues.iter().find(|i| i.owner == owner && i.repo == repo && i.issue["number"] == number);
        found.map(|i| i.comments.clone()).unwrap_or_default()
    }

    /// Every request so far, including failed ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.hub.inner).requests.clone()
    }

    /// The next `count` requests fail with `status`: 403 is the primary rate limit
    /// (`x-ratelimit-remaining: 0`), 429 the secondary one (`retry-after: 1`), 5xx a server error.
    pub fn fail_next(&self, status: u16, count: usize) {
        lock(&self.hub.inner).faults.extend(std::iter::repeat_n(status, count));
    }

    /// Injected 403s say the primary rate limit resets `seconds` from now (default 60); tests
    /// set 0 or 1 so a client that waits for the reset waits briefly.
    pub fn rate_limit_resets_in(&self, seconds: u64) {
        lock(&self.hub.inner).reset_in = Some(seconds);
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

fn key(owner: &str, repo: &str, name: &str) -> Key {
    (owner.to_lowercase(), repo.to_lowercase(), name.to_owned())
}

/// Records the request, then answers an injected failure if one is queued.
async fn front(State(hub): State<Arc<Hub>>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 16 << 20).await.unwrap_or_default();
    let fault = {
        let mut inner = lock(&hub.inner);
        inner.requests.push(RecordedRequest {
            method: parts.method.to_string(),
            path: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.to_string()),
            authorization: parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(Into::into),
            body: serde_json::from_slice(&bytes).unwrap_or_default(),
        });
        inner.faults.pop_front().map(|status| (status, inner.reset_in.unwrap_or(60)))
    };
    match fault {
        Some((status, reset_in)) => fault_response(status, reset_in),
        None => next.run(Request::from_parts(parts, Body::from(bytes))).await,
    }
}

fn fault_response(status: u16, reset_in: u64) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reset = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) + reset_in;
    let limits = |remaining: &str| {
        [
            ("x-ratelimit-limit", "5000"),
            ("x-ratelimit-remaining", remaining),
            ("x-ratelimit-resource", "core"),
        ]
        .map(|(n, v)| (HeaderName::from_static(n), HeaderValue::from_str(v).expect("a header value")))
    };
    let reset = (HeaderName::from_static("x-ratelimit-reset"), HeaderValue::from(reset));
    let rate_docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api";
    match status.as_u16() {
        403 => {
            let message = "API rate limit exceeded for user ID 1.";
            (limits("0"), [reset], gh_error(status, message, rate_docs)).into_response()
        }
        429 => {
            let message =
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
            let docs = format!("{rate_docs}#about-secondary-rate-limits");
            let retry = (header::RETRY_AFTER, HeaderValue::from_static("1"));
            (limits("4999"), [reset, retry], gh_error(status, message, &docs)).into_response()
        }
        500..=599 => gh_error(status, "Server Error", DOCS),
        _ => gh_error(status, status.canonical_reason().unwrap_or("Error"), DOCS),
    }
}

fn gh_error(status: StatusCode, message: &str, docs: &str) -> Response {
    let body = json!({"message": message, "documentation_url": docs, "status": status.as_u16().to_string()});
    (status, Json(body)).into_response()
}

fn invalid(message: &str, docs: &str) -> Response {
    gh_error(StatusCode::UNPROCESSABLE_ENTITY, &format!("Invalid request.\n\n{message}"), docs)
}

/// A JSON object body, or `None` (answer [`bad_json`]).
fn parse_body(body: &[u8]) -> Option<Value> {
    serde_json::from_slice::<Value>(body).ok().filter(Value::is_object)
}

fn bad_json() -> Response {
    gh_error(StatusCode::BAD_REQUEST, "Problems parsing JSON", DOCS)
}

fn now() -> String {
    rfc3339(SystemTime::now(), false)
}

/// The fake's authenticated user, in the full `simple-user` shape.
fn user(url: &str) -> Value {
    let api = format!("{url}/users/okd-bot");
    json!({
        "login": "okd-bot", "id": 1, "node_id": "U_fake1", "avatar_url": format!("{url}/avatars/u/1"),
        "gravatar_id": "", "url": api, "html_url": format!("{url}/okd-bot"),
        "followers_url": format!("{api}/followers"), "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"), "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"), "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"), "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"), "type": "User", "site_admin": false,
    })
}

fn resolve(inner: &Inner, owner: &str, repo: &str, reference: &str) -> String {
    let name = reference.strip_prefix("refs/").unwrap_or(reference);
    let name = name.strip_prefix("heads/").or_else(|| name.strip_prefix("tags/")).unwrap_or(name);
    inner.refs.get(&key(owner, repo, name)).cloned().unwrap_or_else(|| reference.to_owned())
}

const STATES: [&str; 4] = ["error", "failure", "pending", "success"];

async fn create_status(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, sha)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/commits/statuses#create-a-commit-status";
    let Some(body) = parse_body(&body) else {
        return bad_json();
    };
    let state = body["state"].as_str().unwrap_or_default();
    if !STATES.contains(&state) {
        let errors = [json!({"resource": "Status", "code": "custom", "field": "state",
            "message": "state is not included in the list"})];
        let body = json!({"message": "Validation Failed", "errors": errors, "documentation_url": docs, "status": "422"});
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response();
    }
    let mut inner = lock(&hub.inner);
    inner.next_id += 1;
    let (id, at, url) = (inner.next_id, now(), &hub.url);
    let status = json!({
        "url": format!("{url}/repos/{owner}/{repo}/statuses/{sha}"), "avatar_url": format!("{url}/avatars/u/1"),
        "id": id, "node_id": format!("SC_fake{id}"), "state": state, "description": body["description"],
        "target_url": body["target_url"], "context": body["context"].as_str().unwrap_or("default"),
        "created_at": at, "updated_at": at, "creator": user(url),
    });
    inner.statuses.entry(key(&owner, &repo, &sha)).or_default().push(status.clone());
    (StatusCode::CREATED, Json(status)).into_response()
}

async fn list_statuses_legacy(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, reference)): Path<(String, String, String)>,
) -> Response {
    commits(State(hub), Path((owner, repo, format!("{reference}/statuses"))), Query(BTreeMap::new())).await
}

/// `GET /repos/{o}/{r}/commits/{ref}/{statuses|status|check-runs}`.
async fn commits(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, rest)): Path<(String, String, String)>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let Some((reference, what)) = rest.rsplit_once('/') else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    };
    let inner = lock(&hub.inner);
    let sha = resolve(&inner, &owner, &repo, reference);
    let statuses = inner.statuses.get(&key(&owner, &repo, &sha)).cloned().unwrap_or_default();
    match what {
        "statuses" => Json(statuses.into_iter().rev().collect::<Vec<_>>()).into_response(),
        "status" => Json(combined(&hub.url, &owner, &repo, &sha, statuses)).into_response(),
        "check-runs" => {
            let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
            let mut runs: Vec<&Value> = inner
                .check_runs
                .iter()
                .filter(|(o, r, run)| *o == owner && *r == repo && run["head_sha"] == sha.as_str())
                .filter(|(.., run)| query.get("check_name").is_none_or(|n| run["name"] == n.as_str()))
                .filter(|(.., run)| query.get("status").is_none_or(|s| run["status"] == s.as_str()))
                .map(|(.., run)| run)
                .rev()
                .collect();
            if query.get("filter").is_none_or(|f| f == "latest") {
                let mut seen = Vec::new();
                runs.retain(|run| {
                    let fresh = !seen.contains(&&run["name"]);
                    seen.push(&run["name"]);
                    fresh
                });
            }
            Json(json!({"total_count": runs.len(), "check_runs": runs})).into_response()
        }
        _ => gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS),
    }
}

/// The combined status: the latest status per context, `failure` if any is error/failure,
/// `pending` if any is pending or there are none, else `success`.
fn combined(url: &str, owner: &str, repo: &str, sha: &str, statuses: Vec<Value>) -> Value {
    let mut latest: Vec<Value> = Vec::new();
    for mut status in statuses.into_iter().rev() {
        if latest.iter().all(|s| s["context"] != status["context"]) {
            if let Some(object) = status.as_object_mut() {
                object.remove("creator");
            }
            latest.push(status);
        }
    }
    let any = |states: &[&str]| latest.iter().any(|s| states.iter().any(|state| s["state"] == *state));
    let state = if any(&["error", "failure"]) {
        "failure"
    } else if latest.is_empty() || any(&["pending"]) {
        "pending"
    } else {
        "success"
    };
    let api = format!("{url}/repos/{owner}/{repo}");
    json!({
        "state": state, "statuses": latest, "sha": sha, "total_count": latest.len(),
        "repository": {
            "id": 1, "node_id": "R_fake1", "name": repo, "full_name": format!("{owner}/{repo}"), "private": false,
            "owner": user(url), "html_url": format!("{url}/{owner}/{repo}"), "fork": false, "url": api,
        },
        "commit_url": format!("{api}/commits/{sha}"), "url": format!("{api}/commits/{sha}/status"),
    })
}

const RUN_STATUSES: [&str; 3] = ["queued", "in_progress", "completed"];
const CONCLUSIONS: [&str; 8] =
    ["action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"];

/// Applies a create or update body to `run`, as GitHub validates it.
fn apply(run: &mut Value, body: &Value, creating: bool) -> Result<(), String> {
    for name in ["name", "details_url", "external_id", "started_at", "completed_at"] {
        match &body[name] {
            Value::Null => {}
            Value::String(_) => run[name] = body[name].clone(),
            _ => return Err(format!("For 'properties/{name}', {} is not a string.", body[name])),
        }
    }
    if let Some(status) = body.get("status").filter(|s| !s.is_null()) {
        if !status.as_str().is_some_and(|s| RUN_STATUSES.contains(&s)) {
            return Err(format!("For 'properties/status', {status} is not one of {RUN_STATUSES:?}."));
        }
        run["status"] = status.clone();
    }
    if let Some(conclusion) = body.get("conclusion").filter(|c| !c.is_null()) {
        if !conclusion.as_str().is_some_and(|c| CONCLUSIONS.contains(&c)) {
            return Err(format!("For 'properties/conclusion', {conclusion} is not one of {CONCLUSIONS:?}."));
        }
        run["conclusion"] = conclusion.clone();
        run["status"] = json!("completed");
    }
    if run["status"] == "completed" {
        if run["conclusion"].is_null() {
            return Err("\"conclusion\" is required when \"status\" is \"completed\".".to_owned());
        }
        if run["completed_at"].is_null() {
            run["completed_at"] = json!(now());
        }
    }
    if let Some(output) = body.get("output").filter(|o| !o.is_null()) {
        for name in ["title", "summary"].into_iter().filter(|n| creating || *n == "summary") {
            if !output[name].is_string() {
                return Err(format!("\"{name}\" wasn't supplied."));
            }
        }
        for name in ["title", "summary", "text"] {
            if output[name].is_string() {
                run["output"][name] = output[name].clone();
            }
        }
        let added = output["annotations"].as_array().map_or(0, Vec::len);
        run["output"]["annotations_count"] =
            json!(run["output"]["annotations_count"].as_u64().unwrap_or(0) + added as u64);
    }
    Ok(())
}

async fn create_check_run(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/checks/runs#create-a-check-run";
    let Some(body) = parse_body(&body) else {
        return bad_json();
    };
    for name in ["name", "head_sha"] {
        if !body[name].is_string() {
            return invalid(&format!("\"{name}\" wasn't supplied."), docs);
        }
    }
    let mut inner = lock(&hub.inner);
    let id = inner.next_id + 1;
    let (url, api) = (&hub.url, format!("{}/repos/{owner}/{repo}/check-runs/{id}", hub.url));
    let html_url = format!("{url}/{owner}/{repo}/runs/{id}");
    let mut run = json!({
        "id": id, "head_sha": body["head_sha"], "node_id": format!("CR_fake{id}"), "external_id": "",
        "url": api, "html_url": html_url, "details_url": format!("{url}/apps/okd-build"), "status": "queued", "conclusion": null,
        "started_at": now(), "completed_at": null,
        "output": {"title": null, "summary": null, "text": null, "annotations_count": 0,
            "annotations_url": format!("{api}/annotations")},
        "name": "", "check_suite": {"id": 1}, "app": {"id": 1, "slug": "okd-build", "name": "okd-build"},
        "pull_requests": [],
    });
    if let Err(message) = apply(&mut run, &body, true) {
        return invalid(&message, docs);
    }
    inner.next_id = id;
    inner.check_runs.push((owner.to_lowercase(), repo.to_lowercase(), run.clone()));
    (StatusCode::CREATED, Json(run)).into_response()
}

fn find_run<'a>(inner: &'a mut Inner, owner: &str, repo: &str, id: &str) -> Option<&'a mut Value> {
    let (owner, repo) = (owner.to_lowercase(), repo.to_lowercase());
    let found = inner
        .check_runs
        .iter_mut()
        .find(|(o, r, run)| *o == owner && *r == repo && id.parse::<u64>().is_ok_and(|id| run["id"] == id));
    found.map(|(.., run)| run)
}

async fn get_check_run(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
) -> Response {
    match find_run(&mut lock(&hub.inner), &owner, &repo, &id) {
        Some(run) => Json(run.clone()).into_response(),
        None => gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS),
    }
}

async fn update_check_run(
    State(hub): State<Arc<Hub>>,
    Path((owner, repo, id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let docs = "https://docs.github.com/rest/checks/runs#update-a-check-run";
    let Some(body) = parse_body(&body) else {
        return bad_json();
    };
    let mut inner = lock(&hub.inner);
    let Some(run) = find_run(&mut inner, &owner, &repo, &id) else {
        return gh_error(StatusCode::NOT_FOUND, "Not Found", DOCS);
    };
    let mut updated = run.clone();
    if let Err(message) = apply(&mut updated, &body, false) {
        return invalid(&message, docs);
    }
    *run = updated.clone();
    Json(updated).into_response()
}

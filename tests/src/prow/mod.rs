//! A fake Prow Gangway (`kubernetes-sigs/prow/pkg/gangway`, as deployed on app.ci behind
//! oauth-proxy and envoy's JSON transcoder) on 127.0.0.1.
//!
//! - `POST /v1/executions` (job name in the body) and `POST /v1/executions/{job_name}`;
//!   `GET /v1/executions/{id}`; `GET /v1/executions?job_name=&status=`.
//! - Requests are validated as `CreateJobExecutionRequest.Validate` does; enums are accepted as
//!   names (`"PERIODIC"`), numbers (`1`) or numeric strings (`"1"`), fields in snake_case or
//!   lowerCamelCase. Responses use proto field names and enum names.
//! - A job runs on a clock: `TRIGGERED` for the first fifth of its scripted duration, then
//!   `PENDING`, then its scripted result. Nothing is idempotent: each POST is a new execution.
//! - Errors are gRPC-gateway JSON `{code, message, details}`; a missing bearer token is 401
//!   (`UNAUTHENTICATED`), a wrong one 403 (`PERMISSION_DENIED`).
//!
//! [`util`] holds the small server and time helpers that [`crate::github`] shares.

pub(crate) mod util;

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Path, Query, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::{Map, Value, json};

use util::{Served, lock, mix, rfc3339};

/// How a scripted job ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobResult {
    #[default]
    Success,
    Failure,
    Aborted,
    Error,
}

impl JobResult {
    /// The `JobExecutionStatus` name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Success => "SUCCESS",
            JobResult::Failure => "FAILURE",
            JobResult::Aborted => "ABORTED",
            JobResult::Error => "ERROR",
        }
    }
}

/// How long a job runs and how it ends. Default: 50 ms, `SUCCESS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobScript {
    pub duration: Duration,
    pub result: JobResult,
}

impl JobScript {
    pub fn new(duration: Duration, result: JobResult) -> Self {
        JobScript { duration, result }
    }
}

impl Default for JobScript {
    fn default() -> Self {
        JobScript::new(Duration::from_millis(50), JobResult::Success)
    }
}

/// What the fake Gangway accepts.
#[derive(Debug, Clone, Default)]
pub struct GangwayOptions {
    /// The bearer token every request must carry; `None` disables auth.
    pub token: Option<String>,
    /// The jobs that exist in the Prow config, with their scripts. Empty: every name exists and
    /// runs the default script.
    pub jobs: BTreeMap<String, JobScript>,
    /// Answer `GET /v1/executions/{id}` like the older Gangway image app.ci pins: empty
    /// `job_name`, `JOB_EXECUTION_TYPE_UNSPECIFIED`, no times.
    pub legacy_get: bool,
}

impl GangwayOptions {
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// A known job with the default script.
    pub fn job(self, name: impl Into<String>) -> Self {
        self.scripted(name, JobScript::default())
    }

    /// A known job with its own script.
    pub fn scripted(mut self, name: impl Into<String>, script: JobScript) -> Self {
        self.jobs.insert(name.into(), script);
        self
    }
}

/// One triggered execution, as recorded for assertions.
#[derive(Debug, Clone)]
pub struct Execution {
    /// The execution (ProwJob) id, a UUID.
    pub id: String,
    pub job_name: String,
    /// `PERIODIC`, `POSTSUBMIT` or `PRESUBMIT`.
    pub job_type: String,
    /// The status when [`FakeGangway::executions`] was called.
    pub job_status: String,
    pub build_id: String,
    /// The request body as received (`Null` when empty).
    pub request: Value,
    /// Triggered through `POST /v1/executions/{job_name}`.
    pub via_path: bool,
    pub created: SystemTime,
}

#[derive(Debug)]
struct Run {
    execution: Execution,
    script: JobScript,
    started: Instant,
}

impl Run {
    fn status(&self) -> (&'static str, Option<SystemTime>) {
        let (elapsed, duration) = (self.started.elapsed(), self.script.duration);
        if elapsed >= duration {
            (self.script.result.as_str(), Some(self.execution.created + duration))
        } else if elapsed >= duration / 5 {
            ("PENDING", None)
        } else {
            ("TRIGGERED", None)
        }
    }

    fn snapshot(&self) -> Execution {
        Execution { job_status: self.status().0.to_owned(), ..self.execution.clone() }
    }
}

#[derive(Debug)]
struct Gangway {
    options: GangwayOptions,
    url: String,
    runs: Mutex<Vec<Run>>,
    faults: Mutex<VecDeque<u16>>,
}

/// A fake Gangway on 127.0.0.1.
#[derive(Debug)]
pub struct FakeGangway {
    state: Arc<Gangway>,
    server: Served,
}

impl FakeGangway {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task.
    pub async fn start(options: GangwayOptions) -> Self {
        let mut state = None;
        let server = Served::start(|url| {
            let gw = Arc::new(Gangway { options, url, runs: Mutex::default(), faults: Mutex::default() });
            state = Some(gw.clone());
            Router::new()
                .route("/v1/executions", post(create_in_body).get(list))
                .route("/v1/executions/{id}", post(create_in_path).get(get_one))
                .fallback(|| async { grpc_error(StatusCode::NOT_FOUND, "Not Found") })
                .layer(middleware::from_fn_with_state(gw.clone(), front))
                .with_state(gw)
        })
        .await;
        FakeGangway { state: state.expect("the router was built"), server }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Every execution created so far, oldest first.
    pub fn executions(&self) -> Vec<Execution> {
        lock(&self.state.runs).iter().map(Run::snapshot).collect()
    }

    /// The next `count` requests fail with `status` before auth is checked (as the router or
    /// proxy in front of Gangway would); 429 and 503 carry `Retry-After: 1`.
    pub fn fail_next(&self, status: u16, count: usize) {
        lock(&self.state.faults).extend(std::iter::repeat_n(status, count));
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

async fn front(State(gw): State<Arc<Gangway>>, request: Request, next: Next) -> Response {
    if let Some(status) = lock(&gw.faults).pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = grpc_error(status, status.canonical_reason().unwrap_or("injected failure"));
        if matches!(status.as_u16(), 429 | 503) {
            response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        return response;
    }
    if let Some(token) = &gw.options.token {
        match bearer(request.headers()) {
            None => return grpc_error(StatusCode::UNAUTHORIZED, "missing bearer token"),
            Some(sent) if sent != token => {
                return grpc_error(StatusCode::FORBIDDEN, "permission denied: token cannot get namespaces");
            }
            Some(_) => {}
        }
    }
    next.run(request).await
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).map(str::trim)
}

/// A gRPC-gateway error body with the gRPC code that maps to `status`.
fn grpc_error(status: StatusCode, message: &str) -> Response {
    let code = match status.as_u16() {
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 6,
        429 => 8,
        500 => 13,
        501 => 12,
        502..=504 => 14,
        _ => 2,
    };
    (status, Json(json!({"code": code, "message": message, "details": []}))).into_response()
}

const TYPES: [&str; 5] = ["JOB_EXECUTION_TYPE_UNSPECIFIED", "PERIODIC", "POSTSUBMIT", "PRESUBMIT", "BATCH"];
const STATUSES: [&str; 8] = [
    "JOB_EXECUTION_STATUS_UNSPECIFIED",
    "TRIGGERED",
    "PENDING",
    "SUCCESS",
    "FAILURE",
    "ABORTED",
    "ERROR",
    "SCHEDULING",
];

/// An enum given as a name, a number or a numeric string.
fn parse_enum(value: Option<&Value>, names: &[&'static str]) -> Result<&'static str, String> {
    let index = match value {
        None | Some(Value::Null) => Some(0),
        Some(Value::Number(n)) => n.as_u64().and_then(|n| usize::try_from(n).ok()),
        Some(Value::String(s)) => s.parse::<usize>().ok().or_else(|| names.iter().position(|n| n == s)),
        Some(_) => None,
    };
    index
        .and_then(|i| names.get(i).copied())
        .ok_or_else(|| format!("invalid value for enum field: {value:?}"))
}

/// A field by its proto name or its lowerCamelCase JSON name.
fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    let camel: String = name
        .split('_')
        .enumerate()
        .map(|(i, part)| if i == 0 { part.to_owned() } else { part[..1].to_uppercase() + &part[1..] })
        .collect();
    object.get(name).or_else(|| object.get(camel.as_str())).filter(|v| !v.is_null())
}

fn text<'a>(object: &'a Value, name: &str) -> &'a str {
    field(object, name).and_then(Value::as_str).unwrap_or_default()
}

async fn create_in_body(State(gw): State<Arc<Gangway>>, body: Bytes) -> Response {
    create(&gw, None, &body)
}

async fn create_in_path(State(gw): State<Arc<Gangway>>, Path(job): Path<String>, body: Bytes) -> Response {
    create(&gw, Some(job), &body)
}

fn create(gw: &Gangway, path_job: Option<String>, body: &[u8]) -> Response {
    let request: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(request) => request,
            Err(e) => return grpc_error(StatusCode::BAD_REQUEST, &format!("invalid request body: {e}")),
        }
    };
    let object = if request.is_null() { json!({}) } else { request.clone() };
    let via_path = path_job.is_some();
    let job_name = path_job.unwrap_or_else(|| text(&object, "job_name").to_owned());
    let job_type = match validate(&object, &job_name) {
        Ok(job_type) => job_type,
        Err(message) => return grpc_error(StatusCode::BAD_REQUEST, &message),
    };
    let script = if gw.options.jobs.is_empty() {
        Some(JobScript::default())
    } else {
        gw.options.jobs.get(&job_name).copied()
    };
    let Some(script) = script else {
        let refs = field(&object, "refs").cloned().unwrap_or_default();
        let scope = match job_type {
            "PERIODIC" => String::new(),
            _ => format!(" from orgRepo \"{}/{}\"", text(&refs, "org"), text(&refs, "repo")),
        };
        let message =
            format!("failed to find associated {} job {job_name:?}{scope}", job_type.to_lowercase());
        return grpc_error(StatusCode::NOT_FOUND, &message);
    };
    let mut runs = lock(&gw.runs);
    let n = runs.len() as u64 + 1;
    let created = SystemTime::now();
    let seed = created.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64) ^ n;
    let (a, b) = (mix(seed), mix(seed.wrapping_add(n)));
    let id = format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
    let execution = Execution {
        id,
        job_name: job_name.clone(),
        job_type: job_type.to_owned(),
        job_status: "TRIGGERED".to_owned(),
        build_id: (1_900_000_000_000_000_000 + n).to_string(),
        request,
        via_path,
        created,
    };
    let mut response = json!({
        "id": execution.id, "job_name": job_name, "job_type": job_type, "job_status": "TRIGGERED",
        "gcs_path": "", "job_url": "",
    });
    for name in ["refs", "pod_spec_options"] {
        if let Some(value) = field(&object, name) {
            response[name] = value.clone();
        }
    }
    runs.push(Run { execution, script, started: Instant::now() });
    Json(response).into_response()
}

/// `CreateJobExecutionRequest.Validate` plus the refs checks of the job handlers.
fn validate(object: &Value, job_name: &str) -> Result<&'static str, String> {
    if !object.is_object() {
        return Err("invalid request body: expected a JSON object".to_owned());
    }
    let job_type = parse_enum(field(object, "job_execution_type"), &TYPES)?;
    if job_name.is_empty() {
        return Err("job_name field cannot be empty".to_owned());
    }
    if job_type == TYPES[0] || job_type == "BATCH" {
        return Err(format!("unsupported JobExecutionType: {job_type}"));
    }
    let refs = field(object, "refs");
    if job_type == "PERIODIC" && refs.is_some() {
        return Err("periodic jobs cannot also have gitRefs".to_owned());
    }
    if job_type != "PERIODIC" {
        let refs = refs.ok_or_else(|| format!("gitRefs must be defined for {job_type:?}"))?;
        for (name, label) in
            [("org", "Org"), ("repo", "Repo"), ("base_ref", "BaseRef"), ("base_sha", "BaseSha")]
        {
            if text(refs, name).is_empty() {
                return Err(format!("gitRefs: failed to validate: gitRefs: {label} cannot be empty"));
            }
        }
        let pulls = field(refs, "pulls").and_then(Value::as_array).cloned().unwrap_or_default();
        for pull in &pulls {
            let sha = text(pull, "sha");
            if sha.len() != 40 || !sha.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) {
                return Err(format!("gitRefs: failed to validate: pull: invalid SHA: {sha:?}"));
            }
        }
        if job_type == "PRESUBMIT" && pulls.is_empty() {
            return Err("at least 1 Pulls is required".to_owned());
        }
    }
    let options = field(object, "pod_spec_options").cloned().unwrap_or_default();
    for (name, what) in [("envs", "environment variable"), ("labels", "label"), ("annotations", "annotation")]
    {
        for (key, value) in field(&options, name).and_then(Value::as_object).unwrap_or(&Map::new()) {
            let value = value.as_str().unwrap_or_default();
            if key.is_empty() || value.is_empty() {
                return Err(format!("invalid {what} key/value pair: {key:?}, {value:?}"));
            }
            if name == "labels" && !label_value_ok(value) {
                return Err(format!("invalid label: the following errors found: {value:?}"));
            }
        }
    }
    Ok(job_type)
}

fn label_value_ok(value: &str) -> bool {
    let inner = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.');
    value.len() <= 63
        && value.bytes().all(inner)
        && value.bytes().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && value.bytes().last().is_some_and(|c| c.is_ascii_alphanumeric())
}

async fn get_one(State(gw): State<Arc<Gangway>>, Path(id): Path<String>) -> Response {
    let runs = lock(&gw.runs);
    let Some(run) = runs.iter().find(|run| run.execution.id == id) else {
        return grpc_error(StatusCode::NOT_FOUND, &format!("prowjobs.prow.k8s.io {id:?} not found"));
    };
    let (status, completed) = run.status();
    let e = &run.execution;
    let job_url = match status {
        "TRIGGERED" => String::new(),
        _ => format!("{}/view/gs/test-platform-results/logs/{}/{}", gw.url, e.job_name, e.build_id),
    };
    if gw.options.legacy_get {
        return Json(json!({
            "id": e.id, "job_name": "", "job_type": TYPES[0], "job_status": status, "gcs_path": "", "job_url": "",
        }))
        .into_response();
    }
    let mut body = json!({
        "id": e.id, "job_name": e.job_name, "job_type": e.job_type, "job_status": status,
        "gcs_path": "", "job_url": job_url, "create_time": rfc3339(e.created, true),
    });
    if let Some(completed) = completed {
        body["completion_time"] = json!(rfc3339(completed, true));
    }
    Json(body).into_response()
}

async fn list(State(gw): State<Arc<Gangway>>, Query(query): Query<BTreeMap<String, String>>) -> Response {
    let wanted = match query.get("status") {
        Some(s) => match parse_enum(Some(&json!(s)), &STATUSES) {
            Ok(status) => Some(status),
            Err(message) => return grpc_error(StatusCode::BAD_REQUEST, &message),
        },
        None => None,
    };
    let job = query.get("job_name").filter(|j| !j.is_empty());
    let items: Vec<Value> = lock(&gw.runs)
        .iter()
        .filter(|run| job.is_none_or(|j| *j == run.execution.job_name))
        .map(|run| (run, run.status().0))
        .filter(|(_, status)| wanted.is_none_or(|w| w == STATUSES[0] || w == *status))
        .map(|(run, status)| {
            let e = &run.execution;
            json!({"id": e.id, "job_name": e.job_name, "job_type": e.job_type, "job_status": status})
        })
        .collect();
    Json(json!({ "job_execution": items })).into_response()
}

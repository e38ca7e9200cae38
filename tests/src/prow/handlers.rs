//! The Gangway endpoints, standalone or on a cluster (see the module docs of [`super`]).

use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use axum::{
    Json,
    body::Bytes,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use super::{
    Execution, Gangway, JobScript, Run,
    api::{BulkChange, Candidate, STATUSES, TYPES, field, grpc_error, parse_enum, text, validate},
    cluster::{self, NewJob},
    release_repo::Lookup,
    util::{lock, mix, rfc3339},
};

pub(super) async fn create_in_body(State(gw): State<Arc<Gangway>>, body: Bytes) -> Response {
    create(&gw, None, &body)
}

pub(super) async fn create_in_path(
    State(gw): State<Arc<Gangway>>,
    Path(job): Path<String>,
    body: Bytes,
) -> Response {
    create(&gw, Some(job), &body)
}

/// A fresh execution id, a random-looking UUID v4.
fn new_id(created: SystemTime, n: u64) -> String {
    let seed = created.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64) ^ n;
    let (a, b) = (mix(seed), mix(seed.wrapping_add(n)));
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    )
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
    let refs = field(&object, "refs").cloned().unwrap_or_default();
    let (org, repo) = (text(&refs, "org"), text(&refs, "repo"));
    let job = match &gw.options.release {
        None => None,
        Some(release) => match release.find(job_type, &job_name, org, repo, text(&refs, "base_ref")) {
            Ok(job) => Some(job),
            Err(Lookup::NotFound(message)) => return grpc_error(StatusCode::NOT_FOUND, &message),
            Err(Lookup::Ambiguous(message)) => {
                return grpc_error(StatusCode::INTERNAL_SERVER_ERROR, &message);
            }
            Err(Lookup::Unreadable(message)) => {
                let message = format!("the fake Gangway cannot read its release repo: {message}");
                eprintln!("{message}");
                return grpc_error(StatusCode::INTERNAL_SERVER_ERROR, &message);
            }
        },
    };
    // With a release repo the repo says what exists and `jobs` only scripts.
    let script = match gw.options.jobs.get(&job_name) {
        Some(script) => Some(*script),
        None if job.is_some() || gw.options.jobs.is_empty() => Some(JobScript::default()),
        None => None,
    };
    let Some(script) = script else {
        let scope = match job_type {
            "PERIODIC" => String::new(),
            _ => format!(" from orgRepo \"{org}/{repo}\""),
        };
        let message =
            format!("failed to find associated {} job {job_name:?}{scope}", job_type.to_lowercase());
        return grpc_error(StatusCode::NOT_FOUND, &message);
    };
    let mut runs = lock(&gw.runs);
    let n = runs.len() as u64 + 1;
    let created = SystemTime::now();
    let id = new_id(created, n);
    if let Some(cluster) = &gw.options.cluster {
        let new = NewJob { id: &id, job_name: &job_name, job_type, request: &object, job: job.as_ref() };
        if let Err(message) = cluster::create(cluster, cluster::prowjob(cluster, &new)) {
            return grpc_error(StatusCode::INTERNAL_SERVER_ERROR, &message);
        }
    }
    let execution = Execution {
        id,
        job_name: job_name.clone(),
        job_type: job_type.to_owned(),
        job_status: "TRIGGERED".to_owned(),
        build_id: match gw.options.cluster {
            None => (1_900_000_000_000_000_000 + n).to_string(),
            Some(_) => String::new(),
        },
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
    runs.push(Run { execution, script, started: Instant::now(), forced: None });
    Json(response).into_response()
}

fn not_found(id: &str) -> Response {
    grpc_error(StatusCode::NOT_FOUND, &format!("prowjobs.prow.k8s.io {id:?} not found"))
}

pub(super) async fn get_one(State(gw): State<Arc<Gangway>>, Path(id): Path<String>) -> Response {
    let (job_name, job_type, status, job_url, created, completed) = match &gw.options.cluster {
        Some(cluster) => {
            let Some(prowjob) = cluster.store.get(&cluster::prowjobs(), &cluster.namespace, &id) else {
                return not_found(&id);
            };
            let v = cluster::view(&prowjob);
            (v.job_name, v.job_type.to_owned(), v.status, v.url, v.created, v.completed)
        }
        None => {
            let runs = lock(&gw.runs);
            let Some(run) = runs.iter().find(|run| run.execution.id == id) else { return not_found(&id) };
            let (status, completed) = run.status();
            let e = &run.execution;
            let job_url = match status {
                "TRIGGERED" => String::new(),
                _ => format!("{}/view/gs/test-platform-results/logs/{}/{}", gw.url, e.job_name, e.build_id),
            };
            let created = Some(rfc3339(e.created, true));
            let completed = completed.map(|c| rfc3339(c, true));
            (e.job_name.clone(), e.job_type.clone(), status, job_url, created, completed)
        }
    };
    if gw.options.legacy_get {
        return Json(json!({
            "id": id, "job_name": "", "job_type": TYPES[0], "job_status": status, "gcs_path": "", "job_url": "",
        }))
        .into_response();
    }
    let mut body = json!({
        "id": id, "job_name": job_name, "job_type": job_type, "job_status": status,
        "gcs_path": "", "job_url": job_url,
    });
    if let Some(created) = created {
        body["create_time"] = json!(created);
    }
    if let Some(completed) = completed {
        body["completion_time"] = json!(completed);
    }
    Json(body).into_response()
}

pub(super) async fn list(
    State(gw): State<Arc<Gangway>>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let wanted = match query.get("status") {
        Some(s) => match parse_enum(Some(&json!(s)), &STATUSES) {
            Ok(status) => Some(status),
            Err(message) => return grpc_error(StatusCode::BAD_REQUEST, &message),
        },
        None => None,
    };
    let job = query.get("job_name").filter(|j| !j.is_empty());
    let all: Vec<(String, String, String, &'static str)> = match &gw.options.cluster {
        Some(cluster) => cluster::list(cluster, job.map(String::as_str))
            .into_iter()
            .map(|(id, v)| (id, v.job_name, v.job_type.to_owned(), v.status))
            .collect(),
        None => lock(&gw.runs)
            .iter()
            .filter(|run| job.is_none_or(|j| *j == run.execution.job_name))
            .map(|run| {
                let e = &run.execution;
                (e.id.clone(), e.job_name.clone(), e.job_type.clone(), run.status().0)
            })
            .collect(),
    };
    let items: Vec<Value> = all
        .into_iter()
        .filter(|(.., status)| wanted.is_none_or(|w| w == STATUSES[0] || w == *status))
        .map(|(id, job_name, job_type, status)| {
            json!({"id": id, "job_name": job_name, "job_type": job_type, "job_status": status})
        })
        .collect();
    Json(json!({ "job_execution": items })).into_response()
}

pub(super) async fn bulk(State(gw): State<Arc<Gangway>>, body: Bytes) -> Response {
    let change = match BulkChange::parse(&body) {
        Ok(change) => change,
        Err(message) => return grpc_error(StatusCode::BAD_REQUEST, &message),
    };
    match &gw.options.cluster {
        Some(cluster) => {
            cluster::bulk(cluster, &change);
        }
        None => {
            let now = SystemTime::now();
            for run in lock(&gw.runs).iter_mut() {
                let e = &run.execution;
                let refs = field(&e.request, "refs").cloned().unwrap_or_default();
                let candidate = Candidate {
                    status: run.status().0,
                    job_type: &e.job_type,
                    org: text(&refs, "org"),
                    repo: text(&refs, "repo"),
                    cluster: "default",
                    started: jiff::Timestamp::try_from(e.created).ok(),
                };
                if change.matches(&candidate) {
                    run.forced = Some((change.desired, now));
                }
            }
        }
    }
    Json(json!({})).into_response()
}

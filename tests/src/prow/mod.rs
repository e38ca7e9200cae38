//! A fake Prow Gangway (`kubernetes-sigs/prow/pkg/gangway`, as deployed on app.ci behind
//! oauth-proxy and envoy's JSON transcoder) on 127.0.0.1.
//!
//! - `POST /v1/executions` (job name in the body) and `POST /v1/executions/{job_name}`;
//!   `GET /v1/executions/{id}`; `GET /v1/executions?job_name=&status=`;
//!   `POST /v1/bulk-job-status-update`.
//! - Requests are validated as `CreateJobExecutionRequest.Validate` does; enums are accepted as
//!   names (`"PERIODIC"`), numbers (`1`) or numeric strings (`"1"`), fields in snake_case or
//!   lowerCamelCase. Responses use proto field names and enum names.
//! - Which jobs exist: with [`GangwayOptions::release_repo`], those in the checkout's Prow job
//!   config, for the request's type, `<org>/<repo>` and branch ([`release_repo`]); else the
//!   [`GangwayOptions::jobs`] named, or every name when none are. An unknown job is 404 with
//!   Gangway's message (`failed to find associated postsubmit job "x" from orgRepo "o/r"`).
//! - Errors are gRPC-gateway JSON `{code, message, details}`; a missing bearer token is 401
//!   (`UNAUTHENTICATED`), a wrong one 403 (`PERMISSION_DENIED`).
//!
//! Two modes:
//!
//! - Standalone (default): a job runs on a clock: `TRIGGERED` for the first fifth of its
//!   [`JobScript`] duration, then `PENDING`, then its scripted result. Nothing is idempotent:
//!   each POST is a new execution.
//! - On a cluster ([`GangwayOptions::on_cluster`]): each execution is a `prow.k8s.io/v1`
//!   ProwJob in a fake API server's store ([`cluster`]), which
//!   [`crate::kube::controllers::Controllers`] drive (scripted per job name); `GET` and the list
//!   read the ProwJob, and a deleted one is `NOT_FOUND`. [`FakeGangway::promoter`], given to
//!   the controllers' script, promotes the images of successful promotion jobs into
//!   ImageStreams before they succeed ([`promote`]). [`JobScript`]s are not used.
//!
//! `BulkJobStatusChange` accepts (fields also in lowerCamelCase, enums as names or numbers):
//!
//! ```json
//! {"job_status_change": {"current": "PENDING", "desired": "ABORTED"},
//!  "cluster": "build01", "started_before": "2026-01-02T03:04:05Z",
//!  "started_after": "2026-01-01T00:00:00Z", "job_type": "POSTSUBMIT",
//!  "refs": {"org": "openshift", "repo": "api"}}
//! ```
//!
//! Only `job_status_change` is required (`current` and `desired` must not be unspecified: 400).
//! Every execution in state `current` that matches the other given fields (job type, refs
//! org/repo and cluster as the `prow.k8s.io/*` labels and `spec.cluster` say, start time) gets
//! state `desired`, lowercase in the ProwJob, as Gangway's update writes it; the answer is `{}`.
//! Unlike Gangway, which does it in the background, the fake changes them before answering.
//! Standalone executions match on their type, the refs of their request and start; their
//! cluster is `default`.
//!
//! `util` holds the small server and time helpers that [`crate::github`] shares.

mod api;
pub mod cluster;
mod handlers;
pub mod promote;
pub mod release_repo;
pub(crate) mod util;

use std::{
    collections::{BTreeMap, VecDeque},
    path::Path,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::{self, Next},
    response::Response,
    routing::post,
};
use serde_json::Value;

use crate::kube::{controllers::ProwJobHook, store::Store};
use api::grpc_error;
pub use cluster::ClusterOptions;
pub use promote::{Promotion, promoted_digest};
pub use release_repo::ReleaseRepo;
use util::{Served, lock};

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
    /// Keep executions as ProwJobs in a fake API server's store.
    pub cluster: Option<ClusterOptions>,
    /// The openshift/release checkout whose Prow job config says which jobs exist.
    pub release: Option<ReleaseRepo>,
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

    /// Runs on a cluster: executions become ProwJobs in `store` (a
    /// [`crate::kube::server::FakeApiServer::store`]) in `namespace` (`ci` on app.ci).
    pub fn on_cluster(mut self, store: Store, namespace: &str) -> Self {
        self.cluster = Some(ClusterOptions { store, namespace: namespace.to_owned() });
        self
    }

    /// Only the jobs in this openshift/release checkout's `ci-operator/jobs` exist (with the
    /// [`GangwayOptions::jobs`] scripts when standalone), and promotion jobs read their
    /// ci-operator configs from its `ci-operator/config`. Files are read again on each request.
    ///
    /// # Panics
    ///
    /// When `dir` is not a directory or a job file there is malformed.
    pub fn release_repo(mut self, dir: &Path) -> Self {
        self.release = Some(ReleaseRepo::open(dir));
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
    /// The status when [`FakeGangway::executions`] was called (on a cluster: the ProwJob's,
    /// `JOB_EXECUTION_STATUS_UNSPECIFIED` once it is deleted).
    pub job_status: String,
    /// On a cluster: the ProwJob's `status.build_id`, empty until it is pending.
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
    /// A status a bulk change set (standalone), with when.
    forced: Option<(&'static str, SystemTime)>,
}

impl Run {
    /// The standalone status on the run's clock, and the completion time once final.
    fn status(&self) -> (&'static str, Option<SystemTime>) {
        if let Some((status, at)) = self.forced {
            return (status, api::is_final(status).then_some(at));
        }
        let (elapsed, duration) = (self.started.elapsed(), self.script.duration);
        if elapsed >= duration {
            (self.script.result.as_str(), Some(self.execution.created + duration))
        } else if elapsed >= duration / 5 {
            ("PENDING", None)
        } else {
            ("TRIGGERED", None)
        }
    }
}

#[derive(Debug)]
struct Gangway {
    options: GangwayOptions,
    url: String,
    runs: Mutex<Vec<Run>>,
    faults: Mutex<VecDeque<u16>>,
    /// On a cluster: what promotes for [`FakeGangway::promoter`].
    promoter: Option<Arc<promote::Promoter>>,
}

impl Gangway {
    fn snapshot(&self, run: &Run) -> Execution {
        let mut execution = run.execution.clone();
        match &self.options.cluster {
            None => execution.job_status = run.status().0.to_owned(),
            Some(cluster) => {
                let stored = cluster.store.get(&cluster::prowjobs(), &cluster.namespace, &execution.id);
                let view = stored.as_ref().map(cluster::view);
                execution.job_status = view.as_ref().map_or(api::STATUSES[0], |v| v.status).to_owned();
                execution.build_id = view.map(|v| v.build_id).unwrap_or_default();
            }
        }
        execution
    }
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
        let promoter = options.cluster.as_ref().map(|cluster| {
            Arc::new(promote::Promoter {
                store: cluster.store.clone(),
                release: options.release.clone(),
                done: Mutex::default(),
            })
        });
        let mut state = None;
        let server = Served::start(|url| {
            let gw = Arc::new(Gangway {
                options,
                url,
                runs: Mutex::default(),
                faults: Mutex::default(),
                promoter,
            });
            state = Some(gw.clone());
            Router::new()
                .route("/v1/executions", post(handlers::create_in_body).get(handlers::list))
                .route("/v1/executions/{id}", post(handlers::create_in_path).get(handlers::get_one))
                .route("/v1/bulk-job-status-update", post(handlers::bulk))
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
        lock(&self.state.runs).iter().map(|run| self.state.snapshot(run)).collect()
    }

    /// The hook that promotes for this Gangway's cluster: give it to the controllers with
    /// [`crate::kube::controllers::Script::on_prowjob_success`].
    ///
    /// # Panics
    ///
    /// When the Gangway is not [`GangwayOptions::on_cluster`].
    pub fn promoter(&self) -> ProwJobHook {
        let promoter =
            self.state.promoter.clone().expect("FakeGangway::promoter needs GangwayOptions::on_cluster");
        Arc::new(move |prowjob: &Value| promoter.promote(prowjob))
    }

    /// Every image promoted so far, in order.
    pub fn promotions(&self) -> Vec<Promotion> {
        self.state.promoter.as_ref().map(|p| lock(&p.done).clone()).unwrap_or_default()
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

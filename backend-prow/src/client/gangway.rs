//! Gangway's REST API (prow `pkg/gangway/gangway.proto`, behind app.ci's oauth-proxy and envoy):
//! create an execution. Following and aborting go through the ProwJobs on app.ci, which one
//! watch per run covers (Gangway's GET would be one poll per job). Field names are the proto's;
//! enums go out as names, and answers are read leniently (the Gangway app.ci pins leaves
//! `job_name` and `job_type` empty).
//!
//! Gangway has no idempotency key: a POST retried after it reached Gangway can start a second
//! job. So only refusals that happen before Gangway sees the request (429, 503) are retried, and
//! callers look for an existing execution before creating one.

use std::time::Duration;

use okd_core::{Error, ErrorKind, Result};
use okd_runtime::retry::{Backoff, retry};
use reqwest::{StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A job's git refs (`Refs`): org, repo, branch and the commit to build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub(crate) struct Refs {
    pub(crate) org: String,
    pub(crate) repo: String,
    pub(crate) base_ref: String,
    pub(crate) base_sha: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub(crate) repo_link: String,
}

/// What to start: a postsubmit of `job_name` at `refs`, with labels and annotations that Gangway
/// puts on the ProwJob (`pod_spec_options`).
#[derive(Debug, Clone)]
pub(crate) struct CreateRequest {
    pub(crate) job_name: String,
    pub(crate) refs: Refs,
    pub(crate) labels: Vec<(String, String)>,
    pub(crate) annotations: Vec<(String, String)>,
}

/// One execution as Gangway reports it.
#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct Execution {
    pub(crate) id: String,
}

/// A Gangway endpoint and its bearer token.
#[derive(Clone)]
pub(crate) struct Gangway {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    backoff: Backoff,
}

impl std::fmt::Debug for Gangway {
    // The token is a credential: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gangway")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Gangway {
    pub(crate) fn new(base: &str, token: Option<String>, backoff: Backoff) -> Result<Gangway> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::new(ErrorKind::Internal, "cannot set up an HTTP client").with_source(e))?;
        Ok(Gangway { http, base: base.trim_end_matches('/').to_owned(), token, backoff })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn send(&self, action: &str, build: impl Fn() -> reqwest::RequestBuilder) -> Result<Value> {
        retry(&self.backoff, || async {
            let response = build().send().await.map_err(|e| {
                // Nothing reached Gangway when the connection failed: safe to try again.
                let retryable = e.is_connect();
                Error::new(
                    ErrorKind::Unavailable,
                    format!("{action}: Gangway at {} did not answer", self.base),
                )
                .set_retryable(retryable)
                .with_source(e)
            })?;
            let status = response.status();
            let retry_after = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            if status.is_success() {
                return serde_json::from_str(&body).map_err(|e| {
                    Error::new(
                        ErrorKind::Unavailable,
                        format!("{action}: Gangway answered something that is not JSON"),
                    )
                    .with_source(e)
                });
            }
            Err(http_error(action, status, &body, retry_after))
        })
        .await
    }

    /// Starts a postsubmit execution.
    pub(crate) async fn create(&self, request: &CreateRequest) -> Result<Execution> {
        let object = |pairs: &[(String, String)]| -> Value {
            Value::Object(pairs.iter().map(|(k, v)| (k.clone(), json!(v))).collect())
        };
        let body = json!({
            "job_name": request.job_name,
            "job_execution_type": "POSTSUBMIT",
            "refs": request.refs,
            "pod_spec_options": {"labels": object(&request.labels), "annotations": object(&request.annotations)},
        });
        let action = format!("trigger {}", request.job_name);
        let value =
            self.send(&action, || self.request(reqwest::Method::POST, "/v1/executions").json(&body)).await?;
        parse_execution(&action, value)
    }
}

fn parse_execution(action: &str, value: Value) -> Result<Execution> {
    serde_json::from_value::<Execution>(value).ok().filter(|e| !e.id.is_empty()).ok_or_else(|| {
        Error::new(ErrorKind::Unavailable, format!("{action}: Gangway's answer has no execution id"))
    })
}

/// An HTTP refusal in okd-build's terms, with Gangway's own message.
fn http_error(action: &str, status: StatusCode, body: &str, retry_after: Option<Duration>) -> Error {
    let said = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| body.lines().next().unwrap_or_default().chars().take(200).collect());
    let message =
        format!("{action}: Gangway answered {} {}", status.as_u16(), said.trim()).trim_end().to_owned();
    let error = match status.as_u16() {
        401 | 403 => Error::new(ErrorKind::Unauthorized, message).with_help(
            "Gangway needs an app.ci token allowed to trigger jobs: --set token_file=FILE or OKD_PROW_TOKEN (`oc whoami -t` against app.ci)",
        ),
        404 => Error::new(ErrorKind::NotFound, message).with_help(
            "the job must exist in Prow's config: merge the ci-operator config (`okd render --backend prow`) and prowgen's jobs into openshift/release first",
        ),
        400 => Error::new(ErrorKind::InvalidInput, message),
        // Refused before Gangway handled it: the same request may go again.
        429 | 503 => Error::new(ErrorKind::Unavailable, message).set_retryable(true),
        _ => Error::new(ErrorKind::Unavailable, message),
    };
    match retry_after {
        Some(wait) => error.with_retry_after(wait),
        None => error,
    }
}

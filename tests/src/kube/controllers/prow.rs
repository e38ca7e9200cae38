//! `ProwJob`s (`prow.k8s.io/v1`), as Prow's plank reports them
//! (`pkg/apis/prowjobs/v1/types.go`, `pkg/plank/reconciler.go`):
//!
//! - `state: triggered` with `startTime` (kept when the creator set them);
//! - `pending` with `pendingTime`, `pod_name` (= the ProwJob name), `build_id`, `url` (Deck's
//!   Spyglass link) and description "Job triggered.";
//! - `success` "Job succeeded." or `failure` "Job failed." with `completionTime`; a timeout is
//!   plank's pod running timeout: `aborted`, "Pod running timeout.";
//! - a client setting `state: aborted` ends the job: plank adds `completionTime` and keeps the
//!   client's description.
//!
//! A ProwJob's component is its `okd-build.io/component` label, else `spec.job`. Before a job
//! that is to succeed is marked `success`, the script's [`super::ProwJobHook`] (if any) runs on
//! it; its error fails the job.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    COMPONENT_LABEL, Outcome,
    run::{Gone, Run},
};
use crate::kube::store::now;

/// Deck's base URL for job artifacts (OpenShift CI's).
const DECK: &str = "https://prow.ci.openshift.org/view/gs/test-platform-results";

fn terminal(state: &str) -> bool {
    matches!(state, "success" | "failure" | "aborted" | "error")
}

fn state(object: &Value) -> &str {
    object["status"]["state"].as_str().unwrap_or_default()
}

pub(super) async fn run(mut run: Run) {
    if let Ok(true) = drive(&mut run).await {
        run.finish(None).await;
    }
}

/// The Spyglass URL of a run: `pr-logs/pull/<org>_<repo>/<n>/<job>/<id>` for presubmits,
/// `logs/<job>/<id>` otherwise.
fn url(job: &Value, build_id: &str) -> String {
    let spec = &job["spec"];
    let name = spec["job"].as_str().or(job["metadata"]["name"].as_str()).unwrap_or_default();
    match (spec["type"].as_str(), spec["refs"]["pulls"][0]["number"].as_u64()) {
        (Some("presubmit" | "batch"), Some(number)) => {
            let org = spec["refs"]["org"].as_str().unwrap_or_default();
            let repo = spec["refs"]["repo"].as_str().unwrap_or_default();
            format!("{DECK}/pr-logs/pull/{org}_{repo}/{number}/{name}/{build_id}")
        }
        _ => format!("{DECK}/logs/{name}/{build_id}"),
    }
}

async fn drive(run: &mut Run) -> Result<bool, Gone> {
    let job = run.object()?;
    if terminal(state(&job)) {
        // Aborted before plank saw it: finish the bookkeeping.
        if state(&job) == "aborted" {
            complete_abort(run)?;
            return Ok(true);
        }
        return Ok(false);
    }
    let name = run.name.clone();
    let component = job["metadata"]["labels"][COMPONENT_LABEL]
        .as_str()
        .or(job["spec"]["job"].as_str())
        .unwrap_or(&name)
        .to_owned();
    let fresh = run.status(|s| {
        if terminal(s["state"].as_str().unwrap_or_default()) {
            return false;
        }
        if matches!(s["state"].as_str(), None | Some("" | "scheduling")) {
            s["state"] = json!("triggered");
        }
        if s["startTime"].is_null() {
            s["startTime"] = json!(now());
        }
        true
    })?;
    if !fresh {
        return abort_or_stop(run);
    }
    let queued = Instant::now() + run.script().queue_delay;
    if run.wait_for(Some(queued), |o| state(o) == "aborted").await?.is_some() {
        complete_abort(run)?;
        return Ok(true);
    }

    let build_id = job["metadata"]["labels"]["prow.k8s.io/build-id"]
        .as_str()
        .map_or_else(|| (1_800_000_000_000_000_000 + run.next_number()).to_string(), str::to_owned);
    let link = url(&job, &build_id);
    let pending = run.status(|s| {
        if terminal(s["state"].as_str().unwrap_or_default()) {
            return false;
        }
        s["state"] = json!("pending");
        s["pendingTime"] = json!(now());
        s["pod_name"] = json!(name);
        s["build_id"] = json!(build_id);
        s["url"] = json!(link);
        s["description"] = json!("Job triggered.");
        true
    })?;
    if !pending {
        return abort_or_stop(run);
    }
    run.mark_started(&name);

    let deadline = Instant::now() + run.duration_of(&component);
    if run.wait_for(Some(deadline), |o| state(o) == "aborted").await?.is_some() {
        complete_abort(run)?;
        return Ok(true);
    }
    let outcome = match run.outcome_of(&component) {
        Outcome::Succeed => before_success(run)?,
        other => other,
    };
    let (end, description) = match outcome {
        Outcome::Succeed => ("success", "Job succeeded."),
        Outcome::Fail(_) => ("failure", "Job failed."),
        Outcome::Timeout => ("aborted", "Pod running timeout."),
    };
    run.status(|s| {
        if terminal(s["state"].as_str().unwrap_or_default()) {
            return false;
        }
        s["state"] = json!(end);
        s["description"] = json!(description);
        s["completionTime"] = json!(now());
        true
    })?;
    Ok(true)
}

/// Runs the script's success hook on the current job (not on one a client already ended: its
/// status write will be refused anyway).
fn before_success(run: &Run) -> Result<Outcome, Gone> {
    let Some(hook) = run.script().prowjob_success_hook() else { return Ok(Outcome::Succeed) };
    let job = run.store().get(&run.gvr, &run.ns, &run.name).ok_or(Gone)?;
    if job["metadata"]["uid"] != run.uid.as_str() {
        return Err(Gone);
    }
    if terminal(state(&job)) {
        return Ok(Outcome::Succeed);
    }
    Ok(match hook(&job) {
        Ok(()) => Outcome::Succeed,
        Err(message) => {
            tracing::warn!(job = %run.name, %message, "ProwJob success hook failed; the job fails");
            Outcome::Fail(message)
        }
    })
}

/// A status write was refused because the job ended meanwhile: finish an abort.
fn abort_or_stop(run: &Run) -> Result<bool, Gone> {
    if state(&run.store().get(&run.gvr, &run.ns, &run.name).ok_or(Gone)?) == "aborted" {
        complete_abort(run)?;
    }
    Ok(true)
}

/// What plank does for a job a client aborted: sets `completionTime` once.
fn complete_abort(run: &Run) -> Result<(), Gone> {
    run.status(|s| {
        if !s["completionTime"].is_null() {
            return false;
        }
        s["completionTime"] = json!(now());
        true
    })?;
    Ok(())
}

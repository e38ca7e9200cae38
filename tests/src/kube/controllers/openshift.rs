//! OpenShift `Build`s (`build.openshift.io/v1`), as openshift-controller-manager's build
//! controller reports them:
//!
//! - `phase: New`, then `Pending` (the build pod `<build>-build` is created, annotation
//!   `openshift.io/build.pod-name`, `outputDockerImageReference`), then `Running` with
//!   `startTimestamp`;
//! - `Complete` with `output.to.imageDigest`; or `Failed`, reason `GenericBuildFailed`,
//!   message "Generic Build failure - check logs for details." and a `logSnippet` ending with
//!   the failure message; a timeout fails the same way (the pod fails `DeadlineExceeded`, as
//!   `completionDeadlineSeconds` does); `completionTimestamp` and `duration` on every end;
//! - `status.cancelled: true` (what `oc cancel-build` writes) before the end: `Cancelled`,
//!   reason `CancelledBuild`, "The build was cancelled by the user.";
//! - one condition per phase reached, the current one `True`.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Outcome, Script,
    run::{Gone, Run, create_pod, final_log, finish_pod, running_log, tail},
};
use crate::kube::store::now;

const INTERNAL_REGISTRY: &str = "image-registry.openshift-image-registry.svc:5000";

fn terminal(phase: &str) -> bool {
    matches!(phase, "Complete" | "Failed" | "Error" | "Cancelled")
}

fn cancelled(object: &Value) -> bool {
    object["status"]["cancelled"].as_bool().unwrap_or(false)
}

/// Moves `status.phase` to `phase`, keeping one condition per phase (the current one True).
fn set_phase(s: &mut Value, phase: &str) {
    let stamp = now();
    s["phase"] = json!(phase);
    if !s["conditions"].is_array() {
        s["conditions"] = json!([]);
    }
    if let Some(list) = s["conditions"].as_array_mut() {
        for c in list.iter_mut().filter(|c| c["status"] == "True") {
            c["status"] = json!("False");
            c["lastTransitionTime"] = json!(stamp);
            c["lastUpdateTime"] = json!(stamp);
        }
        list.retain(|c| c["type"] != phase);
        list.push(
            json!({"type": phase, "status": "True", "lastTransitionTime": stamp, "lastUpdateTime": stamp}),
        );
    }
}

pub(super) async fn run(mut run: Run) {
    if let Ok(true) = drive(&mut run).await {
        run.finish(None).await;
    }
}

async fn drive(run: &mut Run) -> Result<bool, Gone> {
    let build = run.object()?;
    if terminal(build["status"]["phase"].as_str().unwrap_or_default()) {
        return Ok(false);
    }
    let name = run.name.clone();
    let component = run.component(&build);
    let to = &build["spec"]["output"]["to"];
    let image = to["name"].as_str().unwrap_or(&component).to_owned();
    let reference = match to["kind"].as_str() {
        Some("ImageStreamTag") => {
            format!("{INTERNAL_REGISTRY}/{}/{image}", to["namespace"].as_str().unwrap_or(&run.ns))
        }
        _ => image.clone(),
    };
    let pod = format!("{name}-build");
    let config = build["metadata"]["labels"]["openshift.io/build-config.name"].as_str().map(str::to_owned);
    let ns = run.ns.clone();

    let fresh = run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        if s["phase"].is_null() {
            set_phase(s, "New");
        }
        if let Some(config) = &config {
            s["config"] = json!({"kind": "BuildConfig", "namespace": ns, "name": config});
        }
        true
    })?;
    if !fresh {
        return Ok(false);
    }
    let queued = Instant::now() + run.script().queue_delay / 2;
    if run.wait_for(Some(queued), cancelled).await?.is_some() {
        return cancel(run, None);
    }

    let docker = build["spec"]["strategy"]["type"] == "Docker"
        || build["spec"]["strategy"]["dockerStrategy"].is_object();
    let container = if docker { "docker-build" } else { "sti-build" };
    let mut labels = build["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    labels.insert("openshift.io/build.name".into(), json!(name));
    let owner = run.owner_ref("build.openshift.io/v1", "Build");
    create_pod(
        run.store(),
        &run.ns,
        &pod,
        json!(labels),
        owner,
        &[container.to_owned()],
        &running_log(&component, &image),
    );
    run.metadata(|meta| meta["annotations"]["openshift.io/build.pod-name"] = json!(pod))?;
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        set_phase(s, "Pending");
        s["outputDockerImageReference"] = json!(reference);
        true
    })?;
    let queued = Instant::now() + run.script().queue_delay / 2;
    if run.wait_for(Some(queued), cancelled).await?.is_some() {
        return cancel(run, Some((&pod, &component, &image)));
    }

    let running_since = Instant::now();
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        set_phase(s, "Running");
        s["startTimestamp"] = json!(now());
        true
    })?;
    run.mark_started(&name);
    let deadline = running_since + run.duration_of(&component);
    if run.wait_for(Some(deadline), cancelled).await?.is_some() {
        return cancel(run, Some((&pod, &component, &image)));
    }

    let outcome = run.outcome_of(&component);
    let log = final_log(&component, &image, &outcome);
    let elapsed = u64::try_from(running_since.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let digest = Script::digest_for(&component);
    let reason = (outcome == Outcome::Timeout).then_some("DeadlineExceeded");
    finish_pod(run.store(), &run.ns, &pod, &log, i64::from(outcome != Outcome::Succeed), reason);
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        s["completionTimestamp"] = json!(now());
        s["duration"] = json!(elapsed);
        if outcome == Outcome::Succeed {
            set_phase(s, "Complete");
            s["output"] = json!({"to": {"imageDigest": digest}});
        } else {
            set_phase(s, "Failed");
            s["reason"] = json!("GenericBuildFailed");
            s["message"] = json!("Generic Build failure - check logs for details.");
            s["logSnippet"] = json!(tail(&log, 5));
        }
        true
    })?;
    Ok(true)
}

/// Cancels: the pod (if any) stops, the build is `Cancelled`.
fn cancel(run: &Run, pod: Option<(&str, &str, &str)>) -> Result<bool, Gone> {
    if let Some((pod, component, image)) = pod {
        let log = final_log(component, image, &Outcome::Fail("Terminated: build cancelled".into()));
        finish_pod(run.store(), &run.ns, pod, &log, 1, None);
    }
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        set_phase(s, "Cancelled");
        s["reason"] = json!("CancelledBuild");
        s["message"] = json!("The build was cancelled by the user.");
        s["completionTimestamp"] = json!(now());
        true
    })?;
    Ok(true)
}

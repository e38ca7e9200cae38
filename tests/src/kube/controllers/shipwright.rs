//! Shipwright `BuildRun`s (`shipwright.io/v1beta1`), as the BuildRun controller reports them
//! (`docs/buildrun.md`, "Understanding the state of a BuildRun"):
//!
//! - Succeeded Unknown `Pending`, with `taskRunName`, `executor` and the `buildSpec` snapshot;
//! - Unknown `Running` with `startTime` (the TaskRun pod runs);
//! - True `Succeeded` "All Steps have completed executing" with `output.digest`/`size`;
//!   False `Failed` "buildrun step step-build-and-push failed, for detailed information:
//!   kubectl ..." with `failureDetails` (the pod's log ends with the message); False
//!   `BuildRunTimeout` "BuildRun x failed to finish within 1h0m0s";
//! - `spec.state: BuildRunCanceled` cancels: False `BuildRunCanceled` "The BuildRun and
//!   underlying TaskRun were canceled successfully."; `completionTime` on every end;
//! - `retention.ttlAfterSucceeded`/`ttlAfterFailed` (BuildRun or Build) prune it.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Outcome, Script,
    run::{
        Gone, Run, condition, condition_done, create_pod, final_log, finish_pod, running_log, set_condition,
        succeeded,
    },
    util::{go_duration_or, parse_go_duration, sha256_hex},
};
use crate::kube::store::{Gvr, now};

const STEPS: [&str; 2] = ["step-source-default", "step-build-and-push"];

fn canceled(object: &Value) -> bool {
    object["spec"]["state"] == "BuildRunCanceled"
}

pub(super) async fn run(mut run: Run) {
    if let Ok(true) = drive(&mut run).await {
        let ttl = run.store().get(&run.gvr, &run.ns, &run.name).and_then(|br| retention(&run, &br));
        run.finish(ttl).await;
    }
}

/// The Build spec the run uses: embedded `spec.build.spec`, else the named Build's spec.
fn build_spec(run: &Run, br: &Value) -> Value {
    if br["spec"]["build"]["spec"].is_object() {
        return br["spec"]["build"]["spec"].clone();
    }
    br["spec"]["build"]["name"]
        .as_str()
        .and_then(|name| run.store().get(&Gvr::new("shipwright.io", "v1beta1", "builds"), &run.ns, name))
        .map(|build| build["spec"].clone())
        .unwrap_or(Value::Null)
}

async fn drive(run: &mut Run) -> Result<bool, Gone> {
    let br = run.object()?;
    if condition_done(&br["status"]) {
        return Ok(false);
    }
    let name = run.name.clone();
    let component = run.component(&br);
    let spec = build_spec(run, &br);
    let image = br["spec"]["output"]["image"]
        .as_str()
        .or(spec["output"]["image"].as_str())
        .unwrap_or(&component)
        .to_owned();
    let taskrun = format!("{name}-{}", &sha256_hex(run.uid.as_bytes())[..5]);
    let pod = format!("{taskrun}-pod");

    let pending = run.status(|s| {
        if condition_done(s) {
            return false;
        }
        set_condition(s, condition("Unknown", "Pending", "Pending"));
        s["taskRunName"] = json!(taskrun);
        s["executor"] = json!({"kind": "TaskRun", "name": taskrun});
        if spec.is_object() {
            s["buildSpec"] = spec.clone();
        }
        true
    })?;
    if !pending {
        return Ok(false);
    }
    let queued = Instant::now() + run.script().queue_delay;
    if run.wait_for(Some(queued), canceled).await?.is_some() {
        cancel(run, None)?;
        return Ok(true);
    }

    let mut labels = br["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    labels.insert("buildrun.shipwright.io/name".into(), json!(name));
    labels.insert("tekton.dev/taskRun".into(), json!(taskrun));
    let containers: Vec<String> = STEPS.iter().map(|s| (*s).to_owned()).collect();
    let owner = run.owner_ref("shipwright.io/v1beta1", "BuildRun");
    create_pod(
        run.store(),
        &run.ns,
        &pod,
        json!(labels),
        owner,
        &containers,
        &running_log(&component, &image),
    );
    run.status(|s| {
        if condition_done(s) {
            return false;
        }
        s["startTime"] = json!(now());
        set_condition(
            s,
            condition("Unknown", "Running", "Not all Steps in the Task have finished executing"),
        );
        true
    })?;
    run.mark_started(&name);

    let deadline = Instant::now() + run.duration_of(&component);
    if run.wait_for(Some(deadline), canceled).await?.is_some() {
        cancel(run, Some((&pod, &component, &image)))?;
        return Ok(true);
    }
    let outcome = run.outcome_of(&component);
    let log = final_log(&component, &image, &outcome);
    let container = STEPS[1];
    let ns = run.ns.clone();
    match &outcome {
        Outcome::Succeed => {
            finish_pod(run.store(), &run.ns, &pod, &log, 0, None);
            let digest = Script::digest_for(&component);
            run.status(|s| {
                if condition_done(s) {
                    return false;
                }
                s["completionTime"] = json!(now());
                s["output"] = json!({"digest": digest, "size": 1_989_004});
                set_condition(s, condition("True", "Succeeded", "All Steps have completed executing"));
                true
            })?;
        }
        Outcome::Fail(message) => {
            finish_pod(run.store(), &run.ns, &pod, &log, 1, None);
            let how = format!("kubectl --namespace {ns} logs {pod} --container={container}");
            let text = format!("buildrun step {container} failed, for detailed information: {how}");
            run.status(|s| {
                if condition_done(s) {
                    return false;
                }
                s["completionTime"] = json!(now());
                s["failureDetails"] =
                    json!({"location": {"pod": pod, "container": container}, "message": message});
                set_condition(s, condition("False", "Failed", &text));
                true
            })?;
        }
        Outcome::Timeout => {
            finish_pod(run.store(), &run.ns, &pod, &log, 1, Some("DeadlineExceeded"));
            let object = run.object()?;
            let timeout =
                go_duration_or(object["spec"]["timeout"].as_str().or(spec["timeout"].as_str()), "1h0m0s");
            let text = format!("BuildRun {name} failed to finish within {timeout}");
            run.status(|s| {
                if condition_done(s) {
                    return false;
                }
                s["completionTime"] = json!(now());
                set_condition(s, condition("False", "BuildRunTimeout", &text));
                true
            })?;
        }
    }
    Ok(true)
}

/// Cancels: the pod (if any) is stopped, the run False `BuildRunCanceled`.
fn cancel(run: &Run, pod: Option<(&str, &str, &str)>) -> Result<(), Gone> {
    if let Some((pod, component, image)) = pod {
        let log = final_log(component, image, &Outcome::Fail("Terminated: canceled".into()));
        finish_pod(run.store(), &run.ns, pod, &log, 1, None);
    }
    run.status(|s| {
        if condition_done(s) {
            return false;
        }
        s["completionTime"] = json!(now());
        set_condition(
            s,
            condition(
                "False",
                "BuildRunCanceled",
                "The BuildRun and underlying TaskRun were canceled successfully.",
            ),
        );
        true
    })?;
    Ok(())
}

/// `retention.ttlAfterSucceeded`/`ttlAfterFailed` of the BuildRun, else of its Build.
fn retention(run: &Run, br: &Value) -> Option<Duration> {
    let key = if succeeded(&br["status"]) == Some("True") { "ttlAfterSucceeded" } else { "ttlAfterFailed" };
    let spec = build_spec(run, br);
    br["spec"]["retention"][key].as_str().or(spec["retention"][key].as_str()).and_then(parse_go_duration)
}

//! Tekton `PipelineRun`s (`tekton.dev/v1`), as the Tekton controller reports them
//! (`pkg/apis/pipeline/v1/pipelinerun_types.go`, `pipelinerunresolution.go`):
//!
//! - held while `spec.status: PipelineRunPending` (Unknown, `PipelineRunPending`);
//! - `startTime`, Unknown `Started`, then one TaskRun (and its pod) per pipeline task and
//!   Unknown `Running` "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: N, Skipped: 0"
//!   with `childReferences`;
//! - after the component's duration: True `Succeeded` with results `IMAGE_URL`,
//!   `IMAGE_DIGEST` (and `CHAINS-GIT_URL`/`CHAINS-GIT_COMMIT` from `git-url`/`revision`), or
//!   False `Failed` (the build task's TaskRun and pod fail, the log ends with the message), or
//!   False `PipelineRunTimeout`;
//! - `spec.status: Cancelled`/`CancelledRunFinally` cancels at once (False `Cancelled`,
//!   "PipelineRun \"x\" was cancelled", running TaskRuns `TaskRunCancelled`);
//!   `StoppedRunFinally` lets running tasks finish, then ends False `Cancelled`.

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Outcome, Script,
    run::{
        Gone, Run, condition, condition_done, create_pod, final_log, finish_pod, running_log, set_condition,
    },
    util::{go_duration_or, sha256_hex},
};
use crate::kube::store::{Gvr, now};

const API_VERSION: &str = "tekton.dev/v1";
/// A running TaskRun's condition message.
const RUNNING_MESSAGE: &str = "Not all Steps in the Task have finished executing";
/// Tasks of a run whose pipeline cannot be read (a bundle or git resolver).
const DEFAULT_TASKS: [&str; 2] = ["build-container", "push"];

fn taskruns() -> Gvr {
    Gvr::new("tekton.dev", "v1", "taskruns")
}

fn spec_status(object: &Value) -> &str {
    object["spec"]["status"].as_str().unwrap_or_default()
}

fn cancel_requested(object: &Value) -> bool {
    matches!(spec_status(object), "Cancelled" | "CancelledRunFinally" | "StoppedRunFinally")
}

/// One pipeline task and its TaskRun.
struct Child {
    task: String,
    name: String,
    pod: String,
    step: String,
    spec: Value,
}

/// How a TaskRun ends.
enum End<'a> {
    Succeeded(Vec<Value>),
    Failed(&'a Outcome),
    Cancelled(&'a str),
}

pub(super) async fn run(mut run: Run) {
    if let Ok(true) = drive(&mut run).await {
        run.finish(None).await;
    }
}

async fn drive(run: &mut Run) -> Result<bool, Gone> {
    let mut pr = run.object()?;
    if condition_done(&pr["status"]) {
        return Ok(false);
    }
    let name = run.name.clone();
    if spec_status(&pr) == "PipelineRunPending" {
        let message = format!("PipelineRun \"{name}\" is pending");
        run.status(|s| {
            set_condition(s, condition("Unknown", "PipelineRunPending", &message));
            true
        })?;
        pr = run.wait_for(None, |o| spec_status(o) != "PipelineRunPending").await?.ok_or(Gone)?;
    }
    if cancel_requested(&pr) {
        cancel(run, &[], &pr)?;
        return Ok(true);
    }
    let component = run.component(&pr);
    let image = param(&pr, "output-image").unwrap_or_else(|| component.clone());
    let children = children(run, &pr);
    let generation = pr["metadata"]["generation"].clone();
    let started = run.status(|s| {
        if condition_done(s) {
            return false;
        }
        s["startTime"] = json!(now());
        s["observedGeneration"] = generation.clone();
        set_condition(s, condition("Unknown", "Started", ""));
        true
    })?;
    if !started {
        return Ok(false);
    }
    for child in &children {
        create_taskrun(run, &pr, child, &component, &image);
    }
    let n = children.len();
    let refs: Vec<Value> = children
        .iter()
        .map(|c| {
            json!({"apiVersion": API_VERSION, "kind": "TaskRun", "name": c.name, "pipelineTaskName": c.task})
        })
        .collect();
    let message = format!("Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: {n}, Skipped: 0");
    run.status(|s| {
        if condition_done(s) {
            return false;
        }
        s["childReferences"] = json!(refs);
        set_condition(s, condition("Unknown", "Running", &message));
        true
    })?;
    run.mark_started(&name);

    let deadline = Instant::now() + run.duration_of(&component);
    let mut stopping = false;
    loop {
        let wanted = |o: &Value| match spec_status(o) {
            "StoppedRunFinally" => !stopping,
            _ => cancel_requested(o),
        };
        match run.wait_for(Some(deadline), wanted).await? {
            None => break,
            Some(o) if spec_status(&o) == "StoppedRunFinally" => stopping = true,
            Some(o) => {
                cancel(run, &children, &o)?;
                return Ok(true);
            }
        }
    }

    let outcome = run.outcome_of(&component);
    let build = build_task(&children);
    let (image, digest) = run.image_of(&component).unwrap_or((image, Script::digest_for(&component)));
    let (status, reason, message, results) = match &outcome {
        Outcome::Succeed => {
            let mut results = vec![
                json!({"name": "IMAGE_URL", "value": image}),
                json!({"name": "IMAGE_DIGEST", "value": digest}),
            ];
            for (result, param_name) in [("CHAINS-GIT_URL", "git-url"), ("CHAINS-GIT_COMMIT", "revision")] {
                if let Some(value) = param(&pr, param_name) {
                    results.push(json!({"name": result, "value": value}));
                }
            }
            for (i, child) in children.iter().enumerate() {
                let task_results = if i == build {
                    vec![
                        json!({"name": "IMAGE_URL", "type": "string", "value": image}),
                        json!({"name": "IMAGE_DIGEST", "type": "string", "value": digest}),
                    ]
                } else {
                    Vec::new()
                };
                end_taskrun(run, child, &End::Succeeded(task_results), &component, &image);
            }
            let message = format!("Tasks Completed: {n} (Failed: 0, Cancelled 0), Skipped: 0");
            if stopping {
                ("False", "Cancelled", format!("PipelineRun \"{name}\" was cancelled"), None)
            } else {
                ("True", "Succeeded", message, Some(results))
            }
        }
        Outcome::Fail(_) => {
            for (i, child) in children.iter().enumerate() {
                let end = if i == build { End::Failed(&outcome) } else { End::Succeeded(Vec::new()) };
                end_taskrun(run, child, &end, &component, &image);
            }
            ("False", "Failed", format!("Tasks Completed: {n} (Failed: 1, Cancelled 0), Skipped: 0"), None)
        }
        Outcome::Timeout => {
            for child in &children {
                end_taskrun(
                    run,
                    child,
                    &End::Cancelled("TaskRun cancelled as the PipelineRun it belongs to has timed out."),
                    &component,
                    &image,
                );
            }
            let timeout = go_duration_or(pr["spec"]["timeouts"]["pipeline"].as_str(), "1h0m0s");
            (
                "False",
                "PipelineRunTimeout",
                format!("PipelineRun \"{name}\" failed to finish within \"{timeout}\""),
                None,
            )
        }
    };
    run.status(|s| {
        if condition_done(s) {
            return false;
        }
        s["completionTime"] = json!(now());
        if let Some(results) = &results {
            s["results"] = json!(results);
        }
        set_condition(s, condition(status, reason, &message));
        true
    })?;
    Ok(true)
}

/// Cancels now: running TaskRuns cancelled, the run False `Cancelled`.
fn cancel(run: &Run, children: &[Child], pr: &Value) -> Result<(), Gone> {
    let component = run.component(pr);
    let image = param(pr, "output-image").unwrap_or_else(|| component.clone());
    for child in children {
        let end = End::Cancelled("TaskRun cancelled as the PipelineRun it belongs to has been cancelled.");
        end_taskrun(run, child, &end, &component, &image);
    }
    let message = format!("PipelineRun \"{}\" was cancelled", run.name);
    run.status(|s| {
        if condition_done(s) {
            return false;
        }
        if s["startTime"].is_null() {
            s["startTime"] = json!(now());
        }
        s["completionTime"] = json!(now());
        set_condition(s, condition("False", "Cancelled", &message));
        true
    })?;
    Ok(())
}

fn param(pr: &Value, name: &str) -> Option<String> {
    pr["spec"]["params"].as_array()?.iter().find(|p| p["name"] == name)?["value"].as_str().map(str::to_owned)
}

/// The pipeline's tasks: from `spec.pipelineSpec`, else from a Pipeline named by
/// `spec.pipelineRef.name` in the store, else [`DEFAULT_TASKS`].
fn children(run: &Run, pr: &Value) -> Vec<Child> {
    let inline = pr["spec"]["pipelineSpec"]["tasks"].as_array().cloned();
    let referenced = || {
        let pipeline_ref = &pr["spec"]["pipelineRef"];
        if pipeline_ref["resolver"].is_string() {
            return None;
        }
        let name = pipeline_ref["name"].as_str()?;
        let pipeline = run.store().get(&Gvr::new("tekton.dev", "v1", "pipelines"), &run.ns, name)?;
        pipeline["spec"]["tasks"].as_array().cloned()
    };
    let tasks: Vec<(String, Value)> = match inline.or_else(referenced) {
        Some(tasks) if !tasks.is_empty() => {
            tasks.iter().filter_map(|t| Some((t["name"].as_str()?.to_owned(), t.clone()))).collect()
        }
        _ => DEFAULT_TASKS.iter().map(|t| ((*t).to_owned(), json!({"name": t}))).collect(),
    };
    tasks
        .into_iter()
        .map(|(task, definition)| {
            let name = child_name(&run.name, &task);
            let step = if task.contains("build") { "build".to_owned() } else { task.clone() };
            let mut spec = json!({});
            for key in ["taskRef", "taskSpec", "timeout"] {
                if !definition[key].is_null() {
                    spec[key] = definition[key].clone();
                }
            }
            if let Some(sa) = pr["spec"]["taskRunTemplate"]["serviceAccountName"].as_str() {
                spec["serviceAccountName"] = json!(sa);
            }
            Child { pod: format!("{name}-pod"), task, name, step, spec }
        })
        .collect()
}

/// `<pipelinerun>-<task>`, hashed when longer than a name may be (as knative's ChildName).
fn child_name(parent: &str, task: &str) -> String {
    let full = format!("{parent}-{task}");
    if full.len() <= 63 {
        return full;
    }
    let hash = sha256_hex(full.as_bytes());
    format!("{}-{}", full.get(..30).unwrap_or(parent).trim_end_matches('-'), &hash[..32])
}

/// The task that builds the image (and fails): the first with "build" in its name, else the
/// last one.
fn build_task(children: &[Child]) -> usize {
    children.iter().position(|c| c.task.contains("build")).unwrap_or(children.len().saturating_sub(1))
}

fn create_taskrun(run: &Run, pr: &Value, child: &Child, component: &str, image: &str) {
    let mut labels = pr["metadata"]["labels"].as_object().cloned().unwrap_or_default();
    let pipeline = pr["spec"]["pipelineRef"]["name"].as_str().unwrap_or(&run.name).to_owned();
    for (k, v) in [
        ("app.kubernetes.io/managed-by", "tekton-pipelines"),
        ("tekton.dev/memberOf", "tasks"),
        ("tekton.dev/pipeline", pipeline.as_str()),
        ("tekton.dev/pipelineRun", run.name.as_str()),
        ("tekton.dev/pipelineTask", child.task.as_str()),
    ] {
        labels.insert(k.into(), json!(v));
    }
    let started = now();
    let taskrun = json!({
        "apiVersion": API_VERSION,
        "kind": "TaskRun",
        "metadata": {
            "name": child.name, "labels": labels,
            "ownerReferences": [run.owner_ref(API_VERSION, "PipelineRun")],
        },
        "spec": child.spec,
        "status": {
            "conditions": [condition("Unknown", "Running", RUNNING_MESSAGE)],
            "podName": child.pod,
            "startTime": started,
            "steps": [{
                "name": child.step, "container": format!("step-{}", child.step),
                "running": {"startedAt": started},
            }],
        },
    });
    let Ok(created) = run.store().create(&taskruns(), &run.ns, taskrun) else { return };
    let mut pod_labels = labels.clone();
    pod_labels.insert("tekton.dev/taskRun".into(), json!(child.name));
    let owner = json!({
        "apiVersion": API_VERSION, "kind": "TaskRun", "name": child.name,
        "uid": created["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true,
    });
    create_pod(
        run.store(),
        &run.ns,
        &child.pod,
        json!(pod_labels),
        owner,
        &[format!("step-{}", child.step)],
        &running_log(component, image),
    );
}

/// Ends a running TaskRun and its pod; TaskRuns already finished are left alone.
fn end_taskrun(run: &Run, child: &Child, end: &End<'_>, component: &str, image: &str) {
    let store = run.store();
    let Some(current) = store.get(&taskruns(), &run.ns, &child.name) else { return };
    if condition_done(&current["status"]) {
        return;
    }
    let container = format!("step-{}", child.step);
    let (status, reason, message, exit_code, outcome) = match end {
        End::Succeeded(_) => {
            ("True", "Succeeded", "All Steps have completed executing".to_owned(), 0, Outcome::Succeed)
        }
        End::Failed(outcome) => {
            ("False", "Failed", format!("\"{container}\" exited with code 1"), 1, (*outcome).clone())
        }
        End::Cancelled(why) => (
            "False",
            "TaskRunCancelled",
            format!("TaskRun \"{}\" was cancelled. {why}", child.name),
            1,
            Outcome::Fail("Terminated: cancelled".into()),
        ),
    };
    let finished = now();
    let _ = store.update_status(&taskruns(), &run.ns, &child.name, |s| {
        s["completionTime"] = json!(finished);
        set_condition(s, condition(status, reason, &message));
        let started = s["steps"][0]["running"]["startedAt"].clone();
        s["steps"] = json!([{
            "name": child.step, "container": container,
            "terminated": {"exitCode": exit_code,
                           "reason": if exit_code == 0 { "Completed" } else { "Error" },
                           "startedAt": started, "finishedAt": finished},
        }]);
        if let End::Succeeded(results) = end
            && !results.is_empty()
        {
            s["results"] = json!(results);
        }
    });
    finish_pod(store, &run.ns, &child.pod, &final_log(component, image, &outcome), exit_code, None);
}

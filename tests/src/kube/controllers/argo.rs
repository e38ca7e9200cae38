//! Argo `Workflow`s (`argoproj.io/v1alpha1`), as the workflow controller reports them:
//!
//! - `phase: Pending`, then `Running` with `startedAt` and the root DAG node;
//! - one `Pod` node per task of the entrypoint's `dag.tasks` (templates from `spec.templates`
//!   or the WorkflowTemplate named by `spec.workflowTemplateRef`), keyed by node id
//!   (`<workflow>-<fnv32a(node name)>`), named `<workflow>.<task>`; a task starts when all its
//!   `dependencies` (or the task names in `depends`) succeeded, and runs for its component's
//!   duration (component = its `component` parameter, else the task name);
//! - a failed task's dependents become `Omitted` nodes of type `Skipped` ("omitted: depends
//!   condition not met"); with `failFast` (the default) no new task starts after a failure;
//! - when a task carrying an `arches` parameter (`amd64,arm64`) ends, one `Pod` step node per
//!   architecture, `<task>[0].build(<i>:arch:<arch>)`, as the template's fan-out makes; the
//!   step of a [`Script::fail_arch`](super::Script::fail_arch) architecture fails, the others
//!   succeed (a plain failure fails them all);
//! - `Succeeded`, or `Failed` with message `child '<node id>' failed`; `finishedAt`,
//!   `progress`, a `Completed` condition;
//! - `spec.shutdown: Terminate|Stop`: running nodes fail ("workflow shutdown with strategy:
//!   Terminate"), the workflow fails ("Stopped with strategy 'Terminate'").
//!
//! A DAG task whose template is itself a DAG (a part) runs its inner tasks as `<wf>.<part>.<task>`,
//! each after its own dependencies and every task of the parts its part depends on. An
//! entrypoint that is not a DAG runs as one `Pod` node for the workflow's own component.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::{
    Outcome,
    run::{Gone, Run},
    util::fnv32a,
};
use crate::kube::store::{Gvr, now};

fn terminal(phase: &str) -> bool {
    matches!(phase, "Succeeded" | "Failed" | "Error")
}

fn shutdown(wf: &Value) -> Option<String> {
    wf["spec"]["shutdown"].as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Waiting,
    Running(Instant),
    Succeeded,
    Failed,
    Omitted,
}

struct Task {
    name: String,
    template: String,
    deps: Vec<String>,
    component: String,
    id: String,
    node_name: String,
    state: State,
    /// The `arches` parameter: one Build step node per architecture.
    arches: Vec<String>,
}

pub(super) async fn run(mut run: Run) {
    if let Ok(Some(ttl)) = drive(&mut run).await {
        run.finish(ttl).await;
    }
}

/// Returns the workflow's own TTL once it finished (`Some(None)`: none of its own).
async fn drive(run: &mut Run) -> Result<Option<Option<std::time::Duration>>, Gone> {
    let wf = run.object()?;
    if terminal(wf["status"]["phase"].as_str().unwrap_or_default()) {
        return Ok(None);
    }
    let name = run.name.clone();
    let (entrypoint, templates) = resolve(run, &wf);
    let mut tasks = dag_tasks(&name, &entrypoint, &templates, &run.component(&wf));
    let total = tasks.len();
    let fail_fast = templates
        .iter()
        .find(|t| t["name"] == entrypoint.as_str())
        .is_none_or(|t| t["dag"]["failFast"].as_bool().unwrap_or(true));

    run.status(|s| {
        if !s["phase"].is_null() {
            return false;
        }
        s["phase"] = json!("Pending");
        s["progress"] = json!(format!("0/{total}"));
        true
    })?;
    let queued = Instant::now() + run.script().queue_delay;
    if let Some(wf) = run.wait_for(Some(queued), |o| shutdown(o).is_some()).await? {
        let strategy = shutdown(&wf).unwrap_or_default();
        finish(run, &[], "Failed", &format!("Stopped with strategy '{strategy}'"), &entrypoint)?;
        return Ok(Some(ttl(&wf, false)));
    }
    let started = run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        s["phase"] = json!("Running");
        s["startedAt"] = json!(now());
        s["nodes"] = json!({});
        true
    })?;
    if !started {
        return Ok(None);
    }
    run.mark_started(&name);

    let mut stopping = false;
    let mut stopped: Option<String> = None;
    loop {
        let now_instant = Instant::now();
        // Omit dependents of failed or omitted tasks, until nothing changes.
        while let Some(i) = tasks.iter().position(|t| {
            t.state == State::Waiting
                && t.deps.iter().any(|d| {
                    tasks.iter().any(|u| &u.name == d && matches!(u.state, State::Failed | State::Omitted))
                })
        }) {
            tasks[i].state = State::Omitted;
        }
        if !stopping && stopped.is_none() {
            for i in 0..tasks.len() {
                let ready = tasks[i].state == State::Waiting
                    && tasks[i]
                        .deps
                        .iter()
                        .all(|d| tasks.iter().any(|u| &u.name == d && u.state == State::Succeeded));
                if ready {
                    let component = tasks[i].component.clone();
                    tasks[i].state = State::Running(now_instant + run.duration_of(&component));
                    if is_dag(&tasks, &name) {
                        run.mark_started(&tasks[i].node_name);
                    }
                }
            }
        }
        write_nodes(run, &name, &entrypoint, &tasks)?;
        let Some(next) =
            tasks.iter().filter_map(|t| if let State::Running(at) = t.state { Some(at) } else { None }).min()
        else {
            break;
        };
        match run.wait_for(Some(next), |o| shutdown(o).is_some()).await? {
            Some(wf) if stopped.is_none() => {
                let strategy = shutdown(&wf).unwrap_or_default();
                let message = format!("workflow shutdown with strategy:  {strategy}");
                for t in tasks.iter_mut().filter(|t| matches!(t.state, State::Running(_))) {
                    t.state = State::Failed;
                    set_message(run, &t.id, &message);
                }
                stopped = Some(strategy);
            }
            Some(_) => {}
            None => {
                let now_instant = Instant::now();
                for t in &mut tasks {
                    if let State::Running(at) = t.state
                        && at <= now_instant
                    {
                        t.state = match run.outcome_of(&t.component) {
                            Outcome::Succeed => match succeed(run, &t.component) {
                                Ok(()) => State::Succeeded,
                                Err(message) => {
                                    set_message(run, &t.id, &message);
                                    State::Failed
                                }
                            },
                            Outcome::Fail(message) => {
                                set_message(run, &t.id, &message);
                                State::Failed
                            }
                            Outcome::Timeout => {
                                set_message(
                                    run,
                                    &t.id,
                                    "Pod was active on the node longer than the specified deadline",
                                );
                                State::Failed
                            }
                        };
                        if t.state == State::Failed && fail_fast {
                            stopping = true;
                        }
                    }
                }
            }
        }
    }
    let failed = tasks.iter().find(|t| t.state == State::Failed);
    let (phase, message) = match (&stopped, failed) {
        (Some(strategy), _) => ("Failed", format!("Stopped with strategy '{strategy}'")),
        (None, Some(t)) => ("Failed", format!("child '{}' failed", t.id)),
        (None, None) if tasks.iter().all(|t| t.state == State::Succeeded) => ("Succeeded", String::new()),
        (None, None) => ("Failed", "not every task ran".to_owned()),
    };
    finish(run, &tasks, phase, &message, &entrypoint)?;
    Ok(Some(ttl(&run.object()?, phase == "Succeeded")))
}

/// Runs the script's task hook (if any) for a task about to succeed.
fn succeed(run: &Run, component: &str) -> Result<(), String> {
    let Some(hook) = run.script().task_success_hook() else { return Ok(()) };
    let wf = run.object().map_err(|_| "the workflow is gone".to_owned())?;
    hook(&wf, component)
}

/// The entrypoint and templates: the workflow's own, else its WorkflowTemplate's.
fn resolve(run: &Run, wf: &Value) -> (String, Vec<Value>) {
    let mut entrypoint = wf["spec"]["entrypoint"].as_str().map(str::to_owned);
    let mut templates = wf["spec"]["templates"].as_array().cloned().unwrap_or_default();
    if let Some(template_name) = wf["spec"]["workflowTemplateRef"]["name"].as_str() {
        let cluster = wf["spec"]["workflowTemplateRef"]["clusterScope"].as_bool().unwrap_or(false);
        let (plural, ns) =
            if cluster { ("clusterworkflowtemplates", "") } else { ("workflowtemplates", run.ns.as_str()) };
        if let Some(template) =
            run.store().get(&Gvr::new("argoproj.io", "v1alpha1", plural), ns, template_name)
        {
            if templates.is_empty() {
                templates = template["spec"]["templates"].as_array().cloned().unwrap_or_default();
            }
            entrypoint = entrypoint.or_else(|| template["spec"]["entrypoint"].as_str().map(str::to_owned));
        }
    }
    (entrypoint.unwrap_or_default(), templates)
}

fn dag_tasks(wf: &str, entrypoint: &str, templates: &[Value], wf_component: &str) -> Vec<Task> {
    let dag = templates.iter().find(|t| t["name"] == entrypoint).and_then(|t| t["dag"]["tasks"].as_array());
    let Some(dag) = dag else {
        // Not a DAG: the workflow is one pod, its root node.
        return vec![Task {
            name: entrypoint.to_owned(),
            template: entrypoint.to_owned(),
            deps: Vec::new(),
            component: wf_component.to_owned(),
            id: wf.to_owned(),
            node_name: wf.to_owned(),
            state: State::Waiting,
            arches: Vec::new(),
        }];
    };
    // A task whose template is itself a DAG (a part of a release above the CRD's 200 tasks per
    // template) runs its inner tasks, named `<wf>.<part>.<task>`; an inner task waits for its
    // own dependencies and for every task of the parts its part depends on.
    let inner_dag = |t: &Value| {
        let template = t["template"].as_str()?;
        templates.iter().find(|x| x["name"] == template).and_then(|x| x["dag"]["tasks"].as_array())
    };
    let parts: BTreeMap<String, Vec<String>> = dag
        .iter()
        .filter_map(|t| {
            let inner = inner_dag(t)?;
            let names = inner.iter().filter_map(|i| i["name"].as_str().map(str::to_owned)).collect();
            Some((t["name"].as_str()?.to_owned(), names))
        })
        .collect();
    let expand = |deps: Vec<String>| -> Vec<String> {
        deps.into_iter().flat_map(|d| parts.get(&d).cloned().unwrap_or_else(|| vec![d])).collect()
    };
    let mut tasks = Vec::new();
    for t in dag {
        match inner_dag(t) {
            Some(inner) => {
                let part = t["name"].as_str().unwrap_or_default();
                let outer = expand(task_deps(t));
                for i in inner {
                    let mut deps = task_deps(i);
                    deps.extend(outer.iter().cloned());
                    tasks.extend(task(wf, &format!("{wf}.{part}"), i, deps));
                }
            }
            None => {
                let deps = expand(task_deps(t));
                tasks.extend(task(wf, wf, t, deps));
            }
        }
    }
    tasks
}

/// A task's `dependencies`, and every task its `depends` expression names.
fn task_deps(t: &Value) -> Vec<String> {
    let mut deps: Vec<String> = t["dependencies"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if let Some(depends) = t["depends"].as_str() {
        // `a && (b.Succeeded || c)`: every task named is treated as a dependency.
        for token in depends.split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_' || c == '.')) {
            let task = token.split('.').next().unwrap_or_default();
            if !task.is_empty() && !deps.iter().any(|d| d == task) {
                deps.push(task.to_owned());
            }
        }
    }
    deps
}

/// The task of DAG task `t` under node-name prefix `parent`.
fn task(wf: &str, parent: &str, t: &Value, deps: Vec<String>) -> Option<Task> {
    let name = t["name"].as_str()?.to_owned();
    let param = |key: &str| {
        t["arguments"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == key))
            .and_then(|p| p["value"].as_str())
    };
    let component = param("component").unwrap_or(&name).to_owned();
    let arches = param("arches")
        .map(|a| a.split(',').filter(|a| !a.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default();
    let node_name = format!("{parent}.{name}");
    Some(Task {
        template: t["template"].as_str().unwrap_or(&name).to_owned(),
        id: format!("{wf}-{}", fnv32a(&node_name)),
        name,
        deps,
        component,
        node_name,
        state: State::Waiting,
        arches,
    })
}

/// False for a workflow run as its one pod node.
fn is_dag(tasks: &[Task], wf: &str) -> bool {
    !(tasks.len() == 1 && tasks[0].id == wf)
}

fn root_node(wf: &str, entrypoint: &str, phase: &str, children: &[String]) -> Value {
    json!({
        "id": wf, "name": wf, "displayName": wf, "type": "DAG", "templateName": entrypoint,
        "phase": phase, "startedAt": now(), "children": children,
    })
}

/// Brings `status.nodes` in line with the tasks: new nodes appear, phases move.
fn write_nodes(run: &Run, wf: &str, entrypoint: &str, tasks: &[Task]) -> Result<(), Gone> {
    let by_name: BTreeMap<&str, &Task> = tasks.iter().map(|t| (t.name.as_str(), t)).collect();
    let dag = is_dag(tasks, wf);
    let done = tasks.iter().filter(|t| t.state == State::Succeeded).count();
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        s["progress"] = json!(format!("{done}/{}", tasks.len()));
        if !s["nodes"].is_object() {
            s["nodes"] = json!({});
        }
        let roots: Vec<String> = tasks.iter().filter(|t| t.deps.is_empty()).map(|t| t.id.clone()).collect();
        if dag && s["nodes"][wf].is_null() {
            s["nodes"][wf] = root_node(wf, entrypoint, "Running", &roots);
        }
        for t in tasks {
            let (phase, kind) = match t.state {
                State::Waiting => continue,
                State::Running(_) => ("Running", "Pod"),
                State::Succeeded => ("Succeeded", "Pod"),
                State::Failed => ("Failed", "Pod"),
                State::Omitted => ("Omitted", "Skipped"),
            };
            let node = &mut s["nodes"][t.id.as_str()];
            if node.is_null() {
                let children: Vec<&str> = tasks
                    .iter()
                    .filter(|u| u.deps.iter().any(|d| by_name.get(d.as_str()).is_some_and(|x| x.id == t.id)))
                    .map(|u| u.id.as_str())
                    .collect();
                *node = json!({
                    "id": t.id, "name": t.node_name, "displayName": if dag { t.name.as_str() } else { wf },
                    "type": kind, "templateName": t.template, "startedAt": now(), "children": children,
                });
                if dag {
                    node["boundaryID"] = json!(wf);
                }
                if t.state == State::Omitted {
                    node["message"] = json!("omitted: depends condition not met");
                }
            }
            if node["phase"] != phase && matches!(t.state, State::Succeeded | State::Failed) {
                let message = node["message"].as_str().unwrap_or_default().to_owned();
                for (i, arch) in t.arches.iter().enumerate() {
                    let step = format!("{}[0].build({i}:arch:{arch})", t.node_name);
                    let failed = t.state == State::Failed
                        && run.script().failed_arch(&t.component).is_none_or(|a| a == arch);
                    let id = format!("{wf}-{}", fnv32a(&step));
                    let mut node = json!({
                        "id": id, "name": step, "displayName": format!("build({i}:arch:{arch})"),
                        "type": "Pod", "templateName": "build", "boundaryID": t.id,
                        "phase": if failed { "Failed" } else { "Succeeded" },
                        "startedAt": now(), "finishedAt": now(),
                    });
                    if failed {
                        node["message"] = json!(message);
                    }
                    s["nodes"][id.as_str()] = node;
                }
            }
            let node = &mut s["nodes"][t.id.as_str()];
            if node["phase"] != phase {
                node["phase"] = json!(phase);
                if phase != "Running" {
                    node["finishedAt"] = json!(now());
                    node["progress"] = json!(if phase == "Succeeded" { "1/1" } else { "0/1" });
                    if kind == "Pod" {
                        node["outputs"] = json!({"exitCode": if phase == "Succeeded" { "0" } else { "1" }});
                    }
                } else {
                    node["progress"] = json!("0/1");
                }
            }
        }
        true
    })?;
    Ok(())
}

/// Sets a node's message (before [`write_nodes`] marks its phase).
fn set_message(run: &Run, id: &str, message: &str) {
    let _ = run.status(|s| {
        if !s["nodes"][id].is_object() {
            return false;
        }
        s["nodes"][id]["message"] = json!(message);
        true
    });
}

fn finish(run: &Run, tasks: &[Task], phase: &str, message: &str, entrypoint: &str) -> Result<(), Gone> {
    if !tasks.is_empty() {
        write_nodes(run, &run.name, entrypoint, tasks)?;
    }
    let wf = run.name.clone();
    run.status(|s| {
        if terminal(s["phase"].as_str().unwrap_or_default()) {
            return false;
        }
        let finished = now();
        s["phase"] = json!(phase);
        s["finishedAt"] = json!(finished);
        if s["startedAt"].is_null() {
            s["startedAt"] = json!(finished);
        }
        if !message.is_empty() {
            s["message"] = json!(message);
        }
        if s["nodes"][wf.as_str()].is_object() {
            s["nodes"][wf.as_str()]["phase"] = json!(phase);
            s["nodes"][wf.as_str()]["finishedAt"] = json!(finished);
            if !message.is_empty() {
                s["nodes"][wf.as_str()]["message"] = json!(message);
            }
        }
        s["conditions"] =
            json!([{"type": "PodRunning", "status": "False"}, {"type": "Completed", "status": "True"}]);
        true
    })?;
    Ok(())
}

/// `spec.ttlStrategy`: `secondsAfterSuccess`/`secondsAfterFailure`, else
/// `secondsAfterCompletion`.
fn ttl(wf: &Value, succeeded: bool) -> Option<std::time::Duration> {
    let strategy = &wf["spec"]["ttlStrategy"];
    let specific = if succeeded { "secondsAfterSuccess" } else { "secondsAfterFailure" };
    strategy[specific]
        .as_u64()
        .or_else(|| strategy["secondsAfterCompletion"].as_u64())
        .map(std::time::Duration::from_secs)
}

//! A component's state read off its Workflow: Argo names a DAG task's node `<workflow>.<task>`,
//! and okd-build names each task after its component.

use okd_core::backend::{ArchResult, Outcome};
use serde_json::Value;

/// Where one component's task is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// No node yet (its parents are running), or `Pending`.
    Waiting,
    Running,
    Succeeded,
    /// `Failed` or `Error`, with the most specific message Argo gives.
    Failed(String),
    /// `Omitted` or `Skipped`: a parent failed, or the workflow stopped first.
    Omitted(String),
}

impl TaskState {
    pub fn is_terminal(&self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Failed(_) | TaskState::Omitted(_))
    }
}

/// The Workflow's phase, when it has ended (`Succeeded`, `Failed`, `Error`).
pub fn ended(workflow: &Value) -> Option<&str> {
    workflow["status"]["phase"].as_str().filter(|p| matches!(*p, "Succeeded" | "Failed" | "Error"))
}

fn nodes(workflow: &Value) -> impl Iterator<Item = &Value> {
    workflow["status"]["nodes"].as_object().into_iter().flat_map(|m| m.values())
}

/// The task node of `component`, if Argo has made it: `<workflow>.<component>`, or
/// `<workflow>.<part>.<component>` when a release above the CRD's 200 tasks is split into part
/// DAGs (render/workflow.rs). Steps inside a task (`<task>[0].build(...)`) are not tasks.
pub fn task_node<'a>(workflow: &'a Value, component: &str) -> Option<&'a Value> {
    let prefix = format!("{}.", workflow["metadata"]["name"].as_str().unwrap_or_default());
    nodes(workflow).find(|n| {
        let Some(rest) = n["name"].as_str().and_then(|name| name.strip_prefix(&prefix)) else { return false };
        rest == component
            || rest
                .strip_suffix(component)
                .and_then(|part| part.strip_suffix('.'))
                .is_some_and(|part| !part.is_empty() && !part.contains(['.', '[', '(']))
    })
}

/// Argo took `component`'s task from its memoization cache (nothing was built this time).
pub fn memoized(workflow: &Value, component: &str) -> bool {
    task_node(workflow, component).is_some_and(|n| n["memoizationStatus"]["hit"] == true)
}

/// When `component`'s task started, as Argo says.
pub fn started_at<'a>(workflow: &'a Value, component: &str) -> Option<&'a str> {
    task_node(workflow, component).and_then(|n| n["startedAt"].as_str())
}

/// The state of `component`'s task. A task with no node in a Workflow that has ended did not
/// run: it is omitted with the Workflow's own message (e.g. "Stopped with strategy
/// 'Terminate'").
pub fn task_state(workflow: &Value, component: &str) -> TaskState {
    let Some(node) = task_node(workflow, component) else {
        return match ended(workflow) {
            Some(phase) => TaskState::Omitted(format!(
                "the Workflow ended ({phase}{}) before the task ran",
                workflow["status"]["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default()
            )),
            None => TaskState::Waiting,
        };
    };
    match node["phase"].as_str().unwrap_or_default() {
        "Running" => TaskState::Running,
        "Succeeded" => TaskState::Succeeded,
        "Failed" | "Error" => TaskState::Failed(failure_message(workflow, node)),
        "Omitted" | "Skipped" => TaskState::Omitted(
            node["message"].as_str().unwrap_or("omitted: a parent did not succeed").to_owned(),
        ),
        // A task still Pending when the Workflow ended never ran.
        _ if ended(workflow).is_some() => TaskState::Omitted("the Workflow ended before the task ran".into()),
        _ => TaskState::Waiting,
    }
}

/// How each architecture's Build step of `component`'s task ended, from the step nodes Argo
/// names `<task>[0].build(<i>:<item>)`: the item is `arch:amd64,tag:...` for the map items the
/// template fans out over (or just `amd64`). Steps still running are left out.
pub fn arch_results(workflow: &Value, component: &str) -> Vec<ArchResult> {
    let Some(task) = task_node(workflow, component).and_then(|n| n["name"].as_str()) else {
        return Vec::new();
    };
    let prefix = format!("{task}[");
    let mut results: Vec<ArchResult> = nodes(workflow)
        .filter_map(|n| {
            let name = n["name"].as_str()?.strip_prefix(&prefix)?;
            let arch = step_arch(name.rsplit_once('.')?.1)?;
            let (outcome, reason) = match n["phase"].as_str()? {
                "Succeeded" => (Outcome::Succeeded, None),
                "Failed" | "Error" => (Outcome::Failed, n["message"].as_str().map(str::to_owned)),
                _ => return None,
            };
            Some(ArchResult { arch, outcome, reason })
        })
        .collect();
    results.sort_by(|a, b| a.arch.cmp(&b.arch));
    results
}

/// `build(1:arch:arm64,tag:release:cli-arm64)` or `build(1:arm64)` → `arm64`.
fn step_arch(step: &str) -> Option<String> {
    let item = step.strip_prefix("build(")?.strip_suffix(')')?.split_once(':')?.1;
    let arch = match item.split(',').find_map(|kv| kv.strip_prefix("arch:")) {
        Some(arch) => arch,
        None if !item.contains(':') => item,
        None => return None,
    };
    Some(arch.to_owned()).filter(|a| !a.is_empty())
}

/// The message of the deepest failed node under a task: Argo's task and step nodes only say
/// "child '<id>' failed", the node of the failing Build or pod says why.
fn failure_message(workflow: &Value, task: &Value) -> String {
    let prefix = task["name"].as_str().unwrap_or_default().to_owned();
    let specific = nodes(workflow)
        .filter(|n| {
            let name = n["name"].as_str().unwrap_or_default();
            name == prefix
                || name.starts_with(&format!("{prefix}["))
                || name.starts_with(&format!("{prefix}."))
        })
        .filter(|n| matches!(n["phase"].as_str(), Some("Failed" | "Error")))
        .filter_map(|n| n["message"].as_str())
        .filter(|m| !m.is_empty() && !m.starts_with("child '"))
        .max_by_key(|m| m.len());
    specific
        .or_else(|| task["message"].as_str())
        .filter(|m| !m.is_empty())
        .unwrap_or("the task failed")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn task_nodes_map_to_states_with_the_specific_message() {
        let wf = json!({
            "metadata": {"name": "wf"},
            "status": {"phase": "Failed", "message": "child 'wf-1' failed", "nodes": {
                "wf-1": {"name": "wf.cli", "phase": "Failed", "message": "child 'wf-2' failed", "startedAt": "t"},
                "wf-2": {"name": "wf.cli[0].build(0:amd64)", "phase": "Failed", "message": "Build cli-amd64-x failed: make: *** [build] Error 2"},
                "wf-3": {"name": "wf.installer", "phase": "Omitted", "message": "omitted: depends condition not met"},
                "wf-4": {"name": "wf.base", "phase": "Succeeded"},
            }},
        });
        assert_eq!(
            task_state(&wf, "cli"),
            TaskState::Failed("Build cli-amd64-x failed: make: *** [build] Error 2".into())
        );
        assert!(matches!(task_state(&wf, "installer"), TaskState::Omitted(m) if m.contains("depends")));
        assert_eq!(task_state(&wf, "base"), TaskState::Succeeded);
        assert!(
            matches!(task_state(&wf, "console"), TaskState::Omitted(m) if m.contains("child 'wf-1' failed"))
        );
        assert_eq!(started_at(&wf, "cli"), Some("t"));
        let split = json!({"metadata": {"name": "wf"}, "status": {"phase": "Running", "nodes": {
            "a": {"name": "wf.part-2.console", "phase": "Succeeded", "memoizationStatus": {"hit": true}},
            "b": {"name": "wf.part-2.console[0].build(0:amd64)", "phase": "Running"},
        }}});
        assert_eq!(task_state(&split, "console"), TaskState::Succeeded);
        assert!(memoized(&split, "console"));
        assert!(!memoized(&wf, "base"));
        assert_eq!(
            arch_results(&wf, "cli"),
            [ArchResult {
                arch: "amd64".into(),
                outcome: Outcome::Failed,
                reason: Some("Build cli-amd64-x failed: make: *** [build] Error 2".into())
            }]
        );
        let multi = json!({"metadata": {"name": "wf"}, "status": {"phase": "Running", "nodes": {
            "a": {"name": "wf.cli", "phase": "Succeeded"},
            "b": {"name": "wf.cli[0].build(1:arch:arm64,tag:release:cli-arm64)", "phase": "Succeeded"},
            "c": {"name": "wf.cli[0].build(0:arch:amd64,tag:release:cli-amd64)", "phase": "Succeeded"},
            "d": {"name": "wf.cli[1].manifest-list", "phase": "Succeeded"},
            "e": {"name": "wf.cli-two[0].build(0:amd64)", "phase": "Failed"},
        }}});
        let arches: Vec<_> = arch_results(&multi, "cli").into_iter().map(|a| (a.arch, a.outcome)).collect();
        assert_eq!(arches, [("amd64".into(), Outcome::Succeeded), ("arm64".into(), Outcome::Succeeded)]);
        let running = json!({"metadata": {"name": "wf"}, "status": {"phase": "Running"}});
        assert_eq!(task_state(&running, "cli"), TaskState::Waiting);
    }
}

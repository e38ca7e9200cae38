//! What a PipelineRun's status says: `status.conditions[type=Succeeded]` and the
//! `IMAGE_URL` / `IMAGE_DIGEST` results (tektoncd/pipeline `pipelinerun_types.go`).
//!
//! Timeouts are their own phase: Tekton's reason is `PipelineRunTimeout`, and reading it as a
//! plain failure (as art-tools does, by looking for `Timeout`) hides why a build stopped.

use okd_core::{Error, ErrorKind};
use serde_json::Value;

/// Where a PipelineRun is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// No condition yet, or held with `spec.status: PipelineRunPending`.
    Pending,
    /// `Unknown`: started, running, or stopping after a cancel request.
    Running {
        /// The condition's reason (`Started`, `Running`, `Cancelled` while stopping, ...).
        reason: String,
        /// The condition's message.
        message: String,
    },
    /// `True`, with the image it pushed.
    Succeeded {
        /// `IMAGE_URL`.
        image: String,
        /// `IMAGE_DIGEST`.
        digest: String,
    },
    /// `True` without the results every Konflux build pipeline must produce.
    NoResults {
        /// What is missing.
        missing: String,
    },
    /// `False` with `PipelineRunTimeout`.
    TimedOut {
        /// The condition's message.
        message: String,
    },
    /// `False` after `spec.status: Cancelled` (or `CancelledRunFinally`, `StoppedRunFinally`).
    Cancelled {
        /// The condition's message.
        message: String,
    },
    /// `False` for any other reason (`Failed`, `CouldntGetPipeline`, `ParameterMissing`, ...).
    Failed {
        /// The condition's reason.
        reason: String,
        /// The condition's message.
        message: String,
    },
}

impl Phase {
    /// Whether the run ended.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, Phase::Pending | Phase::Running { .. })
    }

    /// The error a component's build ends with in this phase, for `name`; `None` when it
    /// succeeded or has not ended.
    pub fn error(&self, name: &str) -> Option<Error> {
        let (kind, text) = match self {
            Phase::Pending | Phase::Running { .. } | Phase::Succeeded { .. } => return None,
            Phase::NoResults { missing } => {
                (ErrorKind::BuildFailed, format!("PipelineRun {name} succeeded without the {missing} result"))
            }
            Phase::TimedOut { message } => {
                (ErrorKind::Timeout, format!("PipelineRun {name} timed out (PipelineRunTimeout): {message}"))
            }
            Phase::Cancelled { message } => {
                (ErrorKind::BuildFailed, format!("PipelineRun {name} was cancelled: {message}"))
            }
            Phase::Failed { reason, message } => {
                (ErrorKind::BuildFailed, format!("PipelineRun {name} failed ({reason}): {message}"))
            }
        };
        // A build that ran and ended is not worth running again blindly, timeouts included.
        Some(Error::new(kind, text).set_retryable(false))
    }
}

/// The `Succeeded` condition of an object's status: (status, reason, message).
pub(crate) fn succeeded_condition(status: &Value) -> Option<(&str, &str, &str)> {
    let condition = status["conditions"].as_array()?.iter().find(|c| c["type"] == "Succeeded")?;
    let text = |key: &str| condition[key].as_str().unwrap_or_default();
    Some((text("status"), text("reason"), text("message")))
}

/// A string result of a PipelineRun.
pub fn result(object: &Value, name: &str) -> Option<String> {
    let found = object["status"]["results"].as_array()?.iter().find(|r| r["name"] == name)?;
    found["value"].as_str().map(str::to_owned)
}

/// The phase of a PipelineRun (the whole object, as JSON).
pub fn phase(object: &Value) -> Phase {
    let Some((status, reason, message)) = succeeded_condition(&object["status"]) else {
        return Phase::Pending;
    };
    let message = message.to_owned();
    match status {
        "True" => match (result(object, "IMAGE_URL"), result(object, "IMAGE_DIGEST")) {
            (Some(image), Some(digest)) if !image.is_empty() && !digest.is_empty() => {
                Phase::Succeeded { image, digest }
            }
            (None, _) => Phase::NoResults { missing: "IMAGE_URL".into() },
            _ => Phase::NoResults { missing: "IMAGE_DIGEST".into() },
        },
        "False" => match reason {
            "PipelineRunTimeout" => Phase::TimedOut { message },
            "Cancelled" | "CancelledRunFinally" | "StoppedRunFinally" => Phase::Cancelled { message },
            other => Phase::Failed { reason: other.to_owned(), message },
        },
        _ if reason == "PipelineRunPending" => Phase::Pending,
        _ => Phase::Running { reason: reason.to_owned(), message },
    }
}

/// The failed TaskRun's pod and step container among `taskruns` (the children of a failed
/// PipelineRun): the first TaskRun whose condition is False, and its first step that exited
/// non-zero (else its first step).
pub(crate) fn failed_step(taskruns: &[Value]) -> Option<(String, String, Option<String>)> {
    taskruns.iter().find_map(|tr| {
        let (status, _, _) = succeeded_condition(&tr["status"])?;
        if status != "False" {
            return None;
        }
        let task = tr["metadata"]["labels"]["tekton.dev/pipelineTask"]
            .as_str()
            .or_else(|| tr["metadata"]["name"].as_str())
            .unwrap_or_default()
            .to_owned();
        let pod = tr["status"]["podName"].as_str()?.to_owned();
        let steps = tr["status"]["steps"].as_array();
        let failed = steps.and_then(|steps| {
            steps
                .iter()
                .find(|s| s["terminated"]["exitCode"].as_i64().is_some_and(|c| c != 0))
                .or(steps.first())
        });
        let container = failed.and_then(|s| s["container"].as_str()).map(str::to_owned);
        Some((task, pod, container))
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn run(status: &str, reason: &str, results: Value) -> Value {
        json!({"status": {"conditions": [{"type": "Succeeded", "status": status, "reason": reason, "message": "m"}], "results": results}})
    }

    #[test]
    fn every_condition_maps_to_a_phase() {
        assert_eq!(phase(&json!({})), Phase::Pending);
        assert_eq!(phase(&run("Unknown", "PipelineRunPending", json!([]))), Phase::Pending);
        assert!(matches!(phase(&run("Unknown", "Running", json!([]))), Phase::Running { .. }));
        let ok = run(
            "True",
            "Succeeded",
            json!([{"name": "IMAGE_URL", "value": "q/x:1"}, {"name": "IMAGE_DIGEST", "value": "sha256:1"}]),
        );
        assert_eq!(phase(&ok), Phase::Succeeded { image: "q/x:1".into(), digest: "sha256:1".into() });
        assert_eq!(
            phase(&run("True", "Completed", json!([]))),
            Phase::NoResults { missing: "IMAGE_URL".into() }
        );
        let timeout = phase(&run("False", "PipelineRunTimeout", json!([])));
        assert_eq!(timeout, Phase::TimedOut { message: "m".into() });
        let error = timeout.error("x").expect("an error");
        assert_eq!(error.kind(), ErrorKind::Timeout);
        assert!(!error.is_retryable());
        assert!(error.to_string().contains("PipelineRunTimeout"));
        assert_eq!(phase(&run("False", "Cancelled", json!([]))), Phase::Cancelled { message: "m".into() });
        assert_eq!(
            phase(&run("False", "CouldntGetPipeline", json!([]))),
            Phase::Failed { reason: "CouldntGetPipeline".into(), message: "m".into() }
        );
    }

    #[test]
    fn the_failed_step_is_found() {
        let ok = json!({"metadata": {"name": "a"}, "status": {"conditions": [{"type": "Succeeded", "status": "True"}], "podName": "p0"}});
        let bad = json!({"metadata": {"name": "b", "labels": {"tekton.dev/pipelineTask": "build-container"}},
            "status": {"conditions": [{"type": "Succeeded", "status": "False"}], "podName": "p1",
                       "steps": [{"container": "step-prepare", "terminated": {"exitCode": 0}},
                                 {"container": "step-build", "terminated": {"exitCode": 1}}]}});
        assert_eq!(
            failed_step(&[ok, bad]),
            Some(("build-container".into(), "p1".into(), Some("step-build".into())))
        );
    }
}

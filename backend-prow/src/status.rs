//! A Prow job's state (ProwJob `status.state`, or Gangway's `job_status`) in okd-build's terms.

use okd_core::{Error, ErrorKind};
use serde_json::Value;

/// Where a job is (prow `pkg/apis/prowjobs/v1/types.go` `ProwJobState`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    /// Created, not yet given to plank (`scheduling`, `triggered`).
    Queued,
    /// Its pod exists (`pending`).
    Running,
    Success,
    Failure,
    Aborted,
    Error,
    /// A state this version does not know.
    Unknown(String),
}

impl JobState {
    /// From a ProwJob's `status.state`.
    pub fn of_prowjob(job: &Value) -> JobState {
        Self::parse(job["status"]["state"].as_str().unwrap_or_default())
    }

    /// From a ProwJob state or a Gangway `JobExecutionStatus` (`TRIGGERED`, `SUCCESS`, ...).
    pub fn parse(text: &str) -> JobState {
        match text.to_ascii_lowercase().as_str() {
            "" | "scheduling" | "triggered" | "job_execution_status_unspecified" => JobState::Queued,
            "pending" => JobState::Running,
            "success" => JobState::Success,
            "failure" => JobState::Failure,
            "aborted" => JobState::Aborted,
            "error" => JobState::Error,
            other => JobState::Unknown(other.to_owned()),
        }
    }

    /// Whether the job has ended (Prow's terminal states).
    pub fn is_terminal(&self) -> bool {
        matches!(self, JobState::Success | JobState::Failure | JobState::Aborted | JobState::Error)
    }

    /// The error of a job that ended without success; `None` for success and unfinished jobs.
    pub fn error(&self, job: &str, description: &str, url: &str) -> Option<Error> {
        let (kind, what) = match self {
            JobState::Failure => (ErrorKind::BuildFailed, "failed"),
            JobState::Aborted => (ErrorKind::BuildFailed, "was aborted"),
            JobState::Error => (ErrorKind::BuildFailed, "ended in error (a config or pod problem)"),
            _ => return None,
        };
        let said = if description.is_empty() { String::new() } else { format!(": {description}") };
        let error = Error::new(kind, format!("Prow job {job} {what}{said}"));
        Some(if url.is_empty() { error } else { error.with_help(format!("its logs: {url}")) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn states_of_prowjobs_and_gangway() {
        assert_eq!(JobState::of_prowjob(&json!({"status": {"state": "pending"}})), JobState::Running);
        assert_eq!(JobState::parse("TRIGGERED"), JobState::Queued);
        assert_eq!(JobState::parse("SUCCESS"), JobState::Success);
        assert!(JobState::parse("aborted").is_terminal());
        assert!(!JobState::parse("scheduling").is_terminal());
        let err = JobState::Failure.error("branch-ci-x", "Job failed.", "https://prow/view/1").unwrap();
        assert_eq!(err.kind(), ErrorKind::BuildFailed);
        assert!(err.to_string().contains("branch-ci-x failed: Job failed."), "{err}");
        assert!(JobState::Success.error("j", "", "").is_none());
    }
}

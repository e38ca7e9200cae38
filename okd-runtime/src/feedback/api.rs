//! The GitHub calls feedback makes, as a trait: the octocrab client implements it
//! (`github.rs`), unit tests mock it. What a failed call says is kept as [`ApiFailure`], whose
//! status and rate-limit headers are all the retry policy decides on.

use std::{fmt, time::Duration};

use async_trait::async_trait;
use serde::Serialize;

/// A GitHub repository, `owner/repo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Repo {
    /// The user or organisation.
    pub owner: String,
    /// The repository.
    pub name: String,
}

impl Repo {
    /// `OWNER/REPO`, each a GitHub name (letters, digits, `-`, `_`, `.`).
    pub fn parse(text: &str) -> Option<Repo> {
        let (owner, name) = text.split_once('/')?;
        Repo::new(owner, name)
    }

    /// A repository from its two names, when both are GitHub names; they go into URL paths
    /// unescaped, so anything else is refused.
    pub fn new(owner: &str, name: &str) -> Option<Repo> {
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        (ok(owner) && ok(name)).then(|| Repo { owner: owner.to_owned(), name: name.to_owned() })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// A commit status's state, as GitHub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusState {
    /// Building.
    Pending,
    /// Built or reused.
    Success,
    /// The build failed.
    Failure,
    /// Not built: cancelled, or skipped because a parent failed.
    Error,
}

impl StatusState {
    /// The name GitHub uses.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusState::Pending => "pending",
            StatusState::Success => "success",
            StatusState::Failure => "failure",
            StatusState::Error => "error",
        }
    }
}

/// The body of `POST /repos/{owner}/{repo}/statuses/{sha}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommitStatus {
    /// The state.
    pub state: StatusState,
    /// Where the build can be followed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<String>,
    /// One line, at most [`DESCRIPTION_LIMIT`] characters.
    pub description: String,
    /// `okd-build/<backend>/<component>` unless configured otherwise.
    pub context: String,
}

/// GitHub refuses a status whose description is longer (422).
pub const DESCRIPTION_LIMIT: usize = 140;

/// An issue as the release issue's logic needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Its number in the repository.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// Its body (Markdown).
    pub body: String,
    /// Its page.
    pub html_url: String,
    /// Whether it is a pull request (the issues API lists those too).
    pub pull_request: bool,
}

/// The body of `POST /repos/{owner}/{repo}/issues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}

/// The body of `PATCH /repos/{owner}/{repo}/issues/{number}`: only what is set changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IssueUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// `closed` or `open`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `completed` when closing because the release builds again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
}

/// Why a call did not succeed, with what GitHub said about its rate limits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiFailure {
    /// The HTTP status; `None` when no answer came (connection refused, timed out).
    pub status: Option<u16>,
    /// GitHub's `message`, or what went wrong on the way. Never holds the token: GitHub does not
    /// echo it, and transport errors name the URL, not the headers.
    pub message: String,
    /// `Retry-After`, in seconds.
    pub retry_after: Option<Duration>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-reset`: when the limit resets, in seconds since the Unix epoch.
    pub reset: Option<u64>,
}

impl ApiFailure {
    /// A failure with no answer.
    pub fn transport(message: impl Into<String>) -> Self {
        ApiFailure { message: message.into(), ..ApiFailure::default() }
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "GitHub answered {status}: {}", self.message),
            None => write!(f, "GitHub did not answer: {}", self.message),
        }
    }
}

/// The GitHub calls feedback makes.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait GitHubApi: Send + Sync {
    /// Creates a commit status.
    async fn create_status(&self, repo: &Repo, sha: &str, status: &CommitStatus) -> Result<(), ApiFailure>;

    /// One page (1-based, 100 a page) of the repository's open issues, only those with `label`
    /// unless it is empty, newest first.
    async fn open_issues(&self, repo: &Repo, label: &str, page: u32) -> Result<Vec<Issue>, ApiFailure>;

    /// Opens an issue.
    async fn create_issue(&self, repo: &Repo, issue: &NewIssue) -> Result<Issue, ApiFailure>;

    /// Changes an issue.
    async fn update_issue(&self, repo: &Repo, number: u64, update: &IssueUpdate) -> Result<(), ApiFailure>;

    /// Comments on an issue.
    async fn comment(&self, repo: &Repo, number: u64, body: &str) -> Result<(), ApiFailure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_are_github_names() {
        assert_eq!(Repo::parse("okd-project/okd").map(|r| r.to_string()).as_deref(), Some("okd-project/okd"));
        for bad in ["okd", "/okd", "okd/", "a/b/c", "a b/c", "../x", "a/.."] {
            assert_eq!(Repo::parse(bad), None, "{bad}");
        }
    }
}

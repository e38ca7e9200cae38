//! Where `okd build` (and `okd watch`) report results besides the terminal.

use clap::Args;

/// Feedback to developers: commit statuses and a release issue on GitHub.
#[derive(Debug, Args, Clone, Default)]
pub struct FeedbackArgs {
    /// Also report to: `github` (a commit status per component on its source commit) or
    /// `github-issue=OWNER/REPO` (one issue per release listing failed components). Repeatable.
    #[arg(long = "report", value_name = "TARGET")]
    pub report: Vec<String>,
}

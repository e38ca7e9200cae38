//! Where `okd build` (and `okd watch`) report results besides the terminal.

use clap::Args;
use okd_core::{Result, plan::Plan};
use okd_runtime::feedback::{FeedbackOptions, FeedbackReporter, FeedbackTarget};

/// Feedback to developers: commit statuses and a release issue on GitHub.
#[derive(Debug, Args, Clone, Default)]
pub struct FeedbackArgs {
    /// Also report to: `github` (a commit status per component on its source commit: pending,
    /// then success, failure or error) or `github-issue=OWNER/REPO` (one issue per release and
    /// version listing failed components, closed by the next green run). Repeatable. Needs
    /// GITHUB_TOKEN (or `gh auth login`); GITHUB_API_URL points at GitHub Enterprise.
    #[arg(long = "report", value_name = "TARGET")]
    pub report: Vec<String>,
    /// The commit status context; {backend}, {component} and {release} are replaced.
    #[arg(
        long = "github-context",
        value_name = "TEMPLATE",
        requires = "report",
        default_value = okd_runtime::feedback::DEFAULT_CONTEXT
    )]
    pub github_context: String,
}

impl FeedbackArgs {
    /// The targets `--report` names: an input error (exit 2) naming the valid values for
    /// anything else. Cheap: check it before reading sources.
    pub fn targets(&self) -> Result<Vec<FeedbackTarget>> {
        FeedbackTarget::parse_all(&self.report)
    }

    /// The reporter for `plan` built on `backend`, connected to GitHub as the environment says;
    /// `None` without `--report`. Fails when no token can be found, before anything is built.
    pub async fn reporter(&self, plan: &Plan, backend: &str) -> Result<Option<FeedbackReporter>> {
        let targets = self.targets()?;
        if targets.is_empty() {
            return Ok(None);
        }
        let context = Some(self.github_context.as_str()).filter(|c| !c.is_empty());
        let options = FeedbackOptions::new(context)?;
        FeedbackReporter::connect(&targets, plan, backend, options).await
    }
}

//! `okd watch`: continuous builds of one release.

use clap::Args;

use super::{BackendArgs, FeedbackArgs, ReleaseArgs};

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Do one cycle and exit (for a cron job or a CronWorkflow).
    #[arg(long)]
    pub once: bool,
    #[command(flatten)]
    pub feedback: FeedbackArgs,
}

//! `okd watch`: continuous builds of one release.

use std::{path::PathBuf, time::Duration};

use clap::Args;

use super::{BackendArgs, FeedbackArgs, ListOutput, ReleaseArgs};

// No doc comment here: clap would take it as the command's about, which `Command::Watch` gives.
#[derive(Debug, Args)]
#[command(after_help = "Each cycle asks every git source's remote where its ref points \
(git ls-remote, a few repositories at once) and fetches only when something moved, plans, and \
builds through the backend with --push: components whose fingerprint was built before are \
reused, so only what changed and what builds on it is rebuilt. After a green run that built \
something new, the payload is assembled and pushed (as `okd payload assemble`). A cycle in which \
nothing changed builds nothing and pushes nothing.

One watcher per release and backend (a file lock under the state folder, released when the \
process ends, even when it is killed). What the watcher needs across restarts is in the run store; a restarted watcher reuses what the last \
one finished. After failed cycles the wait doubles, up to an hour. Ctrl-C or SIGTERM cancels \
the running build and exits with 130 or 143. docs/watch.md has the whole story.

Examples:
  okd watch release.yaml --backend local --interval 10m
  okd watch release.yaml --backend local --once --output json     # from cron or a CronWorkflow
  OKD_WEBHOOK_SECRET=... okd watch release.yaml --backend konflux --listen 0.0.0.0:8080
  okd watch release.yaml --backend local --to quay.io/me/okd-release:nightly")]
pub struct WatchArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Time between cycles: 30s, 5m, 1h, 1h30m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_interval)]
    pub interval: Duration,
    /// Do one cycle and exit with the build's code: 0 green, 1 failed (for a cron job or a
    /// CronWorkflow).
    #[arg(long)]
    pub once: bool,
    /// Also start a cycle on each GitHub push webhook received here (e.g. 127.0.0.1:8080). Needs
    /// the webhook's secret.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// The file holding the secret set on the GitHub webhook (default: the OKD_WEBHOOK_SECRET
    /// variable). Trailing whitespace is not part of it.
    #[arg(long, value_name = "FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Where to push the payload (default: <registry>/<repository>-release:<version>).
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
    /// Speak plain HTTP to this registry (host:port); loopback registries always are. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// At most N builds at once (default: the backend's).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// `table`: one line per cycle; `json`: one object per cycle, one per line.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
    #[command(flatten)]
    pub feedback: FeedbackArgs,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    okd_runtime::watch::parse_interval(text)
}

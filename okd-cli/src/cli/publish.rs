//! `okd payload publish`: a release stream from assembled payloads.

use std::path::PathBuf;

use clap::Args;

use super::{BackendArgs, ListOutput, ReleaseArgs};

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The repository the stream's release images go to, without a tag (e.g.
    /// quay.io/okd/scos-release).
    #[arg(long, value_name = "REPO")]
    pub to: String,
    /// The stream (default the release's name): payloads are named
    /// <X.Y>.0-0.<STREAM>-<UTC YYYY-MM-DD-HHMMSS>.
    #[arg(long, value_name = "NAME")]
    pub stream: Option<String>,
    /// Write the release-controller config and the mirroring mapping under DIR, laid out as in
    /// openshift/release (DIR/core-services/...).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the mirroring mapping copies each component: <PREFIX><tag>:<X.Y> (default
    /// <registry>/<namespace of --to>/origin-).
    #[arg(long, value_name = "PREFIX")]
    pub mirror_prefix: Option<String>,
    /// A release this one upgrades from (release-metadata `previous`). Repeatable.
    #[arg(long, value_name = "VERSION")]
    pub previous: Vec<String>,
    /// Speak plain HTTP to this registry (host:port); loopback registries always are. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

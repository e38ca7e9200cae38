//! `okd payload publish`: a release stream from assembled payloads.

use clap::Args;

use super::{BackendArgs, ListOutput, ReleaseArgs};

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The repository the stream's release images are pushed to (e.g. quay.io/okd/scos-release).
    #[arg(long, value_name = "REPO")]
    pub to: String,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

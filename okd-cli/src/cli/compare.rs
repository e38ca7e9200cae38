//! `okd compare`: the build approaches side by side on one release, and releases from different
//! sources of truth against each other.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::{ReleaseArgs, parse_pair};

/// Report formats of `okd compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareOutput {
    /// For the terminal: fits 100 columns, long lists summarised.
    Table,
    /// The whole comparison (schema in docs/compare.md).
    Json,
    /// For a pull request comment or an issue.
    Markdown,
    /// One self-contained page: tables, bar charts and run timelines (no network needed).
    Html,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CompareArgs {
    #[command(subcommand)]
    pub command: Option<CompareCommand>,
    // The release flags of `ReleaseArgs`, spelled out: a flattened `Option<ReleaseArgs>` counts
    // as given when OKD_CACHE_DIR is set, and then demands RELEASE from `okd compare sources`.
    /// The release manifest (YAML); `-` reads it from standard input.
    #[arg(value_name = "RELEASE")]
    pub release: Option<PathBuf>,
    /// Apply this variant instead of the manifest's `variant`.
    #[arg(long)]
    pub variant: Option<String>,
    /// Read only path sources and git sources already in the cache; for the rest use the
    /// manifest's explicit `from`/`last_from`.
    #[arg(long)]
    pub offline: bool,
    /// Git cache folder (default: $XDG_CACHE_HOME/okd/git).
    #[arg(long, env = "OKD_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Fail on FROM references that no rule resolves (rule `external`).
    #[arg(long)]
    pub strict: bool,
    /// `all`, or a comma-separated list of backends (see `okd backends`).
    #[arg(long, default_value = "all", value_name = "all|NAME,...")]
    pub backends: String,
    /// Also compare runs from the run store: `latest` (each backend's newest run of this
    /// release), or comma-separated run ids (`okd runs` lists them).
    #[arg(long, value_name = "latest|RUN,...")]
    pub runs: Option<String>,
    /// The parallelism the runs' bound max(critical path, work / jobs) assumes (default: the
    /// number of CPUs, as `okd build`).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Also compare the release with this manifest (another source of truth). Repeatable.
    #[arg(long = "sources", value_name = "MANIFEST")]
    pub sources: Vec<PathBuf>,
    /// A backend setting as BACKEND.KEY=VALUE, e.g. prow.variant=okd (docs/configuration.md).
    /// Repeatable.
    #[arg(long = "set", value_name = "BACKEND.KEY=VALUE", value_parser = parse_pair)]
    pub settings: Vec<(String, String)>,
    /// State folder whose run store `--runs` reads, as for `okd build`.
    #[arg(long, value_name = "DIR", env = "OKD_STATE_DIR")]
    pub state: Option<PathBuf>,
    /// Report format.
    #[arg(long, short, value_enum, default_value_t = CompareOutput::Table)]
    pub output: CompareOutput,
}

impl CompareArgs {
    /// The release flags as every release command takes them; `None` without a RELEASE.
    pub fn release_args(&self) -> Option<ReleaseArgs> {
        Some(ReleaseArgs {
            release: self.release.clone()?,
            variant: self.variant.clone(),
            offline: self.offline,
            cache_dir: self.cache_dir.clone(),
            strict: self.strict,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum CompareCommand {
    /// Compare releases from different sources of truth: components in one and not another, and
    /// for the rest Dockerfile, context, build args, git ref and FROM targets. Exit 0 when they
    /// agree, 1 when they differ (like diff).
    #[command(after_help = "Each argument is a release manifest; import the others first.\n\n\
Examples:\n  okd import ocp-build-data ocp-build-data/ --variant okd -O obd.yaml\n  \
okd import ci-operator ci-operator/config/openshift -O ci.yaml\n  \
okd compare sources obd.yaml ci.yaml --offline\n  \
okd compare sources obd.yaml ci.yaml pp.yaml --offline --output markdown > differences.md")]
    Sources(CompareSourcesArgs),
}

#[derive(Debug, Args)]
pub struct CompareSourcesArgs {
    /// Two or more release manifests.
    #[arg(required = true, num_args = 2.., value_name = "MANIFEST")]
    pub manifests: Vec<PathBuf>,
    /// Read only path sources and git sources already in the cache; compare the rest by what
    /// their manifests declare.
    #[arg(long)]
    pub offline: bool,
    /// Git cache folder (default: $XDG_CACHE_HOME/okd/git).
    #[arg(long, env = "OKD_CACHE_DIR", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Report format.
    #[arg(long, short, value_enum, default_value_t = CompareOutput::Table)]
    pub output: CompareOutput,
}

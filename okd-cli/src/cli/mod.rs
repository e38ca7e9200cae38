//! The command line, as clap derive types. Help texts teach: each command says what it does,
//! what it reads and writes, and shows an example.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod compare;
mod feedback;
mod import;
mod payload;
mod publish;
mod watch;

pub use compare::{CompareArgs, CompareCommand, CompareOutput, CompareSourcesArgs};
pub use feedback::FeedbackArgs;
pub use import::{ImportCommand, ReleaseImageArgs};
pub use payload::{AssembleArgs, PayloadCommand, PayloadDiffArgs, PayloadInfoArgs};
pub use publish::PublishArgs;
pub use watch::WatchArgs;

/// Describe an OKD release once, then plan and build it through any build system.
#[derive(Debug, Parser)]
#[command(
    name = "okd",
    version,
    about,
    long_about = "okd-build: describe an OKD release once in a YAML manifest, see what every FROM line \
becomes and why, in what order components build, and build it through Prow, Konflux, \
okd-payload-pipeline or a local Podman/Docker engine.",
    after_help = "Examples:\n  okd validate examples/okd-mini/release.yaml\n  okd plan examples/okd-mini/release.yaml\n  \
okd plan examples/okd-mini/release.yaml --output json | jq '.components[].name'\n  \
okd graph examples/okd-mini/release.yaml --format dot | dot -Tsvg > graph.svg\n  okd backends\n\n\
Exit codes: 0 success, 1 a build failed, 2 invalid input or usage, 3 a backend or service is unreachable."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More log output on stderr (-v info, -vv debug, -vvv trace). OKD_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a release manifest, its sources and every Dockerfile; print nothing but a summary.
    #[command(
        after_help = "Examples:\n  okd validate release.yaml\n  okd validate release.yaml --strict --offline"
    )]
    Validate(ValidateArgs),
    /// Show, for every component, what each FROM becomes and why, the build order and fingerprints.
    #[command(
        after_help = "Each FROM and --from is decided by the first rule that applies: stage, scratch, \
positional (`from`), last-from (`last_from`), replace, stream-alias, else external (unchanged).\n\n\
Examples:\n  okd plan release.yaml\n  okd plan release.yaml --output json > plan.json\n  \
okd plan release.yaml --compare plan.json    # what has to be rebuilt since then\n  \
okd plan release.yaml --backend konflux"
    )]
    Plan(PlanArgs),
    /// Print the build graph (member references) as Graphviz DOT or JSON.
    #[command(
        after_help = "Examples:\n  okd graph release.yaml --format dot | dot -Tsvg > graph.svg\n  okd graph release.yaml --format json"
    )]
    Graph(GraphArgs),
    /// Write, per component, the source tree Doozer would hand to a build system: the build context
    /// at the resolved commit, FROM lines rewritten, Doozer's ENV and LABEL lines added.
    #[command(after_help = "Each tree gets `/Dockerfile` (the chosen Dockerfile, rewritten) and \
`.okd-build/generated.json` (the inputs and the fingerprint). Nothing is written unless every \
component checks out; each tree is written to a temporary folder and renamed into place.\n\n\
Examples:\n  okd generate release.yaml --out generated/\n  \
okd generate release.yaml --component cli --pin base=quay.io/okd/base@sha256:... --out generated/")]
    Generate(GenerateArgs),
    /// Build the release through a backend: parents first, only what changed, logs kept.
    #[command(
        after_help = "Components whose fingerprint was built before, and whose image still exists, are \
reused, not rebuilt (--force rebuilds). A failed component skips its dependents; the rest still build. \
Each component's log is kept under the state folder; Ctrl-C cancels cleanly.\n\n\
Examples:\n  okd build examples/okd-mini/release.yaml --backend local\n  \
okd build release.yaml --backend local --only cli --force\n  \
okd build release.yaml --backend local --output json | jq -c 'select(.event == \"failed\")'\n  \
okd build release.yaml --backend konflux --report github --set log_url=https://konflux.example.com/ns/{namespace}/pipelineruns/{name}\n\n\
--report github posts a commit status per component on its source commit (pending, then success, failure \
or error; context okd-build/<backend>/<component>, --github-context to change it; linked to the build \
through the backend's log_url setting or the ProwJob page). --report github-issue=OWNER/REPO keeps one \
issue per release and version open while it fails. Needs GITHUB_TOKEN or `gh auth login`; GITHUB_API_URL \
for GitHub Enterprise. A status that cannot be posted never fails the build (docs/feedback.md)."
    )]
    Build(BuildArgs),
    /// Keep a release building: rebuild what changed upstream, report to GitHub, publish the
    /// payload after every green run.
    Watch(Box<WatchArgs>),
    /// Write the configuration a backend needs (CI configs, PipelineRuns, tenant objects, OKD
    /// Dockerfiles), as it would land: OUT/<org>/<repo>/<path>.
    #[command(after_help = "Files a backend keeps outside component repositories (its own config \
repository, a tenant namespace) go under OUT/_/ or the folder the backend names. Nothing is written \
unless the whole render succeeds.\n\nExamples:\n  \
okd render examples/okd-mini/release.yaml --backend konflux --out rendered/\n  \
okd render release.yaml --backend local --out rewritten/   # the rewritten Dockerfiles")]
    Render(RenderArgs),
    /// Show a run's state and per-component results, from any process.
    #[command(after_help = "The run id is printed when `okd build` starts (`run <id>`), and is the same \
for every build of the same release with the same inputs.\n\nExamples:\n  \
okd status okd-mini-local-a67e5ed5767c --backend local\n  okd status RUN --backend local --output json")]
    Status(RunArgs),
    /// List the runs recorded in the state folder, newest first.
    #[command(
        after_help = "Examples:\n  okd runs\n  okd runs examples/okd-mini/release.yaml --backend local\n  \
okd runs --output json | jq -r '.[0].run'"
    )]
    Runs(RunsArgs),
    /// Cancel a run, also one started by another `okd build` process, and wait for it to stop.
    #[command(after_help = "Running builds are stopped and the rest are not started; the run ends \
as cancelled. Podman finishes a RUN step that is already running before the build stops.\n\n\
Example:\n  okd cancel okd-mini-local-a67e5ed5767c --backend local")]
    Cancel(RunArgs),
    /// Assemble a release image (payload) from built images, read one back, compare two.
    #[command(subcommand)]
    Payload(PayloadCommand),
    /// List the build backends and what each approach can do and costs.
    Backends(BackendsArgs),
    /// Compare the build approaches on one release: configuration cost, how each replaces FROM
    /// lines, triggers and feedback, and recorded runs.
    #[command(
        after_help = "Every number comes from what okd-build generates or ran: the files each backend's render writes, the verdict its render reaches on each FROM and --from, and the runs in the run store. A backend that cannot plan the release gets a column saying why.

Examples:
  okd compare examples/okd-mini/release.yaml
  okd compare release.yaml --backends prow,konflux,payload-pipeline --output markdown
  okd compare release.yaml --runs latest --output html > compare.html
  okd compare release.yaml --output json | jq '.backends[] | {name, forks: .cost.forks}'
  okd compare sources obd.yaml ci.yaml --offline"
    )]
    Compare(Box<CompareArgs>),
    /// Import release metadata from elsewhere into a release manifest.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Tools on single Dockerfiles: list FROM references, rewrite them.
    #[command(subcommand)]
    Dockerfile(DockerfileCommand),
    /// Print okd's version, the commit it was built from and the backends it knows.
    #[command(after_help = "Example:\n  okd version --output json")]
    Version {
        /// `table` or `json`.
        #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
    /// Print a shell completion script.
    #[command(after_help = "Example:\n  okd completions bash > /etc/bash_completion.d/okd")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Where the release is and how to read it.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The release manifest (YAML); `-` reads it from standard input.
    pub release: PathBuf,
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
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// `table`: the summary line and warnings; `json`: the same as one object.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Also ask this backend for the configuration it would need (see `okd backends`).
    #[arg(long, short)]
    pub backend: Option<String>,
    #[command(flatten)]
    pub settings: BackendSettingsArgs,
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    /// A plan saved earlier with `--output json`: mark what has to be rebuilt since then.
    #[arg(long, value_name = "PLAN_JSON")]
    pub compare: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output folder; one subfolder per component.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Generate only this component. Repeatable.
    #[arg(long = "component", value_name = "NAME")]
    pub components: Vec<String>,
    /// MEMBER=IMAGE: use this exact image (e.g. a digest) for a member parent. Repeatable.
    #[arg(long = "pin", value_name = "MEMBER=IMAGE", value_parser = parse_pair)]
    pub pins: Vec<(String, String)>,
    /// The run's time (RFC 3339), which goes into release strings; default now. Fix it to
    /// generate byte-identical trees again.
    #[arg(long, value_name = "TIME")]
    pub timestamp: Option<String>,
    /// The assembly named in release strings.
    #[arg(long, default_value = "stream")]
    pub assembly: String,
    /// Generate into a non-empty --out (each component's folder is replaced).
    #[arg(long)]
    pub force: bool,
    /// `table`: one line per component; `json`: the generated folders as a list.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// At most N builds at once (default: the number of CPUs).
    #[arg(long, short)]
    pub jobs: Option<usize>,
    /// Build only this component (its parents must exist). Repeatable.
    #[arg(long = "only", value_name = "NAME")]
    pub only: Vec<String>,
    /// Rebuild even what was built before with the same fingerprint.
    #[arg(long)]
    pub force: bool,
    /// Push every image to the release's output registry.
    #[arg(long)]
    pub push: bool,
    /// `table` prints progress lines and a summary; `json` prints one event per line.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
    #[command(flatten)]
    pub feedback: FeedbackArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output format (`--format` and `-f` are its older spellings).
    #[arg(long = "output", short = 'o', alias = "format", short_alias = 'f', value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
}

/// What `okd import` prints on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportOutput {
    Yaml,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct BackendsArgs {
    /// Output format.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Subcommand)]
pub enum DockerfileCommand {
    /// List every FROM, COPY/ADD --from and RUN --mount from= with its expansion and target.
    #[command(
        after_help = "Example:\n  okd dockerfile froms Dockerfile --build-arg BASE_IMAGE=quay.io/centos/centos:stream9"
    )]
    Froms {
        /// The Dockerfile.
        file: PathBuf,
        /// A build arg, as with `podman build --build-arg`.
        #[arg(long = "build-arg", value_name = "K=V", value_parser = parse_pair)]
        build_args: Vec<(String, String)>,
        /// Output format.
        #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
        output: ListOutput,
    },
    /// Replace FROM and --from images by exact text (after ARG expansion); every other byte stays.
    #[command(
        after_help = "Example:\n  okd dockerfile rewrite Dockerfile \\\n    --replace registry.ci.openshift.org/ocp/4.17:base-rhel9=quay.io/okd/scos-base:4.17"
    )]
    Rewrite {
        /// The Dockerfile.
        file: PathBuf,
        /// OLD=NEW: references whose text is OLD become NEW. Repeatable.
        #[arg(long, value_name = "OLD=NEW", value_parser = parse_pair, required = true)]
        replace: Vec<(String, String)>,
        /// A build arg used to expand ARGs in FROM lines.
        #[arg(long = "build-arg", value_name = "K=V", value_parser = parse_pair)]
        build_args: Vec<(String, String)>,
        /// Write the result back to FILE (atomically) instead of printing it.
        #[arg(long)]
        in_place: bool,
    },
}

pub(crate) fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("'{s}' is not KEY=VALUE")),
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The run id.
    pub run: String,
    #[command(flatten)]
    pub backend: BackendArgs,
    /// `table` or `json` (status only).
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Replace OUT if it exists and is not empty.
    #[arg(long)]
    pub force: bool,
    /// `table` lists the files; `json` prints the summary.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

/// Which backend, and its settings. Every command that talks to a backend takes these.
#[derive(Debug, Args, Clone)]
pub struct BackendArgs {
    /// The backend (see `okd backends`).
    #[arg(long, short)]
    pub backend: String,
    #[command(flatten)]
    pub settings: BackendSettingsArgs,
}

/// A backend's settings on the command line, over its settings file and `OKD_<BACKEND>__<KEY>`
/// variables (docs/configuration.md), and where runs are recorded.
#[derive(Debug, Args, Clone, Default)]
pub struct BackendSettingsArgs {
    /// kubeconfig context of a cluster backend (default: the current context).
    #[arg(long, value_name = "CTX")]
    pub context: Option<String>,
    /// Namespace of a cluster backend (default: the context's namespace).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,
    /// kubeconfig file of a cluster backend (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Container engine of the local backend: unix:///path/to.sock or tcp://host:port (default:
    /// CONTAINER_HOST, DOCKER_HOST, the usual sockets, else a private `podman system service`).
    /// The same as `--set host=URL`.
    #[arg(long, value_name = "URL")]
    pub engine: Option<String>,
    /// Any backend setting, e.g. git_remote=URL or pipeline_bundle=REF (docs/configuration.md;
    /// unknown keys are refused, an empty value unsets). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub settings: Vec<(String, String)>,
    /// State folder: runs, build history and logs of every backend (default: $XDG_STATE_HOME/okd).
    #[arg(long, value_name = "DIR", env = "OKD_STATE_DIR")]
    pub state: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Only runs of this release manifest (its name and version).
    pub release: Option<PathBuf>,
    /// Only this backend's runs.
    #[arg(long, short)]
    pub backend: Option<String>,
    /// At most this many, newest first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// State folder, as for `okd build`.
    #[arg(long, value_name = "DIR", env = "OKD_STATE_DIR")]
    pub state: Option<PathBuf>,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

/// Exit codes, as documented in `okd --help`.
pub mod exit {
    /// A build failed.
    pub const BUILD_FAILED: u8 = 1;
    /// Invalid input or usage.
    pub const INVALID: u8 = 2;
    /// A backend or service is unreachable.
    pub const UNAVAILABLE: u8 = 3;
    /// Stopped by Ctrl-C, as shells report SIGINT.
    pub const INTERRUPTED: u8 = 130;
    /// Stopped by SIGTERM (`okd watch`), as shells report it.
    pub const TERMINATED: u8 = 143;
}

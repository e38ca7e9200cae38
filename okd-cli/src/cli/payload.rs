//! `okd payload`: assemble a release image, read one back, compare two, publish a stream.

use clap::{Args, Subcommand};

use super::{BackendArgs, ListOutput, PublishArgs, ReleaseArgs, parse_pair};

#[derive(Debug, Subcommand)]
pub enum PayloadCommand {
    /// Build the release image the way `oc adm release new` does and push it.
    #[command(after_help = "The release image is the cluster-version-operator image plus one layer \
holding release-manifests/: image-references (an ImageStream named after the version, one tag per \
payload component at the digest the backend built, with the io.openshift.build.* labels as \
annotations), release-metadata (cincinnati-metadata-v0), and the /manifests of every image \
labelled io.openshift.release.operator=true with their image references and 0.0.1-snapshot \
versions substituted. It reads the backend's last build of the release as it is now, so build \
with --push first.\n\n\
Examples:\n  okd build examples/okd-mini/release.yaml --backend local --push\n  \
okd payload assemble examples/okd-mini/release.yaml --backend local\n  \
okd payload assemble release.yaml --backend local --to quay.io/me/okd-release:test --previous 4.17.0-0.okd-1")]
    Assemble(Box<AssembleArgs>),
    /// List a release image's tags with their digests, commits and source repositories.
    #[command(
        after_help = "Examples:\n  okd payload info 127.0.0.1:5000/okd/okd-mini-release:4.17.0-0.okd-mini\n  \
okd payload info REF --output json | jq -r '.tags[] | [.name, .commit] | @tsv'"
    )]
    Info(PayloadInfoArgs),
    /// Compare two release images: tags added, removed, changed (other source) and rebuilt.
    #[command(after_help = "A tag whose pull spec is the same in both is unchanged. Otherwise it \
changed when both know their source (commit, or okd-build's content hash for path sources) and \
the sources differ, and was rebuilt when the source is the same: the rules of `oc adm release info A B`.\n\n\
Example:\n  okd payload diff REG/okd-release@sha256:OLD REG/okd-release@sha256:NEW")]
    Diff(PayloadDiffArgs),
    /// Push the release's payload into a release stream under the release controller's naming,
    /// and write the release-controller configuration and mirror mapping that make it a stream.
    #[command(after_help = "Assembles the release as `okd payload assemble` does (from the backend's \
latest build), names it like a release-controller nightly (<X.Y>.0-0.<stream>-<UTC timestamp>), \
pushes it to REPO under that name and under the stream's moving tag (scos-4.21 for okd-scos), and \
lists the stream's nightlies in REPO; earlier ones are kept. With --out it writes, as they would land \
in openshift/release, core-services/release-controller/_releases/release-<stream>-<X.Y>.json and \
core-services/image-mirroring/openshift/mapping_origin_<stream>-<X_Y>, so one pull request makes it \
a real stream.\n\n\
Examples:\n  okd build release.yaml --backend local --push\n  \
okd payload publish release.yaml --backend local --to quay.io/me/okd-scos-release --stream okd-scos --out ../release\n  \
okd payload publish release.yaml --backend konflux --to quay.io/okd/scos-release --output json | jq -r .image")]
    Publish(Box<PublishArgs>),
}

#[derive(Debug, Args)]
pub struct AssembleArgs {
    #[command(flatten)]
    pub backend: BackendArgs,
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// The run to assemble (`okd runs` lists them); default the backend's latest run of this
    /// release. Components the run did not build are taken from earlier builds of the same inputs.
    #[arg(long, value_name = "RUN")]
    pub run: Option<String>,
    /// Where to push the release image (default: <registry>/<repository>-release:<version>).
    #[arg(long, value_name = "REF")]
    pub to: Option<String>,
    /// A release this one upgrades from (release-metadata `previous`). Repeatable.
    #[arg(long, value_name = "VERSION")]
    pub previous: Vec<String>,
    /// Speak plain HTTP to this registry (host:port); loopback registries always are. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Start from this release image: keep its tags and replace only those this release built
    /// (as `oc adm release new --from-release`).
    #[arg(long, value_name = "REF")]
    pub from_release: Option<String>,
    /// Put this image under TAG instead (an image built elsewhere). Repeatable.
    #[arg(long, value_name = "TAG=PULLSPEC", value_parser = parse_pair)]
    pub replace: Vec<(String, String)>,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Args)]
pub struct PayloadInfoArgs {
    /// The release image, by tag or digest.
    pub image: String,
    /// For a multi-arch release (a manifest list): read this architecture's release image and
    /// each tag's image for it.
    #[arg(long, value_parser = ["amd64", "arm64", "ppc64le", "s390x"])]
    pub arch: Option<String>,
    /// Speak plain HTTP to this registry (host:port). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

#[derive(Debug, Args)]
pub struct PayloadDiffArgs {
    /// The release before.
    pub from: String,
    /// The release after.
    pub to: String,
    /// For a multi-arch release (a manifest list): read this architecture's release image and
    /// each tag's image for it.
    #[arg(long, value_parser = ["amd64", "arm64", "ppc64le", "s390x"])]
    pub arch: Option<String>,
    /// Speak plain HTTP to this registry (host:port). Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// `table` or `json`.
    #[arg(long, short, value_enum, default_value_t = ListOutput::Table)]
    pub output: ListOutput,
}

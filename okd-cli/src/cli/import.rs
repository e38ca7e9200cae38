//! `okd import`: the sources of truth okd-build reads into a release manifest.

use std::path::PathBuf;

use clap::Subcommand;

use clap::Args;

use super::{ImportOutput, parse_pair};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Read an ocp-build-data branch as Doozer does and write an okd-build release manifest.
    #[command(
        name = "ocp-build-data",
        after_help = "Group vars are substituted into every file first; the group and (with --variant okd) the \
`okd:` overlays are layered as Doozer layers them; disabled and wip images are skipped. What cannot be \
mapped is printed as a warning with its file and line.\n\nExamples:\n  \
okd import ocp-build-data ~/ocp-build-data --variant okd -O okd-4.22.yaml\n  \
okd import ocp-build-data ~/ocp-build-data --variant okd --payload-only --var GO_LATEST=1.25 -O payload.yaml\n\n\
OKD cannot pull OCP's builder images: build one per Go version the builder streams name (rhel-9-golang, \
rhel-9-golang-1.25, ...) from a template folder inside the manifest's folder, and point every component at its \
version's (docs/builders.md):\n  \
okd import ocp-build-data ~/ocp-build-data --variant okd --okd-builders examples/okd-builders -O okd-4.22.yaml\n  \
okd plan okd-4.22.yaml --offline     # ends with the Go builders: version -> builder -> components"
    )]
    OcpBuildData {
        /// A checkout of an ocp-build-data release branch (e.g. openshift-4.22).
        dir: PathBuf,
        /// `okd` applies the OKD overlays (group and image `okd:` stanzas, `okd.mode`).
        #[arg(long, value_parser = ["okd"])]
        variant: Option<String>,
        /// Override a group var, NAME=VALUE. Repeatable.
        #[arg(long = "var", value_name = "NAME=VALUE", value_parser = parse_pair)]
        vars: Vec<(String, String)>,
        /// Only payload images and the members they build on.
        #[arg(long)]
        payload_only: bool,
        /// Add one builder-golang-X-Y component per Go version the builder references name,
        /// built from this folder's Dockerfile with GO_VERSION=X.Y, and point every such
        /// reference at it. The folder must be inside the manifest's folder.
        #[arg(long, value_name = "TEMPLATE_DIR")]
        okd_builders: Option<PathBuf>,
        /// Write the manifest to FILE (atomically) instead of standard output.
        #[arg(long, short = 'O', value_name = "FILE")]
        out: Option<PathBuf>,
        /// `yaml`: the manifest (on stdout unless --out); `json`: the import report on stdout,
        /// with the manifest in it unless --out. Warnings and the summary go to stderr.
        #[arg(long, short, value_enum, default_value_t = ImportOutput::Yaml)]
        output: ImportOutput,
        /// Old spelling of `--output json`.
        #[arg(long, hide = true)]
        report_json: bool,
    },
    /// Read existing `.tekton` PipelineRuns (Pipelines-as-Code, as Konflux generates them) and
    /// write a release manifest with one component per Konflux component.
    #[command(after_help = "Each PipelineRun's git-url, revision, dockerfile, path-context, \
build-args, build-platforms and output-image become the component's source, Dockerfile, context, \
build args, arches and output. Push and pull-request PipelineRuns of one component are merged. \
What cannot be mapped is printed as a warning with its file and line.\n\nExamples:\n  \
okd import tekton ~/src/cluster-dns-operator/.tekton\n  okd import tekton ~/src -O from-tekton.yaml")]
    Tekton {
        /// A .tekton folder, a repository, or a tree of repositories.
        dir: PathBuf,
        /// Write the manifest to FILE (atomically) instead of standard output.
        #[arg(long, short = 'O', value_name = "FILE")]
        out: Option<PathBuf>,
        /// `yaml`: the manifest (on stdout unless --out); `json`: the import report on stdout,
        /// with the manifest in it unless --out. Warnings and the summary go to stderr.
        #[arg(long, short, value_enum, default_value_t = ImportOutput::Yaml)]
        output: ImportOutput,
        /// Old spelling of `--output json`.
        #[arg(long, hide = true)]
        report_json: bool,
    },
    /// Read ci-operator configs (openshift/release ci-operator/config) and write a release
    /// manifest with one component per image they build.
    #[command(
        name = "ci-operator",
        after_help = "Each PATH is a config file or a folder searched for *.yaml. A config's org, repo, \
branch and variant come from its path (<org>/<repo>/<org>-<repo>-<branch>[__<variant>].yaml), as in \
ci-operator. Every images item becomes a component built from github.com/<org>/<repo> at that branch: \
dockerfile_path, context_dir and build_args carry over; `from` becomes last_from and inputs.<tag>.as \
the component's replace map, pointing at member:<image> when the tag is built in the release (by the \
same config, or promoted by another imported config into the stream a base image names) and else at \
a stream for the base image's CI pull spec. The promotion stream (origin/scos-X.Y) gives the version \
X.Y.0 and the output. What cannot be mapped (tests, releases, resources, build_root, \
dockerfile_literal, inputs paths, ...) is printed as a warning with its file and line; a tag built by \
two configs is an error.\n\nExamples:\n  \
okd import ci-operator ~/release/ci-operator/config/openshift --variant okd-scos -O okd-scos.yaml\n  \
okd import ci-operator ~/release/ci-operator/config/openshift/oc/openshift-oc-release-4.21__okd-scos.yaml\n  \
okd import ci-operator oc/ installer/ images/ --variant okd-scos --version 4.21.0-0.okd-scos --output json\n\n\
Reproduce what a Prow job builds, on this machine:\n  \
okd import ci-operator ~/release/ci-operator/config/openshift/oc --variant okd-scos | okd build - --backend local\n\n\
Build the Go builders too (base images such as ocp/builder:rhel-9-golang-1.24-openshift-4.22 need a CI login): \
one builder-golang-X-Y per Go version, from a template folder inside the manifest's folder (docs/builders.md):\n  \
okd import ci-operator ~/release/ci-operator/config/openshift/oc --variant okd-scos --okd-builders examples/okd-builders -O oc.yaml"
    )]
    CiOperator {
        /// ci-operator config files, or folders of them.
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
        /// Keep only configs of this variant (okd-scos for ...__okd-scos.yaml).
        #[arg(long)]
        variant: Option<String>,
        /// The release name (default okd-scos).
        #[arg(long)]
        name: Option<String>,
        /// The release version (default X.Y.0 from the promotion stream scos-X.Y).
        #[arg(long)]
        version: Option<String>,
        /// The output registry (default registry.ci.openshift.org).
        #[arg(long)]
        registry: Option<String>,
        /// The output repository (default the promotion stream, e.g. origin/scos-4.21).
        #[arg(long)]
        repository: Option<String>,
        /// Clone repositories from BASE/<org>/<repo> instead of https://github.com (a mirror, or
        /// file:///srv/git to reproduce offline).
        #[arg(long, value_name = "BASE")]
        git_base: Option<String>,
        /// Add one builder-golang-X-Y component per Go version the builder base images name,
        /// built from this folder's Dockerfile with GO_VERSION=X.Y, and point every such base
        /// image at it. The folder must be inside the manifest's folder.
        #[arg(long, value_name = "TEMPLATE_DIR")]
        okd_builders: Option<PathBuf>,
        /// Write the manifest to FILE (atomically) instead of standard output.
        #[arg(long, short = 'O', value_name = "FILE")]
        out: Option<PathBuf>,
        /// `yaml`: the manifest (on stdout unless --out); `json`: the import report on stdout,
        /// with the manifest in it unless --out. Warnings and the summary go to stderr.
        #[arg(long, short, value_enum, default_value_t = ImportOutput::Yaml)]
        output: ImportOutput,
        /// Old spelling of `--output json`.
        #[arg(long, hide = true)]
        report_json: bool,
    },
    /// Read a checkout of okd-project/okd-payload-pipeline (BuildConfigs, kustomize patches,
    /// the workflow templates' batch lists) and write a release manifest.
    #[command(
        name = "payload-pipeline",
        after_help = "The BuildConfigs listed in buildconfigs/kustomization.yaml become components (named after the ImageStreamTag they output), with the kustomize patches that add source.images[].as names and TAGS applied, and with --variant the variants/<name> overlay. dockerStrategy.from becomes last_from, the as lists become replace entries, the tools ImageStream becomes streams. The hand-kept batch lists of the workflow templates are checked against the build graph: a component scheduled no later than a parent, a parent no BuildConfig outputs, a component in no batch are warnings with file and line.\n\nExamples:\n  \
okd import payload-pipeline ~/okd-payload-pipeline --variant fcos-multiarch -O okd-fcos.yaml\n  \
okd import payload-pipeline ~/okd-payload-pipeline -o json | jq .warning_counts"
    )]
    PayloadPipeline {
        /// A checkout of okd-project/okd-payload-pipeline.
        dir: PathBuf,
        /// Apply the variants/<NAME> kustomize overlay (fcos, fcos-multiarch, scos).
        #[arg(long, value_name = "NAME")]
        variant: Option<String>,
        /// The release name (default from the overlay's namespace).
        #[arg(long)]
        name: Option<String>,
        /// The release version (default X.Y.0-0.<name> from the BuildConfigs' release-X.Y refs).
        #[arg(long)]
        version: Option<String>,
        /// The output registry (default the cluster's internal registry).
        #[arg(long)]
        registry: Option<String>,
        /// The output repository (default <namespace>/release).
        #[arg(long)]
        repository: Option<String>,
        /// Write the manifest to FILE (atomically) instead of standard output.
        #[arg(long, short = 'O', value_name = "FILE")]
        out: Option<PathBuf>,
        /// `yaml`: the manifest (on stdout unless --out); `json`: the import report on stdout,
        /// with the manifest in it unless --out. Warnings and the summary go to stderr.
        #[arg(long, short, value_enum, default_value_t = ImportOutput::Yaml)]
        output: ImportOutput,
    },
    /// Read a release image (payload) and write a release manifest: one component per tag, built
    /// from the git source and commit its image's labels name.
    #[command(
        name = "release-image",
        after_help = "Reads release-manifests/image-references and release-metadata from the release \
image, then each tag's image config: io.openshift.build.source-location and io.openshift.build.commit.id \
(else vcs-url / vcs-ref, else the org.opencontainers.image.source / revision labels) give the \
component's git source at that commit; every component is a payload component. A tag whose image names \
no repository or no commit is left out with a warning. A payload holds no Dockerfile paths: \
--dockerfiles-from takes them (and the context folder) from a release manifest, an ocp-build-data \
checkout or a folder of ci-operator configs, matched by component name; without it every component \
builds ./Dockerfile. Manifest lists are read for --arch (default amd64).\n\n\
Examples:\n  okd import release-image quay.io/okd/scos-release:4.17.0-okd-scos.0 -O okd.yaml\n  \
okd import release-image 127.0.0.1:5000/okd/okd-mini-release:4.17.0-0.okd-mini --dockerfiles-from examples/okd-mini/release.yaml\n  \
okd import release-image REF --dockerfiles-from ~/ocp-build-data --variant scos --output json | jq .warnings"
    )]
    ReleaseImage(ReleaseImageArgs),
}

#[derive(Debug, Args)]
pub struct ReleaseImageArgs {
    /// The release image, by tag or digest.
    pub image: String,
    /// Write the manifest to FILE (atomically) instead of standard output.
    #[arg(long, short = 'O', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// `yaml`: the manifest (on stdout unless --out); `json`: the import report on stdout.
    #[arg(long, short, value_enum, default_value_t = ImportOutput::Yaml)]
    pub output: ImportOutput,
    /// Speak plain HTTP to this registry (host:port); loopback registries always are. Repeatable.
    #[arg(long, value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// Where the Dockerfile paths come from: a release manifest, an ocp-build-data checkout or a
    /// folder of ci-operator configs (components matched by name).
    #[arg(long, value_name = "PATH")]
    pub dockerfiles_from: Option<PathBuf>,
    /// The variant written into the manifest and applied when reading --dockerfiles-from
    /// (`scos`; for ocp-build-data `okd`; for ci-operator the config variant, e.g. `okd-scos`).
    #[arg(long)]
    pub variant: Option<String>,
    /// Read manifest lists for this architecture.
    #[arg(long, default_value = "amd64", value_parser = ["amd64", "arm64", "ppc64le", "s390x"])]
    pub arch: String,
    /// The release name (default the release image's repository name without `-release`).
    #[arg(long)]
    pub name: Option<String>,
}

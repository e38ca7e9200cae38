//! Settings of the Konflux backends (docs/configuration.md lists every backend's).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `context` | kubeconfig context | the kubeconfig's current context |
//! | `kubeconfig` | kubeconfig file | `$KUBECONFIG`, else `~/.kube/config` |
//! | `namespace` | tenant namespace | the context's namespace |
//! | `pipeline_bundle` | pipeline bundle; `{pipeline}` stands for the pipeline's name | [`DEFAULT_PIPELINE_BUNDLE`] |
//! | `git_remote` | where doozer-konflux pushes generated sources (one branch per component) | none: required to build with doozer-konflux |
//! | `git_auth_secret` | Secret bound to the `git-auth` workspace of created PipelineRuns | none: no workspace (public repositories) |
//! | `application` | the Konflux Application | the release name as a DNS label |
//! | `log_url` | the link of each component's PipelineRun in GitHub feedback, with {namespace} {name} {component} {run} {application} | none: no link |
//!
//! Nothing here connects: a backend built from these settings renders without a cluster and
//! connects on its first build, status or cancel. The state folder and git cache are the
//! runtime's (`--state`, `--cache-dir`), shared with every backend.

use okd_core::Result;
use okd_runtime::{ClusterConfig, feedback::LinkTemplate};
use serde::{Deserialize, Serialize};

/// The placeholders of `log_url`: the PipelineRun's namespace and name, the component, the
/// okd-build run and the Konflux Application.
pub const LOG_URL_NAMES: [&str; 5] = ["namespace", "name", "component", "run", "application"];

/// The pipeline bundle build-service uses when its deployment names none.
pub const DEFAULT_PIPELINE_BUNDLE: &str = "quay.io/konflux-ci/tekton-catalog/pipeline-{pipeline}:devel";

/// Which cluster and namespace, which pipeline bundle, where generated sources go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KonfluxConfig {
    /// kubeconfig, context and tenant namespace.
    #[serde(flatten)]
    pub cluster: ClusterConfig,
    /// Pipeline bundle reference (`pipeline_bundle`); `{pipeline}` is replaced by the pipeline's
    /// name (docker-build-oci-ta or docker-build-multi-platform-oci-ta).
    pub pipeline_bundle: Option<String>,
    /// Git remote that generated sources are pushed to (`git_remote`, doozer-konflux only).
    pub git_remote: Option<String>,
    /// Secret for the `git-auth` workspace of PipelineRuns okd-build creates (`git_auth_secret`).
    pub git_auth_secret: Option<String>,
    /// Konflux Application name (`application`).
    pub application: Option<String>,
    /// Link template of each component's PipelineRun (`log_url`), e.g.
    /// `https://konflux.example.com/ns/{namespace}/applications/{application}/pipelineruns/{name}`.
    pub log_url: Option<String>,
}

impl KonfluxConfig {
    /// Checks what [`settings`](Self::settings) cannot refuse (it has defaults for everything).
    pub fn check(&self) -> Result<()> {
        LinkTemplate::from_setting("log_url", self.log_url.as_deref(), &LOG_URL_NAMES).map(drop)
    }

    /// The settings these keys give (everything but the cluster connection).
    pub fn settings(&self) -> Settings {
        Settings {
            namespace: self.cluster.namespace.clone(),
            pipeline_bundle: self
                .pipeline_bundle
                .clone()
                .unwrap_or_else(|| DEFAULT_PIPELINE_BUNDLE.to_owned()),
            git_remote: self.git_remote.clone(),
            git_auth_secret: self.git_auth_secret.clone(),
            application: self.application.clone(),
            // `check` refuses a bad template before a backend is made.
            log_url: LinkTemplate::from_setting("log_url", self.log_url.as_deref(), &LOG_URL_NAMES)
                .ok()
                .flatten(),
            backoff: okd_runtime::retry::Backoff::default(),
        }
    }
}

/// What a Konflux backend needs besides a cluster connection.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The tenant namespace; when `None`, renders carry no namespace and builds use the
    /// kubeconfig context's.
    pub namespace: Option<String>,
    /// Pipeline bundle reference; `{pipeline}` is replaced by the pipeline's name.
    pub pipeline_bundle: String,
    /// Git remote for generated sources (doozer-konflux).
    pub git_remote: Option<String>,
    /// Secret for the `git-auth` workspace of created PipelineRuns.
    pub git_auth_secret: Option<String>,
    /// Konflux Application name; the release name as a DNS label when `None`.
    pub application: Option<String>,
    /// Link of each component's PipelineRun, for GitHub feedback; none when `None`.
    pub log_url: Option<LinkTemplate>,
    /// How remote calls back off.
    pub backoff: okd_runtime::retry::Backoff,
}

impl Default for Settings {
    /// No namespace, the default bundle, no git remote, the default backoff.
    fn default() -> Self {
        KonfluxConfig::default().settings()
    }
}

impl Settings {
    /// The bundle reference of `pipeline`.
    pub fn bundle(&self, pipeline: &str) -> String {
        self.pipeline_bundle.replace("{pipeline}", pipeline)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use okd_core::registry::BackendSettings;
    use okd_runtime::SettingsLayers;

    use super::*;

    #[test]
    fn unknown_keys_are_refused_and_known_ones_read() {
        let mut flags = BackendSettings::new();
        flags.insert("namespace".into(), "tenant".into());
        flags.insert("git_remote".into(), "file:///tmp/r.git".into());
        let parsed: KonfluxConfig = SettingsLayers::none().load("konflux", &flags).expect("parses");
        assert_eq!(parsed.cluster.namespace.as_deref(), Some("tenant"));
        let settings = parsed.settings();
        assert_eq!(
            settings.bundle("docker-build-oci-ta"),
            "quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel"
        );
        flags.insert("nmespace".into(), "x".into());
        let err = SettingsLayers::none().load::<KonfluxConfig>("konflux", &flags).expect_err("refused");
        assert!(err.to_string().contains("nmespace"), "{err}");
        let help = err.help().unwrap();
        for key in [
            "application",
            "context",
            "log_url",
            "git_auth_secret",
            "git_remote",
            "kubeconfig",
            "namespace",
            "pipeline_bundle",
        ] {
            assert!(help.contains(key), "{help}");
        }
    }
}

//! Settings of the Konflux backends.
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
//! | `state` | state folder shared with the local backend (builds, runs) | `$XDG_STATE_HOME/okd` |
//! | `cache` | git cache that sources were read into | the default cache |
//!
//! Nothing here connects: a backend built from these settings renders without a cluster and
//! connects on its first build, status or cancel.

use std::path::PathBuf;

use okd_core::{
    Result,
    registry::{BackendConfig, check_keys},
    source::SourceOptions,
};

/// The pipeline bundle build-service uses when its deployment names none.
pub const DEFAULT_PIPELINE_BUNDLE: &str = "quay.io/konflux-ci/tekton-catalog/pipeline-{pipeline}:devel";

const KEYS: &[&str] = &[
    "context",
    "kubeconfig",
    "namespace",
    "pipeline_bundle",
    "git_remote",
    "git_auth_secret",
    "application",
    "state",
    "cache",
];

/// Which cluster and namespace, which pipeline bundle, where generated sources go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KonfluxConfig {
    /// kubeconfig context (`context`).
    pub context: Option<String>,
    /// kubeconfig file (`kubeconfig`).
    pub kubeconfig: Option<String>,
    /// Tenant namespace (`namespace`).
    pub namespace: Option<String>,
    /// Pipeline bundle reference (`pipeline_bundle`); `{pipeline}` is replaced by the pipeline's
    /// name (docker-build-oci-ta or docker-build-multi-platform-oci-ta).
    pub pipeline_bundle: Option<String>,
    /// Git remote that generated sources are pushed to (`git_remote`, doozer-konflux only).
    pub git_remote: Option<String>,
    /// Secret for the `git-auth` workspace of PipelineRuns okd-build creates (`git_auth_secret`).
    pub git_auth_secret: Option<String>,
    /// Konflux Application name (`application`).
    pub application: Option<String>,
    /// State folder (`state`).
    pub state: Option<String>,
    /// Git cache folder (`cache`).
    pub cache: Option<String>,
}

impl KonfluxConfig {
    /// Parses and checks `config`.
    pub fn parse(backend: &str, config: &BackendConfig) -> Result<Self> {
        check_keys(backend, config, KEYS)?;
        let get = |k: &str| config.get(k).filter(|v| !v.is_empty()).cloned();
        Ok(KonfluxConfig {
            context: get("context"),
            kubeconfig: get("kubeconfig"),
            namespace: get("namespace"),
            pipeline_bundle: get("pipeline_bundle"),
            git_remote: get("git_remote"),
            git_auth_secret: get("git_auth_secret"),
            application: get("application"),
            state: get("state"),
            cache: get("cache"),
        })
    }

    /// The settings these keys give (everything but the cluster connection).
    pub fn settings(&self) -> Settings {
        Settings {
            namespace: self.namespace.clone(),
            pipeline_bundle: self
                .pipeline_bundle
                .clone()
                .unwrap_or_else(|| DEFAULT_PIPELINE_BUNDLE.to_owned()),
            git_remote: self.git_remote.clone(),
            git_auth_secret: self.git_auth_secret.clone(),
            application: self.application.clone(),
            state_dir: self
                .state
                .as_ref()
                .map_or_else(backend_local::state::StateStore::default_dir, PathBuf::from),
            cache_dir: self.cache.as_ref().map_or_else(SourceOptions::default_cache_dir, PathBuf::from),
            backoff: okd_core::retry::Backoff::default(),
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
    /// State folder (the local backend's state store lives there too).
    pub state_dir: PathBuf,
    /// Git cache that the release's sources were read into.
    pub cache_dir: PathBuf,
    /// How remote calls back off.
    pub backoff: okd_core::retry::Backoff,
}

impl Settings {
    /// Defaults with state in `state_dir`, for tests and embedding: no namespace, the default
    /// bundle, no git remote, the default backoff.
    pub fn new(state_dir: impl Into<PathBuf>) -> Self {
        Settings {
            namespace: None,
            pipeline_bundle: DEFAULT_PIPELINE_BUNDLE.to_owned(),
            git_remote: None,
            git_auth_secret: None,
            application: None,
            state_dir: state_dir.into(),
            cache_dir: SourceOptions::default_cache_dir(),
            backoff: okd_core::retry::Backoff::default(),
        }
    }

    /// The bundle reference of `pipeline`.
    pub fn bundle(&self, pipeline: &str) -> String {
        self.pipeline_bundle.replace("{pipeline}", pipeline)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused_and_known_ones_read() {
        let mut config = BackendConfig::new();
        config.insert("namespace".into(), "tenant".into());
        config.insert("git_remote".into(), "file:///tmp/r.git".into());
        let parsed = KonfluxConfig::parse("konflux", &config).expect("parses");
        assert_eq!(parsed.namespace.as_deref(), Some("tenant"));
        let settings = parsed.settings();
        assert_eq!(
            settings.bundle("docker-build-oci-ta"),
            "quay.io/konflux-ci/tekton-catalog/pipeline-docker-build-oci-ta:devel"
        );
        config.insert("nmespace".into(), "x".into());
        let err = KonfluxConfig::parse("konflux", &config).expect_err("refused");
        assert!(err.to_string().contains("nmespace"), "{err}");
    }
}

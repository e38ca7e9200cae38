//! Settings of the payload-pipeline backend (docs/configuration.md lists every backend's).
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `context`, `kubeconfig` | the cluster the Workflows and Builds run in | the kubeconfig's current context |
//! | `namespace` | their namespace | the context's namespace, else `okd` |
//! | `engine` | `buildconfig` (OpenShift Builds) or `shipwright` | `buildconfig` |
//! | `pipeline_repo` | `<org>/<repo>` of the pipeline repository `render` writes | `okd-project/okd-payload-pipeline` |
//! | `stream` | the ImageStream components are built into | `release` |
//! | `tools_stream` | the ImageStream importing external images | `tools` |
//! | `parallelism` | tasks of the DAG at once (`okd build --jobs` sets it per run) | `8` |
//! | `retries` | retries of a failed task (transient failures) | `2` |
//! | `schedule` | cron schedule of a nightly `CronWorkflow` (rendered only when set) | none |
//! | `service_account` | the Workflows' service account | `workflows` |
//! | `log_url` | the link of each component's Workflow in GitHub feedback, with {namespace} {name} {component} {run} | none: no link |
//!
//! Nothing here connects: a backend built from these settings renders offline and connects on
//! its first build, status or cancel.

use okd_core::{Error, Result};
use okd_runtime::{ClusterConfig, feedback::LinkTemplate};
use serde::{Deserialize, Serialize};

/// The placeholders of `log_url`: the Workflow's namespace and name, the component (its task)
/// and the okd-build run.
pub const LOG_URL_NAMES: [&str; 4] = ["namespace", "name", "component", "run"];

/// How a component is built inside the cluster.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildEngine {
    /// OpenShift Builds (one BuildConfig per component), as okd-payload-pipeline does today.
    #[default]
    Buildconfig,
    /// Shipwright Builds and BuildRuns.
    Shipwright,
}

/// The settings of `payload-pipeline`, as the settings layers give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgoConfig {
    /// kubeconfig, context and the namespace of the workflows and builds.
    #[serde(flatten)]
    pub cluster: ClusterConfig,
    /// `buildconfig` (the default) or `shipwright` (`engine`; the local backend's container
    /// engine is `host`, so the word is free here, and it is what the issue and users say).
    pub engine: Option<BuildEngine>,
    /// `<org>/<repo>` of the rendered pipeline repository (`pipeline_repo`).
    pub pipeline_repo: Option<String>,
    /// The release ImageStream (`stream`).
    pub stream: Option<String>,
    /// The tools ImageStream (`tools_stream`).
    pub tools_stream: Option<String>,
    /// DAG parallelism (`parallelism`).
    pub parallelism: Option<String>,
    /// Retries of a failed task (`retries`).
    pub retries: Option<String>,
    /// Nightly CronWorkflow schedule (`schedule`).
    pub schedule: Option<String>,
    /// The Workflows' service account (`service_account`).
    pub service_account: Option<String>,
    /// Link template of each component's Workflow (`log_url`), e.g. the Argo UI's
    /// `https://argo.example.com/workflows/{namespace}/{name}`.
    pub log_url: Option<String>,
}

/// What rendering and building need, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub engine: BuildEngine,
    /// Where Workflows, Builds and ImageStreams live.
    pub namespace: String,
    pub pipeline_org: String,
    pub pipeline_repo: String,
    pub stream: String,
    pub tools_stream: String,
    pub parallelism: usize,
    pub retries: usize,
    pub schedule: Option<String>,
    pub service_account: String,
    /// Link of each component's Workflow, for GitHub feedback; none when `None`.
    pub log_url: Option<LinkTemplate>,
}

impl Default for Settings {
    fn default() -> Self {
        ArgoConfig::default().settings().unwrap_or_else(|_| unreachable!("the defaults are valid"))
    }
}

/// A Kubernetes name: a DNS-1123 label.
fn dns_label(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 63
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

impl ArgoConfig {
    /// The settings these keys give, checked.
    pub fn settings(&self) -> Result<Settings> {
        let number = |key: &str, value: &Option<String>, default: usize, min: usize| -> Result<usize> {
            match value {
                None => Ok(default),
                Some(text) => text.trim().parse::<usize>().ok().filter(|n| *n >= min).ok_or_else(|| {
                    Error::invalid(format!("{key} '{text}' is not a whole number of at least {min}"))
                        .with_help(format!("e.g. --set {key}={default}"))
                }),
            }
        };
        let repo =
            self.pipeline_repo.clone().unwrap_or_else(|| "okd-project/okd-payload-pipeline".to_owned());
        let (org, name) = repo
            .split_once('/')
            .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
            .ok_or_else(|| {
                Error::invalid(format!("pipeline_repo '{repo}' is not <org>/<repo>"))
                    .with_help("e.g. --set pipeline_repo=okd-project/okd-payload-pipeline")
            })?;
        let stream = self.stream.clone().unwrap_or_else(|| "release".to_owned());
        let tools_stream = self.tools_stream.clone().unwrap_or_else(|| "tools".to_owned());
        for (key, value) in [("stream", &stream), ("tools_stream", &tools_stream)] {
            if !dns_label(value) {
                return Err(Error::invalid(format!("{key} '{value}' is not an ImageStream name"))
                    .with_help("ImageStream names are lowercase letters, digits and dashes"));
            }
        }
        if let Some(schedule) = &self.schedule
            && schedule.split_whitespace().count() != 5
        {
            return Err(Error::invalid(format!("schedule '{schedule}' is not a cron schedule"))
                .with_help("five fields, e.g. --set schedule=\"0 2 * * *\" for 02:00 every night"));
        }
        Ok(Settings {
            engine: self.engine.unwrap_or_default(),
            namespace: self.cluster.namespace.clone().unwrap_or_else(|| "okd".to_owned()),
            pipeline_org: org.to_owned(),
            pipeline_repo: name.to_owned(),
            stream,
            tools_stream,
            parallelism: number("parallelism", &self.parallelism, 8, 1)?,
            retries: number("retries", &self.retries, 2, 0)?,
            schedule: self.schedule.clone(),
            service_account: self.service_account.clone().unwrap_or_else(|| "workflows".to_owned()),
            log_url: LinkTemplate::from_setting("log_url", self.log_url.as_deref(), &LOG_URL_NAMES)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use okd_core::registry::BackendSettings;
    use okd_runtime::SettingsLayers;

    use super::*;

    #[test]
    fn defaults_aliases_and_checked_values() {
        let settings = Settings::default();
        assert_eq!(
            (settings.stream.as_str(), settings.parallelism, settings.engine),
            ("release", 8, BuildEngine::Buildconfig)
        );
        let mut flags = BackendSettings::new();
        flags.insert("engine".into(), "shipwright".into());
        flags.insert("schedule".into(), "0 2 * * *".into());
        let config: ArgoConfig = SettingsLayers::none().load("payload-pipeline", &flags).unwrap();
        let settings = config.settings().unwrap();
        assert_eq!(settings.engine, BuildEngine::Shipwright);
        assert_eq!(settings.schedule.as_deref(), Some("0 2 * * *"));
        flags.insert("parallelism".into(), "0".into());
        let config: ArgoConfig = SettingsLayers::none().load("payload-pipeline", &flags).unwrap();
        assert!(config.settings().unwrap_err().to_string().contains("parallelism '0'"));
    }
}

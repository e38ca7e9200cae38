//! Settings of the Prow backends (docs/configuration.md lists every backend's).

use okd_runtime::ClusterConfig;
use serde::{Deserialize, Serialize};

/// Where jobs are triggered and configs are written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProwConfig {
    /// kubeconfig, context and namespace of the Prow cluster, for watching ProwJobs.
    #[serde(flatten)]
    pub cluster: ClusterConfig,
    /// Gangway's base URL (`gangway_url`).
    pub gangway_url: Option<String>,
    /// A checkout of openshift/release to write ci-operator configs into (`release_repo`).
    pub release_repo: Option<String>,
}

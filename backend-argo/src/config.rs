//! Settings of the payload-pipeline backend (docs/configuration.md lists every backend's).

use okd_runtime::ClusterConfig;
use serde::{Deserialize, Serialize};

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

/// Which cluster and namespace, and which in-cluster build engine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgoConfig {
    /// kubeconfig, context and the namespace of the workflows and builds.
    #[serde(flatten)]
    pub cluster: ClusterConfig,
    /// `buildconfig` (the default) or `shipwright` (`build_engine`). Not called `engine`, which
    /// would read as the local backend's container engine.
    pub build_engine: Option<BuildEngine>,
}

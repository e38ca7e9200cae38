//! Settings of the local backend (docs/configuration.md lists them with every other backend's).

use serde::{Deserialize, Serialize};

/// Which engine to build on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The engine's API (`host`, or `okd build --engine`): `unix:///path/to.sock` or
    /// `tcp://host:port`. Else `CONTAINER_HOST`, `DOCKER_HOST`, the usual sockets, else a private
    /// `podman system service`. Named like `CONTAINER_HOST`/`DOCKER_HOST`, which say the same.
    pub host: Option<String>,
}

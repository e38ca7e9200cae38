//! Settings of the local backend (docs/configuration.md lists them with every other backend's).

use serde::{Deserialize, Serialize};

/// The placeholders of the local backend's `log_url`.
pub const LOG_URL_NAMES: [&str; 4] = ["run", "component", "release", "version"];

/// Which engine to build on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalConfig {
    /// The engine's API (`host`, or `okd build --engine`): `unix:///path/to.sock` or
    /// `tcp://host:port`. Else `CONTAINER_HOST`, `DOCKER_HOST`, the usual sockets, else a private
    /// `podman system service`. Named like `CONTAINER_HOST`/`DOCKER_HOST`, which say the same.
    pub host: Option<String>,
    /// Where each component's build log can be read from elsewhere (`log_url`), for the links of
    /// GitHub commit statuses: an http(s) URL with {run} {component} {release} {version}, e.g.
    /// a web server over the state folder's `logs/`: `https://ci.example.com/logs/{run}/{component}.log`.
    /// No link when unset: the log is a file on this machine.
    pub log_url: Option<String>,
}

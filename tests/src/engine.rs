//! Whether the container engine and registry that `scripts/engine.sh start` provides are here.
//! Tests that need them call [`require`] first: without an engine they say they skip, unless CI
//! is set, where a missing engine is a failure (CI must run them).

use std::path::Path;

/// The registry the engine tests push to (`OKD_REGISTRY`, else the loopback one engine.sh runs).
pub fn registry() -> String {
    std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned())
}

/// Whether CI is running the tests.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Whether `CONTAINER_HOST` or `DOCKER_HOST` names an engine whose socket exists.
pub fn configured() -> bool {
    let Some(host) = std::env::var_os("CONTAINER_HOST").or_else(|| std::env::var_os("DOCKER_HOST")) else {
        return false;
    };
    let host = host.to_string_lossy().into_owned();
    host.strip_prefix("unix://").is_none_or(|path| Path::new(path).exists())
}

/// True when the engine is configured; otherwise says the test skips and returns false, or
/// panics under CI.
pub fn require() -> bool {
    if configured() {
        return true;
    }
    assert!(!in_ci(), "CI must run the engine tests: start the engine with scripts/engine.sh start");
    eprintln!(
        "skipping: no container engine (run scripts/engine.sh install, then \
         eval \"$(scripts/engine.sh start | tail -n 1)\" to export CONTAINER_HOST)"
    );
    false
}

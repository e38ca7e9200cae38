//! Finding an engine, and starting a private Podman service when none answers.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bollard::{API_DEFAULT_VERSION, Docker};
use okd_core::{Error, ErrorKind, Result};

/// Per-request limit until the engine answers with headers. Podman reads the whole context tar
/// before it answers a build, so this is generous; streams themselves are not limited.
const REQUEST_TIMEOUT_SECS: u64 = 1800;
/// A socket that takes longer than this to answer a ping is treated as dead.
const PING_TIMEOUT: Duration = Duration::from_secs(3);
/// How long a private Podman service may take to come up.
const START_TIMEOUT: Duration = Duration::from_secs(30);

const HOW_TO_POINT: &str = "point okd-build at an engine: for Docker set DOCKER_HOST (e.g. \
unix:///var/run/docker.sock); for Podman run `scripts/engine.sh start` and set CONTAINER_HOST to \
the unix:// socket it prints, or set the local backend's `engine` setting";

/// An engine that answered a ping.
pub(super) struct Found {
    pub docker: Docker,
    pub endpoint: String,
    pub service: Option<PrivateService>,
}

/// `unix:///path`, `/path`, `tcp://host:port` or `http://host:port` as a bollard client.
fn client(endpoint: &str) -> Result<Docker> {
    let made = if let Some(path) = endpoint.strip_prefix("unix://") {
        Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else if endpoint.starts_with("tcp://") || endpoint.starts_with("http://") {
        Docker::connect_with_http(endpoint, REQUEST_TIMEOUT_SECS, API_DEFAULT_VERSION)
    } else {
        return Err(Error::invalid(format!(
            "unsupported container engine address '{endpoint}': use unix:///path/to.sock, tcp://host:port or http://host:port"
        )));
    };
    made.map_err(|e| Error::new(ErrorKind::Unavailable, e.to_string()).with_source(e))
}

/// A bare socket path becomes a `unix://` address.
fn normalize(endpoint: &str) -> String {
    if endpoint.starts_with('/') { format!("unix://{endpoint}") } else { endpoint.to_owned() }
}

/// The client for `endpoint` if it answers a ping, else why not.
async fn probe(endpoint: &str) -> std::result::Result<Docker, String> {
    let docker = client(endpoint).map_err(|e| e.message().to_owned())?;
    match tokio::time::timeout(PING_TIMEOUT, docker.ping()).await {
        Ok(Ok(_)) => Ok(docker),
        Ok(Err(e)) => Err(super::chain(&e)),
        Err(_) => Err(format!("no answer within {}s", PING_TIMEOUT.as_secs())),
    }
}

/// Where to look when nothing was named, in order, with where each came from.
fn candidates() -> Vec<(String, String)> {
    let mut list = Vec::new();
    for var in ["CONTAINER_HOST", "DOCKER_HOST"] {
        if let Ok(value) = std::env::var(var)
            && !value.trim().is_empty()
        {
            list.push((normalize(value.trim()), var.to_owned()));
        }
    }
    let mut sockets = vec!["/run/okd-build/podman.sock".to_owned()];
    if let Ok(runtime) = std::env::var("XDG_RUNTIME_DIR")
        && !runtime.is_empty()
    {
        // scripts/engine.sh's rootless socket, then Podman's own.
        sockets.push(format!("{runtime}/okd-build/podman.sock"));
        sockets.push(format!("{runtime}/podman/podman.sock"));
    }
    sockets.extend(["/run/podman/podman.sock".to_owned(), "/var/run/docker.sock".to_owned()]);
    for socket in sockets {
        list.push((format!("unix://{socket}"), "default socket".to_owned()));
    }
    let mut seen = std::collections::HashSet::new();
    list.retain(|(endpoint, _)| seen.insert(endpoint.clone()));
    list
}

pub(super) async fn find(explicit: Option<&str>) -> Result<Found> {
    if let Some(explicit) = explicit {
        // Named on purpose: falling back to another engine would build somewhere unexpected.
        let endpoint = normalize(explicit.trim());
        return match probe(&endpoint).await {
            Ok(docker) => Ok(Found { docker, endpoint, service: None }),
            Err(why) => Err(Error::new(
                ErrorKind::Unavailable,
                format!("the container engine at {endpoint} does not answer: {why}"),
            )
            .with_help(format!("start it, or {HOW_TO_POINT}"))),
        };
    }
    let mut tried = Vec::new();
    for (endpoint, from) in candidates() {
        match probe(&endpoint).await {
            Ok(docker) => return Ok(Found { docker, endpoint, service: None }),
            Err(why) => {
                if from != "default socket" {
                    tracing::warn!("{from}={endpoint} does not answer ({why}); trying the usual sockets");
                }
                tried.push(format!("{endpoint} ({from}): {why}"));
            }
        }
    }
    match which("podman") {
        Some(podman) => match PrivateService::start(&podman).await {
            Ok(found) => return Ok(found),
            Err(why) => tried.push(format!("a private `podman system service`: {why}")),
        },
        None => tried.push("a private `podman system service`: podman is not on PATH".to_owned()),
    }
    Err(Error::new(ErrorKind::Unavailable, "no container engine answers")
        .with_help(format!("tried:\n  {}\n{HOW_TO_POINT}", tried.join("\n  "))))
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|p| p.is_file())
}

/// A `podman system service` of our own, stopped when the last clone of the Engine goes away.
#[derive(Debug)]
pub(super) struct PrivateService {
    child: Mutex<Child>,
    dir: PathBuf,
}

impl PrivateService {
    async fn start(podman: &Path) -> std::result::Result<Found, String> {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let name =
            format!("okd-build-podman-{}-{}", std::process::id(), COUNT.fetch_add(1, Ordering::Relaxed));
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let socket = dir.join("podman.sock");
        let log_path = dir.join("podman.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let endpoint = format!("unix://{}", socket.display());
        // runc and chroot isolation: crun cannot start containers on Debian 12's hybrid cgroups,
        // and RUN steps need chroot there (see shared/reference/local-engine.md).
        let child = Command::new(podman)
            .args(["--runtime", "runc", "system", "service", "--time=0", &endpoint])
            .env("BUILDAH_ISOLATION", "chroot")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", podman.display()))?;
        let service = PrivateService { child: Mutex::new(child), dir };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if socket.exists()
                && let Ok(docker) = probe(&endpoint).await
            {
                tracing::info!("started a private podman service at {endpoint}");
                return Ok(Found { docker, endpoint, service: Some(service) });
            }
            let exited = service.child.lock().map_or(None, |mut c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!("it exited ({status}): {}", last_lines(&log, 5)));
            }
            if Instant::now() > deadline {
                return Err(format!("it did not answer within {}s", START_TIMEOUT.as_secs()));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

impl Drop for PrivateService {
    fn drop(&mut self) {
        let child = self.child.get_mut().unwrap_or_else(|poisoned| poisoned.into_inner());
        if matches!(child.try_wait(), Ok(None)) {
            // SIGTERM first so that podman releases its storage cleanly; the pid cannot have
            // been reused since the child is not reaped yet. SIGKILL if it lingers.
            let _ =
                Command::new("kill").args(["-TERM", &child.id().to_string()]).stderr(Stdio::null()).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

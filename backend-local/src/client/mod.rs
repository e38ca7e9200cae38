//! The container engine client: Podman or Docker through the Docker-compatible API (bollard).
//!
//! Images are only ever taken from the engine's local storage: on Podman builds go to the
//! libpod build endpoint, because the compat one reads `pull` as a bool and pulls a missing
//! base image whatever it says (4.3.1), while libpod takes `pullpolicy=never`. Docker has no
//! "never" and pulls a missing base image. References should be fully qualified: Podman
//! stores `foo:1` as `docker.io/library/foo:1`.

mod connect;
mod context;
mod progress;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    sync::Arc,
};

use bollard::{
    BollardRequest, Docker,
    errors::Error as EngineError,
    query_parameters::{BuildImageOptionsBuilder, PushImageOptions, RemoveImageOptions, TagImageOptions},
};
use futures::StreamExt;
use okd_core::{Error, ErrorKind, Result};

pub use context::context_tar;
use progress::{BuildProgress, normalize_id, push_digest};

/// The name the Dockerfile text is sent under; unusual enough never to clash with the context.
pub const DOCKERFILE_NAME: &str = ".okd-build.Dockerfile";

/// A connection to a container engine. Cheap to clone; a private Podman service started by
/// [`Engine::connect`] lives until the last clone is dropped.
#[derive(Debug, Clone)]
pub struct Engine {
    docker: Docker,
    endpoint: String,
    podman: bool,
    _service: Option<Arc<connect::PrivateService>>,
}

/// One image to build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRequest {
    /// The build context on disk.
    pub context_dir: PathBuf,
    /// The Dockerfile text (already rewritten); sent as [`DOCKERFILE_NAME`].
    pub dockerfile: String,
    /// Fully qualified tag, e.g. `127.0.0.1:5000/okd/okd-mini:cli`.
    pub tag: String,
    /// `--build-arg`s.
    pub build_args: BTreeMap<String, String>,
    /// Labels added to the image.
    pub labels: BTreeMap<String, String>,
    /// e.g. `linux/amd64`; the engine's own when `None`.
    pub platform: Option<String>,
    /// Ignore the engine's layer cache.
    pub no_cache: bool,
}

impl Engine {
    /// Finds an engine: `explicit` (only it), else CONTAINER_HOST, DOCKER_HOST and the usual
    /// sockets (the first that answers a ping), else a private `podman system service` when
    /// podman is on PATH. Unavailable, naming what was tried, when there is none.
    pub async fn connect(explicit: Option<&str>) -> Result<Engine> {
        let found = connect::find(explicit).await?;
        let version =
            found.docker.version().await.map_err(|e| engine_error(&found.endpoint, "ask the version", e))?;
        let podman =
            version.components.iter().flatten().any(|c| c.name.to_ascii_lowercase().contains("podman"));
        Ok(Engine {
            docker: found.docker,
            endpoint: found.endpoint,
            podman,
            _service: found.service.map(Arc::new),
        })
    }

    /// What it connected to, e.g. `unix:///run/okd-build/podman.sock`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// e.g. `podman 4.3.1 (API 1.41)`.
    pub async fn version(&self) -> Result<String> {
        let v = self.docker.version().await.map_err(|e| self.error("ask the version", e))?;
        let podman = v.components.iter().flatten().find(|c| c.name.to_ascii_lowercase().contains("podman"));
        let (name, version) = match podman {
            Some(c) => ("podman", c.version.clone()),
            None => ("docker", v.version.clone().unwrap_or_default()),
        };
        Ok(format!("{name} {version} (API {})", v.api_version.as_deref().unwrap_or("unknown")))
    }

    /// Builds `request`, sending each output line to `log` as it arrives; returns the image ID
    /// (`sha256:...`). A failed step is BuildFailed naming the step, the last lines in the help.
    pub async fn build(&self, request: &BuildRequest, log: &mut (dyn FnMut(&str) + Send)) -> Result<String> {
        let (dir, text) = (request.context_dir.clone(), request.dockerfile.clone());
        let tar =
            tokio::task::spawn_blocking(move || context_tar(&dir, DOCKERFILE_NAME, &text)).await.map_err(
                |e| Error::new(ErrorKind::Internal, "packing the build context failed").with_source(e),
            )??;

        let mut options = BuildImageOptionsBuilder::new()
            .dockerfile(DOCKERFILE_NAME)
            .t(&request.tag)
            .rm(true)
            .forcerm(true)
            .nocache(request.no_cache);
        if !request.build_args.is_empty() {
            options = options.buildargs(&request.build_args.clone().into_iter().collect::<HashMap<_, _>>());
        }
        if !request.labels.is_empty() {
            options = options.labels(&request.labels.clone().into_iter().collect::<HashMap<_, _>>());
        }
        if let Some(platform) = &request.platform {
            options = options.platform(platform);
        }
        let docker = if self.podman {
            self.docker.clone().with_request_modifier(libpod_build)
        } else {
            self.docker.clone()
        };
        let action = format!("build {}", request.tag);
        let mut stream = docker.build_image(options.build(), None, Some(bollard::body_full(tar.into())));
        let mut progress = BuildProgress::default();
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(text) = &info.stream {
                        progress.text(text, log);
                    }
                    if let Some(status) = &info.status {
                        let line = match &info.id {
                            Some(id) => format!("{id}: {status}\n"),
                            None => format!("{status}\n"),
                        };
                        progress.text(&line, log);
                    }
                    if let Some(id) = info.aux.as_ref().and_then(|a| a.id.as_deref()) {
                        progress.aux(id);
                    }
                }
                Err(EngineError::DockerStreamError { error }) => return Err(progress.failure(&error, log)),
                Err(e) => {
                    progress.finish(log);
                    return Err(self.error(&action, e));
                }
            }
        }
        progress.finish(log);
        match progress.image_id() {
            Some(id) => Ok(id),
            // Neither an aux item nor a bare ID line: ask for what the tag now names.
            None => self.image_id(&request.tag).await?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Internal,
                    format!("the build of {} ended without an image", request.tag),
                )
            }),
        }
    }

    /// The ID (`sha256:...`) of the image `reference` names; None when absent.
    pub async fn image_id(&self, reference: &str) -> Result<Option<String>> {
        match self.docker.inspect_image(reference).await {
            Ok(image) => Ok(image.id.map(|id| normalize_id(&id))),
            Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(None),
            Err(e) => Err(self.error(&format!("inspect {reference}"), e)),
        }
    }

    /// The labels of the image `reference` names.
    pub async fn labels(&self, reference: &str) -> Result<BTreeMap<String, String>> {
        let image = self
            .docker
            .inspect_image(reference)
            .await
            .map_err(|e| self.error(&format!("inspect {reference}"), e))?;
        Ok(image.config.and_then(|c| c.labels).unwrap_or_default().into_iter().collect())
    }

    /// Tags `image_id` (or any reference) as `reference`.
    pub async fn tag(&self, image_id: &str, reference: &str) -> Result<()> {
        let (repo, tag) = split_reference(reference)?;
        let options = TagImageOptions { repo: Some(repo.to_owned()), tag: Some(tag.to_owned()) };
        self.docker
            .tag_image(image_id, Some(options))
            .await
            .map_err(|e| self.error(&format!("tag {image_id} as {reference}"), e))
    }

    /// Pushes `reference` (fully qualified) and returns the pushed manifest digest (`sha256:...`).
    /// Loopback registries are pushed to without TLS verification (`tlsVerify=false`, which
    /// Podman's compat API takes and Docker ignores); Docker needs `insecure-registries` for them.
    pub async fn push(&self, reference: &str) -> Result<String> {
        let (repo, tag) = split_reference(reference)?;
        let docker = if is_loopback(registry_host(repo)) {
            self.docker.clone().with_request_modifier(no_tls_verify)
        } else {
            self.docker.clone()
        };
        let options = PushImageOptions { tag: Some(tag.to_owned()), platform: None };
        let action = format!("push {reference}");
        let mut stream = docker.push_image(repo, Some(options), None);
        let mut digest = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(info) => {
                    if let Some(found) = info.status.as_deref().and_then(push_digest) {
                        digest = Some(found);
                    }
                }
                Err(EngineError::DockerStreamError { error }) => return Err(push_failure(reference, &error)),
                Err(e) => return Err(self.error(&action, e)),
            }
        }
        if let Some(digest) = digest {
            return Ok(digest);
        }
        // Engines that do not print the digest still record it among the repo digests.
        let image = self.docker.inspect_image(reference).await.map_err(|e| self.error(&action, e))?;
        let prefix = format!("{repo}@");
        image
            .repo_digests
            .iter()
            .flatten()
            .find_map(|d| d.strip_prefix(&prefix).map(str::to_owned))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Internal,
                    format!("the push of {reference} finished without reporting a digest"),
                )
            })
    }

    /// Removes `reference` (a tag is untagged; the image goes when no tag is left). Absent is fine.
    pub async fn remove_image(&self, reference: &str) -> Result<()> {
        let options = RemoveImageOptions { force: false, noprune: false, platforms: None };
        match self.docker.remove_image(reference, Some(options), None).await {
            Ok(_) | Err(EngineError::DockerResponseServerError { status_code: 404, .. }) => Ok(()),
            Err(e) => Err(self.error(&format!("remove {reference}"), e)),
        }
    }

    fn error(&self, action: &str, e: EngineError) -> Error {
        engine_error(&self.endpoint, action, e)
    }
}

/// An engine error as the kind callers act on.
fn engine_error(endpoint: &str, action: &str, e: EngineError) -> Error {
    let (kind, message) = match &e {
        EngineError::DockerResponseServerError { status_code, message } => {
            let kind = match status_code {
                400 => ErrorKind::InvalidInput,
                401 | 403 => ErrorKind::Unauthorized,
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                502..=504 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            };
            (kind, format!("cannot {action}: {}", message.trim()))
        }
        EngineError::RequestTimeoutError => (
            ErrorKind::Timeout,
            format!("cannot {action}: the container engine at {endpoint} did not answer in time"),
        ),
        EngineError::HyperResponseError { .. }
        | EngineError::HyperLegacyError { .. }
        | EngineError::IOError { .. }
        | EngineError::SocketNotFoundError(_) => (
            ErrorKind::Unavailable,
            format!("cannot {action}: the container engine at {endpoint} is unreachable ({})", chain(&e)),
        ),
        _ => (ErrorKind::Internal, format!("cannot {action}: {e}")),
    };
    let error = Error::new(kind, message);
    let error = if kind == ErrorKind::Unavailable {
        error.with_help("is the engine still running? `scripts/engine.sh status` shows the local one")
    } else {
        error
    };
    error.with_source(e)
}

/// An error and its sources on one line: bollard's own messages ("client error (Connect)")
/// leave out the part that says what happened ("Connection refused").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let more = inner.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = inner.source();
    }
    text
}

fn push_failure(reference: &str, message: &str) -> Error {
    let message = message.trim();
    let lower = message.to_ascii_lowercase();
    let kind = if ["connection refused", "no such host", "i/o timeout", "connection reset", "503"]
        .iter()
        .any(|s| lower.contains(s))
    {
        ErrorKind::Unavailable
    } else if ["unauthorized", "denied", "authentication required"].iter().any(|s| lower.contains(s)) {
        ErrorKind::Unauthorized
    } else {
        ErrorKind::Internal
    };
    let error = Error::new(kind, format!("cannot push {reference}: {message}"));
    if lower.contains("http response to https") || lower.contains("x509") {
        error.with_help(
            "for a plain-HTTP registry, mark it `insecure = true` in /etc/containers/registries.conf.d/ \
             (Podman; restart the service) or list it in `insecure-registries` (Docker)",
        )
    } else {
        error
    }
}

/// `registry/repo:tag` as (`registry/repo`, `tag`); `latest` when there is no tag.
fn split_reference(reference: &str) -> Result<(&str, &str)> {
    if reference.contains('@') {
        return Err(Error::invalid(format!("'{reference}' names a digest; a tag is needed here")));
    }
    let last_segment = reference.rfind('/').map_or(0, |i| i + 1);
    match reference[last_segment..].rfind(':') {
        Some(i) => Ok((&reference[..last_segment + i], &reference[last_segment + i + 1..])),
        None => Ok((reference, "latest")),
    }
}

/// The registry host of a repository, when its first segment names one.
fn registry_host(repo: &str) -> &str {
    match repo.split_once('/') {
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => first,
        _ => "",
    }
}

fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(v6),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name == "localhost"
        || name == "::1"
        || name.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
}

/// Sends a build to Podman's libpod endpoint with `pullpolicy=never`, in Docker's image format
/// (as the compat endpoint would) so that Docker and Podman builds look alike.
fn libpod_build(request: BollardRequest) -> BollardRequest {
    rewrite_uri(request, |path, query| {
        if !path.ends_with("/build") {
            return None;
        }
        let kept: Vec<&str> =
            query.unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("pull=")).collect();
        // Nothing is pulled, except for a build for a given platform: its base is then a
        // manifest list in a registry, and the engine must fetch that platform's image when its
        // local copy of the name is another platform's.
        let policy = if kept.iter().any(|p| p.strip_prefix("platform=").is_some_and(|v| !v.is_empty())) {
            "missing"
        } else {
            "never"
        };
        let extra = format!(
            "pullpolicy={policy}&outputformat=application%2Fvnd.docker.distribution.manifest.v2%2Bjson"
        );
        let query = if kept.is_empty() { extra.to_owned() } else { format!("{}&{extra}", kept.join("&")) };
        Some(format!("/v4.0.0/libpod/build?{query}"))
    })
}

fn no_tls_verify(request: BollardRequest) -> BollardRequest {
    rewrite_uri(request, |path, query| {
        path.ends_with("/push").then(|| match query {
            Some(q) if !q.is_empty() => format!("{path}?{q}&tlsVerify=false"),
            _ => format!("{path}?tlsVerify=false"),
        })
    })
}

/// Replaces the path and query of a request's URI with what `edit` returns, if anything.
fn rewrite_uri(
    mut request: BollardRequest,
    edit: impl FnOnce(&str, Option<&str>) -> Option<String>,
) -> BollardRequest {
    let uri = request.uri();
    let Some(path_and_query) = edit(uri.path(), uri.query()) else {
        return request;
    };
    let base = match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{}", authority.as_str()),
        _ => String::new(),
    };
    if let Ok(new) = format!("{base}{path_and_query}").parse() {
        *request.uri_mut() = new;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_at_the_tag_not_the_port() {
        let split = |r| split_reference(r).ok();
        assert_eq!(split("127.0.0.1:5000/okd/okd-mini:cli"), Some(("127.0.0.1:5000/okd/okd-mini", "cli")));
        assert_eq!(split("127.0.0.1:5000/okd/okd-mini"), Some(("127.0.0.1:5000/okd/okd-mini", "latest")));
        assert!(split("quay.io/x@sha256:00").is_none());
    }

    #[test]
    fn only_loopback_registries_skip_tls_verification() {
        assert!(is_loopback(registry_host("127.0.0.1:5000/okd/x")));
        assert!(is_loopback(registry_host("localhost/okd/x")));
        assert!(is_loopback(registry_host("[::1]:5000/okd/x")));
        assert!(!is_loopback(registry_host("quay.io/okd/x")));
        assert!(!is_loopback(registry_host("okd/x")));
    }
}

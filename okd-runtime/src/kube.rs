//! What every cluster backend does with kube-rs the same way (feature `kube`): kube errors in
//! okd-build's terms, and `DynamicObject` ⇄ JSON.

use kube::api::DynamicObject;
use okd_core::{Error, ErrorKind, Result};
use serde_json::Value;

/// A kube-rs error in okd-build's terms: what the user can fix (input, credentials), what may
/// pass (retryable: 429, 5xx, no answer), what is a bug. `action` says what was being done
/// ("create PipelineRun x"); backends add the help that fits their system.
pub fn kube_error(error: kube::Error, action: &str) -> Error {
    let (kind, retryable, message) = match &error {
        kube::Error::Api(status) => {
            let kind = match status.code {
                404 => ErrorKind::NotFound,
                409 => ErrorKind::Conflict,
                401 | 403 => ErrorKind::Unauthorized,
                400 | 422 => ErrorKind::InvalidInput,
                429 | 500..=599 => ErrorKind::Unavailable,
                _ => ErrorKind::Internal,
            };
            (
                kind,
                matches!(status.code, 429 | 500..=599),
                format!("{action}: {} ({})", status.message, status.code),
            )
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            (ErrorKind::Unavailable, true, format!("{action}: the API server did not answer"))
        }
        kube::Error::Auth(_) => (ErrorKind::Unauthorized, false, format!("{action}: authentication failed")),
        _ => (ErrorKind::Internal, false, format!("{action}: {error}")),
    };
    Error::new(kind, message).set_retryable(retryable).with_source(error)
}

/// An object as JSON.
pub fn to_value(object: &DynamicObject) -> Result<Value> {
    serde_json::to_value(object)
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot read an object").with_source(e))
}

/// JSON as an object to send.
pub fn to_object(value: &Value) -> Result<DynamicObject> {
    serde_json::from_value(value.clone())
        .map_err(|e| Error::new(ErrorKind::Internal, "cannot encode an object").with_source(e))
}

/// How long the first contact with an API server may take before it counts as unreachable.
const REACH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A client for the cluster a kubeconfig (`kubeconfig`, else `$KUBECONFIG` or `~/.kube/config`)
/// and context (else its current one) name, with the context's namespace. The server is probed
/// once: an unreachable one fails within 5 seconds in one line that names the server, context
/// and kubeconfig (exit 3), instead of every later call retrying into a pile of client errors.
/// Any HTTP answer, even an error status, counts as reachable. `help` is said when the
/// kubeconfig itself cannot be used.
pub async fn connect(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    help: &str,
) -> Result<(kube::Client, String)> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let source = kubeconfig.map(|p| p.display().to_string()).unwrap_or_else(|| {
        std::env::var("KUBECONFIG")
            .ok()
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| "~/.kube/config".to_owned())
    });
    let invalid = |e: kube::config::KubeconfigError| {
        Error::invalid(format!("cannot use the kubeconfig {source}: {e}")).with_help(help.to_owned())
    };
    let read = match kubeconfig {
        Some(path) => Kubeconfig::read_from(path).map_err(invalid)?,
        None => Kubeconfig::read().map_err(invalid)?,
    };
    let context_name = context
        .map(str::to_owned)
        .or_else(|| read.current_context.clone())
        .unwrap_or_else(|| "(none)".to_owned());
    let options = KubeConfigOptions { context: context.map(str::to_owned), ..KubeConfigOptions::default() };
    let config = kube::Config::from_custom_kubeconfig(read, &options).await.map_err(invalid)?;
    let server = config.cluster_url.to_string();
    let namespace = config.default_namespace.clone();
    let client =
        kube::Client::try_from(config).map_err(|e| kube_error(e, &format!("connect to {server}")))?;
    let unreachable = |why: String| {
        Error::new(
            ErrorKind::Unavailable,
            format!("cannot reach the Kubernetes API server {server} (context {context_name:?} of {source}): {why}"),
        )
        .with_help("check that the cluster is up and that --kubeconfig/--context point at it")
    };
    match tokio::time::timeout(REACH_TIMEOUT, client.apiserver_version()).await {
        Ok(Ok(_) | Err(kube::Error::Api(_))) => Ok((client, namespace)),
        Ok(Err(e)) => Err(unreachable(innermost(&e))),
        Err(_) => Err(unreachable(format!("no answer within {}s", REACH_TIMEOUT.as_secs()))),
    }
}

/// The deepest cause of an error, which says what happened ("Connection refused (os error
/// 111)") where the outer ones only say where.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Consecutive watch errors (each after the watcher's own backoff) before a watch gives up.
const MAX_WATCH_ERRORS: u32 = 30;

/// What one watch knows: every object it saw by name, as last seen.
#[derive(Debug, Clone, Default)]
pub struct WatchState {
    /// Objects by name (a deleted one keeps its last state: a pruned run that succeeded did).
    pub objects: std::collections::HashMap<String, Value>,
    /// Objects deleted since the last list.
    pub deleted: std::collections::BTreeSet<String>,
    /// The first list is in, so "not there" means not there rather than not listed yet.
    pub ready: bool,
    /// The watch gave up (after [`MAX_WATCH_ERRORS`] errors in a row, or its stream ended).
    pub failed: Option<String>,
}

/// Starts one watch of the objects of `api` that `config` selects, kept in a [`WatchState`] that
/// waiters read: the one watch a run needs, resumed by kube-rs's watcher after dropped streams
/// (it relists; what was deleted meanwhile is gone). `what` names the objects in messages. The
/// task ends when every receiver is gone.
pub fn watch_objects(
    api: kube::Api<DynamicObject>,
    config: kube::runtime::watcher::Config,
    what: String,
) -> tokio::sync::watch::Receiver<WatchState> {
    use futures::StreamExt;
    use kube::runtime::{WatchStreamExt, watcher};
    let (tx, rx) = tokio::sync::watch::channel(WatchState::default());
    tokio::spawn(async move {
        let mut stream = watcher(api, config).default_backoff().boxed();
        let mut errors = 0u32;
        let mut pending: Option<std::collections::HashMap<String, Value>> = None;
        loop {
            let item = tokio::select! {
                item = stream.next() => item,
                () = tx.closed() => return,
            };
            let Some(item) = item else { break };
            let event = match item {
                Ok(event) => {
                    errors = 0;
                    event
                }
                Err(error) => {
                    errors += 1;
                    tracing::debug!(%error, errors, "{what} watch error; the watcher backs off and resumes");
                    if errors >= MAX_WATCH_ERRORS {
                        tx.send_modify(|s| {
                            s.failed =
                                Some(format!("watching {what} failed {errors} times in a row: {error}"));
                        });
                        return;
                    }
                    continue;
                }
            };
            let name = |o: &DynamicObject| o.metadata.name.clone().unwrap_or_default();
            match event {
                watcher::Event::Init => pending = Some(std::collections::HashMap::new()),
                watcher::Event::InitApply(object) => {
                    if let (Some(p), Ok(v)) = (pending.as_mut(), to_value(&object)) {
                        p.insert(name(&object), v);
                    }
                }
                watcher::Event::InitDone => {
                    let objects = pending.take().unwrap_or_default();
                    tx.send_modify(|s| {
                        // What vanished while the stream was down is deleted, last state kept.
                        let gone: Vec<String> =
                            s.objects.keys().filter(|k| !objects.contains_key(*k)).cloned().collect();
                        for (k, v) in objects {
                            s.objects.insert(k, v);
                        }
                        s.deleted = gone.into_iter().collect();
                        s.ready = true;
                    });
                }
                watcher::Event::Apply(object) => {
                    let Ok(value) = to_value(&object) else { continue };
                    tx.send_modify(|s| {
                        s.deleted.remove(&name(&object));
                        s.objects.insert(name(&object), value);
                    });
                }
                watcher::Event::Delete(object) => {
                    let Ok(value) = to_value(&object) else { continue };
                    tx.send_modify(|s| {
                        s.objects.insert(name(&object), value);
                        s.deleted.insert(name(&object));
                    });
                }
            }
        }
        tx.send_modify(|s| s.failed = Some(format!("the {what} watch ended")));
    });
    rx
}

/// How a cluster backend reaches its cluster: a client it was given (tests, embedding), or the
/// kubeconfig and context of its settings, read on first use through [`connect`].
#[derive(Clone)]
pub enum Connector {
    Client(kube::Client),
    Kubeconfig { path: Option<std::path::PathBuf>, context: Option<String> },
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Client(_) => f.write_str("Connector::Client"),
            Connector::Kubeconfig { path, context } => {
                f.debug_struct("Connector::Kubeconfig").field("path", path).field("context", context).finish()
            }
        }
    }
}

impl Connector {
    /// The kubeconfig and context a backend's cluster settings name.
    pub fn from_settings(cluster: &crate::ClusterConfig) -> Self {
        Connector::Kubeconfig {
            path: cluster.kubeconfig.as_ref().map(std::path::PathBuf::from),
            context: cluster.context.clone(),
        }
    }

    /// The client and its default namespace (the context's). `help` is said when the
    /// kubeconfig cannot be used.
    pub async fn client(&self, help: &str) -> Result<(kube::Client, String)> {
        match self {
            Connector::Client(client) => Ok((client.clone(), client.default_namespace().to_owned())),
            Connector::Kubeconfig { path, context } => {
                connect(path.as_deref(), context.as_deref(), help).await
            }
        }
    }
}

/// `client`, counting each request it sends in `counter` (a watch counts once). Every client a
/// cluster backend uses goes through this, so a run can say how many requests it cost.
pub fn counted(client: kube::Client, counter: &crate::RequestCounter) -> kube::Client {
    let namespace = client.default_namespace().to_owned();
    let counter = counter.clone();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        counter.add();
        let client = client.clone();
        async move { client.send(request).await }
    });
    kube::Client::new(service, namespace)
}

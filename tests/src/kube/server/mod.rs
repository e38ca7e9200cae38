//! The fake API server's HTTP layer: kube-rs (`Api<DynamicObject>`, typed `Api<K>`, `watcher`,
//! `await_condition`) talks to it through an ordinary kubeconfig, as to a kube-apiserver.
//!
//! - discovery: `/version`, `/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}` (plain and
//!   aggregated), for the resources the schemas describe plus a built-in table;
//! - CRUD on `/api/v1/namespaces/{ns}/{plural}[/{name}[/status|/log]]` and
//!   `/apis/{g}/{v}/namespaces/{ns}/{plural}[/{name}[/status]]`, list/watch across namespaces
//!   at `/apis/{g}/{v}/{plural}`; merge, JSON, strategic (core only) and server-side apply
//!   patches; schema validation with `fieldValidation`; every error a `Status`;
//! - watches with resume, 410 Expired, bookmarks and `sendInitialEvents`;
//! - [`Faults`]: failed and slow responses, dropped watches, refused connections, compaction;
//! - [`FakeApiServer::requests`]: every request and its status, for assertions.

mod conn;
mod discovery;
mod faults;
mod handlers;
mod patch;
mod routing;
mod select;
mod status;
mod watch;

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex},
    time::Duration,
};

use serde_json::json;
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use faults::Faults;

use crate::{kube::store::Store, schema::Schemas};
use discovery::Resources;

/// How to start a [`FakeApiServer`].
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// The CRD schemas to validate against and take resources from; `None` serves the built-in
    /// resource table and accepts every object.
    pub schemas: Option<Schemas>,
    /// How many store events watches can resume from (older resourceVersions get 410).
    pub history_limit: usize,
    /// How often watches with `allowWatchBookmarks=true` get a BOOKMARK.
    pub bookmark_interval: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            schemas: Schemas::from_env(),
            history_limit: 10_000,
            bookmark_interval: Duration::from_secs(1),
        }
    }
}

/// One request the server answered (or failed by a fault).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string (empty when none).
    pub query: String,
    /// The response status code (200 for a watch that started).
    pub status: u16,
}

#[derive(Debug)]
pub(crate) struct ServerState {
    pub store: Store,
    pub resources: Resources,
    pub schemas: Option<Schemas>,
    pub faults: Faults,
    pub bookmark_interval: Duration,
    requests: Mutex<Vec<RecordedRequest>>,
}

impl ServerState {
    fn requests(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        self.requests().push(request);
    }
}

/// A Kubernetes API server on 127.0.0.1 backed by a [`Store`].
#[derive(Debug)]
pub struct FakeApiServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeApiServer {
    /// Binds 127.0.0.1 on a free port and serves on a tokio task.
    pub async fn start(options: ServerOptions) -> FakeApiServer {
        let store = Store::new(options.history_limit);
        let faults = Faults::new(store.clone());
        let state = Arc::new(ServerState {
            resources: Resources::new(options.schemas.as_ref()),
            store,
            schemas: options.schemas,
            faults: faults.clone(),
            bookmark_interval: options.bookmark_interval,
            requests: Mutex::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("the bound address");
        let app = axum::Router::new().fallback(routing::entry).with_state(state.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let listener = conn::FaultyListener { listener, faults };
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = serve.await {
                tracing::warn!(%error, "fake API server stopped");
            }
        });
        FakeApiServer { addr, state, shutdown: Some(shutdown), task: Some(task) }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Writes a kubeconfig whose current context `fake` points at this server, in `namespace`,
    /// with a bearer-token user.
    pub fn write_kubeconfig(&self, path: &Path, namespace: &str) {
        let config = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url()}}],
            "users": [{"name": "fake", "user": {"token": "okd-tests-fake-token"}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}],
            "current-context": "fake",
            "preferences": {},
        });
        let yaml = serde_saphyr::to_string(&config).expect("a kubeconfig serializes");
        std::fs::write(path, yaml).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }

    /// The object store behind the server (for fixtures, controllers and assertions).
    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// The fault-injection handle.
    pub fn faults(&self) -> Faults {
        self.state.faults.clone()
    }

    /// Every request so far, in the order answered.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests().clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state.requests().clear();
    }

    /// Stops serving: open watches end, kept-alive connections close and new connections are
    /// refused.
    pub async fn stop(mut self) {
        self.begin_stop();
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task).await.is_err()
        {
            task.abort();
        }
    }

    fn begin_stop(&mut self) {
        self.state.faults.set_stopped();
        self.state.faults.drop_watches();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for FakeApiServer {
    fn drop(&mut self) {
        self.begin_stop();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

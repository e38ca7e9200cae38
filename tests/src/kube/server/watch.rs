//! `?watch=true`: newline-delimited JSON events, streamed live from the store.
//!
//! - no resourceVersion, `0` or `sendInitialEvents=true`: ADDED for every current object first
//!   (then, with `sendInitialEvents`, a BOOKMARK annotated `k8s.io/initial-events-end`);
//! - a resourceVersion: the kept history after it, or one ERROR event (410 Expired) when it is
//!   older than the history;
//! - then changes as they happen; BOOKMARKs every bookmark interval with
//!   `allowWatchBookmarks=true`; the stream ends at `timeoutSeconds`, on
//!   [`Faults::drop_watches`](super::Faults::drop_watches), when the client goes away, or when
//!   it lags behind the store's notifications (the client resumes from its last resourceVersion).

use std::{convert::Infallible, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, header},
    response::Response,
};
use serde_json::{Value, json};
use tokio::{
    sync::{broadcast::error::RecvError, broadcast::error::TryRecvError, mpsc},
    time::{Instant, MissedTickBehavior},
};

use super::{
    handlers::Call,
    select::Selector,
    status::{ApiError, ApiResult},
};
use crate::kube::store::StoreEvent;

/// What one watch sends: resource, namespace and selectors.
#[derive(Debug)]
struct Filter {
    call: Call,
    selector: Selector,
}

impl Filter {
    fn wants(&self, event: &StoreEvent) -> bool {
        event.gvr == self.call.res.gvr()
            && self.call.namespace.as_deref().is_none_or(|ns| ns == event.namespace)
            && self.selector.matches(&event.object)
    }

    fn line(&self, kind: &str, object: Value) -> Bytes {
        let mut line = json!({"type": kind, "object": self.call.typed(object)}).to_string();
        line.push('\n');
        Bytes::from(line)
    }

    fn bookmark(&self, rv: u64, initial_events_end: bool) -> Bytes {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        self.line("BOOKMARK", json!({"metadata": metadata}))
    }
}

pub(crate) fn watch(call: Call) -> ApiResult {
    let selector = call.selector()?;
    let bookmarks = call.flag("allowWatchBookmarks");
    let send_initial = call.flag("sendInitialEvents");
    // As kube-apiserver: absent or 0 means no timeout of the client's choosing.
    let timeout = match call.param("timeoutSeconds").unwrap_or_default() {
        "" | "0" => None,
        secs => Some(Duration::from_secs(
            secs.parse().map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {secs:?}")))?,
        )),
    };
    let resume_from = match call.param("resourceVersion").unwrap_or_default() {
        "" | "0" => None,
        _ if send_initial => None,
        rv => Some(
            rv.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion for a watch: {rv:?}")))?,
        ),
    };
    let state = call.state.clone();
    let store = state.store.clone();
    let gvr = call.res.gvr();
    let filter = Filter { call, selector };

    // Subscribe before reading, and skip live events the initial part already covers.
    let mut events = store.subscribe();
    let mut dropped = state.faults.watch_generation();
    dropped.borrow_and_update();
    let mut initial = Vec::new();
    let seen_up_to = match resume_from {
        None => {
            let (objects, rv) = store.list(&gvr, filter.call.namespace.as_deref());
            let objects = objects.into_iter().filter(|o| filter.selector.matches(o));
            initial.extend(objects.map(|o| filter.line("ADDED", o)));
            if send_initial {
                initial.push(filter.bookmark(rv, true));
            }
            Some(rv)
        }
        Some(rv) => match store.events_since(&gvr, filter.call.namespace.as_deref(), rv) {
            Ok(history) => {
                let last = history.last().map_or(rv, |e| e.resource_version);
                let history = history.into_iter().filter(|e| filter.selector.matches(&e.object));
                initial.extend(history.map(|e| filter.line(e.kind.as_str(), e.object)));
                Some(last)
            }
            Err(_gone) => {
                let current = store.resource_version();
                let mut status =
                    ApiError::new(410, "Expired", format!("too old resource version: {rv} ({current})"))
                        .to_status();
                if let Some(status) = status.as_object_mut() {
                    status.remove("details");
                }
                let mut line = json!({"type": "ERROR", "object": status}).to_string();
                line.push('\n');
                initial.push(Bytes::from(line));
                None
            }
        },
    };

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let interval = state.bookmark_interval.max(Duration::from_millis(10));
    tokio::spawn(async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let Some(mut seen_up_to) = seen_up_to else { return };
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut ticker = tokio::time::interval_at(Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let mut batch = Vec::new();
            tokio::select! {
                _ = tx.closed() => return,
                _ = dropped.changed() => return,
                _ = sleep_until(deadline) => return,
                received = events.recv() => match received {
                    Ok(event) => batch.push(event),
                    // Lagged behind: end the stream so the client resumes (or relists).
                    Err(RecvError::Lagged(_) | RecvError::Closed) => return,
                },
                _ = ticker.tick(), if bookmarks => {
                    // Every change up to `current` is in the channel already (the store sends
                    // under its lock): drain it, then the bookmark is exact.
                    let current = store.resource_version();
                    loop {
                        match events.try_recv() {
                            Ok(event) => batch.push(event),
                            Err(TryRecvError::Empty) => break,
                            Err(_) => return,
                        }
                    }
                    let mut lines = events_to_lines(&filter, batch, &mut seen_up_to);
                    seen_up_to = seen_up_to.max(current);
                    lines.push(filter.bookmark(seen_up_to, false));
                    for line in lines {
                        if tx.send(line).await.is_err() {
                            return;
                        }
                    }
                    continue;
                }
            }
            for line in events_to_lines(&filter, batch, &mut seen_up_to) {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
    });

    let body = Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|line| (Ok::<Bytes, Infallible>(line), rx))
    }));
    let mut response = Response::new(body);
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn events_to_lines(filter: &Filter, events: Vec<StoreEvent>, seen_up_to: &mut u64) -> Vec<Bytes> {
    let mut lines = Vec::new();
    for event in events {
        if event.resource_version <= *seen_up_to {
            continue;
        }
        *seen_up_to = event.resource_version;
        if filter.wants(&event) {
            lines.push(filter.line(event.kind.as_str(), event.object));
        }
    }
    lines
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

//! Fault injection: failed and slow responses, dropped watches, refused connections and
//! compaction. Faults apply before routing and are matched by method and path prefix.

use std::{
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::sync::watch;

use super::status::ApiError;
use crate::kube::store::Store;

#[derive(Debug)]
struct FailRule {
    method: Option<String>,
    path_prefix: String,
    status: u16,
    remaining: usize,
    retry_after: Option<u32>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    failures: Mutex<Vec<FailRule>>,
    slow: Mutex<Vec<(String, Duration)>>,
    refuse: AtomicBool,
    stopped: AtomicBool,
    /// Bumped to end every open watch stream.
    watch_generation: watch::Sender<u64>,
}

/// A cloneable handle on the server's faults.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Inner>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Faults {
    pub(crate) fn new(store: Store) -> Self {
        let (watch_generation, _) = watch::channel(0);
        Faults {
            inner: Arc::new(Inner {
                store,
                failures: Mutex::default(),
                slow: Mutex::default(),
                refuse: AtomicBool::new(false),
                stopped: AtomicBool::new(false),
                watch_generation,
            }),
        }
    }

    /// The next `count` requests with `method` (any when `None`) whose path starts with
    /// `path_prefix` fail with `status` (a Status body; `Retry-After` when given, as for 429).
    pub fn fail_next(
        &self,
        method: Option<&str>,
        path_prefix: &str,
        status: u16,
        count: usize,
        retry_after: Option<u32>,
    ) {
        if count == 0 {
            return;
        }
        lock(&self.inner.failures).push(FailRule {
            method: method.map(str::to_ascii_uppercase),
            path_prefix: path_prefix.to_owned(),
            status,
            remaining: count,
            retry_after,
        });
    }

    /// Delays every response to a path starting with `path_prefix` by `delay` (zero: no delay).
    pub fn slow(&self, path_prefix: &str, delay: Duration) {
        let mut slow = lock(&self.inner.slow);
        slow.retain(|(prefix, _)| prefix != path_prefix);
        if !delay.is_zero() {
            slow.push((path_prefix.to_owned(), delay));
        }
    }

    /// Ends every open watch stream now, without a final event (the client sees EOF).
    pub fn drop_watches(&self) {
        self.inner.watch_generation.send_modify(|g| *g += 1);
    }

    /// While on, accepted connections (and kept-alive ones, on their next request) are closed
    /// without a response.
    pub fn refuse_connections(&self, on: bool) {
        self.inner.refuse.store(on, Ordering::SeqCst);
    }

    /// Compacts the store: watches resuming from an older resourceVersion get 410 Expired.
    pub fn compact(&self) {
        self.inner.store.compact();
    }

    /// Removes every pending failure and delay and accepts connections again.
    pub fn clear(&self) {
        lock(&self.inner.failures).clear();
        lock(&self.inner.slow).clear();
        self.refuse_connections(false);
    }

    /// Whether connections are to be closed (refused or stopped).
    pub(crate) fn refusing(&self) -> bool {
        self.inner.refuse.load(Ordering::SeqCst) || self.inner.stopped.load(Ordering::SeqCst)
    }

    pub(crate) fn set_stopped(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
    }

    pub(crate) fn watch_generation(&self) -> watch::Receiver<u64> {
        self.inner.watch_generation.subscribe()
    }

    /// Applies the delay and consumes a failure matching this request, if any.
    pub(crate) async fn before(&self, method: &str, path: &str) -> Option<ApiError> {
        let delay = lock(&self.inner.slow)
            .iter()
            .filter(|(prefix, _)| path.starts_with(prefix.as_str()))
            .map(|&(_, delay)| delay)
            .max();
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        let mut failures = lock(&self.inner.failures);
        let index = failures.iter().position(|rule| {
            rule.method.as_deref().is_none_or(|m| m == method) && path.starts_with(&rule.path_prefix)
        })?;
        let rule = &mut failures[index];
        rule.remaining -= 1;
        let error = ApiError::injected(rule.status, rule.retry_after);
        if rule.remaining == 0 {
            failures.remove(index);
        }
        Some(error)
    }
}

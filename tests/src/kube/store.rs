//! The fake API server's object store: namespaced objects by resource, a global resourceVersion,
//! optimistic concurrency, a bounded event history (older resourceVersions answer 410 Gone) and
//! change notifications for watches and controllers.

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use serde_json::{Value, json};
use tokio::sync::broadcast;

/// A resource: group, version and plural (`tekton.dev`, `v1`, `pipelineruns`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gvr {
    /// API group; empty for core.
    pub group: String,
    /// Version.
    pub version: String,
    /// Plural resource name.
    pub plural: String,
}

impl Gvr {
    /// A resource from its parts.
    pub fn new(group: &str, version: &str, plural: &str) -> Self {
        Gvr { group: group.into(), version: version.into(), plural: plural.into() }
    }
}

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Created.
    Added,
    /// Changed (spec, metadata or status).
    Modified,
    /// Deleted.
    Deleted,
}

impl EventType {
    /// The watch event type name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as watches and controllers see it.
#[derive(Debug, Clone)]
pub struct StoreEvent {
    /// The resource.
    pub gvr: Gvr,
    /// The namespace.
    pub namespace: String,
    /// What happened.
    pub kind: EventType,
    /// The object after the change (before it, for a deletion), with its resourceVersion.
    pub object: Value,
    /// The resourceVersion of the change.
    pub resource_version: u64,
}

/// A resourceVersion older than the kept history: a watch from it answers 410 Gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gone;

/// Why a store operation failed; maps onto Kubernetes Status reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// 404 NotFound.
    NotFound,
    /// 409 AlreadyExists.
    AlreadyExists,
    /// 409 Conflict: the resourceVersion given is not the current one.
    Conflict {
        /// The current resourceVersion.
        current: u64,
    },
}

#[derive(Debug, Default)]
struct Inner {
    next_rv: u64,
    objects: BTreeMap<(Gvr, String, String), Value>,
    history: VecDeque<StoreEvent>,
    /// The oldest resourceVersion a watch may resume from; anything older is 410 Gone.
    compacted_to: u64,
    next_uid: u64,
}

/// A shared handle to the store.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Mutex<Inner>>,
    events: broadcast::Sender<StoreEvent>,
    history_limit: usize,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl Store {
    /// An empty store that keeps the last `history_limit` events for watches to resume from.
    pub fn new(history_limit: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        let inner = Inner { next_rv: 1, ..Inner::default() };
        Store { inner: Arc::new(Mutex::new(inner)), events, history_limit }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock is a test bug; keep serving so the test reports it.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The current resourceVersion (of the last change).
    pub fn resource_version(&self) -> u64 {
        self.lock().next_rv - 1
    }

    /// Subscribes to every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<StoreEvent> {
        self.events.subscribe()
    }

    /// Events after `rv` for `gvr` in `namespace` (all namespaces when `None`), or [`Gone`] when
    /// `rv` is older than the kept history (410 Gone).
    pub fn events_since(&self, gvr: &Gvr, namespace: Option<&str>, rv: u64) -> Result<Vec<StoreEvent>, Gone> {
        let inner = self.lock();
        if rv < inner.compacted_to {
            return Err(Gone);
        }
        Ok(inner
            .history
            .iter()
            .filter(|e| {
                e.resource_version > rv && &e.gvr == gvr && namespace.is_none_or(|n| n == e.namespace)
            })
            .cloned()
            .collect())
    }

    /// Forgets all history up to now: watches resuming from an older resourceVersion get 410.
    pub fn compact(&self) {
        let mut inner = self.lock();
        inner.compacted_to = inner.next_rv - 1;
        inner.history.clear();
    }

    /// Objects of `gvr` in `namespace` (all namespaces when `None`), by name, and the list's
    /// resourceVersion.
    pub fn list(&self, gvr: &Gvr, namespace: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|((g, ns, _), _)| g == gvr && namespace.is_none_or(|n| n == ns))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.next_rv - 1)
    }

    /// One object.
    pub fn get(&self, gvr: &Gvr, namespace: &str, name: &str) -> Option<Value> {
        self.lock().objects.get(&(gvr.clone(), namespace.into(), name.into())).cloned()
    }

    /// Creates `object` (its `metadata.name` must be set); fills uid, resourceVersion,
    /// creationTimestamp, generation and namespace.
    pub fn create(&self, gvr: &Gvr, namespace: &str, mut object: Value) -> Result<Value, StoreError> {
        let name = name_of(&object);
        let mut inner = self.lock();
        let key = (gvr.clone(), namespace.to_owned(), name);
        if inner.objects.contains_key(&key) {
            return Err(StoreError::AlreadyExists);
        }
        inner.next_uid += 1;
        let uid = format!("00000000-0000-4000-8000-{:012x}", inner.next_uid);
        let meta = metadata_mut(&mut object);
        meta.insert("namespace".into(), json!(namespace));
        meta.insert("uid".into(), json!(uid));
        meta.insert("generation".into(), json!(1));
        meta.insert("creationTimestamp".into(), json!(now()));
        Ok(self.commit(&mut inner, key, object, EventType::Added))
    }

    /// Replaces an object. With `expected_rv`, fails with Conflict unless it is current.
    /// `status_only` keeps the stored spec and metadata and takes only `status` (the status
    /// subresource); otherwise the stored `status` is kept, as for a main-resource write of a
    /// resource with a status subresource.
    pub fn replace(
        &self,
        gvr: &Gvr,
        namespace: &str,
        name: &str,
        mut object: Value,
        expected_rv: Option<u64>,
        status_only: bool,
    ) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        let key = (gvr.clone(), namespace.to_owned(), name.to_owned());
        let current = inner.objects.get(&key).cloned().ok_or(StoreError::NotFound)?;
        let current_rv = rv_of(&current);
        if let Some(expected) = expected_rv
            && expected != current_rv
        {
            return Err(StoreError::Conflict { current: current_rv });
        }
        let merged = if status_only {
            let mut kept = current.clone();
            kept["status"] = object.get("status").cloned().unwrap_or(Value::Null);
            kept
        } else {
            // Identity fields come from the stored object; generation counts spec changes.
            let spec_changed = object.get("spec") != current.get("spec");
            let meta = metadata_mut(&mut object);
            for k in ["uid", "creationTimestamp", "namespace", "name"] {
                if let Some(v) = current["metadata"].get(k) {
                    meta.insert(k.into(), v.clone());
                }
            }
            let generation =
                current["metadata"]["generation"].as_u64().unwrap_or(1) + u64::from(spec_changed);
            meta.insert("generation".into(), json!(generation));
            if let Some(status) = current.get("status") {
                object["status"] = status.clone();
            }
            object
        };
        Ok(self.commit(&mut inner, key, merged, EventType::Modified))
    }

    /// Changes an object's status in place (what controllers do); bumps the resourceVersion.
    pub fn update_status(
        &self,
        gvr: &Gvr,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        let key = (gvr.clone(), namespace.to_owned(), name.to_owned());
        let mut object = inner.objects.get(&key).cloned().ok_or(StoreError::NotFound)?;
        if !object.get("status").is_some_and(Value::is_object) {
            object["status"] = json!({});
        }
        change(&mut object["status"]);
        Ok(self.commit(&mut inner, key, object, EventType::Modified))
    }

    /// Deletes an object; returns it.
    pub fn delete(&self, gvr: &Gvr, namespace: &str, name: &str) -> Result<Value, StoreError> {
        let mut inner = self.lock();
        let key = (gvr.clone(), namespace.to_owned(), name.to_owned());
        let mut object = inner.objects.remove(&key).ok_or(StoreError::NotFound)?;
        let rv = inner.next_rv;
        inner.next_rv += 1;
        metadata_mut(&mut object).insert("resourceVersion".into(), json!(rv.to_string()));
        self.record(&mut inner, &key, &object, EventType::Deleted, rv);
        Ok(object)
    }

    fn commit(
        &self,
        inner: &mut Inner,
        key: (Gvr, String, String),
        mut object: Value,
        kind: EventType,
    ) -> Value {
        let rv = inner.next_rv;
        inner.next_rv += 1;
        metadata_mut(&mut object).insert("resourceVersion".into(), json!(rv.to_string()));
        inner.objects.insert(key.clone(), object.clone());
        self.record(inner, &key, &object, kind, rv);
        object
    }

    fn record(
        &self,
        inner: &mut Inner,
        key: &(Gvr, String, String),
        object: &Value,
        kind: EventType,
        rv: u64,
    ) {
        let event = StoreEvent {
            gvr: key.0.clone(),
            namespace: key.1.clone(),
            kind,
            object: object.clone(),
            resource_version: rv,
        };
        inner.history.push_back(event.clone());
        while inner.history.len() > self.history_limit {
            if let Some(old) = inner.history.pop_front() {
                inner.compacted_to = old.resource_version;
            }
        }
        // No subscriber is fine: nobody is watching.
        let _ = self.events.send(event);
    }
}

fn metadata_mut(object: &mut Value) -> &mut serde_json::Map<String, Value> {
    if !object.get("metadata").is_some_and(Value::is_object) {
        object["metadata"] = json!({});
    }
    object["metadata"].as_object_mut().expect("metadata was just made an object")
}

/// `metadata.name`, or empty.
pub fn name_of(object: &Value) -> String {
    object["metadata"]["name"].as_str().unwrap_or_default().to_owned()
}

/// `metadata.resourceVersion` as a number, or 0.
pub fn rv_of(object: &Value) -> u64 {
    object["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// RFC 3339 UTC, as Kubernetes writes timestamps.
pub fn now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gvr() -> Gvr {
        Gvr::new("tekton.dev", "v1", "pipelineruns")
    }

    #[test]
    fn versions_conflicts_status_and_history() {
        let store = Store::new(3);
        let created =
            store.create(&gvr(), "ns", json!({"metadata": {"name": "a"}, "spec": {"x": 1}})).expect("create");
        assert_eq!(rv_of(&created), 1);
        assert_eq!(
            store.create(&gvr(), "ns", json!({"metadata": {"name": "a"}})),
            Err(StoreError::AlreadyExists)
        );
        let err = store.replace(&gvr(), "ns", "a", json!({"metadata": {"name": "a"}}), Some(7), false);
        assert_eq!(err, Err(StoreError::Conflict { current: 1 }));
        store.update_status(&gvr(), "ns", "a", |s| s["phase"] = json!("Running")).expect("status");
        let replaced = store
            .replace(&gvr(), "ns", "a", json!({"metadata": {"name": "a"}, "spec": {"x": 2}}), Some(2), false)
            .expect("replace");
        assert_eq!(replaced["status"]["phase"], "Running", "a main-resource write keeps the status");
        assert_eq!(replaced["metadata"]["generation"], 2);
        assert_eq!(store.events_since(&gvr(), Some("ns"), 1).expect("kept").len(), 2);
        store.delete(&gvr(), "ns", "a").expect("delete");
        store.create(&gvr(), "ns", json!({"metadata": {"name": "b"}})).expect("create");
        assert!(store.events_since(&gvr(), Some("ns"), 1).is_err(), "history of 3 no longer reaches rv 1");
        assert_eq!(now().len(), 20);
    }
}

//! What `okd watch` remembers of one release on one backend between cycles and across restarts
//! (table `watches`, schema version 5): the last cycle and its run, the consecutive failures it
//! is backing off from, and the last payload it pushed. Builds themselves are not here: a
//! restarted watcher finds them as every run does, by fingerprint.

use jiff::Timestamp;
use okd_core::Result;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::sqlite::{SqliteRunStore, time};

/// How a watch cycle ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleResult {
    /// Every component built or reused (and the payload, when due, pushed).
    Green,
    /// A component failed.
    Failed,
    /// The cycle could not run to the end: the manifest, a source, the backend or the registry.
    Error,
    /// Stopped by a signal.
    Cancelled,
}

impl CycleResult {
    /// The name in JSON output and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            CycleResult::Green => "green",
            CycleResult::Failed => "failed",
            CycleResult::Error => "error",
            CycleResult::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [CycleResult::Green, CycleResult::Failed, CycleResult::Error, CycleResult::Cancelled]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// The payload a watch pushed last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushedPayload {
    /// The release image, by tag.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    /// The run it was assembled from.
    pub run: String,
    /// When it was pushed.
    pub at: Timestamp,
}

/// One watched release on one backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchState {
    /// The release's name.
    pub release: String,
    /// Its version.
    pub version: String,
    /// The backend that builds it.
    pub backend: String,
    /// Cycles run so far, by every watcher of it.
    pub cycles: u64,
    /// When the last cycle ended.
    pub last_cycle: Option<Timestamp>,
    /// The run the last cycle built, when it got that far.
    pub last_run: Option<String>,
    /// How the last cycle ended.
    pub last_result: Option<CycleResult>,
    /// The last cycle's error, for [`CycleResult::Error`].
    pub last_error: Option<String>,
    /// Consecutive cycles that were not green: what the backoff counts.
    pub failures: u32,
    /// The last payload pushed.
    pub payload: Option<PushedPayload>,
}

impl WatchState {
    /// A release never watched before.
    pub fn new(release: &str, version: &str, backend: &str) -> Self {
        WatchState {
            release: release.to_owned(),
            version: version.to_owned(),
            backend: backend.to_owned(),
            cycles: 0,
            last_cycle: None,
            last_run: None,
            last_result: None,
            last_error: None,
            failures: 0,
            payload: None,
        }
    }
}

impl SqliteRunStore {
    /// What the watch of `release` `version` on `backend` recorded; `None` if never watched.
    pub fn watch_state(&self, release: &str, version: &str, backend: &str) -> Result<Option<WatchState>> {
        self.read("read a watch", |tx| {
            let row = tx
                .query_row(
                    "SELECT cycles, last_cycle, last_run, last_result, last_error, failures,
                            payload_image, payload_digest, payload_run, payload_at
                     FROM watches WHERE release = ?1 AND version = ?2 AND backend = ?3",
                    params![release, version, backend],
                    |r| {
                        Ok(Row {
                            cycles: r.get(0)?,
                            last_cycle: r.get(1)?,
                            last_run: r.get(2)?,
                            last_result: r.get(3)?,
                            last_error: r.get(4)?,
                            failures: r.get(5)?,
                            payload_image: r.get(6)?,
                            payload_digest: r.get(7)?,
                            payload_run: r.get(8)?,
                            payload_at: r.get(9)?,
                        })
                    },
                )
                .optional()?;
            let Some(row) = row else { return Ok(None) };
            let mut state = WatchState::new(release, version, backend);
            state.cycles = u64::try_from(row.cycles).unwrap_or(0);
            state.last_cycle = row.last_cycle.map(|t| self.parse_time(&t)).transpose()?;
            state.last_run = row.last_run;
            state.last_result = match row.last_result {
                None => None,
                Some(text) => Some(
                    CycleResult::parse(&text)
                        .ok_or_else(|| self.corrupt(&format!("unknown watch result '{text}'")))?,
                ),
            };
            state.last_error = row.last_error;
            state.failures = u32::try_from(row.failures).unwrap_or(u32::MAX);
            state.payload = match (row.payload_image, row.payload_digest, row.payload_run, row.payload_at) {
                (Some(image), Some(digest), Some(run), Some(at)) => {
                    Some(PushedPayload { image, digest, run, at: self.parse_time(&at)? })
                }
                _ => None,
            };
            Ok(Some(state))
        })
    }

    /// Records `state` whole, replacing what the watch of its release, version and backend had.
    pub fn record_watch(&self, state: &WatchState) -> Result<()> {
        let payload = state.payload.as_ref();
        self.write("record a watch", |tx| {
            tx.execute(
                "INSERT INTO watches (release, version, backend, cycles, last_cycle, last_run, last_result,
                     last_error, failures, payload_image, payload_digest, payload_run, payload_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                 ON CONFLICT (release, version, backend) DO UPDATE SET
                     cycles = excluded.cycles, last_cycle = excluded.last_cycle,
                     last_run = excluded.last_run, last_result = excluded.last_result,
                     last_error = excluded.last_error, failures = excluded.failures,
                     payload_image = excluded.payload_image, payload_digest = excluded.payload_digest,
                     payload_run = excluded.payload_run, payload_at = excluded.payload_at",
                params![
                    state.release,
                    state.version,
                    state.backend,
                    i64::try_from(state.cycles).unwrap_or(i64::MAX),
                    state.last_cycle.map(time),
                    state.last_run,
                    state.last_result.map(CycleResult::as_str),
                    state.last_error,
                    i64::from(state.failures),
                    payload.map(|p| &p.image),
                    payload.map(|p| &p.digest),
                    payload.map(|p| &p.run),
                    payload.map(|p| time(p.at)),
                ],
            )?;
            Ok(())
        })
    }
}

struct Row {
    cycles: i64,
    last_cycle: Option<String>,
    last_run: Option<String>,
    last_result: Option<String>,
    last_error: Option<String>,
    failures: i64,
    payload_image: Option<String>,
    payload_digest: Option<String>,
    payload_run: Option<String>,
    payload_at: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::Connection;

    use super::*;
    use crate::store::{RunFilter, RunStart, RunStore, SCHEMA_VERSION};

    fn version(dir: &std::path::Path) -> i64 {
        let conn = Connection::open(dir.join(crate::store::DB_FILE)).unwrap();
        conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap()
    }

    fn full_state() -> WatchState {
        let at = Timestamp::from_second(1_750_000_000).unwrap();
        WatchState {
            cycles: 3,
            last_cycle: Some(at),
            last_run: Some("okd-mini-local-abc".into()),
            last_result: Some(CycleResult::Failed),
            last_error: None,
            failures: 2,
            payload: Some(PushedPayload {
                image: "127.0.0.1:5000/okd/okd-mini-release:4.17.0".into(),
                digest: format!("sha256:{:064}", 1),
                run: "okd-mini-local-abd".into(),
                at,
            }),
            ..WatchState::new("okd-mini", "4.17.0", "local")
        }
    }

    #[test]
    fn a_watch_round_trips_and_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRunStore::open(dir.path()).unwrap();
        assert_eq!(store.watch_state("okd-mini", "4.17.0", "local").unwrap(), None);
        let state = full_state();
        store.record_watch(&state).unwrap();
        let again = SqliteRunStore::open(dir.path()).unwrap();
        assert_eq!(again.watch_state("okd-mini", "4.17.0", "local").unwrap(), Some(state.clone()));
        assert_eq!(again.watch_state("okd-mini", "4.17.0", "konflux").unwrap(), None, "per backend");
        assert_eq!(again.watch_state("okd-mini", "4.18.0", "local").unwrap(), None, "per version");
        let green = WatchState {
            last_result: Some(CycleResult::Error),
            last_error: Some("registry unreachable".into()),
            failures: 0,
            payload: None,
            ..state
        };
        again.record_watch(&green).unwrap();
        assert_eq!(store.watch_state("okd-mini", "4.17.0", "local").unwrap(), Some(green));
    }

    /// A version 4 file (the schema before `okd watch`) is migrated in place: its runs stay and
    /// the watch table is there.
    #[test]
    fn a_version_4_database_is_migrated_to_5_keeping_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = SqliteRunStore::open(dir.path()).unwrap();
            let components = vec![("a".to_owned(), Some("sha256:1".to_owned()))];
            let run = okd_core::backend::RunId("old".into());
            store
                .start_run(&RunStart {
                    run: &run,
                    backend: "local",
                    release: "okd-mini",
                    version: "4.17.0",
                    components: &components,
                })
                .unwrap();
        }
        let conn = Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
        conn.execute_batch("DROP TABLE watches;").unwrap();
        conn.pragma_update(None, "user_version", 4).unwrap();
        drop(conn);
        assert_eq!(version(dir.path()), 4);

        let store = SqliteRunStore::open(dir.path()).unwrap();
        assert_eq!(version(dir.path()), SCHEMA_VERSION);
        assert_eq!(SCHEMA_VERSION, 5);
        let runs = store.runs(&RunFilter::default(), 10).unwrap();
        assert_eq!(runs.len(), 1, "the old run is kept: {runs:?}");
        assert_eq!(runs[0].release.as_deref(), Some("okd-mini"));
        store.record_watch(&full_state()).unwrap();
        assert_eq!(store.watch_state("okd-mini", "4.17.0", "local").unwrap(), Some(full_state()));
    }

    #[test]
    fn an_unknown_result_is_reported_as_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteRunStore::open(dir.path()).unwrap();
        store.record_watch(&full_state()).unwrap();
        let conn = Connection::open(dir.path().join(crate::store::DB_FILE)).unwrap();
        // The CHECK constraint keeps SQL from writing it; an older or foreign writer could still
        // leave the column unreadable, e.g. with the constraint ignored.
        conn.pragma_update(None, "ignore_check_constraints", true).unwrap();
        conn.execute("UPDATE watches SET last_result = 'purple'", []).unwrap();
        let error = store.watch_state("okd-mini", "4.17.0", "local").unwrap_err();
        assert!(error.message().contains("unknown watch result 'purple'"), "{error}");
    }
}

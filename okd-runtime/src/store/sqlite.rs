//! [`SqliteRunStore`]: the [`RunStore`] in one SQLite file, `state.db`, in the state folder
//! (`--state DIR`, else [`SqliteRunStore::default_dir`]).
//! It is opened in WAL mode with a 5 s busy timeout, so concurrent okd-build processes read while
//! one writes and writers wait for each other instead of failing. Every write is one transaction
//! (`BEGIN IMMEDIATE`), so a process killed at any point leaves each record whole or absent.
//! The schema is in [`schema`]'s documentation.
//!
//! Calls block on SQLite for one short transaction each (a writer waits up to the busy timeout
//! for another process's write).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard, PoisonError},
};

use jiff::Timestamp;
use okd_core::{
    Error, ErrorKind, Result,
    backend::{ComponentResult, Outcome, RunId, RunState, RunStatus},
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{BuildRecord, CancelRequest, RunFilter, RunStart, RunStore, RunSummary, schema};

/// The file name of the database in the state folder.
pub const DB_FILE: &str = "state.db";

/// The run store of one state folder. Cheap to share (`Send + Sync`); each process or thread
/// may also open its own.
#[derive(Debug)]
pub struct SqliteRunStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// A failure inside a transaction: SQLite's, mapped with the action at the end, or already ours.
pub(super) enum Fail {
    Sql(rusqlite::Error),
    Okd(Error),
}

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Okd(e)
    }
}

pub(super) type Tx<'a> = Transaction<'a>;

impl SqliteRunStore {
    /// `$XDG_STATE_HOME/okd`, else `~/.local/state/okd`, else `.okd/state`.
    pub fn default_dir() -> PathBuf {
        let absolute = |var: &str| std::env::var_os(var).map(PathBuf::from).filter(|p| p.is_absolute());
        if let Some(state) = absolute("XDG_STATE_HOME") {
            return state.join("okd");
        }
        if let Some(home) = absolute("HOME") {
            return home.join(".local/state/okd");
        }
        PathBuf::from(".okd/state")
    }

    /// Opens (creating it if needed) `dir/state.db`. Refuses a database written by a newer
    /// okd-build.
    pub fn open(dir: &Path) -> Result<SqliteRunStore> {
        if dir.is_file() {
            return Err(Error::invalid(format!("state folder {} is a file", dir.display()))
                .with_help("point --state at a folder (it is created when missing)"));
        }
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the state folder", e))?;
        let path = dir.join(DB_FILE);
        let conn = schema::connect(&path)?;
        Ok(SqliteRunStore { path, conn: Mutex::new(conn) })
    }

    /// A store in memory, gone when dropped: for tests and in-process fakes.
    pub fn in_memory() -> Result<SqliteRunStore> {
        let path = PathBuf::from(":memory:");
        let conn = schema::connect(&path)?;
        Ok(SqliteRunStore { path, conn: Mutex::new(conn) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RunStore for SqliteRunStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn lookup(&self, backend: &str, fingerprint: &str) -> Result<Option<BuildRecord>> {
        self.read("look up a build", |tx| {
            let row = tx
                .query_row(
                    "SELECT component, image, build_ref, digest, built_at, log FROM builds
                     WHERE backend = ?1 AND fingerprint = ?2",
                    params![backend, fingerprint],
                    |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get(3)?,
                            r.get::<_, String>(4)?,
                            r.get::<_, Option<String>>(5)?,
                        ))
                    },
                )
                .optional()?;
            let Some((component, image, build_ref, digest, built_at, log)) = row else {
                return Ok(None);
            };
            Ok(Some(BuildRecord {
                backend: backend.to_owned(),
                fingerprint: fingerprint.to_owned(),
                component,
                image,
                build_ref,
                digest,
                built_at: self.parse_time(&built_at)?,
                log: log.map(PathBuf::from),
            }))
        })
    }

    fn record_build(&self, record: &BuildRecord) -> Result<()> {
        let log =
            match &record.log {
                None => None,
                Some(path) => Some(path.to_str().ok_or_else(|| {
                    Error::invalid(format!("build log path {} is not UTF-8", path.display()))
                })?),
            };
        self.write("record a build", |tx| {
            tx.execute(
                "INSERT INTO builds (backend, fingerprint, component, image, build_ref, digest, built_at, log)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (backend, fingerprint) DO UPDATE SET
                     component = excluded.component, image = excluded.image,
                     build_ref = excluded.build_ref, digest = excluded.digest,
                     built_at = excluded.built_at, log = excluded.log",
                params![
                    record.backend,
                    record.fingerprint,
                    record.component,
                    record.image,
                    record.build_ref,
                    record.digest,
                    time(record.built_at),
                    log
                ],
            )?;
            Ok(())
        })
    }

    fn forget(&self, backend: &str, fingerprint: &str) -> Result<()> {
        self.write("forget a build", |tx| {
            tx.execute(
                "DELETE FROM builds WHERE backend = ?1 AND fingerprint = ?2",
                params![backend, fingerprint],
            )?;
            Ok(())
        })
    }

    fn start_run(&self, start: &RunStart<'_>) -> Result<()> {
        let (run, backend) = (start.run, start.backend);
        let now = time(Timestamp::now());
        self.write("start a run", |tx| {
            let existing: Option<(String, String)> = tx
                .query_row("SELECT backend, state FROM runs WHERE run = ?1", [&run.0], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match existing {
                None => {
                    tx.execute(
                        "INSERT INTO runs (run, backend, state, started, updated) VALUES (?1, ?2, 'running', ?3, ?3)",
                        params![run.0, backend, now],
                    )?;
                }
                Some((owner, _)) if owner != backend => {
                    return Err(Error::new(
                        ErrorKind::Conflict,
                        format!("run {run} belongs to backend '{owner}', not '{backend}'"),
                    )
                    .into());
                }
                Some((_, state)) if state == "running" => {
                    tx.execute(
                        "UPDATE run_components SET outcome = NULL, image = NULL, digest = NULL,
                             reason = NULL, started = NULL, finished = NULL
                         WHERE run = ?1 AND outcome NOT IN ('succeeded', 'reused')",
                        [&run.0],
                    )?;
                    tx.execute("UPDATE runs SET updated = ?2 WHERE run = ?1", params![run.0, now])?;
                }
                Some(_) => {
                    tx.execute("DELETE FROM run_components WHERE run = ?1", [&run.0])?;
                    tx.execute(
                        "UPDATE runs SET state = 'running', started = ?2, updated = ?2, finished = NULL
                         WHERE run = ?1",
                        params![run.0, now],
                    )?;
                }
            }
            tx.execute(
                "UPDATE runs SET pid = ?2, cancel_requested = 0, release = ?3, version = ?4 WHERE run = ?1",
                params![run.0, i64::from(std::process::id()), start.release, start.version],
            )?;
            // Positions follow this call's order; components no longer listed are dropped.
            tx.execute("UPDATE run_components SET position = -1 WHERE run = ?1", [&run.0])?;
            let mut upsert = tx.prepare(
                "INSERT INTO run_components (run, name, position, fingerprint) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (run, name) DO UPDATE SET
                     position = excluded.position, fingerprint = excluded.fingerprint",
            )?;
            for (position, (name, fingerprint)) in start.components.iter().enumerate() {
                upsert.execute(params![run.0, name, position as i64, fingerprint])?;
            }
            tx.execute("DELETE FROM run_components WHERE run = ?1 AND position = -1", [&run.0])?;
            Ok(())
        })
    }

    fn record_result(&self, run: &RunId, result: &ComponentResult) -> Result<()> {
        // Per-arch results as JSON text: read back whole, never queried.
        let arches =
            (!result.arches.is_empty()).then(|| serde_json::to_string(&result.arches)).transpose().map_err(
                |e| Error::new(ErrorKind::Internal, "cannot encode per-arch results").with_source(e),
            )?;
        self.write("record a component result", |tx| {
            self.require_run(tx, run)?;
            tx.execute(
                "INSERT INTO run_components
                     (run, name, position, outcome, image, digest, reason, started, finished, fingerprint, arches)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(position), -1) + 1 FROM run_components WHERE run = ?1),
                         ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (run, name) DO UPDATE SET
                     outcome = excluded.outcome, image = excluded.image, digest = excluded.digest,
                     reason = excluded.reason, started = excluded.started, finished = excluded.finished,
                     fingerprint = COALESCE(excluded.fingerprint, fingerprint), arches = excluded.arches",
                params![
                    run.0,
                    result.name,
                    Outcome::as_str(result.outcome),
                    result.image,
                    result.digest,
                    result.reason,
                    result.started.map(time),
                    result.finished.map(time),
                    result.fingerprint,
                    arches
                ],
            )?;
            tx.execute(
                "UPDATE runs SET updated = ?2 WHERE run = ?1",
                params![run.0, time(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    fn finish_run(&self, run: &RunId, state: RunState) -> Result<()> {
        let now = time(Timestamp::now());
        let finished = (state != RunState::Running).then_some(&now);
        self.write("finish a run", |tx| {
            let changed = tx.execute(
                "UPDATE runs SET state = ?2, updated = ?3, finished = ?4 WHERE run = ?1",
                params![run.0, RunState::as_str(state), now, finished],
            )?;
            if changed == 0 {
                return Err(not_found(run).into());
            }
            Ok(())
        })
    }

    fn record_api_requests(&self, run: &RunId, requests: u64) -> Result<()> {
        let requests = i64::try_from(requests).unwrap_or(i64::MAX);
        self.write("record a run's API requests", |tx| {
            let changed =
                tx.execute("UPDATE runs SET api_requests = ?2 WHERE run = ?1", params![run.0, requests])?;
            if changed == 0 {
                return Err(not_found(run).into());
            }
            Ok(())
        })
    }

    fn last_build_times(&self, backend: &str) -> Result<HashMap<String, std::time::Duration>> {
        self.read("read build times", |tx| {
            let mut query = tx.prepare_cached(
                "SELECT c.name, c.started, c.finished FROM run_components c JOIN runs r ON r.run = c.run
                 WHERE r.backend = ?1 AND c.outcome = 'succeeded'
                   AND c.started IS NOT NULL AND c.finished IS NOT NULL
                 ORDER BY c.finished DESC",
            )?;
            let rows = query
                .query_map([backend], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut times = HashMap::new();
            for (name, started, finished) in rows {
                let (Ok(started), Ok(finished)) =
                    (started.parse::<Timestamp>(), finished.parse::<Timestamp>())
                else {
                    continue;
                };
                let took = finished.duration_since(started).unsigned_abs();
                times.entry(name).or_insert(took);
            }
            Ok(times)
        })
    }

    fn request_cancel(&self, run: &RunId) -> Result<CancelRequest> {
        self.write("request a cancel", |tx| {
            let row: Option<(String, Option<i64>)> = tx
                .query_row("SELECT state, pid FROM runs WHERE run = ?1", [&run.0], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            match row {
                None => Err(not_found(run).into()),
                Some((state, pid)) if state == "running" => {
                    tx.execute("UPDATE runs SET cancel_requested = 1 WHERE run = ?1", [&run.0])?;
                    Ok(CancelRequest::Running { pid: pid.and_then(|p| u32::try_from(p).ok()) })
                }
                Some(_) => Ok(CancelRequest::NotRunning),
            }
        })
    }

    fn cancel_requested(&self, run: &RunId) -> Result<bool> {
        self.read("read a cancel request", |tx| {
            let flag: Option<i64> = tx
                .query_row("SELECT cancel_requested FROM runs WHERE run = ?1", [&run.0], |r| r.get(0))
                .optional()?;
            Ok(flag == Some(1))
        })
    }

    fn run_status(&self, run: &RunId) -> Result<Option<RunStatus>> {
        self.read("read a run", |tx| {
            let state: Option<String> =
                tx.query_row("SELECT state FROM runs WHERE run = ?1", [&run.0], |r| r.get(0)).optional()?;
            match state {
                None => Ok(None),
                Some(state) => Ok(Some(self.status(tx, run.clone(), &state)?)),
            }
        })
    }

    fn runs(&self, filter: &RunFilter, limit: usize) -> Result<Vec<RunSummary>> {
        self.read("list runs", |tx| {
            let mut query = tx.prepare_cached(
                "SELECT r.run, r.backend, r.release, r.version, r.state, r.started, r.finished,
                        (SELECT COUNT(*) FROM run_components c WHERE c.run = r.run), r.api_requests
                 FROM runs r
                 WHERE (?1 IS NULL OR r.backend = ?1) AND (?2 IS NULL OR r.release = ?2)
                   AND (?3 IS NULL OR r.version = ?3)
                 ORDER BY r.started DESC, r.rowid DESC LIMIT ?4",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let params = params![filter.backend, filter.release, filter.version, limit];
            let rows = query
                .query_map(params, |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, Option<String>>(6)?,
                        r.get::<_, i64>(7)?,
                        r.get::<_, Option<i64>>(8)?,
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter()
                .map(|(run, backend, release, version, state, started, finished, n, requests)| {
                    Ok(RunSummary {
                        run: RunId(run),
                        backend,
                        release,
                        version,
                        state: self.run_state(&state)?,
                        started: self.parse_time(&started)?,
                        finished: finished.map(|t| self.parse_time(&t)).transpose()?,
                        components: usize::try_from(n).unwrap_or(0),
                        api_requests: requests.and_then(|r| u64::try_from(r).ok()),
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map_err(Fail::Okd)
        })
    }
}

impl SqliteRunStore {
    fn run_state(&self, state: &str) -> Result<RunState> {
        match state {
            "running" => Ok(RunState::Running),
            "finished" => Ok(RunState::Finished),
            "cancelled" => Ok(RunState::Cancelled),
            other => Err(self.corrupt(&format!("unknown run state '{other}'"))),
        }
    }

    fn status(&self, tx: &Tx<'_>, run: RunId, state: &str) -> Result<RunStatus, Fail> {
        let state = self.run_state(state)?;
        let mut query = tx.prepare_cached(
            "SELECT name, outcome, image, digest, reason, started, finished, fingerprint, arches FROM run_components
             WHERE run = ?1 AND outcome IS NOT NULL ORDER BY position, name",
        )?;
        let rows = query.query_map([&run.0], ResultRow::from_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
        let components = rows.into_iter().map(|row| self.result(row)).collect::<Result<_>>()?;
        Ok(RunStatus { run, state, components })
    }

    fn result(&self, row: ResultRow) -> Result<ComponentResult> {
        let outcome = match row.outcome.as_str() {
            "succeeded" => Outcome::Succeeded,
            "reused" => Outcome::Reused,
            "failed" => Outcome::Failed,
            "skipped" => Outcome::Skipped,
            "cancelled" => Outcome::Cancelled,
            other => return Err(self.corrupt(&format!("unknown outcome '{other}'"))),
        };
        let time = |t: Option<String>| t.map(|t| self.parse_time(&t)).transpose();
        Ok(ComponentResult {
            name: row.name,
            outcome,
            image: row.image,
            digest: row.digest,
            reason: row.reason,
            started: time(row.started)?,
            finished: time(row.finished)?,
            fingerprint: row.fingerprint,
            arches: match row.arches {
                Some(text) => serde_json::from_str(&text)
                    .map_err(|_| self.corrupt(&format!("unreadable per-arch results '{text}'")))?,
                None => Vec::new(),
            },
        })
    }

    fn require_run(&self, tx: &Tx<'_>, run: &RunId) -> Result<(), Fail> {
        let found = tx.query_row("SELECT 1 FROM runs WHERE run = ?1", [&run.0], |_| Ok(())).optional()?;
        found.ok_or_else(|| not_found(run).into())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic mid-transaction dropped the Transaction, which rolled it back: the connection is fine.
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` in a write transaction, taken at once so it waits (busy timeout) rather than fail.
    pub(super) fn write<T>(&self, action: &str, f: impl FnOnce(&Tx<'_>) -> Result<T, Fail>) -> Result<T> {
        let mut conn = self.lock();
        let run = || -> Result<T, Fail> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        run().map_err(|e| self.error(action, e))
    }

    /// Runs `f` in a read transaction: one consistent snapshot, never waiting for writers.
    pub(super) fn read<T>(&self, action: &str, f: impl FnOnce(&Tx<'_>) -> Result<T, Fail>) -> Result<T> {
        let mut conn = self.lock();
        let run = || -> Result<T, Fail> {
            let tx = conn.transaction()?;
            let value = f(&tx)?;
            tx.finish()?;
            Ok(value)
        };
        run().map_err(|e| self.error(action, e))
    }

    fn error(&self, action: &str, e: Fail) -> Error {
        match e {
            Fail::Sql(e) => schema::db_error(&self.path, action, e),
            Fail::Okd(e) => e,
        }
    }

    pub(super) fn corrupt(&self, what: &str) -> Error {
        Error::new(ErrorKind::Internal, format!("state database {} is corrupt: {what}", self.path.display()))
            .with_help("move the file aside: okd-build starts a new one and rebuilds what it no longer knows")
    }

    pub(super) fn parse_time(&self, text: &str) -> Result<Timestamp> {
        text.parse().map_err(|e| self.corrupt(&format!("bad timestamp '{text}'")).with_source(e))
    }
}

struct ResultRow {
    name: String,
    outcome: String,
    image: Option<String>,
    digest: Option<String>,
    reason: Option<String>,
    started: Option<String>,
    finished: Option<String>,
    fingerprint: Option<String>,
    arches: Option<String>,
}

impl ResultRow {
    fn from_row(r: &Row<'_>) -> rusqlite::Result<Self> {
        Ok(ResultRow {
            name: r.get(0)?,
            outcome: r.get(1)?,
            image: r.get(2)?,
            digest: r.get(3)?,
            reason: r.get(4)?,
            started: r.get(5)?,
            finished: r.get(6)?,
            fingerprint: r.get(7)?,
            arches: r.get(8)?,
        })
    }
}

/// RFC 3339 in UTC with nine fractional digits: fixed width, so text order is time order.
pub(super) fn time(t: Timestamp) -> String {
    format!("{t:.9}")
}

fn not_found(run: &RunId) -> Error {
    Error::new(ErrorKind::NotFound, format!("run {run} is not in the state database"))
}

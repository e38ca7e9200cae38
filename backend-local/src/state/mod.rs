//! The build state store: which image each (backend, fingerprint) was built into, and the runs.
//!
//! One SQLite file, `state.db`, in the state folder (`--state DIR`, else [`StateStore::default_dir`]).
//! It is opened in WAL mode with a 5 s busy timeout, so concurrent okd-build processes read while
//! one writes and writers wait for each other instead of failing. Every write is one transaction
//! (`BEGIN IMMEDIATE`), so a process killed at any point leaves each record whole or absent.
//! The schema is in [`schema`]'s documentation.
//!
//! Reuse: a component whose fingerprint is in [`StateStore::lookup`] and whose image still exists
//! is not rebuilt ([`StateStore::forget`] when it is gone). Resume: a run that crashed stays
//! `Running`; starting it again keeps the results of the components that succeeded or were reused.
//!
//! Calls block on SQLite; from async code use `tokio::task::spawn_blocking` if a write may wait.

pub mod schema;

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
use serde::Serialize;

pub use schema::SCHEMA_VERSION;

/// The file name of the database in the state folder.
pub const DB_FILE: &str = "state.db";

/// An image built for a fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildRecord {
    /// The backend that built it.
    pub backend: String,
    /// The component's fingerprint.
    pub fingerprint: String,
    /// The component.
    pub component: String,
    /// The image reference.
    pub image: String,
    /// The engine's image ID.
    pub image_id: String,
    /// The digest, when known.
    pub digest: Option<String>,
    /// When it was built.
    pub built_at: Timestamp,
    /// The build log, when kept.
    pub log: Option<PathBuf>,
}

/// What [`StateStore::request_cancel`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRequest {
    /// The run had ended; nothing to cancel.
    NotRunning,
    /// The run is marked running; the request is recorded for its process to see.
    Running {
        /// That process, when recorded (runs started before schema version 2 have none).
        pid: Option<u32>,
    },
}

/// The state database of one state folder. Cheap to share (`Send + Sync`); each process or
/// thread may also open its own.
#[derive(Debug)]
pub struct StateStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// A failure inside a transaction: SQLite's, mapped with the action at the end, or already ours.
enum Fail {
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

type Tx<'a> = Transaction<'a>;

impl StateStore {
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
    pub fn open(dir: &Path) -> Result<StateStore> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, "create the state folder", e))?;
        let path = dir.join(DB_FILE);
        let conn = schema::connect(&path)?;
        Ok(StateStore { path, conn: Mutex::new(conn) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The image last built by `backend` for `fingerprint`.
    pub fn lookup(&self, backend: &str, fingerprint: &str) -> Result<Option<BuildRecord>> {
        self.read("look up a build", |tx| {
            let row = tx
                .query_row(
                    "SELECT component, image, image_id, digest, built_at, log FROM builds
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
            let Some((component, image, image_id, digest, built_at, log)) = row else {
                return Ok(None);
            };
            Ok(Some(BuildRecord {
                backend: backend.to_owned(),
                fingerprint: fingerprint.to_owned(),
                component,
                image,
                image_id,
                digest,
                built_at: self.parse_time(&built_at)?,
                log: log.map(PathBuf::from),
            }))
        })
    }

    /// Records a build, replacing the one with the same backend and fingerprint.
    pub fn record_build(&self, record: &BuildRecord) -> Result<()> {
        let log =
            match &record.log {
                None => None,
                Some(path) => Some(path.to_str().ok_or_else(|| {
                    Error::invalid(format!("build log path {} is not UTF-8", path.display()))
                })?),
            };
        self.write("record a build", |tx| {
            tx.execute(
                "INSERT INTO builds (backend, fingerprint, component, image, image_id, digest, built_at, log)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (backend, fingerprint) DO UPDATE SET
                     component = excluded.component, image = excluded.image,
                     image_id = excluded.image_id, digest = excluded.digest,
                     built_at = excluded.built_at, log = excluded.log",
                params![
                    record.backend,
                    record.fingerprint,
                    record.component,
                    record.image,
                    record.image_id,
                    record.digest,
                    time(record.built_at),
                    log
                ],
            )?;
            Ok(())
        })
    }

    /// Forgets the build of `fingerprint` (its image is gone). Forgetting nothing is not an error.
    pub fn forget(&self, backend: &str, fingerprint: &str) -> Result<()> {
        self.write("forget a build", |tx| {
            tx.execute(
                "DELETE FROM builds WHERE backend = ?1 AND fingerprint = ?2",
                params![backend, fingerprint],
            )?;
            Ok(())
        })
    }

    /// Starts `run` over `components` (in build order). Starting a run that is still `Running`
    /// (its process crashed or was killed) resumes it: the results of components that succeeded
    /// or were reused are kept, the others cleared so they are tried again. Starting a run that
    /// ended starts it afresh.
    pub fn start_run(&self, run: &RunId, backend: &str, components: &[String]) -> Result<()> {
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
                "UPDATE runs SET pid = ?2, cancel_requested = 0 WHERE run = ?1",
                params![run.0, i64::from(std::process::id())],
            )?;
            // Positions follow this call's order; components no longer listed are dropped.
            tx.execute("UPDATE run_components SET position = -1 WHERE run = ?1", [&run.0])?;
            let mut upsert = tx.prepare(
                "INSERT INTO run_components (run, name, position) VALUES (?1, ?2, ?3)
                 ON CONFLICT (run, name) DO UPDATE SET position = excluded.position",
            )?;
            for (position, name) in components.iter().enumerate() {
                upsert.execute(params![run.0, name, position as i64])?;
            }
            tx.execute("DELETE FROM run_components WHERE run = ?1 AND position = -1", [&run.0])?;
            Ok(())
        })
    }

    /// Records how one component of `run` ended, replacing an earlier result. A component that
    /// `start_run` did not list is added at the end.
    pub fn record_result(&self, run: &RunId, result: &ComponentResult) -> Result<()> {
        self.write("record a component result", |tx| {
            self.require_run(tx, run)?;
            tx.execute(
                "INSERT INTO run_components
                     (run, name, position, outcome, image, digest, reason, started, finished)
                 VALUES (?1, ?2, (SELECT COALESCE(MAX(position), -1) + 1 FROM run_components WHERE run = ?1),
                         ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (run, name) DO UPDATE SET
                     outcome = excluded.outcome, image = excluded.image, digest = excluded.digest,
                     reason = excluded.reason, started = excluded.started, finished = excluded.finished",
                params![
                    run.0,
                    result.name,
                    outcome_name(result.outcome),
                    result.image,
                    result.digest,
                    result.reason,
                    result.started.map(time),
                    result.finished.map(time)
                ],
            )?;
            tx.execute(
                "UPDATE runs SET updated = ?2 WHERE run = ?1",
                params![run.0, time(Timestamp::now())],
            )?;
            Ok(())
        })
    }

    /// Marks `run` as `state` (normally `Finished` or `Cancelled`).
    pub fn finish_run(&self, run: &RunId, state: RunState) -> Result<()> {
        let now = time(Timestamp::now());
        let finished = (state != RunState::Running).then_some(&now);
        self.write("finish a run", |tx| {
            let changed = tx.execute(
                "UPDATE runs SET state = ?2, updated = ?3, finished = ?4 WHERE run = ?1",
                params![run.0, state_name(state), now, finished],
            )?;
            if changed == 0 {
                return Err(not_found(run).into());
            }
            Ok(())
        })
    }

    /// How long each component of `backend` took when it was last built (not reused), by
    /// name; what the scheduler expects its next build to take.
    pub fn last_build_times(&self, backend: &str) -> Result<HashMap<String, std::time::Duration>> {
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

    /// Asks the process running `run` to cancel it (unknown runs are NotFound).
    pub fn request_cancel(&self, run: &RunId) -> Result<CancelRequest> {
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

    /// Whether another process asked to cancel `run`.
    pub fn cancel_requested(&self, run: &RunId) -> Result<bool> {
        self.read("read a cancel request", |tx| {
            let flag: Option<i64> = tx
                .query_row("SELECT cancel_requested FROM runs WHERE run = ?1", [&run.0], |r| r.get(0))
                .optional()?;
            Ok(flag == Some(1))
        })
    }

    /// Where `run` is, with the results recorded so far in `start_run`'s order; `None` if unknown.
    pub fn run_status(&self, run: &RunId) -> Result<Option<RunStatus>> {
        self.read("read a run", |tx| {
            let state: Option<String> =
                tx.query_row("SELECT state FROM runs WHERE run = ?1", [&run.0], |r| r.get(0)).optional()?;
            match state {
                None => Ok(None),
                Some(state) => Ok(Some(self.status(tx, run.clone(), &state)?)),
            }
        })
    }

    /// The last `limit` runs of `backend`, newest first.
    pub fn runs(&self, backend: &str, limit: usize) -> Result<Vec<RunStatus>> {
        self.read("list runs", |tx| {
            let mut query = tx.prepare(
                "SELECT run, state FROM runs WHERE backend = ?1 ORDER BY started DESC, rowid DESC LIMIT ?2",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = query
                .query_map(params![backend, limit], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(|(run, state)| self.status(tx, RunId(run), &state)).collect()
        })
    }

    fn status(&self, tx: &Tx<'_>, run: RunId, state: &str) -> Result<RunStatus, Fail> {
        let state = match state {
            "running" => RunState::Running,
            "finished" => RunState::Finished,
            "cancelled" => RunState::Cancelled,
            other => return Err(self.corrupt(&format!("unknown run state '{other}'")).into()),
        };
        let mut query = tx.prepare_cached(
            "SELECT name, outcome, image, digest, reason, started, finished FROM run_components
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
    fn write<T>(&self, action: &str, f: impl FnOnce(&Tx<'_>) -> Result<T, Fail>) -> Result<T> {
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
    fn read<T>(&self, action: &str, f: impl FnOnce(&Tx<'_>) -> Result<T, Fail>) -> Result<T> {
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

    fn corrupt(&self, what: &str) -> Error {
        Error::new(ErrorKind::Internal, format!("state database {} is corrupt: {what}", self.path.display()))
            .with_help("move the file aside: okd-build starts a new one and rebuilds what it no longer knows")
    }

    fn parse_time(&self, text: &str) -> Result<Timestamp> {
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
        })
    }
}

/// RFC 3339 in UTC with nine fractional digits: fixed width, so text order is time order.
fn time(t: Timestamp) -> String {
    format!("{t:.9}")
}

fn not_found(run: &RunId) -> Error {
    Error::new(ErrorKind::NotFound, format!("run {run} is not in the state database"))
}

fn state_name(state: RunState) -> &'static str {
    match state {
        RunState::Running => "running",
        RunState::Finished => "finished",
        RunState::Cancelled => "cancelled",
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Reused => "reused",
        Outcome::Failed => "failed",
        Outcome::Skipped => "skipped",
        Outcome::Cancelled => "cancelled",
    }
}

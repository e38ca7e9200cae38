//! The database file: connection settings, the schema and its migrations, and error mapping.
//!
//! Schema, version 5 (`PRAGMA user_version = 5`); version 2 added `runs.pid` and
//! `runs.cancel_requested` (see [`V2`]), version 3 renamed `builds.image_id` to the neutral
//! `build_ref` and added the release of each run and the fingerprint of each run component
//! (see [`V3`]), version 4 the API requests of a cluster run ([`V4`]), version 5 the state of
//! `okd watch` ([`V5`]). Timestamps are RFC 3339 text in UTC with
//! nine fractional digits (`2025-01-02T03:04:05.000000006Z`), so they also sort as text.
//!
//! ```sql
//! -- One row per image built: the key is what a later build looks up.
//! CREATE TABLE builds (
//!     backend     TEXT NOT NULL,      -- registry name of the backend ("local")
//!     fingerprint TEXT NOT NULL,      -- the component's fingerprint ("sha256:...")
//!     component   TEXT NOT NULL,      -- the component it was built for
//!     image       TEXT NOT NULL,      -- the image reference it was tagged as
//!     build_ref   TEXT NOT NULL,      -- the backend's name for the build (image ID, PipelineRun, ...)
//!     digest      TEXT,               -- the pushed or manifest digest, when known
//!     built_at    TEXT NOT NULL,      -- when the build finished
//!     log         TEXT,               -- path of the build log, when kept
//!     PRIMARY KEY (backend, fingerprint)
//! ) STRICT;
//! -- One row per run; a run left 'running' by a crash is resumed by starting it again.
//! CREATE TABLE runs (
//!     run      TEXT NOT NULL PRIMARY KEY,
//!     backend  TEXT NOT NULL,
//!     state    TEXT NOT NULL CHECK (state IN ('running', 'finished', 'cancelled')),
//!     started  TEXT NOT NULL,
//!     updated  TEXT NOT NULL,         -- last write to the run or one of its components
//!     finished TEXT,                  -- NULL while running
//!     pid      INTEGER,               -- the process running it (v2)
//!     cancel_requested INTEGER NOT NULL DEFAULT 0, -- set by `okd cancel` in another process (v2)
//!     release  TEXT,                  -- the release's name (v3; NULL for older runs)
//!     version  TEXT,                  -- the release's version (v3)
//!     api_requests INTEGER            -- Kubernetes API requests of a cluster run (v4)
//! ) STRICT;
//! CREATE INDEX runs_by_backend ON runs (backend, started);
//! CREATE INDEX runs_by_release ON runs (release, version, backend, started);
//! -- The components of a run, in the order start_run gave; outcome NULL = no result yet.
//! CREATE TABLE run_components (
//!     run      TEXT NOT NULL REFERENCES runs (run) ON DELETE CASCADE,
//!     name     TEXT NOT NULL,
//!     position INTEGER NOT NULL,
//!     outcome  TEXT CHECK (outcome IN ('succeeded', 'reused', 'failed', 'skipped', 'cancelled')),
//!     image    TEXT,
//!     digest   TEXT,
//!     reason   TEXT,
//!     started  TEXT,
//!     finished TEXT,
//!     fingerprint TEXT,               -- the component's fingerprint in this run (v3)
//!     arches   TEXT,                  -- JSON [{arch, outcome, reason}] per architecture (v4)
//!     PRIMARY KEY (run, name)
//! ) STRICT;
//! -- What `okd watch` remembers of one release on one backend between cycles and restarts (v5).
//! CREATE TABLE watches (
//!     release  TEXT NOT NULL,
//!     version  TEXT NOT NULL,
//!     backend  TEXT NOT NULL,
//!     cycles   INTEGER NOT NULL DEFAULT 0, -- cycles run so far
//!     last_cycle TEXT,                -- when the last cycle ended
//!     last_run TEXT,                  -- the run it built (NULL when it failed before building)
//!     last_result TEXT CHECK (last_result IN ('green', 'failed', 'error', 'cancelled')),
//!     last_error TEXT,                -- the error's first line, for `error`
//!     failures INTEGER NOT NULL DEFAULT 0, -- consecutive cycles that were not green
//!     payload_image TEXT,             -- the last payload pushed, by tag
//!     payload_digest TEXT,            -- and its digest
//!     payload_run TEXT,               -- the run it was assembled from
//!     payload_at TEXT,                -- when it was pushed
//!     PRIMARY KEY (release, version, backend)
//! ) STRICT;
//! ```

use std::{
    path::Path,
    thread,
    time::{Duration, Instant},
};

use okd_core::{Error, ErrorKind, Result};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

/// How long a statement waits for another writer before it reports the database busy.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE builds (
    backend     TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    component   TEXT NOT NULL,
    image       TEXT NOT NULL,
    image_id    TEXT NOT NULL,
    digest      TEXT,
    built_at    TEXT NOT NULL,
    log         TEXT,
    PRIMARY KEY (backend, fingerprint)
) STRICT;
CREATE TABLE runs (
    run      TEXT NOT NULL PRIMARY KEY,
    backend  TEXT NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('running', 'finished', 'cancelled')),
    started  TEXT NOT NULL,
    updated  TEXT NOT NULL,
    finished TEXT
) STRICT;
CREATE INDEX runs_by_backend ON runs (backend, started);
CREATE TABLE run_components (
    run      TEXT NOT NULL REFERENCES runs (run) ON DELETE CASCADE,
    name     TEXT NOT NULL,
    position INTEGER NOT NULL,
    outcome  TEXT CHECK (outcome IN ('succeeded', 'reused', 'failed', 'skipped', 'cancelled')),
    image    TEXT,
    digest   TEXT,
    reason   TEXT,
    started  TEXT,
    finished TEXT,
    PRIMARY KEY (run, name)
) STRICT;
";

/// Version 2: cancelling a run from another process. The process running it records its pid
/// (so a cancel can tell a live run from one whose process died) and polls `cancel_requested`.
const V2: &str = "
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
";

/// Version 3: one store for every backend. `image_id` held a PipelineRun name for Konflux, so it
/// becomes `build_ref`; runs record their release so `okd payload assemble` and `okd runs` find
/// them by release instead of recomputing an id, and each run component its fingerprint so a
/// payload can tell whether a run's image is still current.
const V3: &str = "
ALTER TABLE builds RENAME COLUMN image_id TO build_ref;
ALTER TABLE runs ADD COLUMN release TEXT;
ALTER TABLE runs ADD COLUMN version TEXT;
ALTER TABLE run_components ADD COLUMN fingerprint TEXT;
CREATE INDEX runs_by_release ON runs (release, version, backend, started);
";

/// Version 4: the Kubernetes API requests a cluster run made, for `okd compare`, and each run
/// component's per-architecture results (JSON), for backends that build arches separately.
const V4: &str = "
ALTER TABLE runs ADD COLUMN api_requests INTEGER;
ALTER TABLE run_components ADD COLUMN arches TEXT;
";

/// Version 5: `okd watch` keeps a release building across restarts, so what it needs between
/// cycles (the last run, the failures it is backing off from, the payload it pushed last) lives
/// beside the runs. `IF NOT EXISTS`: a file downgraded by hand (as the migration tests do) may
/// still hold the table.
const V5: &str = "
CREATE TABLE IF NOT EXISTS watches (
    release  TEXT NOT NULL,
    version  TEXT NOT NULL,
    backend  TEXT NOT NULL,
    cycles   INTEGER NOT NULL DEFAULT 0,
    last_cycle TEXT,
    last_run TEXT,
    last_result TEXT CHECK (last_result IN ('green', 'failed', 'error', 'cancelled')),
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    payload_image TEXT,
    payload_digest TEXT,
    payload_run TEXT,
    payload_at TEXT,
    PRIMARY KEY (release, version, backend)
) STRICT;
";

/// Opens `path` and makes it ready: WAL, busy timeout, foreign keys, schema up to date.
pub(super) fn connect(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path).map_err(|e| db_error(path, "open", e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| db_error(path, "open", e))?;
    // Switching a new file to WAL takes an exclusive lock for a moment; a second process opening
    // the same new file at that instant can get SQLITE_BUSY without the busy handler.
    let in_memory = path.as_os_str() == ":memory:";
    let mode: String =
        retry_busy(|| conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0)))
            .map_err(|e| db_error(path, "switch to WAL mode", e))?;
    if !in_memory && !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(
            path = %path.display(),
            mode,
            "the state database cannot use WAL mode here; concurrent runs will wait for each other"
        );
    }
    // In WAL mode NORMAL loses no committed transaction when the process dies, only on power loss.
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| db_error(path, "configure", e))?;
    conn.pragma_update(None, "foreign_keys", true).map_err(|e| db_error(path, "configure", e))?;
    migrate(conn, path)
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

fn migrate(mut conn: Connection, path: &Path) -> Result<Connection> {
    let found = user_version(&conn).map_err(|e| db_error(path, "read the schema version", e))?;
    check_version(path, found)?;
    if found == SCHEMA_VERSION {
        return Ok(conn);
    }
    let action = "migrate the schema";
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db_error(path, action, e))?;
    // Another process may have migrated between the read above and the lock.
    let found = user_version(&tx).map_err(|e| db_error(path, action, e))?;
    check_version(path, found)?;
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        tx.execute_batch(sql).map_err(|e| db_error(path, &format!("{action} from version {from}"), e))?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(|e| db_error(path, action, e))?;
    tx.commit().map_err(|e| db_error(path, action, e))?;
    Ok(conn)
}

fn check_version(path: &Path, found: i64) -> Result<()> {
    if (0..=SCHEMA_VERSION).contains(&found) {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Conflict,
        format!(
            "state database {} has schema version {found}, newer than version {SCHEMA_VERSION} that \
             this okd-build knows; a newer okd-build wrote it",
            path.display()
        ),
    )
    .with_help("upgrade okd-build, or point --state at another folder"))
}

/// Runs `f` again while it reports the database busy, up to [`BUSY_TIMEOUT`].
fn retry_busy<T>(mut f: impl FnMut() -> rusqlite::Result<T>) -> rusqlite::Result<T> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match f() {
            Err(e) if is_busy(&e) && Instant::now() < deadline => thread::sleep(Duration::from_millis(10)),
            other => return other,
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}

/// Maps an SQLite error on the database at `path`, met while trying to `action`.
pub(super) fn db_error(path: &Path, action: &str, e: rusqlite::Error) -> Error {
    let db = path.display();
    let (kind, message, help) = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
            ErrorKind::Unavailable,
            format!(
                "state database {db} is busy: another okd-build held it for over 5 s (trying to {action})"
            ),
            Some("wait for the other okd-build to finish, or use another --state folder"),
        ),
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => (
            ErrorKind::Internal,
            format!("state database {db} is corrupt or not an okd-build database (trying to {action})"),
            Some("move the file aside: okd-build starts a new one and rebuilds what it no longer knows"),
        ),
        Some(ErrorCode::CannotOpen) => {
            (ErrorKind::Unavailable, format!("cannot open state database {db}"), None)
        }
        Some(ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => (
            ErrorKind::Unauthorized,
            format!("state database {db} is not writable (trying to {action})"),
            Some("check the folder's permissions, or use another --state folder"),
        ),
        Some(ErrorCode::DiskFull) => {
            (ErrorKind::Unavailable, format!("disk full writing state database {db}"), None)
        }
        _ => (ErrorKind::Internal, format!("state database {db}: cannot {action}"), None),
    };
    let error = Error::new(kind, message).with_source(e);
    match help {
        Some(help) => error.with_help(help),
        None => error,
    }
}

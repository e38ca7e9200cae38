//! The build state store: round trips, runs and resume, concurrency across threads and processes.
//!
//! `child_writer` and `child_default_dir` do nothing unless `OKD_STATE_CHILD` is set: the
//! multi-process tests run this test binary again with it set, as separate okd-build processes.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{Arc, Barrier},
    thread,
    time::{Duration, Instant},
};

use jiff::Timestamp;
use okd_core::{
    ErrorKind,
    backend::{ArchResult, ComponentResult, Outcome, RunId, RunState},
};
use okd_runtime::store::{BuildRecord, CancelRequest, RunFilter, RunStart, RunStore, SqliteRunStore};
use rusqlite::Connection;

const CHILD: &str = "OKD_STATE_CHILD";

fn open(dir: &Path) -> SqliteRunStore {
    SqliteRunStore::open(dir).expect("open the state store")
}

fn raw(dir: &Path) -> Connection {
    let conn = Connection::open(dir.join("state.db")).expect("open raw");
    conn.busy_timeout(Duration::from_secs(5)).expect("busy timeout");
    conn
}

/// Record `i` of `backend`; large enough (a few KiB) to span several database pages.
fn record(backend: &str, i: usize) -> BuildRecord {
    let fingerprint = format!("sha256:{i:064x}");
    BuildRecord {
        backend: backend.to_owned(),
        component: format!("c{i}"),
        image: format!("localhost/okd/c{i}:{}", &fingerprint[7..19]),
        build_ref: fingerprint.repeat(40),
        digest: Some(format!("sha256:{:064x}", i + 1)),
        built_at: Timestamp::from_nanosecond(1_750_000_000_123_456_789 + i as i128).expect("timestamp"),
        log: Some(PathBuf::from(format!("/state/logs/{backend}/c{i}.log"))),
        fingerprint,
    }
}

fn result(name: &str, outcome: Outcome) -> ComponentResult {
    let built = matches!(outcome, Outcome::Succeeded | Outcome::Reused);
    ComponentResult {
        name: name.to_owned(),
        outcome,
        image: built.then(|| format!("localhost/okd/{name}:latest")),
        digest: built.then(|| format!("sha256:{:064}", 7)),
        reason: (!built).then(|| "exit status 1".to_owned()),
        started: Some(Timestamp::from_second(1_750_000_000).expect("timestamp")),
        finished: Some(Timestamp::from_nanosecond(1_750_000_001_000_000_001).expect("timestamp")),
        fingerprint: None,
        arches: Vec::new(),
    }
}

fn start(store: &SqliteRunStore, run: &RunId, backend: &str, components: &[String]) -> okd_core::Result<()> {
    let components: Vec<(String, Option<String>)> = components.iter().map(|n| (n.clone(), None)).collect();
    store.start_run(&RunStart {
        run,
        backend,
        release: "okd-mini",
        version: "4.17.0",
        components: &components,
    })
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn outcomes(store: &SqliteRunStore, run: &RunId) -> (RunState, Vec<(String, Outcome)>) {
    let status = store.run_status(run).expect("status").expect("run exists");
    (status.state, status.components.into_iter().map(|c| (c.name, c.outcome)).collect())
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[test]
fn builds_round_trip_upsert_and_forget() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let first = record("local", 1);
    assert_eq!(store.lookup("local", &first.fingerprint).expect("lookup"), None);
    store.record_build(&first).expect("record");
    assert_eq!(store.lookup("local", &first.fingerprint).expect("lookup"), Some(first.clone()));
    assert_eq!(store.lookup("prow", &first.fingerprint).expect("lookup"), None, "keyed by backend too");

    let bare = BuildRecord { digest: None, log: None, ..record("local", 2) };
    store.record_build(&bare).expect("record");
    assert_eq!(store.lookup("local", &bare.fingerprint).expect("lookup"), Some(bare.clone()));

    // Upsert: same (backend, fingerprint) replaces the record, one row.
    let rebuilt = BuildRecord { build_ref: "sha256:new".into(), built_at: Timestamp::now(), ..first.clone() };
    store.record_build(&rebuilt).expect("record again");
    assert_eq!(store.lookup("local", &first.fingerprint).expect("lookup"), Some(rebuilt));
    assert_eq!(count(&raw(dir.path()), "SELECT count(*) FROM builds"), 2);

    // Survives reopening; timestamps are RFC 3339 text.
    drop(store);
    let store = open(dir.path());
    assert_eq!(store.lookup("local", &bare.fingerprint).expect("lookup"), Some(bare.clone()));
    let text: String = raw(dir.path())
        .query_row("SELECT built_at FROM builds WHERE component = 'c2'", [], |r| r.get(0))
        .expect("built_at");
    assert_eq!(text, "2025-06-15T15:06:40.123456791Z");

    store.forget("local", &bare.fingerprint).expect("forget");
    assert_eq!(store.lookup("local", &bare.fingerprint).expect("lookup"), None);
    store.forget("local", &bare.fingerprint).expect("forgetting nothing is fine");
    assert!(store.lookup("local", &first.fingerprint).expect("lookup").is_some());
}

#[test]
fn runs_resume_keeping_finished_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let run = RunId("okd-mini-local-0123456789ab".into());
    start(&store, &run, "local", &names(&["builder", "base", "cli", "tests"])).expect("start");
    assert_eq!(outcomes(&store, &run), (RunState::Running, vec![]));
    store.record_result(&run, &result("base", Outcome::Reused)).expect("result");
    store.record_result(&run, &result("builder", Outcome::Succeeded)).expect("result");
    store.record_result(&run, &result("cli", Outcome::Failed)).expect("result");
    store.record_result(&run, &result("tests", Outcome::Skipped)).expect("result");

    // Resume: succeeded and reused results stay, in start_run's order; the rest are retried.
    start(&store, &run, "local", &names(&["builder", "base", "cli", "tests"])).expect("resume");
    let kept = vec![("builder".to_owned(), Outcome::Succeeded), ("base".to_owned(), Outcome::Reused)];
    assert_eq!(outcomes(&store, &run), (RunState::Running, kept));
    let status = store.run_status(&run).expect("status").expect("run");
    assert_eq!(status.components[0].finished, result("builder", Outcome::Succeeded).finished);
    assert_eq!(status.components[1].digest, result("base", Outcome::Reused).digest);

    store.record_result(&run, &result("tests", Outcome::Succeeded)).expect("result");
    store.record_result(&run, &result("cli", Outcome::Succeeded)).expect("result");
    store.record_result(&run, &result("extra", Outcome::Cancelled)).expect("unlisted goes last");
    store.finish_run(&run, RunState::Finished).expect("finish");
    let (state, got) = outcomes(&store, &run);
    assert_eq!(state, RunState::Finished);
    let order: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(order, ["builder", "base", "cli", "tests", "extra"]);

    // Starting a finished run starts it afresh.
    start(&store, &run, "local", &names(&["builder"])).expect("restart");
    assert_eq!(outcomes(&store, &run), (RunState::Running, vec![]));

    // Unknown runs, another backend's run.
    let ghost = RunId("ghost".into());
    assert!(store.run_status(&ghost).expect("status").is_none());
    let e = store.record_result(&ghost, &result("x", Outcome::Failed)).expect_err("unknown run");
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        store.finish_run(&ghost, RunState::Finished).expect_err("unknown").kind(),
        ErrorKind::NotFound
    );
    let e = start(&store, &run, "prow", &[]).expect_err("owned by local");
    assert_eq!(e.kind(), ErrorKind::Conflict);

    // runs(): newest first, per backend, limited.
    for i in 0..3 {
        let r = RunId(format!("later-{i}"));
        start(&store, &r, "local", &names(&["a"])).expect("start");
        store.finish_run(&r, RunState::Cancelled).expect("finish");
    }
    start(&store, &RunId("other".into()), "prow", &[]).expect("start");
    let listed: Vec<String> = store
        .runs(&RunFilter { backend: Some("local".into()), ..RunFilter::default() }, 3)
        .expect("runs")
        .into_iter()
        .map(|s| s.run.0)
        .collect();
    assert_eq!(listed, ["later-2", "later-1", "later-0"]);
    assert_eq!(
        store
            .runs(&RunFilter { backend: Some("local".into()), ..RunFilter::default() }, 10)
            .expect("runs")
            .len(),
        4
    );
    assert_eq!(
        store.runs(&RunFilter { backend: Some("prow".into()), ..RunFilter::default() }, 10).expect("runs")[0]
            .state,
        RunState::Running
    );
}

#[test]
fn a_crash_leaves_the_run_running_with_its_results_and_no_half_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = RunId("crashed".into());
    {
        let store = open(dir.path());
        start(&store, &run, "local", &names(&["a", "b", "c"])).expect("start");
        store.record_result(&run, &result("a", Outcome::Succeeded)).expect("result");
        store.record_build(&record("local", 1)).expect("record");
        // A writer that dies mid-transaction: its rows never become visible.
        let mut conn = raw(dir.path());
        let tx = conn.transaction().expect("begin");
        let half = "INSERT INTO builds (backend, fingerprint, component, image, build_ref, built_at)
                    VALUES ('local', 'sha256:half', 'c', 'i', 'id', '2025-01-01T00:00:00Z')";
        tx.execute(half, []).expect("insert");
        tx.execute("UPDATE runs SET state = 'finished'", []).expect("update");
        drop(tx);
        drop(conn);
        // The store is dropped without finish_run.
    }
    let store = open(dir.path());
    let expected = (RunState::Running, vec![("a".to_owned(), Outcome::Succeeded)]);
    assert_eq!(outcomes(&store, &run), expected);
    assert_eq!(store.lookup("local", "sha256:half").expect("lookup"), None);
    assert_eq!(
        store.lookup("local", &record("local", 1).fingerprint).expect("lookup"),
        Some(record("local", 1))
    );
    // Resuming keeps the finished result.
    start(&store, &run, "local", &names(&["a", "b", "c"])).expect("resume");
    assert_eq!(outcomes(&store, &run), expected);
}

#[test]
fn threads_with_their_own_stores_all_land() {
    const THREADS: usize = 4;
    const EACH: usize = 50;
    let dir = tempfile::tempdir().expect("tempdir");
    let barrier = Arc::new(Barrier::new(THREADS));
    let start = Instant::now();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (dir, barrier) = (dir.path().to_owned(), barrier.clone());
            thread::spawn(move || {
                barrier.wait(); // all open the new database at once
                let store = open(&dir);
                for i in 0..EACH {
                    store.record_build(&record(&format!("t{t}"), i)).expect("no busy error");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().expect("thread");
    }
    let elapsed = start.elapsed();
    let conn = raw(dir.path());
    assert_eq!(count(&conn, "SELECT count(*) FROM builds"), (THREADS * EACH) as i64);
    let store = open(dir.path());
    for t in 0..THREADS {
        for i in 0..EACH {
            let want = record(&format!("t{t}"), i);
            assert_eq!(store.lookup(&want.backend, &want.fingerprint).expect("lookup"), Some(want));
        }
    }
    println!("{THREADS} threads x {EACH} record_build: {elapsed:?}");
}

#[test]
fn a_writer_waits_for_another_write_transaction() {
    let dir = tempfile::tempdir().expect("tempdir");
    open(dir.path()).record_build(&record("local", 0)).expect("record");
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let holder = {
        let dir = dir.path().to_owned();
        thread::spawn(move || {
            let mut conn = raw(&dir);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).expect("begin");
            tx.execute("DELETE FROM builds", []).expect("delete");
            locked_tx.send(()).expect("send");
            thread::sleep(Duration::from_millis(400));
            tx.commit().expect("commit");
        })
    };
    locked_rx.recv().expect("lock taken");
    let start = Instant::now();
    let store = open(dir.path());
    assert_eq!(
        store.lookup("local", &record("local", 0).fingerprint).expect("readers do not wait"),
        Some(record("local", 0)),
        "WAL readers see the last commit"
    );
    store.record_build(&record("local", 1)).expect("waits, then writes");
    let waited = start.elapsed();
    holder.join().expect("holder");
    assert!(waited >= Duration::from_millis(300), "it waited for the lock ({waited:?})");
    assert_eq!(store.lookup("local", &record("local", 0).fingerprint).expect("lookup"), None);
    assert!(store.lookup("local", &record("local", 1).fingerprint).expect("lookup").is_some());
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()));
    raw(dir.path()).pragma_update(None, "user_version", 99).expect("set version");
    let e = SqliteRunStore::open(dir.path()).expect_err("newer schema");
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let message = e.to_string();
    assert!(message.contains("schema version 99"), "{message}");
    assert!(message.contains(&dir.path().join("state.db").display().to_string()), "{message}");
    assert!(e.help().is_some_and(|h| h.contains("upgrade okd-build")));
}

#[test]
fn the_database_is_wal_and_not_a_database_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir.path().join("nested/state"));
    assert_eq!(store.path(), dir.path().join("nested/state/state.db"));
    let conn = Connection::open(store.path()).expect("raw");
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(version, okd_runtime::store::SCHEMA_VERSION);

    let junk = dir.path().join("junk");
    std::fs::create_dir_all(&junk).expect("mkdir");
    std::fs::write(junk.join("state.db"), vec![b'x'; 8192]).expect("write");
    let e = SqliteRunStore::open(&junk).expect_err("not a database");
    assert_eq!(e.kind(), ErrorKind::Internal);
    assert!(e.to_string().contains("junk/state.db"), "{e}");
}

#[test]
fn record_build_latency() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let n = 200;
    let start = Instant::now();
    for i in 0..n {
        store.record_build(&record("local", i)).expect("record");
    }
    let write = start.elapsed() / n as u32;
    let start = Instant::now();
    for i in 0..n {
        store.lookup("local", &record("local", i).fingerprint).expect("lookup");
    }
    let read = start.elapsed() / n as u32;
    println!("record_build {write:?} each, lookup {read:?} each");
}

fn child(test: &str, envs: &[(&str, &str)]) -> Command {
    let mut command = Command::new(std::env::current_exe().expect("test binary"));
    command.args([test, "--exact", "--nocapture", "--test-threads", "1"]).stdout(Stdio::null());
    command.envs(envs.iter().copied());
    command
}

/// Child process: writes `OKD_STATE_COUNT` records (and a run result per record) as backend `p<ID>`.
#[test]
fn child_writer() {
    if std::env::var(CHILD).as_deref() != Ok("writer") {
        return;
    }
    let var = |name: &str| std::env::var(name).expect("child env");
    let dir = PathBuf::from(var("OKD_STATE_DIR"));
    let backend = format!("p{}", var("OKD_STATE_ID"));
    let total: usize = var("OKD_STATE_COUNT").parse().expect("count");
    let store = open(&dir);
    let run = RunId(format!("run-{backend}"));
    start(&store, &run, &backend, &names(&["a", "b"])).expect("start");
    for i in 0..total {
        store.record_build(&record(&backend, i)).expect("record");
        store.record_result(&run, &result(&format!("c{i}"), Outcome::Succeeded)).expect("result");
    }
    store.finish_run(&run, RunState::Finished).expect("finish");
}

#[test]
fn processes_write_concurrently_and_a_killed_one_leaves_whole_records() {
    const EACH: usize = 300;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_str().expect("utf-8 temp dir");
    let spawn = |id: &str, total: usize| {
        let total = total.to_string();
        let envs =
            [(CHILD, "writer"), ("OKD_STATE_DIR", path), ("OKD_STATE_ID", id), ("OKD_STATE_COUNT", &total)];
        child("child_writer", &envs).spawn().expect("spawn child")
    };
    let start = Instant::now();
    let mut victim = spawn("victim", 1_000_000);
    let writers: Vec<_> = (0..3).map(|i| spawn(&i.to_string(), EACH)).collect();

    // Kill the victim with SIGKILL once it is well into its loop.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(victim.try_wait().expect("try_wait").is_none(), "the victim ended before it was killed");
        let written = Connection::open(dir.path().join("state.db"))
            .and_then(|c| {
                c.query_row("SELECT count(*) FROM builds WHERE backend = 'pvictim'", [], |r| r.get(0))
            })
            .unwrap_or(0i64);
        if written >= 50 {
            break;
        }
        assert!(Instant::now() < deadline, "the victim wrote {written} records in 60 s");
        thread::sleep(Duration::from_millis(5));
    }
    victim.kill().expect("SIGKILL");
    let status = victim.wait().expect("wait");
    assert!(!status.success(), "killed: {status}");
    for mut writer in writers {
        assert!(writer.wait().expect("wait").success(), "writer failed");
    }
    let elapsed = start.elapsed();

    let store = open(dir.path());
    let conn = raw(dir.path());
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("integrity_check");
    assert_eq!(check, "ok");
    assert_eq!(count(&conn, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    for id in ["0", "1", "2"] {
        let backend = format!("p{id}");
        let status = store.run_status(&RunId(format!("run-{backend}"))).expect("status").expect("run");
        assert_eq!((status.state, status.components.len()), (RunState::Finished, EACH));
        for i in 0..EACH {
            let want = record(&backend, i);
            assert_eq!(store.lookup(&backend, &want.fingerprint).expect("lookup"), Some(want));
        }
    }
    // The victim's records are exactly those it committed: 0..n, each whole.
    let n = count(&conn, "SELECT count(*) FROM builds WHERE backend = 'pvictim'") as usize;
    assert!(n >= 50);
    for i in 0..n {
        let want = record("pvictim", i);
        assert_eq!(store.lookup("pvictim", &want.fingerprint).expect("lookup"), Some(want), "record {i}");
    }
    let status = store.run_status(&RunId("run-pvictim".into())).expect("status").expect("run");
    assert_eq!(status.state, RunState::Running, "killed before finish_run");
    assert!(status.components.len() + 1 >= n && status.components.len() <= n, "results match records");
    println!("3 processes x {EACH} + a killed one ({n} records): {elapsed:?}");
}

/// Child process: checks `default_dir` against the environment it was given.
#[test]
fn child_default_dir() {
    if std::env::var(CHILD).as_deref() != Ok("default_dir") {
        return;
    }
    let want = std::env::var("OKD_STATE_EXPECT").expect("expectation");
    assert_eq!(SqliteRunStore::default_dir(), PathBuf::from(want));
}

#[test]
fn default_dir_follows_xdg_then_home() {
    let cases = [
        (vec![("XDG_STATE_HOME", "/xdg"), ("HOME", "/home/u")], "/xdg/okd"),
        (vec![("XDG_STATE_HOME", "relative"), ("HOME", "/home/u")], "/home/u/.local/state/okd"),
        (vec![("XDG_STATE_HOME", ""), ("HOME", "")], ".okd/state"),
    ];
    for (envs, want) in cases {
        let mut envs = envs;
        envs.extend([(CHILD, "default_dir"), ("OKD_STATE_EXPECT", want)]);
        let status = child("child_default_dir", &envs).stderr(Stdio::null()).status().expect("run child");
        assert!(status.success(), "default_dir with {envs:?} is not {want}");
    }
}

#[test]
fn a_cancel_request_reaches_the_running_run_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let run = RunId("r-cancel".into());
    assert_eq!(store.request_cancel(&run).expect_err("unknown run").kind(), ErrorKind::NotFound);
    start(&store, &run, "local", &names(&["a"])).expect("start");
    assert!(!store.cancel_requested(&run).expect("flag"));
    assert_eq!(
        store.request_cancel(&run).expect("request"),
        CancelRequest::Running { pid: Some(std::process::id()) },
        "the runner's pid"
    );
    assert!(open(dir.path()).cancel_requested(&run).expect("another store sees it"));
    start(&store, &run, "local", &names(&["a"])).expect("resume");
    assert!(!store.cancel_requested(&run).expect("flag"), "a resumed run starts without the old request");
    store.finish_run(&run, RunState::Finished).expect("finish");
    assert_eq!(store.request_cancel(&run).expect("request"), CancelRequest::NotRunning, "nothing to cancel");
}

#[test]
fn a_version_1_database_is_migrated_keeping_its_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = open(dir.path());
        start(&store, &RunId("old".into()), "local", &names(&["a"])).expect("start");
    }
    // Make it look like a version 1 file: undo versions 4, 3 and 2, and set the version number.
    let conn = raw(dir.path());
    conn.execute_batch(
        "ALTER TABLE runs DROP COLUMN api_requests; ALTER TABLE run_components DROP COLUMN arches;
         DROP INDEX runs_by_release; ALTER TABLE run_components DROP COLUMN fingerprint;
         ALTER TABLE runs DROP COLUMN release; ALTER TABLE runs DROP COLUMN version;
         ALTER TABLE builds RENAME COLUMN build_ref TO image_id;
         ALTER TABLE runs DROP COLUMN pid; ALTER TABLE runs DROP COLUMN cancel_requested;",
    )
    .expect("downgrade");
    conn.pragma_update(None, "user_version", 1).expect("set version");
    drop(conn);
    let store = open(dir.path());
    assert_eq!(outcomes(&store, &RunId("old".into())).0, RunState::Running);
    assert_eq!(
        store.request_cancel(&RunId("old".into())).expect("v2 columns exist"),
        CancelRequest::Running { pid: None },
        "no pid recorded"
    );
}

#[test]
fn last_build_times_take_the_newest_real_build_of_each_component() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let at = |s: i64| Timestamp::from_second(1_700_000_000 + s).expect("time");
    let timed = |name: &str, outcome, start: i64, end: i64| ComponentResult {
        started: Some(at(start)),
        finished: Some(at(end)),
        ..result(name, outcome)
    };
    let (old, new) = (RunId("old".into()), RunId("new".into()));
    start(&store, &old, "local", &names(&["a", "b"])).expect("start");
    store.record_result(&old, &timed("a", Outcome::Succeeded, 0, 30)).expect("a");
    store.record_result(&old, &timed("b", Outcome::Succeeded, 0, 7)).expect("b");
    start(&store, &new, "local", &names(&["a", "b"])).expect("start");
    store.record_result(&new, &timed("a", Outcome::Succeeded, 100, 110)).expect("a again");
    store.record_result(&new, &timed("b", Outcome::Reused, 100, 100)).expect("b reused");
    start(&store, &RunId("other".into()), "konflux", &names(&["a"])).expect("start");
    store.record_result(&RunId("other".into()), &timed("a", Outcome::Succeeded, 200, 900)).expect("konflux");
    let times = store.last_build_times("local").expect("times");
    assert_eq!(times["a"], Duration::from_secs(10), "the newest build");
    assert_eq!(times["b"], Duration::from_secs(7), "a reuse is not a build time");
    assert_eq!(times.len(), 2);
}

/// A state file that the previous okd-build (schema version 2) wrote: `okd build` of okd-mini on
/// the local backend, then `--only cli`. It is migrated in place and every record reads back.
#[test]
fn a_version_2_file_from_the_previous_release_is_migrated_and_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v2.db");
    std::fs::copy(&fixture, dir.path().join(okd_runtime::store::DB_FILE)).expect("copy the fixture");
    let before: i64 =
        raw(dir.path()).pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(before, 2);
    let store = open(dir.path());
    let version: i64 =
        raw(dir.path()).pragma_query_value(None, "user_version", |r| r.get(0)).expect("version");
    assert_eq!(version, okd_runtime::store::SCHEMA_VERSION);
    let conn = raw(dir.path());
    assert_eq!(count(&conn, "SELECT COUNT(*) FROM builds WHERE backend = 'local'"), 10);
    let fingerprint: String = conn
        .query_row("SELECT fingerprint FROM builds WHERE component = 'cli'", [], |r| r.get(0))
        .expect("cli was built");
    let record = store.lookup("local", &fingerprint).expect("lookup").expect("the build is still known");
    assert_eq!(record.component, "cli");
    assert!(record.build_ref.starts_with("sha256:"), "image_id became build_ref: {record:?}");
    let runs = store.runs(&RunFilter::default(), 10).expect("runs");
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(runs.iter().all(|r| r.release.is_none() && r.state == RunState::Finished), "{runs:?}");
    let full = runs.iter().find(|r| r.components == 10).expect("the full run");
    let status = store.run_status(&full.run).expect("status").expect("known");
    assert_eq!(status.components.len(), 10);
    assert!(status.components.iter().all(|c| c.outcome == Outcome::Succeeded && c.fingerprint.is_none()));
    // And it is written to as any new store is.
    start(&store, &full.run, "local", &names(&["cli"])).expect("a new run over the old one");
}

#[test]
fn a_runs_api_requests_and_per_arch_results_are_recorded_and_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path());
    let run = RunId("r-requests".into());
    assert_eq!(store.record_api_requests(&run, 1).expect_err("unknown run").kind(), ErrorKind::NotFound);
    start(&store, &run, "prow", &names(&["a", "b"])).expect("start");
    let listed = |store: &SqliteRunStore| store.runs(&Default::default(), 10).expect("runs")[0].api_requests;
    assert_eq!(listed(&store), None, "nothing counted yet");
    store.record_api_requests(&run, 7).expect("record");
    let arches = vec![
        ArchResult { arch: "amd64".into(), outcome: Outcome::Succeeded, reason: None },
        ArchResult { arch: "arm64".into(), outcome: Outcome::Failed, reason: Some("no node".into()) },
    ];
    store
        .record_result(&run, &ComponentResult { arches: arches.clone(), ..result("a", Outcome::Failed) })
        .expect("result");
    let status = open(dir.path()).run_status(&run).expect("status").expect("a run");
    assert_eq!(status.components[0].arches, arches, "per-arch results round trip");
    store.finish_run(&run, RunState::Finished).expect("finish");
    assert_eq!(listed(&open(dir.path())), Some(7), "another store reads it back");
}

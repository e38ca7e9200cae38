//! The engine client against a real engine (scripts/engine.sh start), and the build context
//! rules without one. Without an engine the engine cases skip, unless CI is set.

use std::{
    collections::BTreeMap,
    io::Read,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

use backend_local::client::{BuildRequest, DOCKERFILE_NAME, Engine, context_tar};
use okd_core::ErrorKind;

const BASE: &str = "localhost/okd-mini/busybox:1.36";
const REGISTRY: &str = "127.0.0.1:5000";

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;
/// What a context tar holds: path -> contents (None for folders).
type Entries = BTreeMap<String, Option<String>>;

use okd_tests::engine::in_ci;

/// The engine, or None (after saying so) when there is none and CI is not set.
async fn engine() -> Option<Engine> {
    if !okd_tests::engine::require() {
        return None;
    }
    match Engine::connect(None).await {
        Ok(engine) => Some(engine),
        Err(e) => {
            panic!("CONTAINER_HOST is set but no container engine answers: {e}\n{}", e.help().unwrap_or(""))
        }
    }
}

/// A tag no other test (or run) uses.
fn unique(name: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("localhost/okd-build-test/{name}:{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn write(dir: &Path, files: &[(&str, &str)]) -> std::io::Result<()> {
    for (path, text) in files {
        let path = dir.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

fn request(dir: &Path, dockerfile: &str, tag: &str) -> BuildRequest {
    BuildRequest {
        context_dir: dir.to_path_buf(),
        dockerfile: dockerfile.to_owned(),
        tag: tag.to_owned(),
        build_args: BTreeMap::new(),
        labels: BTreeMap::new(),
        platform: None,
        no_cache: false,
    }
}

/// Makes the base image from busybox-static when scripts/engine.sh has not.
async fn ensure_base(engine: &Engine) -> TestResult {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = LOCK.lock().await;
    if engine.image_id(BASE).await?.is_some() {
        return Ok(());
    }
    let busybox = ["/bin/busybox", "/usr/bin/busybox"].into_iter().map(PathBuf::from).find(|p| p.is_file());
    let busybox =
        busybox.ok_or("no busybox binary to make the base image from (apt-get install busybox-static)")?;
    let dir = tempfile::tempdir()?;
    std::fs::copy(&busybox, dir.path().join("busybox"))?;
    let dockerfile =
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n";
    engine.build(&request(dir.path(), dockerfile, BASE), &mut |_: &str| {}).await?;
    Ok(())
}

#[tokio::test]
async fn version_names_engine_and_api() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    let version = engine.version().await?;
    assert!(version.contains("(API "), "{version}");
    assert!(!engine.endpoint().is_empty());
    Ok(())
}

#[tokio::test]
async fn two_stage_build_with_arg_and_label_reads_back() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    ensure_base(&engine).await?;
    let dir = tempfile::tempdir()?;
    write(dir.path(), &[("hello.txt", "hello\n")])?;
    let dockerfile = format!(
        "FROM {BASE} AS build\nARG GREETING=unset\nCOPY hello.txt /src/hello.txt\n\
         RUN echo \"$GREETING\" > /out.txt && cat /src/hello.txt >> /out.txt\n\
         FROM {BASE}\nCOPY --from=build /out.txt /out.txt\nRUN grep -qx 'from the test' /out.txt && grep -qx hello /out.txt\n"
    );
    let tag = unique("two-stage");
    let mut build = request(dir.path(), &dockerfile, &tag);
    build.build_args.insert("GREETING".into(), "from the test".into());
    build.labels.insert("io.okd-build.fingerprint".into(), "abc123".into());
    let mut lines = Vec::new();
    let id = engine.build(&build, &mut |l: &str| lines.push(l.to_owned())).await?;

    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert!(lines.iter().any(|l| l.to_ascii_uppercase().contains("STEP 2/")), "{lines:#?}");
    assert!(lines.iter().all(|l| !l.ends_with('\n')));
    assert_eq!(engine.image_id(&tag).await?, Some(id.clone()));
    assert_eq!(
        engine.labels(&tag).await?.get("io.okd-build.fingerprint").map(String::as_str),
        Some("abc123")
    );
    assert_eq!(engine.image_id(&id).await?, Some(id), "an image is found by its own ID");
    engine.remove_image(&tag).await?;
    assert_eq!(engine.image_id(&tag).await?, None);
    engine.remove_image(&tag).await?;
    Ok(())
}

#[tokio::test]
async fn dockerignored_files_never_reach_the_engine() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    ensure_base(&engine).await?;
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        &[
            (".dockerignore", "secret.txt\n**/*.log\ncache/\n!cache/keep\n"),
            ("secret.txt", "s3cret"),
            ("keep.txt", "k"),
            ("sub/debug.log", "x"),
            ("cache/keep", "k"),
            ("cache/drop", "d"),
        ],
    )?;
    let dockerfile = format!(
        "FROM {BASE}\nCOPY . /ctx/\nRUN test ! -e /ctx/secret.txt && test -e /ctx/keep.txt && \
         test ! -e /ctx/sub/debug.log && test -e /ctx/cache/keep && test ! -e /ctx/cache/drop\n"
    );
    let tag = unique("ignored");
    engine.build(&request(dir.path(), &dockerfile, &tag), &mut |_: &str| {}).await?;
    engine.remove_image(&tag).await?;
    Ok(())
}

#[tokio::test]
async fn failing_run_is_build_failed_naming_the_step() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    ensure_base(&engine).await?;
    let dir = tempfile::tempdir()?;
    let dockerfile = format!("FROM {BASE}\nRUN echo fine\nRUN echo boom >&2; exit 3\nRUN echo never\n");
    let mut lines = Vec::new();
    let result = engine
        .build(&request(dir.path(), &dockerfile, &unique("fails")), &mut |l: &str| lines.push(l.to_owned()))
        .await;
    let Err(e) = result else { panic!("the build should fail: {lines:#?}") };
    assert_eq!(e.kind(), ErrorKind::BuildFailed, "{e:?}");
    assert!(e.message().to_ascii_uppercase().starts_with("STEP 3/4"), "{}", e.message());
    assert!(
        e.message().contains("RUN echo boom") && e.message().contains("exit status 3"),
        "{}",
        e.message()
    );
    assert!(e.help().is_some_and(|h| h.contains("boom")), "{e:?}");
    assert!(!lines.iter().any(|l| l == "never"));
    Ok(())
}

#[tokio::test]
async fn a_failing_later_stage_is_named_with_its_stage() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    ensure_base(&engine).await?;
    let dir = tempfile::tempdir()?;
    let dockerfile = format!("FROM {BASE} AS one\nRUN true\nFROM {BASE}\nRUN false\n");
    let e = engine.build(&request(dir.path(), &dockerfile, &unique("stages")), &mut |_: &str| {}).await.err();
    let e = e.ok_or("the build should fail")?;
    assert_eq!(e.kind(), ErrorKind::BuildFailed, "{e:?}");
    assert!(e.message().contains("2/2") && e.message().contains("RUN false"), "{}", e.message());
    Ok(())
}

#[tokio::test]
async fn a_missing_base_image_is_never_pulled() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    let dir = tempfile::tempdir()?;
    let dockerfile = "FROM localhost/okd-build-test/absent:never\nRUN true\n";
    let mut lines = Vec::new();
    let result = engine
        .build(&request(dir.path(), dockerfile, &unique("orphan")), &mut |l: &str| lines.push(l.to_owned()))
        .await;
    let Err(e) = result else { panic!("the build should fail") };
    assert_eq!(e.kind(), ErrorKind::BuildFailed, "{e:?}");
    assert!(e.message().contains("absent"), "{}", e.message());
    if engine.version().await?.starts_with("podman") {
        assert!(!lines.iter().any(|l| l.contains("Trying to pull")), "{lines:#?}");
    }
    Ok(())
}

#[tokio::test]
async fn absent_images_have_no_id_and_no_labels() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    assert_eq!(engine.image_id("localhost/okd-build-test/absent:never").await?, None);
    let e = engine
        .labels("localhost/okd-build-test/absent:never")
        .await
        .err()
        .ok_or("labels of an absent image")?;
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e:?}");
    Ok(())
}

#[tokio::test]
async fn tag_and_push_to_the_local_registry_gives_a_digest() -> TestResult {
    let Some(engine) = engine().await else { return Ok(()) };
    ensure_base(&engine).await?;
    let dir = tempfile::tempdir()?;
    let local = unique("pushed");
    let id = engine
        .build(
            &request(dir.path(), &format!("FROM {BASE}\nRUN echo pushed > /p\n"), &local),
            &mut |_: &str| {},
        )
        .await?;
    let remote = format!("{REGISTRY}/okd-build-test/pushed:{}", std::process::id());
    engine.tag(&id, &remote).await?;
    assert_eq!(engine.image_id(&remote).await?, Some(id));

    let listening = std::net::TcpStream::connect_timeout(&REGISTRY.parse()?, Duration::from_secs(1)).is_ok();
    if listening {
        let digest = engine.push(&remote).await?;
        assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    } else if in_ci() {
        panic!("CI is set but no registry listens on {REGISTRY} (scripts/engine.sh start)");
    } else {
        eprintln!("note: nothing listens on {REGISTRY}; the push part was skipped");
    }
    engine.remove_image(&remote).await?;
    engine.remove_image(&local).await?;
    Ok(())
}

#[tokio::test]
async fn a_named_engine_that_does_not_answer_is_unavailable() {
    let e = Engine::connect(Some("unix:///nonexistent/okd-build/podman.sock")).await.err();
    let e = e.unwrap_or_else(|| panic!("a socket that does not exist cannot connect"));
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_retryable());
    assert!(e.help().is_some_and(|h| h.contains("DOCKER_HOST") && h.contains("CONTAINER_HOST")), "{e:?}");
}

// --- the build context, no engine needed -----------------------------------------------------

fn entries(tar: &[u8]) -> Entries {
    let mut archive = tar::Archive::new(tar);
    let mut found = BTreeMap::new();
    for entry in archive.entries().unwrap_or_else(|e| panic!("not a tar: {e}")) {
        let mut entry = entry.unwrap_or_else(|e| panic!("bad entry: {e}"));
        let path =
            entry.path().map(|p| p.to_string_lossy().trim_end_matches('/').to_owned()).unwrap_or_default();
        let body = if entry.header().entry_type().is_dir() {
            None
        } else {
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap_or_else(|e| panic!("{path}: {e}"));
            Some(text)
        };
        found.insert(path, body);
    }
    found
}

fn context(files: &[(&str, &str)]) -> TestResult<(tempfile::TempDir, Entries)> {
    let dir = tempfile::tempdir()?;
    write(dir.path(), files)?;
    let tar = context_tar(dir.path(), DOCKERFILE_NAME, "FROM scratch\n")?;
    Ok((dir, entries(&tar)))
}

#[test]
fn the_dockerfile_text_is_sent_under_its_own_name() -> TestResult {
    let (_dir, found) = context(&[(DOCKERFILE_NAME, "stale"), ("Dockerfile", "FROM the-context\n")])?;
    assert_eq!(found.get(DOCKERFILE_NAME), Some(&Some("FROM scratch\n".to_owned())));
    assert_eq!(found.get("Dockerfile"), Some(&Some("FROM the-context\n".to_owned())));
    Ok(())
}

#[test]
fn dockerignore_patterns_exceptions_and_double_stars() -> TestResult {
    let ignore = "# comment\n/secret.txt\n*.tmp\n**/*.log\nbuild/\n!build/keep/**\nvendor\n!vendor/only.txt\n.dockerignore\n";
    let (_dir, found) = context(&[
        (".dockerignore", ignore),
        ("secret.txt", "s"),
        ("a.tmp", "t"),
        ("sub/b.tmp", "kept: * stays in one segment"),
        ("x.log", "l"),
        ("sub/deep/y.log", "l"),
        ("build/out.o", "o"),
        ("build/keep/readme", "r"),
        ("vendor/lib.rs", "v"),
        ("vendor/only.txt", "v"),
        ("src/main.rs", "m"),
    ])?;
    let files: Vec<&str> = found.iter().filter(|(_, body)| body.is_some()).map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        files,
        [
            ".dockerignore",
            DOCKERFILE_NAME,
            "build/keep/readme",
            "src/main.rs",
            "sub/b.tmp",
            "vendor/only.txt"
        ],
        "{found:#?}"
    );
    assert!(found.contains_key("src") && found.contains_key("sub"));
    assert!(!found.contains_key("build") && !found.contains_key("sub/deep/y.log"));
    Ok(())
}

#[test]
fn without_dockerignore_everything_is_sent() -> TestResult {
    let (_dir, found) = context(&[("a", "1"), ("d/b", "2"), ("d/e/c", "3")])?;
    let files: Vec<&str> = found.iter().filter(|(_, body)| body.is_some()).map(|(p, _)| p.as_str()).collect();
    assert_eq!(files, [DOCKERFILE_NAME, "a", "d/b", "d/e/c"]);
    Ok(())
}

#[test]
fn a_missing_context_is_not_found() {
    let e = context_tar(Path::new("/nonexistent/okd-build/context"), DOCKERFILE_NAME, "").err();
    assert_eq!(e.map(|e| e.kind()), Some(ErrorKind::NotFound));
}

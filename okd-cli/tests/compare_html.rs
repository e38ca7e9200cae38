#![allow(clippy::unwrap_used)]
//! `okd compare --output html` opened in a real browser: headless chromium loads the page (its
//! inline script runs), and the DOM it dumps has every section, every chart and the Gantt bars of
//! a run recorded in the run store; a screenshot is taken as the docs describe. Without chromium
//! the tests say they skip, except in CI (`CI` set), where chromium must be installed.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{okd, write};
use jiff::{SignedDuration, Timestamp};
use okd_core::backend::{ComponentResult, Outcome, RunId, RunState};
use okd_runtime::{RunStore, SqliteRunStore, store::RunStart};

/// How long one chromium call may take.
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

fn okd_mini() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml")
}

/// The chromium binary on PATH; `None` (after saying so) when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must run the browser test: install chromium");
        eprintln!("skipped: chromium is not installed");
    }
    found
}

/// Runs headless chromium on `page` with `args`, a private profile and HOME in `dir`; returns
/// its stdout. Panics when it fails or takes longer than [`CHROMIUM_TIMEOUT`].
fn headless(chromium: &Path, dir: &Path, page: &Path, args: &[&str]) -> String {
    let (stdout, stderr) = (dir.join("chromium.out"), dir.join("chromium.err"));
    let mut child = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"])
        .arg(format!("--user-data-dir={}", dir.join("chromium-profile").display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .env("HOME", dir.join("home"))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .expect("run chromium");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > CHROMIUM_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium {args:?} did not finish within {CHROMIUM_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let err = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(status.success(), "chromium {args:?}: {status}\n{err}");
    std::fs::read_to_string(&stdout).unwrap()
}

/// Writes `html` to `dir/NAME.html`, has chromium dump its DOM after scripts ran, and takes the
/// docs' screenshot. Returns the DOM, or `None` when chromium is missing outside CI.
fn render_in_browser(dir: &Path, name: &str, html: &str) -> Option<String> {
    let chromium = chromium()?;
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, html).unwrap();
    let dom = headless(&chromium, dir, &page, &["--dump-dom"]);
    assert!(dom.contains("<body>") || dom.contains("<body "), "chromium dumped no page:\n{dom}");
    let png = dir.join(format!("{name}.png"));
    let shot = format!("--screenshot={}", png.display());
    headless(&chromium, dir, &page, &[&shot, "--window-size=1400,3000", "--hide-scrollbars"]);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()));
    assert!(bytes.len() > 1000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} bytes", bytes.len());
    // For a person to look: OKD_HTML_OUT=DIR keeps the page and its screenshot.
    if let Some(out) = std::env::var_os("OKD_HTML_OUT").map(PathBuf::from) {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::copy(&page, out.join(format!("{name}.html"))).unwrap();
        std::fs::copy(&png, out.join(format!("{name}.png"))).unwrap();
    }
    Some(dom)
}

/// Runs okd in `dir` and returns its stdout, checking the exit code.
fn run(dir: &Path, command_line: &str, code: i32) -> String {
    let out = okd(dir, command_line);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "okd {command_line}: {stderr}");
    let html = String::from_utf8(out.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    for external in ["<link", "src=", "http://", "https://"] {
        assert!(!html.contains(external), "the page loads nothing: {external}");
    }
    html
}

fn section_ids(dom: &str) -> Vec<&str> {
    dom.match_indices("<section id=\"").map(|(i, m)| dom[i + m.len()..].split('"').next().unwrap()).collect()
}

fn tempdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    dir
}

#[test]
fn okd_mini_without_runs_renders_every_section_and_chart_in_a_browser() {
    let dir = tempdir();
    let m = okd_mini();
    let html = run(dir.path(), &format!("compare {} --state {{dir}}/state --output html", m.display()), 0);
    assert!(html.contains("No runs compared"), "says how to get runs");
    let Some(dom) = render_in_browser(dir.path(), "okd-mini", &html) else { return };
    assert_eq!(section_ids(&dom), ["approach", "cost", "references", "runs"]);
    // The four cost charts; no run, so no Gantt.
    assert_eq!(dom.matches("<svg").count(), 4, "{dom}");
    assert_eq!(dom.matches("<svg class=\"chart bars").count(), 4);
    // The script ran: the filters are shown, and it counted the rows.
    assert!(dom.contains("<form id=\"filters\" class=\"filters\">"), "filters shown");
    let rows = dom.matches("data-contested=").count();
    assert!(rows > 10, "{rows} references");
    assert!(dom.contains(&format!("{rows} of {rows} references shown")), "the script counted the rows");
    assert_eq!(dom.matches("<select data-col=").count(), 6, "a filter per backend");
}

/// A component: name, (start, end) seconds after the run started, outcome.
type Built = (&'static str, Option<(i64, i64)>, Outcome);

/// The okd-mini components, each with (start, end) seconds after the run's start and outcome.
const RUN: [Built; 10] = [
    ("builder", Some((0, 20)), Outcome::Succeeded),
    ("base", Some((0, 12)), Outcome::Succeeded),
    ("cli", Some((20, 55)), Outcome::Succeeded),
    ("cluster-version-operator", Some((20, 40)), Outcome::Succeeded),
    ("cluster-dns-operator", Some((20, 36)), Outcome::Succeeded),
    ("coredns", Some((12, 30)), Outcome::Succeeded),
    ("machine-config-operator", Some((20, 62)), Outcome::Failed),
    ("installer", Some((55, 95)), Outcome::Succeeded),
    ("network-tools", Some((12, 26)), Outcome::Succeeded),
    ("console", None, Outcome::Reused),
];

/// Records a finished `local` run of okd-mini 4.17.0-0.okd-mini in the store in `state`.
fn record_run(state: &Path) {
    let store = SqliteRunStore::open(state).unwrap();
    let run = RunId("local-html-test".into());
    let components: Vec<(String, Option<String>)> =
        RUN.iter().map(|(name, _, _)| ((*name).to_owned(), Some(format!("fp-{name}")))).collect();
    let t0 = Timestamp::now();
    store
        .start_run(&RunStart {
            run: &run,
            backend: "local",
            release: "okd-mini",
            version: "4.17.0-0.okd-mini",
            components: &components,
        })
        .unwrap();
    let at = |s: i64| t0.checked_add(SignedDuration::from_secs(s)).unwrap();
    for (name, span, outcome) in RUN {
        let result = ComponentResult {
            name: name.into(),
            outcome,
            image: None,
            digest: (outcome != Outcome::Failed).then(|| format!("sha256:{name}")),
            reason: (outcome == Outcome::Failed).then(|| "exit status 1".into()),
            started: span.map(|(s, _)| at(s)),
            finished: span.map(|(_, f)| at(f)),
            fingerprint: Some(format!("fp-{name}")),
            arches: Vec::new(),
        };
        store.record_result(&run, &result).unwrap();
    }
    store.finish_run(&run, RunState::Finished).unwrap();
}

#[test]
fn a_recorded_run_gets_a_gantt_chart_with_its_critical_path_and_sources_their_section() {
    let dir = tempdir();
    record_run(&dir.path().join("state"));
    let m = okd_mini();
    let m = m.display();
    let html = run(
        dir.path(),
        &format!(
            "compare {m} --backends local,konflux --runs latest --jobs 2 --state {{dir}}/state --sources {m} \
             --output html"
        ),
        0,
    );
    assert!(html.contains("konflux: no run of okd-mini 4.17.0-0.okd-mini"), "missing runs listed");
    let Some(dom) = render_in_browser(dir.path(), "okd-mini-runs", &html) else { return };
    assert_eq!(section_ids(&dom), ["approach", "cost", "references", "runs", "sources"]);
    assert_eq!(dom.matches("<svg class=\"chart gantt\"").count(), 1);
    assert!(dom.matches("<svg").count() >= 5, "four cost charts and a Gantt chart");
    // One bar per component with times (console was reused), the critical path marked.
    assert_eq!(dom.matches("class=\"gantt-bar ").count(), 9, "{dom}");
    assert_eq!(dom.matches("class=\"gantt-bar o-failed").count(), 1);
    assert!(dom.matches("class=\"gantt-bar o-succeeded critical\"").count() >= 2, "{dom}");
    assert!(dom.contains(">1m30s</text>"), "the axis is labelled");
    assert!(dom.contains("<b class=\"agree\">agree</b>"), "a manifest agrees with itself");
}

#[test]
fn compare_sources_alone_is_a_page_with_the_sources_section() {
    let dir = tempdir();
    let component = "  - { name: NAME, source: { path: src/NAME }, payload: true }\n";
    let manifest = |names: &[&str], args: &str| {
        let mut text =
            "name: r\nversion: 1.0.0\noutput: { registry: reg:5000, repository: okd/r }\ncomponents:\n"
                .to_owned();
        for n in names {
            text += &component.replace("NAME", n);
        }
        text.replace("payload: true }", &format!("payload: true{args} }}"))
    };
    for name in ["a", "b"] {
        write(dir.path(), &format!("src/{name}/Dockerfile"), "FROM quay.io/os:9\n");
    }
    write(dir.path(), "one.yaml", &manifest(&["a", "b"], ""));
    write(dir.path(), "two.yaml", &manifest(&["a"], ", build_args: { X: \"<y>\" }"));
    let html = run(dir.path(), "compare sources {dir}/one.yaml {dir}/two.yaml --output html", 1);
    assert!(html.contains("build_args") && html.contains("&lt;y&gt;"), "{html}");
    let Some(dom) = render_in_browser(dir.path(), "sources", &html) else { return };
    assert_eq!(section_ids(&dom), ["sources"]);
    assert!(dom.contains("<b class=\"differ\">differ</b>") && dom.contains("Only in some inputs"));
    assert!(!dom.contains("<svg") && !dom.contains("<script"));
}

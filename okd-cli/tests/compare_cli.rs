#![allow(clippy::unwrap_used)]
//! `okd compare` from the command line: its configuration numbers equal what `okd render`
//! writes for every backend (okd-mini as git sources, and the corpus's 4.22 ocp-build-data
//! import), its FROM verdicts say what each approach does on okd-mini, and bad flags are exit 2.

mod common;

use std::{collections::BTreeMap, path::Path};

use common::okd;
use serde_json::Value;

const BACKENDS: [&str; 6] = ["local", "prow", "doozer-prow", "konflux", "doozer-konflux", "payload-pipeline"];

/// (files, lines, bytes) of every file under `dir`.
fn measure(dir: &Path) -> (u64, u64, u64) {
    let mut total = (0, 0, 0);
    let Ok(entries) = std::fs::read_dir(dir) else { return total };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            let (f, l, b) = measure(&path);
            total = (total.0 + f, total.1 + l, total.2 + b);
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            total = (total.0 + 1, total.1 + text.lines().count() as u64, total.2 + text.len() as u64);
        }
    }
    total
}

/// Runs `okd compare MANIFEST EXTRA -o json` and `okd render` for every backend, and checks that
/// each backend's files, lines and bytes are the rendered tree's. Returns the comparison.
fn compare_equals_render(dir: &Path, manifest: &Path, extra: &str) -> Value {
    let manifest = manifest.display();
    let run = okd(dir, &format!("compare {manifest} {extra} -o json"));
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let comparison: Value = serde_json::from_slice(&run.stdout).unwrap();
    let columns: BTreeMap<&str, &Value> =
        comparison["backends"].as_array().unwrap().iter().map(|b| (b["name"].as_str().unwrap(), b)).collect();
    assert_eq!(columns.len(), BACKENDS.len(), "every backend has a column");
    for backend in BACKENDS {
        let out = dir.join(format!("render-{backend}"));
        let render = okd(
            dir,
            &format!("render {manifest} {extra} --backend {backend} --out {} -o json", out.display()),
        );
        assert_eq!(render.status.code(), Some(0), "{backend}: {}", String::from_utf8_lossy(&render.stderr));
        let cost = &columns[backend]["cost"];
        let (files, lines, bytes) = measure(&out);
        assert_eq!(
            (
                cost["files"].as_u64().unwrap(),
                cost["lines"].as_u64().unwrap(),
                cost["bytes"].as_u64().unwrap()
            ),
            (files, lines, bytes),
            "{backend}: compare's numbers are the rendered tree's"
        );
        let summary: Value = serde_json::from_slice(&render.stdout).unwrap();
        assert_eq!(summary["files"].as_array().unwrap().len() as u64, files, "{backend}");
        let per_repo: u64 =
            cost["by_repository"].as_array().unwrap().iter().map(|r| r["files"].as_u64().unwrap()).sum();
        assert_eq!(per_repo, files, "{backend}: files per repository add up");
        assert_eq!(
            columns[backend]["warnings"].as_u64().unwrap() as usize,
            summary["warnings"].as_array().map_or(0, Vec::len),
            "{backend}: the same warnings as render"
        );
    }
    comparison
}

fn verdicts(comparison: &Value, backend: &str) -> (u64, u64, u64, u64) {
    let column = comparison["backends"].as_array().unwrap().iter().find(|b| b["name"] == backend).unwrap();
    let v = &column["verdicts"];
    let n = |k: &str| v[k].as_u64().unwrap();
    (n("unchanged"), n("native"), n("fork"), n("cannot"))
}

#[test]
fn okd_mini_from_git_numbers_equal_the_render_and_verdicts_say_what_each_approach_does() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let manifest = okd_tests::repos::okd_mini_git(dir.path(), |t| t);
    let c = compare_equals_render(dir.path(), &manifest, "");
    let references = c["release"]["references"].as_u64().unwrap();
    assert_eq!(c["references"].as_array().unwrap().len() as u64, references);
    // Every backend has a verdict on every reference of okd-mini (all git sources, all read).
    for row in c["references"].as_array().unwrap() {
        assert_eq!(row["verdicts"].as_object().unwrap().len(), BACKENDS.len(), "{row}");
    }
    for backend in BACKENDS {
        let (u, n, f, x) = verdicts(&c, backend);
        assert_eq!(u + n + f + x, references, "{backend}");
    }
    // Rewriting backends express every change; Konflux needs a fork for all but coredns's
    // `FROM ${BASE_IMAGE}` (a build arg); the Build API and ci-operator replace natively except
    // what their text rules cannot (reported, never silently dropped).
    let (_, local_native, _, _) = verdicts(&c, "local");
    assert_eq!(verdicts(&c, "doozer-prow").1, local_native);
    assert_eq!(verdicts(&c, "doozer-konflux").1, local_native);
    let (_, kn, kf, kx) = verdicts(&c, "konflux");
    assert_eq!((kn, kx), (1, 0));
    assert_eq!(kn + kf, local_native);
    let konflux = c["backends"].as_array().unwrap().iter().find(|b| b["name"] == "konflux").unwrap();
    assert!(konflux["cost"]["forks"].as_u64().unwrap() > 0);
    assert_eq!(konflux["verdicts"]["by_mechanism"]["build-arg"], 1);
    let (_, pn, pf, px) = verdicts(&c, "prow");
    assert_eq!(pf, 0);
    assert!(pn > 0 && pn + px >= local_native, "prow {pn} native, {px} cannot");
    let (_, an, af, _) = verdicts(&c, "payload-pipeline");
    assert_eq!(af, 0);
    assert!(an >= local_native, "the Build API replaces every member FROM, changed or not");

    // The table fits 100 columns, and Markdown has the same sections.
    let table = okd(dir.path(), &format!("compare {} -o table", manifest.display()));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    for section in ["APPROACH", "CONFIGURATION", "FROM REPLACEMENT"] {
        assert!(text.contains(section), "{section}\n{text}");
    }
    let md = okd(dir.path(), &format!("compare {} -o markdown --backends konflux,prow", manifest.display()));
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("### Configuration") && md.contains("| `konflux` |"), "{md}");
    assert!(!md.contains("`local`"), "only the backends asked for");
}

#[test]
fn the_corpus_4_22_import_numbers_equal_the_render() {
    let Some(shared) = okd_tests::repos::shared("the_corpus_4_22_import_numbers_equal_the_render") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let branch = shared.join("corpus/ocp-build-data/openshift-4.22");
    let manifest = dir.path().join("okd-4.22.yaml");
    let import = okd(
        dir.path(),
        &format!("import ocp-build-data {} --variant okd -O {}", branch.display(), manifest.display()),
    );
    assert_eq!(import.status.code(), Some(0), "{}", String::from_utf8_lossy(&import.stderr));
    // Offline: the sources are on GitHub; each backend renders what it can from the manifest.
    let c = compare_equals_render(dir.path(), &manifest, "--offline");
    assert!(c["release"]["components"].as_u64().unwrap() > 150);
    assert_eq!(c["release"]["read"], 0);
}

#[test]
fn unknown_backends_and_settings_for_no_compared_backend_are_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml");
    let m = manifest.display();
    for (args, needle) in [
        ("--backends prow,nope", "unknown backend 'nope'"),
        ("--backends prow --set konflux.application=x", "backend 'konflux' is not compared"),
        ("--set variant=okd", "names no backend"),
        ("--backends prow --set prow.no_such_key=1", "no_such_key"),
    ] {
        let run = okd(dir.path(), &format!("compare {m} {args}"));
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{args}: {stderr}");
        assert!(stderr.contains(needle), "{args}: {stderr}");
        assert!(run.stdout.is_empty(), "{args}: nothing printed on stdout");
    }
}

#[test]
fn compare_sources_exits_0_when_releases_agree_and_1_when_they_differ() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let mini = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml");
    let git = okd_tests::repos::okd_mini_git(dir.path(), |t| t.replace("TAGS: okd", "TAGS: scos"));
    let same = okd(dir.path(), &format!("compare sources {} {} -o json", mini.display(), mini.display()));
    assert_eq!(same.status.code(), Some(0), "{}", String::from_utf8_lossy(&same.stderr));
    let agreed: Value = serde_json::from_slice(&same.stdout).unwrap();
    assert_eq!(agreed["summary"]["agree"], true);
    let differ = okd(dir.path(), &format!("compare sources {} {} -o json", mini.display(), git.display()));
    assert_eq!(differ.status.code(), Some(1), "{}", String::from_utf8_lossy(&differ.stderr));
    let differences: Value = serde_json::from_slice(&differ.stdout).unwrap();
    assert_eq!(differences["summary"]["agree"], false);
    assert_eq!(differences["summary"]["in_all"], 10);
    let table = okd(dir.path(), &format!("compare sources {} {}", mini.display(), git.display()));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    assert!(text.contains("git_url"), "{text}");
    let one = okd(dir.path(), &format!("compare sources {}", mini.display()));
    assert_eq!(one.status.code(), Some(2), "two manifests at least");
}

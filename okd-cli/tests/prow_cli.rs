#![allow(clippy::unwrap_used)]
//! `okd render/plan --backend prow` from the command line: what Prow cannot express is a
//! located warning on stderr (and in the JSON summary), never dropped; `--strict` turns it into
//! exit 2 with nothing written; a manifest can come from standard input (`-`).

mod common;

use std::{
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

use common::{OKD, okd, snapshot};

fn okd_mini() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml").display().to_string()
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).unwrap() + 1
}

#[test]
fn path_sources_are_located_warnings_and_strict_makes_them_exit_2_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let manifest = okd_mini();
    let text = std::fs::read_to_string(&manifest).unwrap();
    let run = okd(dir.path(), &format!("render {manifest} --backend prow --out {{dir}}/out -o json"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let builder = format!(
        "warning: {}:{}: component 'builder' is built from the folder components/builder",
        manifest,
        line_of(&text, "- name: builder")
    );
    assert!(stderr.lines().any(|l| l.starts_with(&builder)), "{builder}\n{stderr}");
    assert_eq!(stderr.lines().filter(|l| l.starts_with("warning: ")).count(), 10, "{stderr}");
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["warnings"].as_array().unwrap().len(), 10, "{summary}");
    assert_eq!(summary["warnings"][0]["line"], line_of(&text, "- name: builder"));
    // Nothing Prow can build: an empty tree, not a failure.
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);

    let before = snapshot(dir.path(), &[]);
    let strict = okd(dir.path(), &format!("render {manifest} --backend prow --out {{dir}}/strict --strict"));
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error: --strict: prow cannot express parts of the release (10 warnings above)"),
        "{stderr}"
    );
    assert_eq!(snapshot(dir.path(), &[]), before, "nothing written");
}

#[test]
fn a_manifest_on_stdin_is_named_stdin_in_errors() {
    let mut child = Command::new(OKD)
        .args(["plan", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"name: x\nversion: 1.0.0\ncomponents: []\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--> <stdin>:"), "{stderr}");
}

#![allow(clippy::unwrap_used)]
//! `okd import payload-pipeline` on the corpus copy of okd-project/okd-payload-pipeline: all 189
//! BuildConfigs become components, the network-tools / ovn-kubernetes defect is a warning at its
//! file and line, and the manifest validates.

mod common;

use std::path::PathBuf;

use common::okd;

#[test]
fn the_corpus_repository_imports_with_its_defects_located() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset (CI sets it to the shared folder)");
        return;
    };
    let repo = PathBuf::from(shared).join("corpus/okd-payload-pipeline/main-01eb331");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("home")).unwrap();
    let out = okd(dir.path(), &format!("import payload-pipeline {} -O {{dir}}/okd.yaml", repo.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(out.stdout.is_empty(), "with -O the manifest goes to the file only");
    let network_tools =
        format!("warning: {}:15: ", repo.join("buildconfigs/30-network-tools.yaml").display());
    let line = stderr.lines().find(|l| l.starts_with(&network_tools)).unwrap_or_else(|| panic!("{stderr}"));
    assert!(line.contains("release:ovn-kubernetes"), "{line}");
    assert!(stderr.lines().last().unwrap().starts_with("189 BuildConfigs: 189 components"), "{stderr}");
    let run = okd(dir.path(), "validate {dir}/okd.yaml --offline -o json");
    assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["components"], 189);
}

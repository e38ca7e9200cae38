#![allow(clippy::unwrap_used)]
//! The local backend builds for its engine's architecture only: a release that asks for another
//! arch is refused before anything builds (exit 2), naming the component and the way out,
//! instead of being built for the wrong arch. Needs no engine: the check comes first.

use std::process::Command;

#[test]
fn a_two_arch_release_is_refused_by_the_local_backend_before_building() {
    let tmp = tempfile::tempdir().unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let dir = tmp.path().join("okd-mini");
    std::fs::create_dir_all(&dir).unwrap();
    okd_core::source::copy_tree(&root.join("examples/okd-mini"), &dir).unwrap();
    let release = dir.join("release.yaml");
    let text =
        std::fs::read_to_string(&release).unwrap().replace("arches: [amd64]", "arches: [amd64, arm64]");
    std::fs::write(&release, text).unwrap();
    let state = tmp.path().join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["build", release.to_str().unwrap(), "--backend", "local", "--state", state.to_str().unwrap()])
        .env("CONTAINER_HOST", "unix:///nonexistent/okd-test.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is built for amd64, arm64"), "{stderr}");
    assert!(stderr.contains("builds only for this engine's architecture"), "{stderr}");
    assert!(stderr.contains("--backend payload-pipeline"), "{stderr}");
    let runs = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["runs", "--state", state.to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&runs.stdout).trim(), "[]", "no run was recorded");
}

#![allow(clippy::unwrap_used)]
//! `okd render --backend konflux` and `okd import tekton` through the binary: okd-mini renders to
//! one .tekton pair per component plus the tenant objects, the render imports back, and a render
//! that cannot be written leaves nothing behind.

use std::{path::Path, process::Command};

fn okd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_okd")).args(args).output().unwrap()
}

fn okd_mini() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/okd-mini/release.yaml").display().to_string()
}

#[test]
fn okd_mini_renders_for_konflux_and_imports_back() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("rendered");
    let run =
        okd(&["render", &okd_mini(), "--backend", "konflux", "--out", out.to_str().unwrap(), "-o", "json"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["repositories"], 10, "{summary}");
    for component in ["cli", "installer", "cluster-dns-operator"] {
        for kind in ["push", "pull-request"] {
            let file = out.join(format!("okd-mini/{component}/.tekton/{component}-{kind}.yaml"));
            let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert!(text.contains("kind: PipelineRun") && text.contains("docker-build-oci-ta"), "{text}");
        }
    }
    assert!(std::fs::read_to_string(out.join("konflux/tenant.yaml")).unwrap().contains("kind: Application"));

    // Rendering again over a non-empty folder needs --force, and leaves the old render intact.
    let again = okd(&["render", &okd_mini(), "--backend", "konflux", "--out", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    assert!(out.join("konflux/tenant.yaml").exists());

    let imported = okd(&["import", "tekton", out.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let manifest = String::from_utf8(imported.stdout).unwrap();
    for component in ["base", "builder", "cli", "console", "installer", "machine-config-operator"] {
        assert!(manifest.contains(&format!("- name: {component}")), "{component} missing:\n{manifest}");
    }
    assert!(String::from_utf8_lossy(&imported.stderr).contains("-> 10 components"));
}

#[test]
fn importing_a_folder_that_does_not_exist_is_an_input_error() {
    let run = okd(&["import", "tekton", "/nonexistent/okd-build/tekton"]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("/nonexistent/okd-build/tekton"));
}

#![allow(clippy::unwrap_used)]
//! `okd import ocp-build-data` end to end: the real 4.22 branch of the shared corpus
//! (OKD_SHARED) imported and then validated by the same binary, and its bad inputs.

use std::{path::PathBuf, process::Command};

fn okd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_okd")).args(args).output().unwrap()
}

#[test]
fn the_4_22_branch_imports_and_the_result_validates_offline() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset, so the ocp-build-data corpus cannot be read (CI sets it)");
        return;
    };
    let branch = PathBuf::from(shared).join("corpus/ocp-build-data/openshift-4.22");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("okd-4.22.yaml");
    let run = okd(&[
        "import",
        "ocp-build-data",
        branch.to_str().unwrap(),
        "--variant",
        "okd",
        "-O",
        out.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(run.stdout.is_empty(), "with -O the manifest goes to the file only");
    let summary = stderr.lines().last().unwrap();
    assert_eq!(
        summary,
        "263 image files: 250 imported (188 payload), 13 skipped (1 mode disabled, 12 mode disabled for okd), 15 warnings"
    );
    for warning in stderr.lines().filter(|l| l.starts_with("warning: ")) {
        assert!(warning.contains(".yml:"), "every warning names its file and line: {warning}");
    }
    // The imported manifest plans offline: every member resolves and the graph has no cycle.
    let cache = tmp.path().join("cache");
    let run = okd(&["validate", out.to_str().unwrap(), "--offline", "--cache-dir", cache.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("is valid: 250 components"), "{stdout}");
}

#[test]
fn import_refuses_a_folder_that_is_not_ocp_build_data() {
    let tmp = tempfile::tempdir().unwrap();
    let run = okd(&["import", "ocp-build-data", tmp.path().to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("has no group.yml") && stderr.contains("help:"), "{stderr}");
    assert!(run.stdout.is_empty());
}

#[test]
fn a_broken_group_yml_is_located() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("group.yml"), "vars:\n  MAJOR: 4\nname: [unclosed\n").unwrap();
    let out = tmp.path().join("out.yaml");
    let run = okd(&["import", "ocp-build-data", tmp.path().to_str().unwrap(), "-O", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("group.yml:3:") || stderr.contains("group.yml:4:"), "{stderr}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn dash_o_json_is_the_report_with_the_manifest_on_stdout_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("group.yml"), "vars:\n  MAJOR: 4\n  MINOR: 22\nname: openshift-4.22\n")
        .unwrap();
    std::fs::create_dir(tmp.path().join("images")).unwrap();
    std::fs::write(
        tmp.path().join("images/cli.yml"),
        "content:\n  source:\n    git:\n      url: git@github.com:openshift/oc.git\n      branch:\n        target: release-4.22\nfrom:\n  image: quay.io/centos/centos:stream9\nname: openshift/ose-cli\nfor_payload: true\n",
    )
    .unwrap();
    let run = okd(&["import", "ocp-build-data", tmp.path().to_str().unwrap(), "-o", "json"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert!(report["manifest"].as_str().unwrap().contains("components:"), "{report}");
    assert!(!tmp.path().join("json").exists(), "-o is the output format, never a file");
}

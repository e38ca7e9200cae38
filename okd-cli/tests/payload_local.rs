#![allow(clippy::unwrap_used)]
//! `okd payload assemble|info|diff` on examples/okd-mini built by the local backend, against the
//! real engine and registry that `scripts/engine.sh start` provides. Without them the test says
//! it skips, except under CI, where it fails.

mod engine;

use std::{collections::BTreeMap, path::Path, process::Command};

use engine::{build, labels, need_engine, release};
use okd_core::payload::{self, ImageRef};
use okd_runtime::oci::OciRegistry;
use serde_json::Value;

fn okd(args: &[&str]) -> Value {
    let out =
        Command::new(env!("CARGO_BIN_EXE_okd")).args(args).arg("--output").arg("json").output().unwrap();
    assert!(out.status.success(), "okd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// Builds with --push (and `extra`) and returns component -> digest of what was built or reused.
fn build_and_push(release: &Path, state: &Path, extra: &[&str]) -> BTreeMap<String, String> {
    let (code, outcomes, events) = build(release, state, &[&["--push"], extra].concat());
    assert_eq!(code, 0, "{outcomes:?}");
    events
        .iter()
        .filter(|e| e["event"] == "succeeded" || e["event"] == "reused")
        .map(|e| (e["component"].as_str().unwrap().to_owned(), e["digest"].as_str().unwrap().to_owned()))
        .collect()
}

fn assemble(release: &Path, state: &Path) -> (Value, String) {
    let assembled = okd(&[
        "payload",
        "assemble",
        release.to_str().unwrap(),
        "--backend",
        "local",
        "--state",
        state.to_str().unwrap(),
    ]);
    let image = assembled["image"].as_str().unwrap();
    let repo = image.rsplit_once(':').unwrap().0;
    let at = format!("{repo}@{}", assembled["digest"].as_str().unwrap());
    (assembled, at)
}

#[tokio::test(flavor = "multi_thread")]
async fn assembles_reads_back_and_diffs_the_okd_mini_payload() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-payload-{}", std::process::id());
    let release = release(tmp.path(), &repository);
    let state = tmp.path().join("state");
    let built = build_and_push(&release, &state, &[]);
    let (assembled, first) = assemble(&release, &state);

    // image-references lists exactly the payload components, at the digests that were built.
    let registry = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let tags: BTreeMap<String, String> = assembled["image_references"]["spec"]["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["from"]["name"].as_str().unwrap().to_owned()))
        .collect();
    let payload: Vec<&str> = vec![
        "cli",
        "cluster-dns-operator",
        "cluster-version-operator",
        "console",
        "coredns",
        "installer",
        "machine-config-operator",
        "network-tools",
    ];
    assert_eq!(tags.keys().map(String::as_str).collect::<Vec<_>>(), payload);
    for (name, spec) in &tags {
        assert_eq!(spec, &format!("{registry}/{repository}@{}", built[name]), "{name}");
    }

    // `okd payload info` reads the same back, with the release metadata and no warnings.
    let info = okd(&["payload", "info", &first]);
    assert_eq!(info["name"], "4.17.0-0.okd-mini");
    assert_eq!(info["warnings"], serde_json::json!([]));
    for t in info["tags"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        assert_eq!(t["digest"].as_str(), Some(built[name].as_str()), "{name}");
        assert!(t["source_location"].as_str().unwrap().starts_with("https://github.com/openshift/"), "{t}");
        assert!(
            t["source_content"].as_str().unwrap().starts_with("sha256:"),
            "path sources carry their content hash"
        );
    }
    assert_eq!(info["manifests"].as_array().unwrap().len(), 8);

    // The operator manifests name their operands by the payload's digests and the release version.
    let image = ImageRef::parse(&first).unwrap();
    let client = OciRegistry::for_images(&[&image], &[]);
    let read = payload::read(&client, &image).await.unwrap();
    let deployment =
        String::from_utf8(read.manifest_contents["0000_70_cluster-dns-operator_02-deployment.yaml"].clone())
            .unwrap();
    assert!(deployment.contains(&format!("image: {}", tags["cluster-dns-operator"])), "{deployment}");
    assert!(deployment.contains(&format!("value: {}", tags["coredns"])), "{deployment}");
    assert!(deployment.contains("value: \"4.17.0-0.okd-mini\""), "{deployment}");
    assert!(!deployment.contains("quay.io/openshift/origin-"), "{deployment}");

    // The engine can pull it, and it carries exactly the release labels.
    let host = std::env::var("CONTAINER_HOST").unwrap();
    let pulled = Command::new("podman").args(["--url", &host, "pull", "-q", &first]).output().unwrap();
    assert!(pulled.status.success(), "{}", String::from_utf8_lossy(&pulled.stderr));
    let release_labels = labels(&first);
    assert_eq!(release_labels["io.openshift.release"], "4.17.0-0.okd-mini");
    assert_eq!(
        release_labels["io.openshift.release.base-image-digest"].as_str(),
        Some(built["cluster-version-operator"].as_str())
    );
    assert_eq!(release_labels.as_object().unwrap().len(), 2, "{release_labels}");

    // A change to one operand's source, rebuilt alone (`--only`): the payload takes that build
    // from the latest run and the rest from the builds of their unchanged inputs, and the diff
    // shows exactly that tag as changed.
    let coredns = release.parent().unwrap().join("components/coredns");
    let file = std::fs::read_dir(&coredns).unwrap().map(|e| e.unwrap().path()).find(|p| p.is_file()).unwrap();
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n# changed by the payload test\n");
    std::fs::write(&file, text).unwrap();
    let rebuilt = build_and_push(&release, &state, &["--only", "coredns"]);
    assert_eq!(rebuilt.keys().collect::<Vec<_>>(), ["coredns"], "only coredns was in the run");
    assert_ne!(rebuilt["coredns"], built["coredns"]);
    let (_, second) = assemble(&release, &state);
    let diff = okd(&["payload", "diff", &first, &second]);
    let names = |key: &str| -> Vec<String> {
        diff[key].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(names("changed"), ["coredns"], "{diff}");
    assert!(
        names("rebuilt").is_empty() && names("added").is_empty() && names("removed").is_empty(),
        "{diff}"
    );
    assert_eq!(diff["unchanged"], 7);
    assert_eq!(diff["manifests_changed"], serde_json::json!([]), "digests are mapped back to tag names");
}

#![allow(clippy::unwrap_used)]
//! The workspace keeps kube-rs's layering, read off `cargo metadata` (normal dependencies, as
//! linked into a build, transitively): okd-core is the model and rules and links no client, no
//! engine and no database; backends never depend on one another; only backend-local links the
//! container engine client; the CLI is the one crate that links every backend.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// `cargo metadata` of the workspace.
fn metadata() -> Value {
    // This machine's platform only: the others' dependencies are not downloaded, and the tests
    // reach no network.
    let host = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline", "--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Package name -> the package names it links (normal dependencies, transitively).
fn linked() -> BTreeMap<String, BTreeSet<String>> {
    let metadata = metadata();
    let names: BTreeMap<&str, &str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    // Direct normal dependencies by package id (dep_kinds `kind: null` is a normal dependency).
    let direct: BTreeMap<&str, Vec<&str>> = metadata["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| {
            let deps = node["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["dep_kinds"].as_array().unwrap().iter().any(|k| k["kind"].is_null()))
                .map(|d| d["pkg"].as_str().unwrap())
                .collect();
            (node["id"].as_str().unwrap(), deps)
        })
        .collect();
    let members: Vec<&str> =
        metadata["workspace_members"].as_array().unwrap().iter().map(|m| m.as_str().unwrap()).collect();
    members
        .into_iter()
        .map(|member| {
            let mut seen = BTreeSet::new();
            let mut stack = direct[member].clone();
            while let Some(id) = stack.pop() {
                if seen.insert(id) {
                    stack.extend(direct[id].iter().copied());
                }
            }
            (names[member].to_owned(), seen.into_iter().map(|id| names[id].to_owned()).collect())
        })
        .collect()
}

#[test]
fn the_crates_keep_their_layers() {
    let linked = linked();
    let backends = ["backend-argo", "backend-konflux", "backend-local", "backend-prow"];
    for name in ["okd-core", "okd-runtime", "okd-cli", "okd-tests"].into_iter().chain(backends) {
        assert!(linked.contains_key(name), "{name} is a workspace member: {:?}", linked.keys());
    }

    let core = &linked["okd-core"];
    for forbidden in ["bollard", "kube-client", "octocrab", "rusqlite", "okd-runtime"] {
        assert!(!core.contains(forbidden), "okd-core links {forbidden}");
    }
    assert!(!linked["okd-runtime"].contains("bollard"), "okd-runtime links bollard");
    // kube-rs only through okd-runtime's optional `kube` feature (its shared error mapping),
    // which the cluster backends turn on and the local backend does not.
    let metadata = metadata();
    let package = |name: &str| {
        metadata["packages"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap().clone()
    };
    let dependency = |package: &Value, name: &str| {
        package["dependencies"].as_array().unwrap().iter().find(|d| d["name"] == name).cloned()
    };
    let runtime = package("okd-runtime");
    // octocrab only through okd-runtime's optional `github` feature (feedback to developers),
    // which only the CLI turns on: no backend talks to GitHub for statuses itself.
    if let Some(d) = dependency(&runtime, "octocrab") {
        assert_eq!(d["optional"], true, "okd-runtime depends on octocrab only optionally");
    }
    for dep in ["kube", "kube-client"] {
        if let Some(d) = dependency(&runtime, dep) {
            assert_eq!(d["optional"], true, "okd-runtime depends on {dep} only optionally");
        }
    }
    let runtime_features = |backend: &str| -> Vec<String> {
        dependency(&package(backend), "okd-runtime").unwrap()["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect()
    };
    assert!(
        !runtime_features("backend-local").contains(&"kube".to_owned()),
        "backend-local turns on okd-runtime/kube"
    );
    for backend in backends {
        for other in backends.iter().filter(|b| **b != backend) {
            assert!(!linked[backend].contains(*other), "{backend} depends on {other}");
        }
        assert!(linked[backend].contains("okd-runtime"), "{backend} runs on okd-runtime");
        assert_eq!(linked[backend].contains("bollard"), backend == "backend-local", "{backend} and bollard");
    }
    for backend in backends {
        assert!(linked["okd-cli"].contains(backend), "the CLI wires in {backend}");
        assert!(
            !runtime_features(backend).contains(&"github".to_owned()),
            "{backend} turns on okd-runtime/github"
        );
    }
}

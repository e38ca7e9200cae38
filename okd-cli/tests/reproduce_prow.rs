#![allow(clippy::unwrap_used)]
//! Reproducing a Prow build on this machine, as the README tells users to: the okd-scos
//! ci-operator configs of two repositories (git, file://) imported and piped straight into
//! `okd build - --backend local` on the real engine. The builder image a config names on
//! registry.ci.openshift.org is the local busybox under that name (the engine never pulls).

mod common;
mod engine;

use std::{
    path::Path,
    process::{Command, Stdio},
};

use common::{OKD, git, write};
use engine::{labels, need_engine};
use serde_json::Value;

/// Where the configs send the builder: tagged locally from the engine's busybox image.
const BUILDER: &str = "registry.ci.openshift.org/ocp/builder:okd-build-repro-test";

const IMAGES_CONFIG: &str = "base_images:
  ocp_builder_repro:
    name: builder
    namespace: ocp
    tag: okd-build-repro-test
images:
  items:
  - dockerfile_path: Dockerfile.rhel9
    context_dir: base
    from: ocp_builder_repro
    to: base-stream9
promotion:
  to:
  - name: scos-4.21
    namespace: origin
zz_generated_metadata: {branch: release-4.21, org: openshift, repo: images, variant: okd-scos}
";

/// cli builds in the builder and ships on base-stream9, which openshift/images promotes.
const OC_CONFIG: &str = "base_images:
  ocp_builder_repro:
    name: builder
    namespace: ocp
    tag: okd-build-repro-test
  origin_scos-4.21_base-stream9:
    name: scos-4.21
    namespace: origin
    tag: base-stream9
images:
  items:
  - dockerfile_path: images/cli/Dockerfile.rhel
    from: origin_scos-4.21_base-stream9
    inputs:
      ocp_builder_repro:
        as:
        - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21
    build_args:
    - name: TAGS
      value: scos
    to: cli
promotion:
  to:
  - name: scos-4.21
    namespace: origin
zz_generated_metadata: {branch: release-4.21, org: openshift, repo: oc, variant: okd-scos}
";

/// A repository at `dir/git/openshift/<repo>` with `files`, one commit on release-4.21.
fn repository(dir: &Path, repo: &str, files: &[(&str, &str)]) -> String {
    let root = dir.join("git/openshift").join(repo);
    for (path, text) in files {
        write(&root, path, text);
    }
    let home = dir.join("home");
    git(&root, &home, "init -q -b release-4.21");
    git(&root, &home, "add -A");
    git(&root, &home, "commit -q -m import");
    let out = Command::new("git").args(["rev-parse", "HEAD"]).current_dir(&root).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn podman(args: &[&str]) {
    let host = std::env::var("CONTAINER_HOST").unwrap_or_default();
    let out = Command::new("podman").args(["--url", &host]).args(args).output().unwrap();
    assert!(out.status.success(), "podman {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn imported_ci_operator_configs_piped_into_a_local_build_reproduce_the_job() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    podman(&["tag", "localhost/okd-mini/busybox:1.36", BUILDER]);
    write(dir, "config/openshift/images/openshift-images-release-4.21__okd-scos.yaml", IMAGES_CONFIG);
    write(dir, "config/openshift/oc/openshift-oc-release-4.21__okd-scos.yaml", OC_CONFIG);
    repository(
        dir,
        "images",
        &[("base/Dockerfile.rhel9", "FROM quay.io/centos/centos:stream9\nRUN echo base > /etc/base\n")],
    );
    let oc = repository(
        dir,
        "oc",
        &[(
            "images/cli/Dockerfile.rhel",
            "FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21 AS builder\n\
             ARG TAGS\nRUN echo \"oc built with $TAGS\" > /oc\n\
             FROM registry.ci.openshift.org/ocp/4.21:base-rhel9\nCOPY --from=builder /oc /usr/bin/oc\n",
        )],
    );

    let repository = format!("okd/repro-{}", std::process::id());
    let mut import = Command::new(OKD)
        .args(["import", "ci-operator"])
        .arg(dir.join("config"))
        .args(["--variant", "okd-scos", "--registry", "127.0.0.1:5000", "--repository", &repository])
        .arg("--git-base")
        .arg(format!("file://{}/git", dir.display()))
        .env("HOME", dir.join("home"))
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let build = Command::new(OKD)
        .args(["build", "-", "--backend", "local", "--output", "json", "--jobs", "2", "--state"])
        .arg(dir.join("state"))
        .env("HOME", dir.join("home"))
        .env("OKD_CACHE_DIR", dir.join("cache"))
        .stdin(import.stdout.take().unwrap())
        .output()
        .unwrap();
    let imported = import.wait_with_output().unwrap();
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    let stderr = String::from_utf8_lossy(&build.stderr);
    assert_eq!(build.status.code(), Some(0), "{stderr}");
    let events: Vec<Value> =
        String::from_utf8_lossy(&build.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let succeeded: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "succeeded")
        .map(|e| e["component"].as_str().unwrap())
        .collect();
    assert_eq!(succeeded, ["base-stream9", "cli"], "parents first: {events:?}");

    // cli was built from the config's repository at its commit, with the config's build args,
    // on base-stream9 (ci-operator's `from`), its builder stage on the builder (`inputs.as`).
    let cli = labels(&format!("127.0.0.1:5000/{repository}:cli"));
    assert_eq!(cli["io.openshift.build.commit.id"], oc.as_str(), "{cli}");
    // Read the files out of the image without running it (no container starts here).
    let name = format!("okd-repro-{}", std::process::id());
    podman(&["create", "--name", &name, &format!("127.0.0.1:5000/{repository}:cli"), "true"]);
    for (from, to) in [("/usr/bin/oc", "oc"), ("/etc/base", "base")] {
        podman(&["cp", &format!("{name}:{from}"), dir.join(to).to_str().unwrap()]);
    }
    podman(&["rm", &name]);
    assert_eq!(std::fs::read_to_string(dir.join("oc")).unwrap(), "oc built with scos\n");
    assert_eq!(std::fs::read_to_string(dir.join("base")).unwrap(), "base\n");
}

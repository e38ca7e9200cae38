#![allow(clippy::unwrap_used)]
//! Two-arch builds on the local backend. Refused before anything builds without --push (the
//! arches are joined into a manifest list in the registry): needs no engine. With the engine,
//! qemu-user-static's arm64 handler and the two-arch base list that `scripts/engine.sh
//! multiarch` pushes, okd-mini is built for amd64 and arm64: every component a manifest list
//! whose arm64 image holds arm64 binaries, a multi-arch payload read per arch, and a rebuild that
//! reuses every list. Without those the second test says it skips: not every machine can run
//! other arches.

mod engine;

use std::{path::Path, process::Command};

use okd_core::payload::{ImageRef, ImageRegistry};
use okd_runtime::oci::OciRegistry;
use serde_json::Value;

fn two_arch_okd_mini(tmp: &Path, repository: &str, base: &str) -> std::path::PathBuf {
    let release = engine::release(tmp, repository);
    let text = std::fs::read_to_string(&release)
        .unwrap()
        .replace("arches: [amd64]", "arches: [amd64, arm64]")
        .replace("image: localhost/okd-mini/busybox:1.36", &format!("image: {base}"));
    std::fs::write(&release, text).unwrap();
    release
}

#[test]
fn a_two_arch_build_without_push_is_refused_before_building() {
    let tmp = tempfile::tempdir().unwrap();
    let release = two_arch_okd_mini(tmp.path(), "okd/unused", "localhost/okd-mini/busybox:1.36");
    let state = tmp.path().join("state");
    let out = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["build", release.to_str().unwrap(), "--backend", "local", "--state", state.to_str().unwrap()])
        .env("CONTAINER_HOST", "unix:///nonexistent/okd-test.sock")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is built for amd64, arm64") && stderr.contains("needs --push"), "{stderr}");
    let runs = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["runs", "--state", state.to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&runs.stdout).trim(), "[]", "no run was recorded");
}

fn okd_json(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_okd")).args(args).args(["--output", "json"]).output().unwrap();
    assert!(out.status.success(), "okd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The arch a registry image's config names.
async fn config_arch(registry: &OciRegistry, image: &ImageRef) -> String {
    let (bytes, _) = registry.manifest(image).await.unwrap();
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    let config = registry.blob(image, manifest["config"]["digest"].as_str().unwrap()).await.unwrap();
    serde_json::from_slice::<Value>(&config).unwrap()["architecture"].as_str().unwrap().to_owned()
}

/// The ELF machine byte of `/bin/busybox` in `image`'s layers.
async fn busybox_machine(registry: &OciRegistry, image: &ImageRef) -> u8 {
    let (bytes, _) = registry.manifest(image).await.unwrap();
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        let blob = registry.blob(image, layer["digest"].as_str().unwrap()).await.unwrap();
        let files = okd_core::payload::files_in_layer(&blob, "bin").unwrap();
        if let Some(busybox) = files.iter().find(|f| f.name == "busybox") {
            assert_eq!(&busybox.content[..4], b"\x7fELF");
            return busybox.content[18];
        }
    }
    panic!("no /bin/busybox in {image}")
}

#[tokio::test(flavor = "multi_thread")]
async fn okd_mini_builds_for_amd64_and_arm64_into_a_multi_arch_payload() {
    if !engine::need_engine() {
        return;
    }
    let handler = std::fs::read_to_string("/proc/sys/fs/binfmt_misc/qemu-aarch64").unwrap_or_default();
    let registry_host = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let base = format!("{registry_host}/okd-mini/busybox:1.36");
    let base_ref = ImageRef::parse(&base).unwrap();
    let client = OciRegistry::for_images(&[&base_ref], &[]);
    let has_base = client.manifest(&base_ref).await.is_ok();
    if !handler.starts_with("enabled") || !has_base {
        eprintln!(
            "skipping the two-arch okd-mini build: this machine has {} and {} (scripts/engine.sh multiarch sets both up where it can)",
            if handler.starts_with("enabled") {
                "the qemu-aarch64 handler"
            } else {
                "no qemu-aarch64 binfmt handler"
            },
            if has_base { format!("the base list {base}") } else { format!("no base list {base}") }
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repository = format!("okd/e2e-multiarch-{}", std::process::id());
    let release = two_arch_okd_mini(tmp.path(), &repository, &base);
    let state = tmp.path().join("state");
    let (code, outcomes, _) = engine::build(&release, &state, &["--push"]);
    assert_eq!(code, 0, "{outcomes:?}");
    assert_eq!(engine::with(&outcomes, "succeeded").len(), 10, "{outcomes:?}");

    // Every component is a two-arch list, and the arm64 image holds arm64 binaries.
    let cli = ImageRef::parse(&format!("{registry_host}/{repository}:cli")).unwrap();
    let (bytes, _) = client.manifest(&cli).await.unwrap();
    let list: Value = serde_json::from_slice(&bytes).unwrap();
    let arches: Vec<&str> = list["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(arches, ["amd64", "arm64"], "{list}");
    for member in list["manifests"].as_array().unwrap() {
        let image = cli.at_digest(member["digest"].as_str().unwrap());
        assert_eq!(config_arch(&client, &image).await, member["platform"]["architecture"].as_str().unwrap());
    }
    // Its busybox, which ran the arm64 image's RUN steps under qemu, is an AArch64 ELF (e_machine
    // 0xB7); the amd64 image's is x86-64 (0x3E).
    for (member, machine) in list["manifests"].as_array().unwrap().iter().zip([0x3e_u8, 0xb7]) {
        let image = cli.at_digest(member["digest"].as_str().unwrap());
        assert_eq!(busybox_machine(&client, &image).await, machine, "{member}");
    }

    // The payload is a list too, and reads per arch.
    let (r, s) = (release.to_str().unwrap(), state.to_str().unwrap());
    let assembled = okd_json(&["payload", "assemble", r, "--backend", "local", "--state", s]);
    let platforms: Vec<&str> =
        assembled["platforms"].as_array().unwrap().iter().map(|p| p["platform"].as_str().unwrap()).collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let image = assembled["image"].as_str().unwrap();
    let at = format!("{}@{}", image.rsplit_once(':').unwrap().0, assembled["digest"].as_str().unwrap());
    let info = okd_json(&["payload", "info", &at, "--arch", "arm64"]);
    assert_eq!(info["arch"], "arm64");
    assert_eq!(info["warnings"], serde_json::json!([]));
    for tag in info["tags"].as_array().unwrap() {
        let digest = tag["arch_digest"].as_str().unwrap_or_else(|| panic!("{tag}"));
        let image = ImageRef::parse(tag["pull_spec"].as_str().unwrap()).unwrap().at_digest(digest);
        assert_eq!(config_arch(&client, &image).await, "arm64", "{tag}");
    }

    // Built again: every list is reused from the registry, nothing is rebuilt.
    let (code, outcomes, _) = engine::build(&release, &state, &["--push"]);
    assert_eq!(code, 0, "{outcomes:?}");
    assert_eq!(engine::with(&outcomes, "reused").len(), 10, "{outcomes:?}");
}

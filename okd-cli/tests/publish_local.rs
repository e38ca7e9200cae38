#![allow(clippy::unwrap_used)]
//! `okd payload publish` on okd-mini built by the local backend, against the real engine and
//! loopback registry: two payloads land in one stream under the release controller's names,
//! earlier ones stay, the moving tag follows the newest, and the rendered release-controller
//! config has the keys of openshift/release's real ones (from $OKD_SHARED; that comparison says
//! it skips without it). Without the engine the test says it skips, except under CI.

mod engine;

use std::{collections::BTreeSet, process::Command};

use engine::{build, need_engine, release};
use okd_core::payload::ImageRef;
use okd_runtime::oci::OciRegistry;
use serde_json::Value;

fn publish(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["payload", "publish"])
        .args(args)
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_payloads_land_in_one_stream_with_the_release_controller_files() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let registry = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let repository = format!("okd/e2e-publish-{}", std::process::id());
    let release = release(tmp.path(), &repository);
    let state = tmp.path().join("state");
    let (code, outcomes, _) = build(&release, &state, &["--push"]);
    assert_eq!(code, 0, "{outcomes:?}");
    let to = format!("{registry}/{repository}-release");
    let out = tmp.path().join("openshift-release");
    let (r, s, o) = (release.to_str().unwrap(), state.to_str().unwrap(), out.to_str().unwrap());
    let args = ["--backend", "local", "--state", s, "--to", &to, "--stream", "okd-scos", "--out", o];
    let first = publish(&[&[r], &args[..]].concat());
    // The release controller names a stream's payloads by the second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let second = publish(&[&[r], &args[..]].concat());

    let name = first["name"].as_str().unwrap();
    assert!(
        name.starts_with("4.17.0-0.okd-scos-") && name.len() == "4.17.0-0.okd-scos-".len() + 17,
        "{name}"
    );
    assert!(second["name"].as_str().unwrap() > name);
    assert_eq!(second["nightlies"], serde_json::json!([name, second["name"]]), "earlier nightlies are kept");

    // Read back from the registry: both nightlies and the moving tag, which names the newest.
    let image = ImageRef::parse(&format!("{to}:scos-4.17")).unwrap();
    let client = OciRegistry::for_images(&[&image], &[]);
    let tags: BTreeSet<String> = client.tags(&image).await.unwrap().into_iter().collect();
    let expected: BTreeSet<String> =
        [name, second["name"].as_str().unwrap(), "scos-4.17"].iter().map(|s| s.to_string()).collect();
    assert_eq!(tags, expected);
    use okd_core::payload::ImageRegistry;
    let (_, moving) = client.manifest(&image).await.unwrap();
    assert_eq!(moving, second["digest"].as_str().unwrap());
    let info = Command::new(env!("CARGO_BIN_EXE_okd"))
        .args(["payload", "info", &format!("{to}:{name}"), "--output", "json"])
        .output()
        .unwrap();
    let info: Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(info["name"], name, "the payload carries its nightly name");
    assert_eq!(info["warnings"], serde_json::json!([]));

    // The files, as they would land in openshift/release.
    let config_path = out.join("core-services/release-controller/_releases/release-okd-scos-4.17.json");
    let config: Value = serde_json::from_str(&std::fs::read_to_string(&config_path).unwrap()).unwrap();
    assert_eq!(config["name"], "4.17.0-0.okd-scos");
    assert_eq!(config["to"], "release-scos");
    assert_eq!(config["publish"]["tag"]["tagRef"]["name"], "scos-4.17");
    let mapping =
        std::fs::read_to_string(out.join("core-services/image-mirroring/openshift/mapping_origin_scos-4_17"))
            .unwrap();
    assert_eq!(mapping.lines().count(), 8, "one line per payload tag:\n{mapping}");
    for line in mapping.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert!(parts[0].starts_with(&format!("{registry}/{repository}@sha256:")), "{line}");
        assert!(
            parts[1].starts_with(&format!("{registry}/okd/origin-")) && parts[1].ends_with(":4.17"),
            "{line}"
        );
        assert!(parts[2].ends_with(":4.17.0"), "{line}");
    }

    let Some(shared) = okd_tests::repos::shared("two_payloads_land_in_one_stream (the corpus comparison)")
    else {
        return;
    };
    let real = shared.join(
        "corpus/openshift-release/core-services/release-controller/_releases/release-okd-scos-4.21.json",
    );
    let real: Value = serde_json::from_str(&std::fs::read_to_string(real).unwrap()).unwrap();
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(keys(&config), keys(&real), "the rendered config has the real file's keys");
    assert_eq!(keys(&config["publish"]), keys(&real["publish"]));
    assert_eq!(keys(&config["verify"]["aws"]), keys(&real["verify"]["aws"]));
    for key in ["expires", "maxUnreadyReleases", "minCreationIntervalSeconds"] {
        assert_eq!(config[key], real[key], "{key}");
    }
}

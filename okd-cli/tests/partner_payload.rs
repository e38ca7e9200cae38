#![allow(clippy::unwrap_used)]
//! Partner builds on the real engine and loopback registry: okd-mini as git repositories is
//! built and assembled; `okd import release-image` derives a manifest from that payload and gets
//! every component back at the commit it was built from; a partner rebuilds one component from a
//! new commit, replaces another with an image built elsewhere, and assembles a payload on top of
//! the original (`--from-release`, `--replace`) that `okd payload diff` shows differs in exactly
//! those two tags. Without the engine the test says it skips, except under CI, where it fails.

mod engine;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
    process::{Command, Output},
};

use engine::{build, need_engine};
use okd_core::manifest::{LoadOptions, load};
use okd_tests::repos::{git, okd_mini_git};
use serde_json::Value;

const PAYLOAD: [&str; 8] = [
    "cli",
    "cluster-dns-operator",
    "cluster-version-operator",
    "console",
    "coredns",
    "installer",
    "machine-config-operator",
    "network-tools",
];

fn okd(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_okd")).args(args).output().unwrap()
}

fn okd_json(args: &[&str]) -> Value {
    let out = okd(&[args, &["--output", "json"]].concat());
    assert!(out.status.success(), "okd {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn build_and_push(release: &Path, state: &Path, extra: &[&str]) {
    let (code, outcomes, _) = build(release, state, &[&["--push"], extra].concat());
    assert_eq!(code, 0, "{outcomes:?}");
}

/// The assembled release image by digest.
fn at_digest(assembled: &Value) -> String {
    let image = assembled["image"].as_str().unwrap();
    format!("{}@{}", image.rsplit_once(':').unwrap().0, assembled["digest"].as_str().unwrap())
}

#[test]
fn a_payload_round_trips_to_a_manifest_and_a_partner_replaces_two_tags() {
    if !need_engine() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let registry = std::env::var("OKD_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5000".to_owned());
    let repository = format!("okd/e2e-partner-{}", std::process::id());
    let release = okd_mini_git(tmp.path(), |t| {
        t.replace("repository: okd/okd-mini", &format!("repository: {repository}"))
    });
    let state = tmp.path().join("state");
    let (r, s) = (release.to_str().unwrap(), state.to_str().unwrap());
    build_and_push(&release, &state, &[]);
    let original = at_digest(&okd_json(&["payload", "assemble", r, "--backend", "local", "--state", s]));

    // Round trip: every payload component comes back at the commit it was built from, with the
    // Dockerfile (and the scos variant's build args) of the manifest named by --dockerfiles-from.
    let derived = tmp.path().join("derived.yaml");
    let report = okd_json(&[
        "import",
        "release-image",
        &original,
        "--dockerfiles-from",
        r,
        "-O",
        derived.to_str().unwrap(),
    ]);
    assert_eq!(report["components"], 8, "{report}");
    assert_eq!(report["located"], 8, "{report}");
    let commits: BTreeMap<String, String> = PAYLOAD
        .iter()
        .map(|name| (name.to_string(), git(&tmp.path().join("src/okd").join(name), &["rev-parse", "HEAD"])))
        .collect();
    let manifest = load(&derived, &LoadOptions::default()).unwrap();
    let names: Vec<&str> = manifest.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, PAYLOAD);
    for c in &manifest.components {
        let okd_core::manifest::Source::Git { url, reference } = &c.source else {
            panic!("{}: not git", c.name)
        };
        assert_eq!(reference, &commits[&c.name], "{} at the commit it was built from", c.name);
        assert!(url.ends_with(&format!("/src/okd/{}", c.name)), "{url}");
        assert!(c.payload, "{}", c.name);
    }
    let mco = manifest.component("machine-config-operator").unwrap();
    assert_eq!(mco.dockerfile, "Dockerfile.scos");
    assert_eq!(mco.build_args.get("TAGS").map(String::as_str), Some("scos"));
    // The commits resolve: the derived manifest plans.
    let planned = okd(&["plan", derived.to_str().unwrap(), "--output", "json"]);
    assert!(planned.status.success(), "{}", String::from_utf8_lossy(&planned.stderr));

    // Without a second source every component builds ./Dockerfile, and the import says so.
    let bare = okd(&["import", "release-image", &original]);
    assert!(bare.status.success(), "{}", String::from_utf8_lossy(&bare.stderr));
    assert!(String::from_utf8_lossy(&bare.stderr).contains("--dockerfiles-from"));
    assert!(!String::from_utf8_lossy(&bare.stdout).contains("dockerfile:"));

    // The partner: a new commit of installer, rebuilt alone, and coredns replaced by an image
    // built elsewhere (named by tag: it is pinned to its digest).
    let installer = tmp.path().join("src/okd/installer");
    let readme = installer.join("PARTNER.md");
    std::fs::write(&readme, "a partner's fork\n").unwrap();
    git(&installer, &["add", "-A"]);
    git(&installer, &["commit", "-q", "-m", "partner change"]);
    build_and_push(&release, &state, &["--only", "installer"]);
    let elsewhere = format!("{registry}/{repository}:console");
    let partner_to = format!("{registry}/{repository}-release:partner");
    let assembled = okd_json(&[
        "payload",
        "assemble",
        r,
        "--backend",
        "local",
        "--state",
        s,
        "--from-release",
        &original,
        "--replace",
        &format!("coredns={elsewhere}"),
        "--to",
        &partner_to,
    ]);
    let origins = assembled["origins"].as_object().unwrap();
    assert_eq!(origins["installer"], "built", "{assembled}");
    assert_eq!(origins["coredns"], "replaced", "{assembled}");
    let kept = origins.values().filter(|o| *o == "from-release").count();
    assert_eq!(kept, 6, "{assembled}");
    assert!(assembled["from_release"].as_str().unwrap().ends_with(original.rsplit_once('@').unwrap().1));
    let partner = at_digest(&assembled);

    let diff = okd_json(&["payload", "diff", &original, &partner]);
    let names = |key: &str| -> BTreeSet<String> {
        diff[key].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    };
    let differ: BTreeSet<String> = names("changed").union(&names("rebuilt")).cloned().collect();
    assert_eq!(differ, BTreeSet::from(["coredns".to_owned(), "installer".to_owned()]), "{diff}");
    assert!(names("added").is_empty() && names("removed").is_empty(), "{diff}");
    assert_eq!(diff["unchanged"], 6, "{diff}");

    // A replacement for a tag the release does not have is refused before anything is pushed.
    let typo = okd(&[
        "payload",
        "assemble",
        r,
        "--backend",
        "local",
        "--state",
        s,
        "--from-release",
        &original,
        "--replace",
        &format!("coredsn={elsewhere}"),
        "--to",
        &format!("{registry}/{repository}-release:typo"),
    ]);
    assert_eq!(typo.status.code(), Some(2), "{}", String::from_utf8_lossy(&typo.stderr));
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(stderr.contains("has no tag coredsn") && stderr.contains("coredns"), "{stderr}");
}

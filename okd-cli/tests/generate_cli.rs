#![allow(clippy::unwrap_used)]
//! `okd generate` on examples/okd-mini.

use std::{collections::BTreeMap, path::Path, process::Command};

fn okd(args: &[&str]) -> std::process::Output {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    Command::new(env!("CARGO_BIN_EXE_okd")).args(args).current_dir(root).output().unwrap()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn generates_every_component_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for out in [&a, &b] {
        let run = okd(&[
            "generate",
            "examples/okd-mini/release.yaml",
            "--out",
            out.to_str().unwrap(),
            "--timestamp",
            "2026-11-23T12:00:00Z",
        ]);
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
        assert!(String::from_utf8_lossy(&run.stdout).contains("10 component source trees written"));
    }
    let (sa, sb) = (snapshot(&a), snapshot(&b));
    assert_eq!(sa, sb, "same inputs and timestamp, same bytes");
    let installer = String::from_utf8(sa["installer/Dockerfile"].clone()).unwrap();
    assert!(installer.contains("FROM 127.0.0.1:5000/okd/okd-mini:base"), "{installer}");
    assert!(installer.contains("COPY --from=127.0.0.1:5000/okd/okd-mini:cli"), "{installer}");
    assert!(installer.contains("TAGS=scos"));
    assert!(sa.contains_key("installer/.okd-build/generated.json"));
}

#[test]
fn a_bad_timestamp_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let run = okd(&[
        "generate",
        "examples/okd-mini/release.yaml",
        "--out",
        out.to_str().unwrap(),
        "--timestamp",
        "yesterday",
    ]);
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("help:"));
    assert!(!out.exists());
}

#[test]
fn a_non_empty_out_is_refused_without_force_as_render_does() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep"), "mine\n").unwrap();
    let args =
        ["generate", "examples/okd-mini/release.yaml", "--component", "cli", "--out", out.to_str().unwrap()];
    let run = okd(&args);
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("exists and is not empty"));
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "nothing written");
    let mut forced = args.to_vec();
    forced.push("--force");
    let run = okd(&forced);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("cli/Dockerfile").is_file() && out.join("keep").is_file());
}

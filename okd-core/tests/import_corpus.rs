#![allow(clippy::unwrap_used)]
//! Imports every ocp-build-data branch of the shared corpus (OKD_SHARED) and plans the result.
//! Counts are computed here independently of the importer, from each file's `mode`,
//! `okd.mode` and `for_payload`.

use std::{path::PathBuf, sync::Arc};

use okd_core::{
    doozer::{ImportOptions, import},
    manifest::{LoadOptions, load_str},
    plan::{PlanOptions, plan},
    source::{SourceOptions, read_sources},
};

fn branches() -> Option<Vec<PathBuf>> {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset, so the ocp-build-data corpus cannot be read (CI sets it)");
        return None;
    };
    let root = PathBuf::from(shared).join("corpus/ocp-build-data");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("OKD_SHARED is set but {} cannot be read: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("images").is_dir())
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no branch with images/ under {}", root.display());
    Some(out)
}

/// (enabled, enabled and for_payload) from the files themselves.
fn expected(branch: &std::path::Path, okd: bool) -> (usize, usize) {
    let (mut enabled, mut payload) = (0, 0);
    for entry in std::fs::read_dir(branch.join("images")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let v: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        let mode =
            (if okd { v.pointer("/okd/mode") } else { None }).or(v.get("mode")).and_then(|m| m.as_str());
        if mode.unwrap_or("enabled") == "enabled" {
            enabled += 1;
            payload += usize::from(v.get("for_payload").and_then(|p| p.as_bool()) == Some(true));
        }
    }
    (enabled, payload)
}

#[tokio::test]
async fn every_branch_imports_with_every_file_accounted_for_and_plans() {
    let Some(branches) = branches() else { return };
    let cache = tempfile::tempdir().unwrap();
    for branch in branches {
        for variant in [Some("okd"), None] {
            let okd = variant.is_some();
            let options = ImportOptions { variant: variant.map(str::to_owned), ..Default::default() };
            let result = import(&branch, &options).unwrap();
            let files = std::fs::read_dir(branch.join("images")).unwrap().count();
            let (enabled, payload) = expected(&branch, okd);
            let skipped_by_mode = result.skipped.iter().filter(|s| s.reason.starts_with("mode ")).count();
            let label = format!("{} ({})", branch.display(), variant.unwrap_or("ocp"));
            eprintln!("{label}: {}", result.summary());
            assert_eq!(result.images, files, "{label}");
            assert_eq!(
                result.imported.len() + result.skipped.len(),
                files,
                "{label}: every file is accounted for"
            );
            assert!(result.skipped.iter().all(|s| !s.reason.is_empty()), "{label}");
            assert_eq!(files - skipped_by_mode, enabled, "{label}: skipped by mode");
            // Images dropped for another reason (an unbuildable parent) are reported; the
            // payload count of what was imported matches the metadata once they are counted.
            let dropped_payload = result
                .skipped
                .iter()
                .filter(|s| !s.reason.starts_with("mode "))
                .filter(|s| {
                    let text = std::fs::read_to_string(branch.join("images").join(format!("{}.yml", s.key)))
                        .unwrap();
                    text.lines().any(|l| l.trim() == "for_payload: true")
                })
                .count();
            let imported_payload = result.imported.iter().filter(|i| i.payload).count();
            assert_eq!(imported_payload + dropped_payload, payload, "{label}: payload images");
            for w in &result.warnings {
                assert!(w.file.is_file() && w.line >= 1, "{label}: warning without a place: {w:?}");
            }
            // Plan offline with an empty cache: the explicit `from` mappings make the graph.
            let path = branch.join("imported-release.yaml");
            let release = load_str(&path, &result.manifest, &LoadOptions::default()).unwrap();
            let options = SourceOptions { offline: true, cache_dir: cache.path().to_path_buf(), jobs: 4 };
            let sources = read_sources(&release, &options).await.unwrap();
            let planned = plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap();
            assert_eq!(planned.components.len(), result.imported.len(), "{label}");
            assert!(
                planned.components.iter().any(|c| !c.depends_on.is_empty()),
                "{label}: members make edges"
            );
        }
    }
}

#[test]
fn the_4_22_branch_matches_the_reference_counts() {
    let Some(branches) = branches() else { return };
    let Some(b422) = branches.iter().find(|b| b.ends_with("openshift-4.22")) else {
        panic!("the corpus has no openshift-4.22 branch");
    };
    // ocp-build-data-doozer.md §1: 263 images, 188 for_payload, 2 mode≠enabled, 12 okd-disabled,
    // 1 OKD-only.
    let ocp = import(b422, &ImportOptions::default()).unwrap();
    assert_eq!(ocp.images, 263);
    assert_eq!(ocp.skipped.iter().filter(|s| s.reason.starts_with("mode ")).count(), 2);
    let okd = import(b422, &ImportOptions { variant: Some("okd".into()), ..Default::default() }).unwrap();
    let skipped_for_okd = okd.skipped.iter().filter(|s| s.reason.starts_with("mode ")).count();
    // 2 disabled for OCP, minus 1 OKD-only image that OKD builds, plus 12 disabled for OKD.
    assert_eq!(skipped_for_okd, 2 - 1 + 12, "{:?}", okd.skipped);
    assert!(okd.imported.iter().any(|i| i.key == "ose-installer" && i.component == "installer" && i.payload));
}

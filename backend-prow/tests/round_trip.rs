#![allow(clippy::unwrap_used)]
//! Render, then import back: okd-mini from git rendered as ci-operator configs, the configs
//! imported with `okd import ci-operator`'s library, and the imported release planned from the
//! same repositories. Every component comes back with the same repository, commit, Dockerfile,
//! build args and parents, and every FROM and COPY --from resolves to the same member, or to the
//! same pull spec outside the release.

mod common;

use backend_prow::{
    Strategy,
    import::{ImportOptions, import_ci_operator},
};
use common::{backend_plan, okd_mini_git, plan_of};
use okd_core::{
    backend::write_artifacts,
    plan::{Plan, PlannedComponent},
};

/// Each stage reference as `member:X` or the pull spec it resolves to.
fn resolved(c: &PlannedComponent) -> Vec<(u32, String)> {
    c.stages
        .iter()
        .map(|r| {
            let to = match r.member() {
                Some(m) => format!("member:{m}"),
                None => r.resolved.clone(),
            };
            (r.line, to)
        })
        .collect()
}

#[tokio::test]
async fn okd_mini_rendered_for_prow_imports_back_to_the_same_builds() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = okd_mini_git(dir.path(), |text| {
        text.replace(
            "image: localhost/okd-mini/busybox:1.36",
            "image: registry.ci.openshift.org/origin/centos:stream9",
        )
    });
    let original = plan_of(&manifest, dir.path()).await;
    let rendered = backend_plan(Strategy::Prow, &[], original.clone()).await;
    assert!(rendered.warnings.is_empty(), "{:?}", rendered.warnings);
    let out = dir.path().join("rendered");
    write_artifacts(&rendered.artifacts, &out).unwrap();

    let options = ImportOptions {
        variant: Some("okd-scos".into()),
        git_base: Some(format!("file://{}/src", dir.path().display())),
        ..Default::default()
    };
    let imported = import_ci_operator(&[out.join("openshift/release/ci-operator/config")], &options).unwrap();
    let again = dir.path().join("imported.yaml");
    std::fs::write(&again, &imported.manifest).unwrap();
    let back = plan_of(&again, dir.path()).await;

    let names = |p: &Plan| {
        let mut n: Vec<String> = p.components.iter().map(|c| c.name.clone()).collect();
        n.sort();
        n
    };
    assert_eq!(names(&back), names(&original));
    let installer = resolved(original.component("installer").unwrap());
    assert!(installer.iter().any(|(_, r)| r == "member:cli"), "{installer:?}");
    for c in &original.components {
        let b = back.component(&c.name).unwrap();
        assert_eq!(b.source, c.source, "{}: repository and commit", c.name);
        assert_eq!(b.dockerfile, c.dockerfile, "{}", c.name);
        assert_eq!(b.build_args, c.build_args, "{}", c.name);
        let (mut p, mut q) = (c.depends_on.clone(), b.depends_on.clone());
        p.sort();
        q.sort();
        assert_eq!(q, p, "{}: parents", c.name);
        assert!(!c.stages.is_empty(), "{}", c.name);
        assert_eq!(resolved(b), resolved(c), "{}: FROM resolution", c.name);
    }
}

//! The release every backend's `tests/verdicts.rs` plans: crafted Dockerfiles, one component
//! per case of how a FROM can be replaced (a plain last FROM, a builder by text, whole-ARG FROMs,
//! a text that is also a stage name, one text for two images, an ARG redefined in a stage, a
//! builder sharing the last FROM's text, `RUN --mount from=` and `ADD --from`, an image on no
//! CI registry, a folder source, an unread source), planned from memory as git commits.
#![allow(clippy::unwrap_used)]

use std::{path::PathBuf, sync::Arc};

use okd_core::{
    backend::{BackendPlan, Limit, Mechanism, Verdict},
    dockerfile::RefKind,
    manifest::{LoadOptions, Source, load_str},
    plan::{Plan, PlanOptions, plan},
    registry::{BackendSettings, Factory},
    source::{Origin, SourceSnapshot, SourceState, Sources},
};
use okd_runtime::{Runtime, SettingsLayers};

/// The release: one component per case, git sources except `path-source`.
pub const MANIFEST: &str = r#"name: verdicts
version: 4.17.0-0.verdicts
arches: [amd64]
output: { registry: quay.io, repository: example/okd }
streams:
  ubi:
    image: quay.io/example/ubi:9
    aliases: ["registry.access.redhat.com/ubi9/ubi-minimal:latest"]
  golang:
    image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.23-openshift-4.17
replace:
  "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17": member:builder
  "registry.ci.openshift.org/ocp/4.17:base-rhel9": member:base
components:
  - name: builder
    source: { git: "https://github.com/example/builder", ref: main }
  - name: base
    source: { git: "https://github.com/example/base", ref: main }
  - name: plain
    source: { git: "https://github.com/example/plain", ref: main }
  - name: args
    source: { git: "https://github.com/example/args", ref: main }
    replace:
      "registry.access.redhat.com/ubi9/ubi:latest": member:base
  - name: stage-name
    source: { git: "https://github.com/example/stage-name", ref: main }
    replace:
      builder: member:base
  - name: ambiguous
    source: { git: "https://github.com/example/ambiguous", ref: main }
    from:
      builders: [member:builder, stream:golang]
      final: member:base
  - name: redefined
    source: { git: "https://github.com/example/redefined", ref: main }
    replace:
      "registry.example.com/golang:1.22": member:builder
      "registry.example.com/golang:1.23": stream:golang
  - name: last-from-text
    source: { git: "https://github.com/example/last-from-text", ref: main }
    replace:
      "registry.example.com/golang:1.22": member:builder
    last_from: member:base
  - name: mounts
    source: { git: "https://github.com/example/mounts", ref: main }
    replace:
      "registry.example.com/cache:1": member:base
  - name: not-stream
    source: { git: "https://github.com/example/not-stream", ref: main }
    replace:
      "registry.access.redhat.com/ubi9/ubi": "image:docker.io/library/x:1"
  - name: arg-shared
    source: { git: "https://github.com/example/arg-shared", ref: main }
    last_from: member:base
  - name: path-source
    source: { path: components/path-source }
  - name: unread
    source: { git: "https://github.com/example/unread", ref: main }
"#;

/// Each component's Dockerfile; `unread` has none (its source is not read).
pub const DOCKERFILES: &[(&str, &str)] = &[
    ("builder", "FROM scratch\nCOPY busybox /bin/busybox\n"),
    ("base", "FROM registry.access.redhat.com/ubi9/ubi-minimal:latest\nRUN true\n"),
    (
        "plain",
        "FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17 AS build\n\
         RUN make\n\
         FROM registry.ci.openshift.org/ocp/4.17:base-rhel9\n\
         COPY --from=build /out /usr/bin/\n\
         COPY --from=0 /etc/x /etc/x\n",
    ),
    (
        "args",
        "ARG BUILDER=registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17\n\
         ARG BASE=registry.access.redhat.com/ubi9/ubi:latest\n\
         FROM ${BUILDER} AS build\n\
         RUN make\n\
         FROM $BASE\n\
         COPY --from=build /out /out\n",
    ),
    (
        "stage-name",
        "FROM registry.example.com/tools:1 AS tools\n\
         COPY --from=builder /x /x\n\
         FROM registry.example.com/golang:1.22 AS builder\n\
         FROM builder AS third\n\
         COPY --from=builder /a /a\n\
         FROM registry.example.com/runtime:1\n",
    ),
    (
        "ambiguous",
        "ARG GOLANG=registry.example.com/golang:1.22\n\
         FROM ${GOLANG} AS first\n\
         RUN make\n\
         FROM ${GOLANG} AS second\n\
         RUN make\n\
         FROM registry.example.com/base:1\n\
         COPY --from=first /a /a\n\
         COPY --from=second /b /b\n",
    ),
    (
        "redefined",
        "ARG TAG=1.22\n\
         FROM registry.example.com/golang:${TAG} AS first\n\
         ARG TAG=1.23\n\
         RUN make\n\
         FROM registry.example.com/golang:${TAG} AS second\n\
         FROM registry.example.com/base:1\n\
         COPY --from=first /a /a\n\
         COPY --from=second /b /b\n",
    ),
    (
        "last-from-text",
        "FROM registry.example.com/golang:1.22 AS build\n\
         RUN make\n\
         FROM registry.example.com/golang:1.22\n\
         COPY --from=build /out /out\n",
    ),
    (
        "mounts",
        "FROM registry.example.com/tools:1 AS tools\n\
         RUN --mount=type=bind,from=registry.example.com/cache:1,target=/cache true\n\
         ADD --from=registry.example.com/cache:1 /c /c\n\
         COPY --from=registry.example.com/cache:1 /d /d\n\
         FROM registry.example.com/base:1\n",
    ),
    (
        "not-stream",
        "FROM registry.access.redhat.com/ubi9/ubi AS build\n\
         RUN make\n\
         FROM registry.access.redhat.com/ubi9/ubi-minimal:latest\n\
         COPY --from=build /a /a\n",
    ),
    (
        "arg-shared",
        "ARG BASE=registry.example.com/base:1\n\
         FROM ${BASE} AS tools\n\
         RUN make\n\
         FROM ${BASE}\n\
         COPY --from=tools /a /a\n",
    ),
    (
        "path-source",
        "FROM registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.22-openshift-4.17 AS build\n\
         RUN make\n\
         FROM registry.ci.openshift.org/ocp/4.17:base-rhel9\n\
         COPY --from=build /a /a\n\
         COPY --from=registry.example.com/tools:1 /t /t\n",
    ),
];

/// The release planned from in-memory sources: git components as read commits, the folder
/// component as read in place, `unread` as not read.
pub fn planned() -> Arc<Plan> {
    let release =
        load_str(&PathBuf::from("/verdicts/release.yaml"), MANIFEST, &LoadOptions::default()).unwrap();
    let states = release.components.iter().enumerate().map(|(i, c)| {
        let text = DOCKERFILES.iter().find(|(name, _)| *name == c.name).map(|(_, text)| (*text).to_owned());
        let state = match (&c.source, text) {
            (_, None) => SourceState::Unreadable { reason: "not in memory".into() },
            (Source::Git { url, reference }, Some(dockerfile)) => {
                let commit = format!("{:040x}", i + 1);
                SourceState::Read(SourceSnapshot {
                    origin: Origin::Git {
                        url: url.clone(),
                        reference: reference.clone(),
                        commit: commit.clone(),
                    },
                    dockerfile,
                    dockerfile_path: PathBuf::from(format!("{url}@{commit}:Dockerfile")),
                    content: format!("{url}@{commit}:."),
                })
            }
            (Source::Path(path), Some(dockerfile)) => {
                let dir = release.dir.join(path);
                SourceState::Read(SourceSnapshot {
                    origin: Origin::Path { dir: dir.clone() },
                    dockerfile,
                    dockerfile_path: dir.join("Dockerfile"),
                    content: format!("sha256:{:064x}", i + 1),
                })
            }
        };
        (c.name.clone(), state)
    });
    let sources = Sources(states.collect());
    Arc::new(plan(Arc::new(release), &sources, &PlanOptions::default()).unwrap())
}

/// The backend `factory` makes from `pairs`, planned (no settings file or environment, state in
/// a fresh folder: nothing of this machine's runs leaks in).
pub async fn backend_plan(factory: Factory<Runtime>, pairs: &[(&str, &str)]) -> BackendPlan {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(dir.path().join("state"), dir.path().join("cache"))
        .with_settings(SettingsLayers::none());
    let flags: BackendSettings = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    let backend = factory(&runtime, &flags).unwrap();
    backend.plan(planned(), &Default::default()).await.unwrap()
}

pub type Row = (&'static str, u32, RefKind, Verdict);

pub fn native(how: Mechanism) -> Verdict {
    Verdict::Native { how }
}

pub fn cannot(why: Limit) -> Verdict {
    Verdict::Cannot { why }
}

/// Asserts the verdict of each row: exactly one verdict at that component, line and kind, and
/// the one expected. Every mismatch is listed, not only the first.
pub fn assert_verdicts_as(label: &str, plan: &BackendPlan, rows: &[Row]) {
    let mut wrong = Vec::new();
    for (component, line, kind, expected) in rows {
        let found: Vec<&Verdict> = plan
            .verdicts
            .iter()
            .filter(|v| v.component == *component && v.line == *line && v.kind == *kind)
            .map(|v| &v.verdict)
            .collect();
        if found != [expected] {
            wrong.push(format!(
                "{component} line {line} {kind:?}: expected {}, got {:?}",
                expected.describe(),
                found.iter().map(|v| v.describe()).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{label}: wrong verdicts:\n{}", wrong.join("\n"));
}

/// One verdict per resolution of every component, in the resolution's order, naming its line,
/// kind and text: the comparison table has no holes and no extras.
pub fn assert_one_verdict_per_resolution_as(label: &str, plan: &BackendPlan) {
    let core = &plan.core;
    let refs: usize = core.components.iter().map(|c| c.stages.len()).sum();
    assert_eq!(plan.verdicts.len(), refs, "{label}: {:#?}", plan.verdicts);
    for c in &core.components {
        let verdicts: Vec<(u32, RefKind, &str)> = plan
            .verdicts
            .iter()
            .filter(|v| v.component == c.name)
            .map(|v| (v.line, v.kind, v.original.as_str()))
            .collect();
        let stages: Vec<(u32, RefKind, &str)> =
            c.stages.iter().map(|r| (r.line, r.kind, r.original.as_str())).collect();
        assert_eq!(verdicts, stages, "{label}: {}", c.name);
    }
    // Every read component has references, so the check above is not vacuous.
    for c in core.components.iter().filter(|c| c.name != "unread") {
        assert!(!c.stages.is_empty(), "{} was not read", c.name);
    }
    assert!(core.component("unread").unwrap().stages.is_empty());
}

/// `verdict` for each of `refs`.
pub fn rows(refs: &[(&'static str, u32, RefKind)], verdict: &Verdict) -> Vec<Row> {
    refs.iter().map(|&(c, line, kind)| (c, line, kind, verdict.clone())).collect()
}

/// Every reference the plan changes.
pub const CHANGED: &[(&str, u32, RefKind)] = &[
    ("base", 1, RefKind::From),
    ("plain", 1, RefKind::From),
    ("plain", 3, RefKind::From),
    ("args", 3, RefKind::From),
    ("args", 5, RefKind::From),
    ("stage-name", 2, RefKind::CopyFrom),
    ("ambiguous", 2, RefKind::From),
    ("ambiguous", 4, RefKind::From),
    ("ambiguous", 6, RefKind::From),
    ("redefined", 2, RefKind::From),
    ("redefined", 5, RefKind::From),
    ("last-from-text", 1, RefKind::From),
    ("last-from-text", 3, RefKind::From),
    ("mounts", 2, RefKind::MountFrom),
    ("mounts", 3, RefKind::AddFrom),
    ("mounts", 4, RefKind::CopyFrom),
    ("not-stream", 1, RefKind::From),
    ("not-stream", 3, RefKind::From),
    ("arg-shared", 4, RefKind::From),
    ("path-source", 1, RefKind::From),
    ("path-source", 3, RefKind::From),
];

/// Stage references, `scratch` and images the plan keeps: nothing to replace.
pub const UNCHANGED: &[(&str, u32, RefKind)] = &[
    ("builder", 1, RefKind::From),
    ("plain", 4, RefKind::CopyFrom),
    ("plain", 5, RefKind::CopyFrom),
    ("args", 6, RefKind::CopyFrom),
    ("stage-name", 1, RefKind::From),
    ("stage-name", 3, RefKind::From),
    ("stage-name", 4, RefKind::From),
    ("stage-name", 5, RefKind::CopyFrom),
    ("stage-name", 6, RefKind::From),
    ("ambiguous", 7, RefKind::CopyFrom),
    ("ambiguous", 8, RefKind::CopyFrom),
    ("redefined", 6, RefKind::From),
    ("redefined", 7, RefKind::CopyFrom),
    ("redefined", 8, RefKind::CopyFrom),
    ("last-from-text", 4, RefKind::CopyFrom),
    ("mounts", 1, RefKind::From),
    ("mounts", 5, RefKind::From),
    ("not-stream", 4, RefKind::CopyFrom),
    ("arg-shared", 2, RefKind::From),
    ("arg-shared", 5, RefKind::CopyFrom),
    ("path-source", 4, RefKind::CopyFrom),
    ("path-source", 5, RefKind::CopyFrom),
];

pub fn unchanged_rows() -> Vec<Row> {
    UNCHANGED.iter().map(|&(c, line, kind)| (c, line, kind, Verdict::Unchanged)).collect()
}

/// [`assert_verdicts_as`] labelled with the backend's name.
pub fn assert_verdicts(plan: &BackendPlan, rows: &[Row]) {
    assert_verdicts_as(plan.backend, plan, rows);
}

/// [`assert_one_verdict_per_resolution_as`] labelled with the backend's name.
pub fn assert_one_verdict_per_resolution(plan: &BackendPlan) {
    assert_one_verdict_per_resolution_as(plan.backend, plan);
}

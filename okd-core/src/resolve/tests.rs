#![allow(clippy::unwrap_used)]
//! One test per resolution rule, plus the order in which rules win.

use std::path::Path;

use super::*;
use crate::manifest::{LoadOptions, load_str};

const RELEASE: &str = r#"name: r
version: 1.0.0
output: { registry: reg.example:5000, repository: okd/r }
streams:
  busybox: { image: localhost/busybox:1, aliases: ["quay.io/centos/centos:stream9"] }
replace:
  "upstream/builder:1": member:builder
  "upstream/base:1": member:base
  "upstream/cli:1": member:cli
components:
  - { name: builder, source: { path: b } }
  - { name: base, source: { path: b } }
  - { name: cli, source: { path: b } }
"#;

/// Resolves `dockerfile` for a component `c` configured by `extra` (YAML mapping entries).
fn run(extra: &str, dockerfile: &str, strict: bool) -> Result<Vec<Resolution>> {
    let text = format!("{RELEASE}  - {{ name: c, source: {{ path: b }}{extra} }}\n");
    let release = load_str(Path::new("r.yaml"), &text, &LoadOptions::default()).unwrap();
    let component = release.component("c").unwrap();
    let parsed =
        crate::dockerfile::parse(Path::new("Dockerfile"), dockerfile, &component.build_args).unwrap();
    let member = |m: &str| format!("pinned/{m}");
    resolve(
        &release,
        &AliasIndex::new(&release),
        component,
        Path::new("Dockerfile"),
        &parsed,
        &member,
        ResolveOptions { strict },
    )
}

fn rules(resolutions: &[Resolution]) -> Vec<(Rule, &str)> {
    resolutions.iter().map(|r| (r.rule, r.resolved.as_str())).collect()
}

#[test]
fn stage_and_scratch_are_kept() {
    let r = run(
        "",
        "FROM upstream/builder:1 AS b\nFROM b\nCOPY --from=b /x /x\nFROM scratch\nCOPY --from=0 /x /x\n",
        false,
    )
    .unwrap();
    assert_eq!(
        rules(&r),
        [
            (Rule::Replace, "pinned/builder"),
            (Rule::Stage, "b"),
            (Rule::Stage, "b"),
            (Rule::Scratch, "scratch"),
            (Rule::Stage, "0"),
        ]
    );
    assert!(!r[1].changes() && r[0].changes());
    assert_eq!(r[0].member(), Some("builder"));
}

#[test]
fn positional_pairs_non_stage_froms_in_order_and_counts_scratch() {
    let df = "FROM a:1 AS one\nFROM one AS two\nFROM scratch AS three\nFROM c:1\n";
    let r = run(", from: { builders: [member:builder, stream:busybox], final: image:final:1 }", df, false)
        .unwrap();
    assert_eq!(
        rules(&r),
        [
            (Rule::Positional, "pinned/builder"),
            (Rule::Stage, "one"),
            (Rule::Scratch, "scratch"),
            (Rule::Positional, "final:1")
        ]
    );
    assert_eq!(r[0].target, Some(Target::Member("builder".into())));
}

#[test]
fn positional_wins_over_replace_and_aliases() {
    let r = run(", from: { final: member:cli }", "FROM upstream/base:1\n", false).unwrap();
    assert_eq!(rules(&r), [(Rule::Positional, "pinned/cli")]);
}

#[test]
fn positional_count_mismatch_names_component_counts_and_line() {
    let df = "FROM a AS x\nFROM x\nFROM b\nFROM c\n";
    let e = run(", from: { final: member:base }", df, false).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert!(e.message().contains("component 'c'"), "{e}");
    assert!(
        e.message().contains("lists 1 parent image(s)") && e.message().contains("has 3 FROM line(s)"),
        "{e}"
    );
    assert!(e.message().contains("(1 are stage references)"), "{e}");
    assert_eq!(e.location().map(|l| l.line), Some(3), "points at the first FROM without an entry");
}

#[test]
fn last_from_replaces_only_the_last_from() {
    let df = "FROM upstream/builder:1 AS b\nFROM some/final:1\nCOPY --from=b /a /a\n";
    let r = run(", last_from: stream:busybox", df, false).unwrap();
    assert_eq!(
        rules(&r),
        [(Rule::Replace, "pinned/builder"), (Rule::LastFrom, "localhost/busybox:1"), (Rule::Stage, "b")]
    );
}

#[test]
fn component_replace_wins_over_release_replace_and_applies_to_copy_from() {
    let df = "FROM upstream/base:1\nCOPY --from=upstream/cli:1 /oc /oc\nRUN --mount=type=bind,from=upstream/cli:1,target=/m true\n";
    let r = run(", replace: { \"upstream/base:1\": image:mine:2 }", df, false).unwrap();
    assert_eq!(
        rules(&r),
        [(Rule::Replace, "mine:2"), (Rule::Replace, "pinned/cli"), (Rule::Replace, "pinned/cli")]
    );
    assert_eq!(r[1].kind, crate::dockerfile::RefKind::CopyFrom);
}

#[test]
fn replace_matches_the_text_after_arg_expansion() {
    let df = "ARG BASE=upstream/base:1\nFROM ${BASE}\n";
    let r = run("", df, false).unwrap();
    assert_eq!(
        (r[0].rule, r[0].original.as_str(), r[0].expanded.as_str()),
        (Rule::Replace, "${BASE}", "upstream/base:1")
    );
    let r = run(", build_args: { BASE: quay.io/centos/centos:stream9 }", df, false).unwrap();
    assert_eq!(
        rules(&r),
        [(Rule::StreamAlias, "localhost/busybox:1")],
        "a build arg changes what the FROM names"
    );
}

#[test]
fn stream_alias_and_external() {
    let r = run("", "FROM quay.io/centos/centos:stream9\nFROM docker.io/library/alpine:3\n", false).unwrap();
    assert_eq!(
        rules(&r),
        [(Rule::StreamAlias, "localhost/busybox:1"), (Rule::External, "docker.io/library/alpine:3")]
    );
    assert_eq!(r[0].target, Some(Target::Stream("busybox".into())));
}

#[test]
fn strict_refuses_external_references_at_their_line() {
    let e = run("", "FROM upstream/base:1\nCOPY --from=docker.io/x:1 /a /a\n", true).unwrap_err();
    assert!(e.message().contains("'docker.io/x:1' is resolved by no rule"), "{e}");
    assert_eq!(e.location().map(|l| (l.line, l.column)), Some((2, 13)));
}

#[test]
fn edits_rewrite_only_changed_references() {
    let df = "FROM upstream/builder:1 AS b\nRUN echo hi\nFROM quay.io/centos/centos:stream9\nCOPY --from=b /a /a\n";
    let r = run("", df, false).unwrap();
    let out = crate::dockerfile::rewrite(df, &edits(&r)).unwrap();
    assert_eq!(out, "FROM pinned/builder AS b\nRUN echo hi\nFROM localhost/busybox:1\nCOPY --from=b /a /a\n");
}

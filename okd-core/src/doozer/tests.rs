#![allow(clippy::unwrap_used)]
//! The importer on small ocp-build-data trees written by the tests.

use std::path::Path;

use super::*;
use crate::manifest::{LoadOptions, Source, Target, load_str};

const GROUP: &str = "vars:\n  MAJOR: 4\n  MINOR: 22\n  GO_LATEST: \"1.24\"\nname: openshift-{MAJOR}.{MINOR}\narches: [x86_64, aarch64, s390x]\nkonflux:\n  arches: [x86_64, aarch64]\npublic_upstreams:\n- private: \"https://github.com/openshift-priv\"\n  public: \"https://github.com/openshift\"\n";

const STREAMS: &str = "rhel-9-golang:\n  aliases:\n  - rhel-9-golang-{GO_LATEST}\n  image: quay.io/art/golang:{GO_LATEST}\n  upstream_image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-{GO_LATEST}-openshift-{MAJOR}.{MINOR}\ncentos_stream9:\n  image: quay.io/centos/centos:stream9\n  upstream_image: registry.ci.openshift.org/ocp/builder:stream9\nci-only:\n  image: not_applicable\n  upstream_image: x\n";

/// An image file: its git source, extra lines inside `content.source` (4-space indented), the rest.
fn image_with(source: &str, in_source: &str, rest: &str) -> String {
    format!(
        "content:\n  source:\n{in_source}    git:\n      url: git@github.com:openshift-priv/{source}.git\n      branch:\n        target: release-{{MAJOR}}.{{MINOR}}\n{rest}"
    )
}

fn image(source: &str, rest: &str) -> String {
    image_with(source, "", rest)
}

fn tree(images: &[(&str, String)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("group.yml"), GROUP).unwrap();
    std::fs::write(dir.path().join("streams.yml"), STREAMS).unwrap();
    std::fs::create_dir(dir.path().join("images")).unwrap();
    for (key, text) in images {
        std::fs::write(dir.path().join("images").join(format!("{key}.yml")), text).unwrap();
    }
    dir
}

fn okd() -> ImportOptions {
    ImportOptions { variant: Some("okd".into()), ..Default::default() }
}

fn fixture() -> tempfile::TempDir {
    tree(&[
        (
            "openshift-base-rhel9",
            image_with(
                "images",
                "    okd_alignment:\n      resolve_as:\n        stream: centos_stream9\n",
                "name: openshift/ose-base-rhel9\nfor_payload: false\nfrom:\n  stream: rhel-9-golang-{GO_LATEST}\nokd:\n  mode: disabled\n",
            ),
        ),
        (
            "ose-base-minimal",
            image(
                "images",
                "name: openshift/ose-base-minimal\nfor_payload: false\nfrom:\n  member: openshift-base-rhel9\n",
            ),
        ),
        (
            "ose-installer",
            image(
                "installer",
                "name: openshift/ose-installer-rhel9\nfor_payload: true\npayload_name: installer\narches: [x86_64, s390x]\nfrom:\n  builder:\n  - stream: rhel-9-golang\n  member: ose-base-minimal\n",
            ),
        ),
        (
            "ironic",
            image_with(
                "ironic-image",
                "    dockerfile: Dockerfile.ocp\n    path: images/ironic\n    modifications:\n    - action: replace\n      match: a\n      replacement: b\n",
                "name: openshift/ose-ironic-rhel9\nfor_payload: true\nfrom:\n  builder:\n  - member: ose-installer\n  member: ose-base-minimal\nokd:\n  content:\n    source:\n      dockerfile: Dockerfile.scos\n  from:\n    stream: centos_stream9\n",
            ),
        ),
        (
            "okd-only",
            image(
                "okd-only",
                "name: openshift/ose-okd-only\nfor_payload: true\nmode: disabled\nokd:\n  mode: enabled\n",
            ),
        ),
        ("wip-thing", image("wip", "name: openshift/ose-wip-thing\nfor_payload: true\nmode: wip\n")),
        (
            "uses-ci-only",
            image("x", "name: openshift/ose-uses-ci-only\nfor_payload: true\nfrom:\n  stream: ci-only\n"),
        ),
    ])
}

#[test]
fn okd_layering_modes_names_sources_and_parents() {
    let dir = fixture();
    let import = import(dir.path(), &okd()).unwrap();
    let release = load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
    assert_eq!(release.name, "okd-4.22");
    assert_eq!(release.version.to_string(), "4.22.0-0.okd");
    assert_eq!(release.arches, ["amd64", "arm64"], "konflux.arches wins over the group's, in Go names");
    let names: Vec<_> = release.components.iter().map(|c| c.name.as_str()).collect();
    // Manifest order is distgit-key order; without payload_name the tag is the short name minus `ose-`.
    assert_eq!(names, ["ironic-rhel9", "okd-only", "ose-base-minimal", "installer"]);
    let installer = release.component("installer").unwrap();
    assert_eq!(
        installer.source,
        Source::Git {
            url: "https://github.com/openshift/installer".into(),
            reference: "release-4.22".into()
        }
    );
    assert_eq!(installer.arches, ["amd64"], "image arches intersect the group's");
    let from = installer.from.as_ref().unwrap();
    assert_eq!(from.builders, [Target::Stream("rhel-9-golang".into())]);
    assert_eq!(from.final_, Some(Target::Member("ose-base-minimal".into())));
    // A member that OKD does not build resolves to its okd_alignment stream.
    let base = release.component("ose-base-minimal").unwrap();
    assert_eq!(base.from.as_ref().unwrap().final_, Some(Target::Stream("centos_stream9".into())));
    // okd.from replaces the whole `from`.
    let ironic = release.component("ironic-rhel9").unwrap();
    assert_eq!(ironic.from.as_ref().unwrap().builders, []);
    assert_eq!(ironic.from.as_ref().unwrap().final_, Some(Target::Stream("centos_stream9".into())));
    assert_eq!(release.streams["centos_stream9"].aliases, ["registry.ci.openshift.org/ocp/builder:stream9"]);
    let reasons: Vec<_> = import.skipped.iter().map(|s| (s.key.as_str(), s.reason.as_str())).collect();
    assert_eq!(
        reasons,
        [
            ("openshift-base-rhel9", "mode disabled for okd"),
            ("uses-ci-only", "parent: stream 'ci-only' has no image (not_applicable)"),
            ("wip-thing", "mode wip"),
        ]
    );
    assert_eq!(import.imported.len() + import.skipped.len(), import.images);
}

#[test]
fn without_the_okd_variant_the_ocp_view_is_imported() {
    let dir = fixture();
    let import = import(dir.path(), &ImportOptions::default()).unwrap();
    let release = load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
    assert_eq!(release.name, "openshift-4.22");
    assert!(release.component("okd-only").is_none());
    assert!(release.component("openshift-base-rhel9").is_some());
    let ironic = release.component("ironic-rhel9").unwrap();
    assert_eq!(ironic.from.as_ref().unwrap().builders, [Target::Member("installer".into())]);
}

#[test]
fn payload_only_keeps_payload_images_and_their_members() {
    let dir = fixture();
    let options = ImportOptions { payload_only: true, ..okd() };
    let release =
        load_str(Path::new("r.yaml"), &import(dir.path(), &options).unwrap().manifest, &Default::default())
            .unwrap();
    let names: Vec<_> = release.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        ["ironic-rhel9", "okd-only", "ose-base-minimal", "installer"],
        "ose-base-minimal is a parent"
    );
}

#[test]
fn vars_can_be_overridden() {
    let dir = fixture();
    let options = ImportOptions { vars: [("MINOR".into(), "23".into())].into(), ..okd() };
    let import = import(dir.path(), &options).unwrap();
    assert!(
        import.manifest.contains("name: \"okd-4.23\"") && import.manifest.contains("ref: \"release-4.23\"")
    );
}

#[test]
fn what_cannot_be_mapped_is_a_located_warning() {
    let dir = fixture();
    let import = import(dir.path(), &ImportOptions::default()).unwrap();
    let w = import.warnings.iter().find(|w| w.message.contains("modifications")).unwrap();
    assert!(w.file.ends_with("images/ironic.yml"));
    let text = std::fs::read_to_string(&w.file).unwrap();
    assert_eq!(text.lines().nth(w.line as usize - 1).map(str::trim), Some("modifications:"));
    assert!(import.warnings.iter().any(|w| w.file.ends_with("streams.yml") && w.message.contains("ci-only")));
}

#[test]
fn a_tree_without_group_yml_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = import(dir.path(), &okd()).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert!(e.help().unwrap().contains("ocp-build-data"));
}

/// The fixture with `file` written as `text`.
fn fixture_with(file: &str, text: &str) -> tempfile::TempDir {
    let dir = fixture();
    std::fs::write(dir.path().join(file), text).unwrap();
    dir
}

/// The line `warning` points at, trimmed.
fn warned_line(warning: &Warning) -> String {
    let text = std::fs::read_to_string(&warning.file).unwrap();
    text.lines().nth(warning.line as usize - 1).unwrap_or_default().trim().to_owned()
}

#[test]
fn a_group_name_that_is_no_release_name_is_refused_where_it_is_set() {
    let dir = fixture_with("group.ext.yml", "urls:\n  x: y\nname: openshift/ose-base\n");
    let e = import(dir.path(), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("'openshift/ose-base' is not a valid release name"), "{e}");
    let at = e.location().unwrap();
    assert!(at.file.ends_with("group.ext.yml") && at.line == 3, "{at:?}");
    assert!(e.help().unwrap().contains("lowercase"), "{e:?}");
    // With --variant okd the name is okd-MAJOR.MINOR, so the written name does not matter.
    assert_eq!(import(dir.path(), &okd()).unwrap().manifest.lines().nth(2), Some("name: \"okd-4.22\""));
    // A name set in group.yml is refused there; one made invalid by a var, at its line too.
    let dir = fixture_with("group.yml", &GROUP.replace("name: openshift-{MAJOR}.{MINOR}", "name: Open"));
    let e = import(dir.path(), &ImportOptions::default()).unwrap_err();
    assert_eq!((e.location().unwrap().file.ends_with("group.yml"), e.location().unwrap().line), (true, 5));
    let options = ImportOptions { vars: [("MINOR".into(), "2 2".into())].into(), ..okd() };
    let e = import(fixture().path(), &options).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert!(e.message().starts_with("--var MINOR:"), "{e}");
}

#[test]
fn a_group_without_a_known_arch_builds_for_amd64_with_a_warning() {
    for (arches, says) in [("[]", "arches is empty"), ("[sparc, mips]", "'sparc', 'mips' ignored")] {
        let group = GROUP.replace("arches: [x86_64, aarch64, s390x]", &format!("arches: {arches}"));
        let dir = fixture_with("group.yml", &group.replace("konflux:\n  arches: [x86_64, aarch64]\n", ""));
        let import = import(dir.path(), &ImportOptions::default()).unwrap();
        let release =
            load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
        assert_eq!(release.arches, ["amd64"]);
        let w = import.warnings.iter().find(|w| w.message.contains(says)).unwrap();
        assert!(w.file.ends_with("group.yml") && w.message.contains("amd64"), "{w}");
        assert_eq!(warned_line(w), format!("arches: {arches}"));
    }
    // The konflux stanza's arches win, so the warning points there.
    let group = GROUP.replace("konflux:\n  arches: [x86_64, aarch64]", "konflux:\n  arches: [x86_64, sparc]");
    let dir = fixture_with("group.yml", &group);
    let import = import(dir.path(), &ImportOptions::default()).unwrap();
    let w = import.warnings.iter().find(|w| w.message.contains("'sparc' ignored")).unwrap();
    assert_eq!(warned_line(w), "arches: [x86_64, sparc]");
}

#[test]
fn streams_a_manifest_cannot_hold_are_left_out_with_a_warning() {
    // A name: images that use the stream, by name or alias, are skipped, saying why.
    let dir = fixture_with("streams.yml", &STREAMS.replace("rhel-9-golang:\n", "\":rhel-9-golang\":\n"));
    let import = import(dir.path(), &okd()).unwrap();
    let release = load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
    assert!(release.streams.keys().all(|s| s == "centos_stream9"), "{:?}", release.streams);
    let w = import.warnings.iter().find(|w| w.message.contains("stream name ':rhel-9-golang'")).unwrap();
    assert_eq!(warned_line(w), "\":rhel-9-golang\":");
    // In the OCP view every image builds on it: nothing is left, a clean error that says why.
    let e = super::import(dir.path(), &ImportOptions::default()).unwrap_err();
    assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    assert!(
        e.message().contains(
            "openshift-base-rhel9: parent: stream ':rhel-9-golang' is not imported: its name is not valid"
        ),
        "{e}"
    );
    // An image.
    let dir = fixture_with(
        "streams.yml",
        &STREAMS.replace("image: quay.io/centos/centos:stream9", "image: quay.io/a b"),
    );
    let import = super::import(dir.path(), &okd()).unwrap();
    load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
    let w = import.warnings.iter().find(|w| w.message.contains("image 'quay.io/a b'")).unwrap();
    assert_eq!(warned_line(w), "image: quay.io/a b");
    let reasons: Vec<_> = import.skipped.iter().map(|s| (s.key.as_str(), s.reason.as_str())).collect();
    assert!(
        reasons.contains(&(
            "ose-base-minimal",
            "parent: stream 'centos_stream9' (okd_alignment of 'openshift-base-rhel9') is not imported: its image is not an image reference"
        )),
        "{reasons:?}"
    );
}

#[test]
fn a_parent_image_that_is_no_image_reference_skips_the_image() {
    let dir = tree(&[
        ("a", image("a", "name: openshift/ose-a\nfor_payload: true\nfrom:\n  image: \"quay.io/a b\"\n")),
        ("b", image("b", "name: openshift/ose-b\nfor_payload: true\n")),
    ]);
    let import = import(dir.path(), &ImportOptions::default()).unwrap();
    load_str(&dir.path().join("r.yaml"), &import.manifest, &LoadOptions::default()).unwrap();
    assert_eq!(import.skipped.len(), 1, "{:?}", import.skipped);
    let w = import.warnings.iter().find(|w| w.message.contains("quay.io/a b")).unwrap();
    assert_eq!(warned_line(w), "from:");
}

#[test]
fn an_unparsable_image_is_warned_about_within_the_file() {
    let dir = fixture();
    // YAML takes a lone CR for a line break; `str::lines` (and editors that show it as ^M) do not.
    std::fs::write(dir.path().join("images/broken.yml"), "from: a\r\rb: 2\nname: a\nc").unwrap();
    let import = import(dir.path(), &okd()).unwrap();
    let w = import.warnings.iter().find(|w| w.file.ends_with("broken.yml")).unwrap();
    assert_eq!(w.line, 3, "{w}");
}

#![allow(clippy::unwrap_used)]
//! Builders per Go version in the ocp-build-data import: found, reported, and with a template
//! built as `builder-golang-X-Y` members that every component builds on; then the corpus 4.22
//! branch (OKD_SHARED).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use super::BuilderTemplate;
use crate::{
    ErrorKind,
    doozer::{ImportOptions, import},
    manifest::{LoadOptions, Release, Source, Target, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
};

const GROUP: &str = "vars:\n  MAJOR: 4\n  MINOR: 22\n  GO_LATEST: \"1.24\"\n  GO_EXTRA: \"1.25\"\nname: openshift-{MAJOR}.{MINOR}\narches: [x86_64]\n";

const STREAMS: &str = "rhel-9-golang:\n  aliases:\n  - rhel-9-golang-{GO_LATEST}\n  image: quay.io/art/art-images:golang-builder-v1.24.11-202601061056.el9\n  upstream_image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-{GO_LATEST}-openshift-{MAJOR}.{MINOR}\nrhel-9-golang-1.25:\n  aliases:\n  - rhel-9-golang-{GO_EXTRA}\n  image: quay.io/art/art-images:golang-builder-v1.25.3-202511260833.el9\n  upstream_image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-{GO_EXTRA}-openshift-{MAJOR}.{MINOR}\ncentos_stream9:\n  image: quay.io/centos/centos:stream9\n  upstream_image: registry.ci.openshift.org/ocp/builder:stream9\n";

fn image(name: &str, from: &str) -> String {
    format!(
        "content:\n  source:\n    git:\n      url: https://github.com/openshift/{name}\n      branch:\n        target: release-4.22\nname: openshift/ose-{name}\nfor_payload: true\nfrom:\n{from}"
    )
}

/// An ocp-build-data tree: `base` (no Go), `installer` (GO_LATEST by stream name, then an
/// alias), `ovn` (GO_EXTRA), `tools` (a Go 1.23 builder named by pull spec).
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("group.yml"), GROUP).unwrap();
    std::fs::write(dir.path().join("streams.yml"), STREAMS).unwrap();
    std::fs::create_dir(dir.path().join("images")).unwrap();
    for (key, from) in [
        ("base", "  stream: centos_stream9\n"),
        (
            "installer",
            "  builder:\n  - stream: rhel-9-golang\n  - stream: rhel-9-golang-1.24\n  member: base\n",
        ),
        ("ovn", "  builder:\n  - stream: rhel-9-golang-1.25\n  member: base\n"),
        (
            "tools",
            "  builder:\n  - image: registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.23-openshift-4.22\n  member: base\n",
        ),
    ] {
        std::fs::write(dir.path().join("images").join(format!("{key}.yml")), image(key, from)).unwrap();
    }
    dir
}

fn template(under: &Path, dockerfile: &str) -> PathBuf {
    let dir = under.join("okd-builders");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Dockerfile"), dockerfile).unwrap();
    dir
}

const TEMPLATE: &str = "FROM quay.io/centos/centos:stream9\nARG GO_VERSION\nRUN echo go ${GO_VERSION}\n";

fn load(dir: &Path, manifest: &str) -> Release {
    load_str(&dir.join("release.yaml"), manifest, &LoadOptions::default()).unwrap()
}

/// Each component's member parents, sorted, from a plan whose sources were not read (only the
/// manifest's `from` targets make edges, as offline).
fn parents(release: Release) -> BTreeMap<String, Vec<String>> {
    let release = Arc::new(release);
    let sources = sources_from_memory(&release, &HashMap::new());
    let planned = plan(release, &sources, &PlanOptions::default()).unwrap();
    planned
        .components
        .into_iter()
        .map(|mut c| {
            c.depends_on.sort();
            (c.name, c.depends_on)
        })
        .collect()
}

#[test]
fn without_a_template_the_versions_are_reported_and_one_warning_says_what_stays_external() {
    let dir = tree();
    let result = import(dir.path(), &ImportOptions::default()).unwrap();
    let versions: Vec<(String, Option<String>, Vec<String>)> = result
        .go_versions
        .iter()
        .map(|v| (v.version.to_string(), v.builder.clone(), v.components.clone()))
        .collect();
    assert_eq!(
        versions,
        [
            ("1.23".to_owned(), None, vec!["tools".to_owned()]),
            ("1.24".to_owned(), None, vec!["installer".to_owned()]),
            ("1.25".to_owned(), None, vec!["ovn".to_owned()]),
        ]
    );
    assert_eq!(result.go_versions[1].references, ["stream:rhel-9-golang"], "an alias names its stream");
    let warned: Vec<_> = result.warnings.iter().filter(|w| w.message.contains("--okd-builders")).collect();
    assert_eq!(warned.len(), 1, "{:?}", result.warnings);
    assert!(warned[0].message.contains("Go 1.24 (stream:rhel-9-golang; 1 component)"), "{}", warned[0]);
    assert!(warned[0].message.contains("builder-golang-1-23, builder-golang-1-24, builder-golang-1-25"));
    assert!(warned[0].file.ends_with("images/installer.yml") && warned[0].line == 9, "{}", warned[0]);
    let release = load(dir.path(), &result.manifest);
    assert!(release.components.iter().all(|c| !c.name.starts_with("builder-golang")));
    assert!(release.streams.contains_key("rhel-9-golang"));
}

#[test]
fn with_a_template_each_go_version_gets_a_builder_that_its_components_build_on() {
    let dir = tree();
    let template = template(dir.path(), TEMPLATE);
    let options = ImportOptions {
        okd_builders: Some(BuilderTemplate::open(&template, dir.path()).unwrap()),
        ..Default::default()
    };
    let result = import(dir.path(), &options).unwrap();
    assert!(result.warnings.is_empty(), "{:?}", result.warnings);
    let builders: Vec<Option<String>> = result.go_versions.iter().map(|v| v.builder.clone()).collect();
    assert_eq!(
        builders,
        [
            Some("builder-golang-1-23".into()),
            Some("builder-golang-1-24".into()),
            Some("builder-golang-1-25".into())
        ]
    );
    let release = load(dir.path(), &result.manifest);
    for (name, go) in
        [("builder-golang-1-23", "1.23"), ("builder-golang-1-24", "1.24"), ("builder-golang-1-25", "1.25")]
    {
        let c = release.component(name).unwrap();
        assert_eq!(c.source, Source::Path("okd-builders".into()));
        assert_eq!(c.build_args, BTreeMap::from([("GO_VERSION".to_owned(), go.to_owned())]));
        assert!(!c.payload);
    }
    let installer = release.component("installer").unwrap().from.clone().unwrap();
    assert_eq!(installer.builders, vec![Target::Member("builder-golang-1-24".into()); 2]);
    // The upstream (CI) images of the remapped streams find the builders too; the streams go.
    assert_eq!(
        release.replace.get("registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.25-openshift-4.22"),
        Some(&Target::Member("builder-golang-1-25".into()))
    );
    assert!(!release.streams.contains_key("rhel-9-golang"));
    let parents = parents(release);
    assert_eq!(parents["installer"], ["base", "builder-golang-1-24"]);
    assert_eq!(parents["ovn"], ["base", "builder-golang-1-25"]);
    assert_eq!(parents["tools"], ["base", "builder-golang-1-23"]);
    assert!(parents["builder-golang-1-24"].is_empty(), "builders come first");
}

#[test]
fn a_template_without_arg_go_version_is_a_warning_at_its_dockerfile() {
    let dir = tree();
    let template = template(dir.path(), "FROM quay.io/centos/centos:stream9\n");
    let options = ImportOptions {
        okd_builders: Some(BuilderTemplate::open(&template, dir.path()).unwrap()),
        ..Default::default()
    };
    let result = import(dir.path(), &options).unwrap();
    let w: Vec<_> = result.warnings.iter().filter(|w| w.message.contains("ARG GO_VERSION")).collect();
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].file, template.join("Dockerfile"));
}

#[test]
fn bad_template_folders_are_input_errors_that_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let broken = template(&dir.path().join("broken"), "RUN true\nFROM\n");
    for (path, says) in [
        (&missing, "no such folder"),
        (&empty, "has no Dockerfile"),
        (&file, "is a file, not a folder"),
        (&broken, "--okd-builders"),
    ] {
        let e = BuilderTemplate::open(path, dir.path()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains(&path.display().to_string()) && e.to_string().contains(says), "{e}");
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let outside = template(elsewhere.path(), TEMPLATE);
    let e = BuilderTemplate::open(&outside, dir.path()).unwrap_err();
    assert!(e.to_string().contains("is outside") && e.help().unwrap().contains("-O"), "{e}");
    let here = BuilderTemplate::open(&outside, &outside).unwrap();
    assert_eq!(here.source_path, ".");
}

#[test]
fn a_component_already_called_like_a_builder_is_refused() {
    let dir = tree();
    let clash = image("x", "  stream: rhel-9-golang\n")
        .replace("for_payload: true", "payload_name: builder-golang-1-24\nfor_payload: true");
    std::fs::write(dir.path().join("images/clash.yml"), clash).unwrap();
    let template = template(dir.path(), TEMPLATE);
    let options = ImportOptions {
        okd_builders: Some(BuilderTemplate::open(&template, dir.path()).unwrap()),
        ..Default::default()
    };
    let e = import(dir.path(), &options).unwrap_err();
    assert!(e.to_string().contains("builder-golang-1-24") && e.to_string().contains("clash.yml"), "{e}");
}

/// The 4.22 branch, read by hand: group.yml sets GO_LATEST 1.24 and GO_EXTRA 1.25; streams.yml
/// has rhel-9-golang and rhel-8-golang (aliases rhel-{9,8}-golang-{GO_LATEST}, images
/// golang-builder-v1.24.11) and rhel-9-golang-1.25 and rhel-8-golang-1.25 (aliases
/// ...-{GO_EXTRA}, images golang-builder-v1.25.3). The images that name a Go stream with a
/// version in it (the ci-openshift-build-root-* ones) are disabled for OKD.
fn corpus_stream_versions() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        ("rhel-9-golang", "1.24"),
        ("rhel-8-golang", "1.24"),
        ("rhel-9-golang-1.24", "1.24"),
        ("rhel-8-golang-1.24", "1.24"),
        ("rhel-9-golang-1.25", "1.25"),
        ("rhel-8-golang-1.25", "1.25"),
    ])
}

/// The Go streams an image file's effective `from` (okd.from over from) names.
fn go_streams_of(file: &Path) -> BTreeSet<&'static str> {
    let text = std::fs::read_to_string(file).unwrap();
    let value: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
    let from = value.pointer("/okd/from").or_else(|| value.get("from")).cloned().unwrap_or_default();
    let entries = from.get("builder").and_then(|b| b.as_array()).cloned().unwrap_or_default();
    let streams = corpus_stream_versions();
    entries
        .iter()
        .chain(std::iter::once(&from))
        .filter_map(|e| e.get("stream").and_then(|s| s.as_str()))
        .filter_map(|s| streams.get_key_value(s).map(|(k, _)| *k))
        .collect()
}

#[test]
fn the_4_22_branch_uses_go_1_24_and_1_25_and_every_component_lands_on_its_builder() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset, so the ocp-build-data corpus cannot be read (CI sets it)");
        return;
    };
    let branch = PathBuf::from(shared).join("corpus/ocp-build-data/openshift-4.22");
    let okd = ImportOptions { variant: Some("okd".into()), ..Default::default() };
    let plain = import(&branch, &okd).unwrap();
    let found: Vec<String> = plain.go_versions.iter().map(|v| v.version.to_string()).collect();
    assert_eq!(found, ["1.24", "1.25"]);

    let out = tempfile::tempdir().unwrap();
    let template = template(out.path(), TEMPLATE);
    let options =
        ImportOptions { okd_builders: Some(BuilderTemplate::open(&template, out.path()).unwrap()), ..okd };
    let result = import(&branch, &options).unwrap();
    let release = load(out.path(), &result.manifest);
    assert_eq!(release.components.len(), plain.imported.len() + 2);
    let parents = parents(release);
    let streams = corpus_stream_versions();
    let mut checked = BTreeMap::<&str, usize>::new();
    for imported in &result.imported {
        let wanted: BTreeSet<String> =
            go_streams_of(&branch.join("images").join(format!("{}.yml", imported.key)))
                .iter()
                .map(|s| format!("builder-golang-{}", streams[s].replace('.', "-")))
                .collect();
        let got: BTreeSet<String> = parents[&imported.component]
            .iter()
            .filter(|p| p.starts_with("builder-golang-"))
            .cloned()
            .collect();
        assert_eq!(got, wanted, "{} ({})", imported.component, imported.key);
        for builder in wanted {
            *checked.entry(if builder.ends_with("1-24") { "1.24" } else { "1.25" }).or_default() += 1;
        }
    }
    let counted: BTreeMap<String, usize> =
        result.go_versions.iter().map(|v| (v.version.to_string(), v.components.len())).collect();
    assert_eq!(counted, checked.iter().map(|(k, n)| (k.to_string(), *n)).collect());
    assert!(checked["1.24"] > 200 && checked["1.25"] > 10, "{checked:?}");
}

#[test]
fn a_stream_counts_as_the_go_version_its_name_says_and_a_disagreeing_image_is_warned_about() {
    let image = "quay.io/art/art-images:golang-builder-v1.24.11-el9";
    let (go, _) = super::stream_version("rhel-9-golang", &["rhel-9-golang-1.24".into()], None, image);
    assert_eq!(go.map(|g| g.to_string()).as_deref(), Some("1.24"));
    let (go, disagreement) = super::stream_version("rhel-9-golang-1.25", &[], None, image);
    assert_eq!(go.map(|g| g.to_string()).as_deref(), Some("1.25"));
    assert!(disagreement.unwrap().contains("names Go 1.24"));
    assert_eq!(
        super::stream_version("centos_stream9", &[], None, "quay.io/centos/centos:stream9"),
        (None, None)
    );
    // Through the import, the warning is at the stream in streams.yml.
    let dir = tree();
    let streams = STREAMS.replace("golang-builder-v1.25.3", "golang-builder-v1.24.3");
    std::fs::write(dir.path().join("streams.yml"), &streams).unwrap();
    let result = import(dir.path(), &ImportOptions::default()).unwrap();
    let w = result.warnings.iter().find(|w| w.message.contains("counts as Go 1.25")).unwrap();
    assert!(w.file.ends_with("streams.yml"));
    assert_eq!(streams.lines().nth(w.line as usize - 1), Some("rhel-9-golang-1.25:"));
}

#![allow(clippy::unwrap_used)]
//! `import_ci_operator`: small configs in a tempdir (both `images` forms, `from` and `inputs`
//! targets, promotion across configs, located warnings and errors), then every ci-operator
//! config of the shared corpus (OKD_SHARED).

use std::path::{Path, PathBuf};

use backend_prow::import::{CiOperatorImport, ImportOptions, import_ci_operator};
use okd_core::{
    ErrorKind,
    manifest::{LoadOptions, Release, Source, Target, load_str},
};
use serde_json::Value;

/// openshift/images, old list form: base-stream9 on a builder stream, keepalived on base-stream9.
const IMAGES: &str = "base_images:
  ocp_builder_stream9: {name: builder, namespace: ocp, tag: stream9}
build_root:
  image_stream_tag: {name: builder, namespace: ocp, tag: rhel-9-golang-1.24-openshift-4.21}
images:
- build_args:
  - name: TAGS
    value: scos
  dockerfile_path: base/Dockerfile.rhel9
  from: ocp_builder_stream9
  to: base-stream9
- context_dir: ipfailover/keepalived
  dockerfile_path: Dockerfile
  from: base-stream9
  to: keepalived-ipfailover
promotion:
  to:
  - name: scos-4.21
    namespace: origin
zz_generated_metadata:
  branch: release-4.21
  org: openshift
  repo: images
  variant: okd-scos
";

/// openshift/oc, object form: cli on the promoted base-stream9, deployer on cli.
const OC: &str = "base_images:
  ocp_builder_rhel-9-golang-1.24-openshift-4.21:
    name: builder
    namespace: ocp
    tag: rhel-9-golang-1.24-openshift-4.21
  origin_scos-4.21_base-stream9:
    name: scos-4.21
    namespace: origin
    tag: base-stream9
images:
  items:
  - build_args:
    - name: TAGS
      value: scos
    dockerfile_path: images/cli/Dockerfile.rhel
    from: origin_scos-4.21_base-stream9
    inputs:
      ocp_builder_rhel-9-golang-1.24-openshift-4.21:
        as:
        - builder
        - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.20
    to: cli
  - dockerfile_path: images/deployer/Dockerfile.rhel
    from: cli
    to: deployer
promotion:
  to:
  - name: scos-4.21
    namespace: origin
resources: {'*': {requests: {cpu: 100m}}}
tests:
- as: e2e-aws-ovn
  steps:
    workflow: openshift-e2e-aws
zz_generated_metadata: {branch: release-4.21, org: openshift, repo: oc, variant: okd-scos}
";

/// openshift/installer: inputs on promoted and plain base images, paths, an inline Dockerfile,
/// an image FROM src, an excluded image.
const INSTALLER: &str = "base_images:
  origin_scos-4.21_base-stream9: {namespace: origin, name: scos-4.21, tag: base-stream9}
  origin_scos-4.21_cli:
    name: scos-4.21
    namespace: origin
    tag: cli
  origin_scos-4.21_etcd: {name: scos-4.21, namespace: origin, tag: etcd}
images:
  items:
  - from: origin_scos-4.21_base-stream9
    dockerfile_path: images/installer/Dockerfile.ci
    inputs:
      origin_scos-4.21_cli:
        as:
        - cli
        - registry.ci.openshift.org/ocp/4.21:cli
      origin_scos-4.21_etcd:
        as:
        - registry.ci.openshift.org/ocp/4.21:etcd
        paths:
        - source_path: /usr/bin/etcd
          destination_dir: .
    to: installer
  - dockerfile_literal: |
      FROM registry.ci.openshift.org/ocp/4.21:base
      RUN true
    to: installer-literal
  - from: src
    to: installer-src
promotion:
  to:
  - name: scos-4.21
    namespace: origin
    excluded_images:
    - installer-src
tests: []
zz_generated_metadata: {branch: release-4.21, org: openshift, repo: installer, variant: okd-scos}
";

const IMAGES_AT: &str = "openshift/images/openshift-images-release-4.21__okd-scos.yaml";
const OC_AT: &str = "openshift/oc/openshift-oc-release-4.21__okd-scos.yaml";
const INSTALLER_AT: &str = "openshift/installer/openshift-installer-release-4.21__okd-scos.yaml";

fn write(root: &Path, rel: &str, text: &str) -> PathBuf {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

/// The three configs laid out as in openshift/release ci-operator/config.
fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (images, oc) = (write(dir.path(), IMAGES_AT, IMAGES), write(dir.path(), OC_AT, OC));
    let installer = write(dir.path(), INSTALLER_AT, INSTALLER);
    (dir, images, oc, installer)
}

fn import(paths: &[&Path]) -> CiOperatorImport {
    let paths: Vec<PathBuf> = paths.iter().map(|p| p.to_path_buf()).collect();
    import_ci_operator(&paths, &ImportOptions::default()).unwrap()
}

fn release(import: &CiOperatorImport) -> Release {
    load_str(Path::new("imported.yaml"), &import.manifest, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", import.manifest))
}

fn member(name: &str) -> Target {
    Target::Member(name.to_owned())
}

fn stream(name: &str) -> Target {
    Target::Stream(name.to_owned())
}

/// The 1-based line of the first line of `text` that contains `needle` after `after`.
fn line_of(text: &str, after: &str, needle: &str) -> u32 {
    let start = text.find(after).unwrap();
    let offset = start + text[start..].find(needle).unwrap();
    text[..offset].matches('\n').count() as u32 + 1
}

fn warnings_at(import: &CiOperatorImport, file: &Path) -> Vec<(u32, String)> {
    import.warnings.iter().filter(|w| w.file == file).map(|w| (w.line, w.message.clone())).collect()
}

#[test]
fn the_list_form_and_the_items_form_both_import() {
    let (_dir, images, oc, _) = fixture();
    let import = import(&[&images, &oc]);
    let names: Vec<&str> = import.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["base-stream9", "keepalived-ipfailover", "cli", "deployer"]);
    let release = release(&import);
    let base = release.component("base-stream9").unwrap();
    assert_eq!(
        base.source,
        Source::Git { url: "https://github.com/openshift/images".into(), reference: "release-4.21".into() }
    );
    assert_eq!((base.context.as_str(), base.dockerfile.as_str()), (".", "base/Dockerfile.rhel9"));
    assert_eq!(base.build_args.get("TAGS").map(String::as_str), Some("scos"));
    let keepalived = release.component("keepalived-ipfailover").unwrap();
    assert_eq!(
        (keepalived.context.as_str(), keepalived.dockerfile.as_str()),
        ("ipfailover/keepalived", "Dockerfile")
    );
    let cli = release.component("cli").unwrap();
    assert_eq!(
        cli.source,
        Source::Git { url: "https://github.com/openshift/oc".into(), reference: "release-4.21".into() }
    );
    assert_eq!(cli.dockerfile, "images/cli/Dockerfile.rhel");
    assert!(release.components.iter().all(|c| c.payload), "every image is promoted");
}

#[test]
fn from_is_a_member_for_an_image_of_the_config_and_a_stream_for_a_base_image() {
    let (_dir, images, _, _) = fixture();
    let import = import(&[&images]);
    let release = release(&import);
    assert_eq!(release.component("base-stream9").unwrap().last_from, Some(stream("ocp_builder_stream9")));
    assert_eq!(release.streams["ocp_builder_stream9"].image, "registry.ci.openshift.org/ocp/builder:stream9");
    assert_eq!(release.component("keepalived-ipfailover").unwrap().last_from, Some(member("base-stream9")));
}

#[test]
fn a_base_image_another_imported_config_promotes_is_a_member() {
    let (_dir, images, oc, _) = fixture();
    // Alone, oc's base image is the CI stream tag.
    let alone = release(&import(&[&oc]));
    assert_eq!(alone.component("cli").unwrap().last_from, Some(stream("origin_scos-4.21_base-stream9")));
    assert_eq!(
        alone.streams["origin_scos-4.21_base-stream9"].image,
        "registry.ci.openshift.org/origin/scos-4.21:base-stream9"
    );
    assert_eq!(alone.component("deployer").unwrap().last_from, Some(member("cli")));
    // With openshift/images, which promotes base-stream9 into origin/scos-4.21, it is built.
    let both = release(&import(&[&images, &oc]));
    assert_eq!(both.component("cli").unwrap().last_from, Some(member("base-stream9")));
    assert!(!both.streams.contains_key("origin_scos-4.21_base-stream9"), "an unused stream is not written");
}

#[test]
fn inputs_as_become_replace_entries_and_stage_words_are_dropped() {
    let (_dir, images, oc, installer) = fixture();
    let import = import(&[&images, &oc, &installer]);
    let release = release(&import);
    let cli = release.component("cli").unwrap();
    assert_eq!(cli.replace.len(), 1, "{:?}", cli.replace);
    assert_eq!(
        cli.replace["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.20"],
        stream("ocp_builder_rhel-9-golang-1.24-openshift-4.21")
    );
    let installer_c = release.component("installer").unwrap();
    assert_eq!(installer_c.last_from, Some(member("base-stream9")));
    assert_eq!(installer_c.replace["registry.ci.openshift.org/ocp/4.21:cli"], member("cli"));
    assert_eq!(
        installer_c.replace["registry.ci.openshift.org/ocp/4.21:etcd"],
        stream("origin_scos-4.21_etcd")
    );
    assert_eq!(installer_c.replace.len(), 2);
    // The key is the literal text of the Dockerfile reference, written verbatim.
    assert!(import.manifest.contains("\"registry.ci.openshift.org/ocp/4.21:cli\": \"member:cli\""));
    let dropped: Vec<(&str, &str, u32)> =
        import.stage_aliases.iter().map(|d| (d.component.as_str(), d.alias.as_str(), d.line)).collect();
    assert_eq!(
        dropped,
        [
            ("cli", "builder", line_of(OC, "as:", "- builder")),
            ("installer", "cli", line_of(INSTALLER, "as:", "- cli"))
        ]
    );
}

#[test]
fn located_warnings_point_at_their_keys_once_per_field_and_file_and_dockerfile_literal_skips() {
    let (_dir, images, oc, installer) = fixture();
    let import = import(&[&images, &oc, &installer]);
    let expect = |file: &Path, text: &str, after: &str, needle: &str, start: &str| {
        let at = line_of(text, after, needle);
        let warnings = warnings_at(&import, file);
        let hits = warnings.iter().filter(|(l, m)| *l == at && m.starts_with(start)).count();
        assert_eq!(hits, 1, "one warning `{start}...` at {}:{at}: {warnings:#?}", file.display());
    };
    expect(&images, IMAGES, "", "build_root:", "build_root is not imported");
    expect(&oc, OC, "", "resources:", "resources is not imported");
    expect(&oc, OC, "", "tests:", "tests (1 entry) is not imported");
    expect(&installer, INSTALLER, "", "tests: []", "tests (0 entries) is not imported");
    expect(
        &installer,
        INSTALLER,
        "origin_scos-4.21_etcd:\n        as",
        "paths:",
        "image installer: inputs.origin_scos-4.21_etcd.paths",
    );
    expect(&installer, INSTALLER, "", "from: src", "image installer-src: from src cannot be mapped");
    expect(&installer, INSTALLER, "", "excluded_images:", "excluded_images [installer-src]");
    expect(&installer, INSTALLER, "", "dockerfile_literal", "image installer-literal: dockerfile_literal");
    let skipped: Vec<&str> = import.skipped_images.iter().map(|s| s.image.as_str()).collect();
    assert_eq!(skipped, ["installer-literal"]);
    assert!(import.components.iter().all(|c| c.image != "installer-literal"));
    let src = import.components.iter().find(|c| c.image == "installer-src").unwrap();
    assert!(!src.payload, "an excluded image is not promoted, so not a payload image");
    assert_eq!(src.line, line_of(INSTALLER, "", "to: installer-src"));
    // Nothing else (stage words such as `builder` are notes in the report, not warnings).
    assert_eq!(import.warnings.len(), 9, "{:#?}", import.warnings);
}

#[test]
fn the_release_follows_the_promotion_stream_unless_told_otherwise() {
    let (_dir, images, oc, _) = fixture();
    let import = import(&[&images, &oc]);
    let release = release(&import);
    assert_eq!((release.name.as_str(), release.version.to_string().as_str()), ("okd-scos", "4.21.0"));
    assert_eq!(
        (release.output.registry.as_str(), release.output.repository.as_str()),
        ("registry.ci.openshift.org", "origin/scos-4.21")
    );
    assert!(import.manifest.starts_with("# Imported by `okd import ci-operator` from 2 ci-operator configs"));
    let options = ImportOptions {
        name: Some("okd".into()),
        version: Some("4.21.0-0.okd-scos-2026-01-01-000000".into()),
        registry: Some("quay.io".into()),
        repository: Some("okd/scos".into()),
        ..Default::default()
    };
    let import = import_ci_operator(std::slice::from_ref(&images), &options).unwrap();
    let told = self::release(&import);
    assert_eq!(told.name, "okd");
    assert_eq!(told.version.to_string(), "4.21.0-0.okd-scos-2026-01-01-000000");
    assert_eq!(told.output_image("cli"), "quay.io/okd/scos:cli");
    let bad = ImportOptions { version: Some("4.21".into()), ..Default::default() };
    assert_eq!(import_ci_operator(&[images], &bad).unwrap_err().kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_tag_built_by_two_configs_is_an_error_unless_the_variant_picks_one() {
    let (dir, _, oc, _) = fixture();
    // The OCP config of the same branch also builds `cli`, promoted to ocp/4.21.
    let ocp_text = OC.replace("name: scos-4.21", "name: \"4.21\"").replace(", variant: okd-scos}", "}");
    let ocp = write(dir.path(), "openshift/oc/openshift-oc-release-4.21.yaml", &ocp_text);
    let error =
        import_ci_operator(&[dir.path().join("openshift/oc")], &ImportOptions::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    let to = line_of(OC, "", "to: cli");
    // Sorted file order: the OCP config is read first.
    assert!(error.message().contains(&format!("{}:{to}", ocp.display())), "{error}");
    assert!(error.message().contains(&format!("{}:{to}", oc.display())), "{error}");
    assert_eq!(error.location().unwrap().file, oc);
    let options = ImportOptions { variant: Some("okd-scos".into()), ..Default::default() };
    let import = import_ci_operator(&[dir.path().join("openshift/oc")], &options).unwrap();
    assert_eq!(import.configs.len(), 1);
    assert_eq!(import.skipped_files.len(), 1);
    assert_eq!(import.skipped_files[0].file, ocp);
    // The same file named twice (itself and through its folder) is read once.
    let twice = import_ci_operator(&[oc.clone(), dir.path().join("openshift/oc")], &options).unwrap();
    assert_eq!(twice.components.len(), 2);
}

#[test]
fn the_path_wins_over_mismatched_metadata_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = IMAGES.replace("  branch: release-4.21\n", "  branch: main\n");
    let file = write(dir.path(), IMAGES_AT, &text);
    let import = import(&[&file]);
    assert_eq!(import.components[0].reference, "release-4.21");
    let at = line_of(&text, "zz_generated_metadata", "branch: main");
    assert!(
        warnings_at(&import, &file).iter().any(|(l, m)| *l == at
            && m.starts_with("zz_generated_metadata.branch is main but the path says release-4.21")),
        "{:#?}",
        import.warnings
    );
}

#[test]
fn other_yaml_is_skipped_with_a_warning() {
    let (dir, images, _, _) = fixture();
    let notes = write(dir.path(), "openshift/images/notes.yaml", "- not\n- a config\n");
    let import =
        import_ci_operator(&[dir.path().join("openshift/images")], &ImportOptions::default()).unwrap();
    assert_eq!(import.files, 2);
    assert_eq!(import.configs[0].file, images);
    assert_eq!(import.skipped_files[0].file, notes);
    assert!(
        warnings_at(&import, &notes)
            .iter()
            .any(|(l, m)| *l == 1 && m.starts_with("not a ci-operator config"))
    );
}

#[test]
fn a_cycle_through_promoted_base_images_falls_back_to_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let config = |repo: &str, to: &str, on: &str| {
        format!(
            "base_images:\n  origin_scos-4.21_{on}:\n    name: scos-4.21\n    namespace: origin\n    tag: {on}\n\
             images:\n  items:\n  - from: origin_scos-4.21_{on}\n    to: {to}\n\
             promotion:\n  to:\n  - name: scos-4.21\n    namespace: origin\n\
             zz_generated_metadata: {{branch: main, org: openshift, repo: {repo}, variant: okd-scos}}\n"
        )
    };
    let a = write(dir.path(), "openshift/a/openshift-a-main__okd-scos.yaml", &config("a", "a", "b"));
    let b = write(dir.path(), "openshift/b/openshift-b-main__okd-scos.yaml", &config("b", "b", "a"));
    let import = import(&[&a, &b]);
    let release = release(&import);
    // a is read first, so b builds on member a and a stays on the stream CI last promoted.
    assert_eq!(release.component("a").unwrap().last_from, Some(stream("origin_scos-4.21_b")));
    assert_eq!(release.component("b").unwrap().last_from, Some(member("a")));
    assert!(
        warnings_at(&import, &a).iter().any(|(l, m)| *l == 8 && m.contains("a -> b")),
        "{:#?}",
        import.warnings
    );
}

#[test]
fn malformed_configs_are_errors_at_the_line_with_a_fix() {
    let cases: &[(&str, &str, u32, &str)] = &[
        ("items not a list", "images:\n  items:\n    to: cli\n", 3, "images.items must be a list"),
        ("to not a string", "images:\n  items:\n  - to: [cli]\n", 3, "images.items[].to must be a string"),
        (
            "unquoted number",
            "images:\n- to: cli\npromotion:\n  to:\n  - namespace: ocp\n    name: 4.20\n",
            6,
            "promotion.to[].name must be a string",
        ),
        ("tests not a list", "images:\n- to: cli\ntests:\n  as: unit\n", 4, "tests must be a list"),
        ("not YAML", "images:\n- to: cli\n  from: [base\n", 3, "not valid YAML"),
        (
            "base image without tag",
            "base_images:\n  b:\n    namespace: ocp\n    name: builder\nimages:\n- to: cli\n",
            2,
            "base_images.b needs namespace, name and tag",
        ),
    ];
    for (case, text, line, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "openshift/oc/openshift-oc-main__okd-scos.yaml", text);
        let error = import_ci_operator(std::slice::from_ref(&file), &ImportOptions::default()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{case}: {error}");
        let location = error.location().unwrap_or_else(|| panic!("{case}: no location: {error}"));
        assert_eq!((&location.file, location.line), (&file, *line), "{case}: {error}");
        assert!(error.message().starts_with(message), "{case}: {error}");
        assert!(error.help().is_some_and(|h| !h.is_empty()), "{case}: a fix is offered");
    }
}

// The shared corpus

/// The `to` of every image item of a config file.
fn to_of(file: &Path) -> Vec<String> {
    let config: Value = serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let items = match &config["images"] {
        Value::Array(items) => items.clone(),
        Value::Object(o) => o.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
        _ => Vec::new(),
    };
    items.iter().map(|i| i["to"].as_str().unwrap().to_owned()).collect()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Every image item of `files` is a component read from its file, or has a warning naming it.
fn accounted_for(import: &CiOperatorImport, files: &[PathBuf]) -> usize {
    let mut items = 0;
    for file in files {
        for to in to_of(file) {
            items += 1;
            let built = import.components.iter().any(|c| c.file == *file && c.image == to);
            let warned = import
                .warnings
                .iter()
                .any(|w| w.file == *file && w.message.starts_with(&format!("image {to}:")));
            assert!(built || warned, "{}: image {to} neither imported nor warned about", file.display());
        }
    }
    items
}

#[test]
fn every_corpus_config_imports() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is not set");
        return;
    };
    let root = PathBuf::from(shared).join("corpus/openshift-release/ci-operator/config");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    assert!(files.len() >= 13, "{} configs", files.len());
    // Taken whole, the corpus builds some tags twice (a main and a release branch both promote
    // into origin/scos-4.21, the OCP and the okd-scos cluster-dns-operator both build it).
    let error = import_ci_operator(std::slice::from_ref(&root), &ImportOptions::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.message().matches(".yaml:").count(), 2, "{error}");
    // One branch and variant at a time, every config imports.
    let mut groups: std::collections::BTreeMap<String, Vec<PathBuf>> = Default::default();
    for file in &files {
        // `<branch>[__<variant>]`: the file name without `<org>-<repo>-`.
        let [org, repo] =
            [2, 1].map(|up| file.ancestors().nth(up).unwrap().file_name().unwrap().to_str().unwrap());
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let key = stem.strip_prefix(&format!("{org}-{repo}-")).unwrap();
        groups.entry(key.to_owned()).or_default().push(file.clone());
    }
    let (mut items, mut components) = (0, 0);
    for (key, group) in &groups {
        let result = import_ci_operator(group, &ImportOptions::default());
        if group.iter().all(|f| to_of(f).is_empty()) {
            let error = result.unwrap_err();
            assert!(error.message().starts_with("nothing to import"), "{key}: {error}");
            continue;
        }
        let import = result.unwrap_or_else(|e| panic!("{key}: {e}"));
        release(&import);
        items += accounted_for(&import, group);
        components += import.components.len();
        for w in &import.warnings {
            assert!(w.line >= 1 && group.contains(&w.file), "{w:?}");
        }
    }
    assert!(items >= 19 && components == items, "{components} components from {items} image items");
    // Every file on its own too.
    for file in &files {
        match import_ci_operator(std::slice::from_ref(file), &ImportOptions::default()) {
            Ok(import) => {
                release(&import);
                accounted_for(&import, std::slice::from_ref(file));
            }
            Err(e) => assert!(e.message().starts_with("nothing to import"), "{}: {e}", file.display()),
        }
    }
}

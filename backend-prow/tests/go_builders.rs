#![allow(clippy::unwrap_used)]
//! Builders per Go version in `import_ci_operator`: base images naming golang-X.Y found,
//! reported and (with `--okd-builders`) replaced by `builder-golang-X-Y` members every image
//! builds on; then the six `*-main__okd-scos` configs of the shared corpus (OKD_SHARED).

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    path::{Path, PathBuf},
    sync::Arc,
};

use backend_prow::import::{CiOperatorImport, ImportOptions, import_ci_operator};
use okd_core::{
    doozer::builders::BuilderTemplate,
    manifest::{LoadOptions, Release, Source, Target, load_str},
    plan::{PlanOptions, plan, sources_from_memory},
};

const OC_AT: &str = "openshift/oc/openshift-oc-release-4.21__okd-scos.yaml";

/// openshift/oc: cli on Go 1.24 (also for arm64), cli-artifacts on Go 1.23 (rhel-8) and 1.24,
/// deployer on cli only; the build root is Go 1.24's release image.
const OC: &str = "base_images:
  ocp_builder_rhel-9-golang-1.24-openshift-4.21: {name: builder, namespace: ocp, tag: rhel-9-golang-1.24-openshift-4.21}
  ocp_builder_rhel-8-golang-1.23-openshift-4.21: {name: builder, namespace: ocp, tag: rhel-8-golang-1.23-openshift-4.21}
  origin_scos-4.21_base-stream9: {name: scos-4.21, namespace: origin, tag: base-stream9}
build_root:
  image_stream_tag: {name: release, namespace: openshift, tag: rhel-9-release-golang-1.24-openshift-4.21}
images:
  items:
  - dockerfile_path: images/cli/Dockerfile.rhel
    from: origin_scos-4.21_base-stream9
    additional_architectures: [arm64]
    inputs:
      ocp_builder_rhel-9-golang-1.24-openshift-4.21:
        as:
        - builder
        - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.20
    to: cli
  - dockerfile_path: images/cli-artifacts/Dockerfile.rhel
    from: cli
    inputs:
      ocp_builder_rhel-8-golang-1.23-openshift-4.21:
        as:
        - registry.ci.openshift.org/ocp/builder:rhel-8-golang-1.23-openshift-4.19
      ocp_builder_rhel-9-golang-1.24-openshift-4.21:
        as:
        - registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.19
    to: cli-artifacts
  - dockerfile_path: images/deployer/Dockerfile.rhel
    from: cli
    to: deployer
promotion:
  to:
  - name: scos-4.21
    namespace: origin
zz_generated_metadata: {branch: release-4.21, org: openshift, repo: oc, variant: okd-scos}
";

const TEMPLATE: &str = "FROM quay.io/centos/centos:stream9\nARG GO_VERSION\nRUN echo go ${GO_VERSION}\n";

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(OC_AT);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, OC).unwrap();
    (dir, file)
}

/// `dir/okd-builders` with the template Dockerfile, opened for a manifest in `dir`.
fn template(dir: &Path) -> BuilderTemplate {
    let folder = dir.join("okd-builders");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(folder.join("Dockerfile"), TEMPLATE).unwrap();
    BuilderTemplate::open(&folder, dir).unwrap()
}

fn release(dir: &Path, import: &CiOperatorImport) -> Release {
    load_str(&dir.join("release.yaml"), &import.manifest, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", import.manifest))
}

/// Each component's member parents (sorted), planned from stand-in Dockerfiles that name every
/// reference its `replace` map has (as the real Dockerfiles do for `inputs.*.as`), then a base.
fn parents(release: Release) -> BTreeMap<String, BTreeSet<String>> {
    let dockerfiles: HashMap<String, String> = release
        .components
        .iter()
        .map(|c| {
            let mut text: String =
                c.replace.keys().enumerate().map(|(i, k)| format!("FROM {k} AS b{i}\nRUN true\n")).collect();
            text.push_str("FROM quay.io/centos/centos:stream9\n");
            (c.name.clone(), text)
        })
        .collect();
    let release = Arc::new(release);
    let sources = sources_from_memory(&release, &dockerfiles);
    let planned = plan(release, &sources, &PlanOptions::default()).unwrap();
    planned.components.into_iter().map(|c| (c.name, c.depends_on.into_iter().collect())).collect()
}

fn versions(import: &CiOperatorImport) -> Vec<(String, Vec<String>)> {
    import.go_versions.iter().map(|v| (v.version.to_string(), v.components.clone())).collect()
}

#[test]
fn without_a_template_go_versions_and_build_roots_are_reported_with_one_warning() {
    let (dir, file) = fixture();
    let import = import_ci_operator(std::slice::from_ref(&file), &ImportOptions::default()).unwrap();
    assert_eq!(
        versions(&import),
        [
            ("1.23".into(), vec!["cli-artifacts".into()]),
            ("1.24".into(), vec!["cli".into(), "cli-artifacts".into()])
        ]
    );
    assert!(import.go_versions.iter().all(|v| v.builder.is_none()));
    assert_eq!(
        import.go_versions[1].references,
        ["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.21"],
        "the image CI uses, not the Dockerfile's text"
    );
    let warned: Vec<_> = import.warnings.iter().filter(|w| w.message.contains("--okd-builders")).collect();
    assert_eq!(warned.len(), 1, "{:?}", import.warnings);
    assert_eq!((warned[0].file.as_path(), warned[0].line), (file.as_path(), 16), "cli's builder reference");
    assert_eq!(import.build_roots.len(), 1);
    assert_eq!(import.build_roots[0].version.to_string(), "1.24");
    assert_eq!(import.build_roots[0].line, 6);
    let release = release(dir.path(), &import);
    assert!(release.components.iter().all(|c| !c.name.starts_with("builder-golang")));
}

#[test]
fn with_a_template_every_builder_base_image_becomes_its_versions_builder() {
    let (dir, file) = fixture();
    let options = ImportOptions { okd_builders: Some(template(dir.path())), ..Default::default() };
    let import = import_ci_operator(&[file], &options).unwrap();
    assert!(!import.warnings.iter().any(|w| w.message.contains("--okd-builders")), "{:?}", import.warnings);
    let release = release(dir.path(), &import);
    let b23 = release.component("builder-golang-1-23").unwrap();
    assert_eq!(b23.source, Source::Path("okd-builders".into()));
    assert_eq!(b23.build_args["GO_VERSION"], "1.23");
    assert_eq!(b23.arches, ["amd64"]);
    // cli builds for arm64 too, so its builder does.
    assert_eq!(release.component("builder-golang-1-24").unwrap().arches, ["amd64", "arm64"]);
    let cli = release.component("cli").unwrap();
    assert_eq!(
        cli.replace["registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.24-openshift-4.20"],
        Target::Member("builder-golang-1-24".into())
    );
    assert!(!release.streams.keys().any(|s| s.contains("golang")), "no Go builder stream is left");
    let parents = parents(release);
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(parents["cli"], set(&["builder-golang-1-24"]));
    assert_eq!(parents["cli-artifacts"], set(&["builder-golang-1-23", "builder-golang-1-24", "cli"]));
    assert_eq!(parents["deployer"], set(&["cli"]));
    assert!(parents["builder-golang-1-24"].is_empty());
}

/// Go versions by pipeline tag, read from a config's raw YAML: the tags of its base images that
/// name golang-X.Y.
fn go_tags(config: &serde_json::Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (alias, base) in config["base_images"].as_object().into_iter().flatten() {
        let tag = base["tag"].as_str().unwrap();
        if let Some(i) = tag.find("golang-") {
            let version: String = tag[i + 7..].split('-').next().unwrap().to_owned();
            out.insert(alias.clone(), version);
        }
    }
    out
}

#[test]
fn the_main_okd_scos_configs_of_the_corpus_land_on_their_builders() {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is unset, so the ci-operator corpus cannot be read (CI sets it)");
        return;
    };
    let root = PathBuf::from(shared).join("corpus/openshift-release/ci-operator/config/openshift");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .flat_map(|repo| std::fs::read_dir(repo.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|f| f.to_string_lossy().ends_with("-main__okd-scos.yaml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    // What each image's inputs and `from` name, read from the files themselves.
    let mut wanted: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let config: serde_json::Value =
            serde_saphyr::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let tags = go_tags(&config);
        let items = config["images"].get("items").unwrap_or(&config["images"]).as_array().unwrap().clone();
        for item in items {
            let mut used: Vec<&str> =
                item["inputs"].as_object().into_iter().flatten().map(|(t, _)| t.as_str()).collect();
            used.extend(item["from"].as_str());
            let versions = used
                .iter()
                .filter_map(|t| tags.get(*t))
                .map(|v| format!("builder-golang-{}", v.replace('.', "-")));
            wanted.insert(item["to"].as_str().unwrap().to_owned(), versions.collect());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = import_ci_operator(&files, &ImportOptions::default()).unwrap();
    let found: Vec<String> = plain.go_versions.iter().map(|v| v.version.to_string()).collect();
    assert_eq!(found, ["1.22", "1.23", "1.24"]);
    let roots: Vec<String> = plain.build_roots.iter().map(|b| b.version.to_string()).collect();
    assert_eq!(roots, ["1.22", "1.22", "1.24", "1.24", "1.23", "1.24"], "one per config, in file order");

    let options = ImportOptions { okd_builders: Some(template(dir.path())), ..Default::default() };
    let import = import_ci_operator(&files, &options).unwrap();
    let release = release(dir.path(), &import);
    assert_eq!(release.components.len(), plain.components.len() + 3);
    let parents = parents(release);
    for component in &import.components {
        let got: BTreeSet<String> =
            parents[&component.name].iter().filter(|p| p.starts_with("builder-golang-")).cloned().collect();
        assert_eq!(got, wanted[&component.image], "{}", component.name);
    }
    assert_eq!(wanted["cli-artifacts"], BTreeSet::from(["builder-golang-1-23".to_owned()]));
    assert_eq!(wanted["tests"], BTreeSet::from(["builder-golang-1-24".to_owned()]));
    assert_eq!(wanted["agent-installer-utils"], BTreeSet::from(["builder-golang-1-22".to_owned()]));
}

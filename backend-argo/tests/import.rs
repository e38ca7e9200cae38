#![allow(clippy::unwrap_used)]
//! `import_payload_pipeline`: a small okd-payload-pipeline checkout in a tempdir (BuildConfig
//! forms, kustomize patches with label selectors, a variant overlay, batch lists with defects,
//! located errors), then the real repository of the shared corpus (OKD_SHARED).

use std::path::{Path, PathBuf};

use backend_argo::import::{ImportOptions, PayloadPipelineImport, WarningKind, import_payload_pipeline};
use okd_core::{
    ErrorKind,
    manifest::{LoadOptions, Release, Source, Target, load_str},
};

const KUSTOMIZATION: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

patches:
  - patch: |-
      - op: add
        path: "/spec/source/images/-"
        value:
           from:
              kind: "ImageStreamTag"
              name: "release:builder"
           as:
             - 'registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.21-openshift-4.15'
             - 'registry.ci.openshift.org/openshift/release:golang-1.21'
    target:
      kind: BuildConfig
      labelSelector: "skip-replace-builder!=true"
  - patch: |-
      - op: add
        path: "/spec/source/images/-"
        value:
          from:
            kind: ImageStreamTag
            name: 'release:cli'
          as:
            - 'registry.ci.openshift.org/ocp/4.15:cli'
    target:
      kind: BuildConfig
      labelSelector: "skip-replace-cli!=true"
  - patch: |-
      - op: add
        path: "/spec/source/images/-"
        value:
          from:
            kind: ImageStreamTag
            name: 'release:artifacts'
          as:
            - 'registry.ci.openshift.org/origin/4.15:artifacts'
    target:
      kind: BuildConfig
      name: fedora-coreos
  - patch: |-
      - op: add
        path: "/spec/resources"
        value:
          limits: {cpu: "4", memory: 4Gi}
    target:
      kind: BuildConfig
resources:
  - 00-namespace.yaml
  - 01-imagestream.yaml
  - 02-additional-imagestream.yaml
  - 03-forked-dockerfiles.yaml
  - 04-builder.yaml
  - 05-base.yaml
  - 06-cli.yaml
  - 10-cluster-dns-operator.yaml
  - 10-installer.yaml
  - 10-baremetal-installer.yaml
  - 10-network-interface-bond-cni.yaml
  - 10-ironic.yaml
  - 10-driver-toolkit.yaml
  - 20-tools.yaml
  - 20-ovn-kubernetes-base.yaml
  - 20-artifacts.yaml
  - 30-ovn-kubernetes.yaml
  - 30-network-tools.yaml
  - 30-fedora-coreos.yaml
"#;

const RELEASE_IS: &str = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: release
spec:
  lookupPolicy:
    local: true
  tags:
    - name: powervs-block-csi-driver
      from:
        kind: DockerImage
        name: registry.access.redhat.com/ubi9-minimal:9.0.0
";

const TOOLS_IS: &str = "apiVersion: image.openshift.io/v1
kind: ImageStream
metadata:
  name: tools
spec:
  tags:
    - name: centos9
      from:
        kind: DockerImage
        name: 'quay.io/centos/centos:stream9'
";

/// A BuildConfig: name, labels (YAML lines), source extras (YAML lines under source), docker
/// strategy lines, output tag.
fn bc(name: &str, labels: &str, git: Option<&str>, source: &str, strategy: &str, tag: &str) -> String {
    let labels = if labels.is_empty() { String::new() } else { format!("  labels:\n{labels}") };
    let git = git
        .map(|g| format!("    type: Git\n    git:\n      uri: '{g}'\n      ref: release-4.15\n"))
        .unwrap_or_default();
    let strategy = if strategy.is_empty() {
        String::new()
    } else {
        format!("    dockerStrategy:\n      imageOptimizationPolicy: SkipLayers\n{strategy}")
    };
    format!(
        "apiVersion: build.openshift.io/v1
kind: BuildConfig
metadata:
  name: {name}
{labels}spec:
  source:
{git}{source}  strategy:
    type: Docker
{strategy}  output:
    to:
      kind: ImageStreamTag
      name: 'release:{tag}'
"
    )
}

const SKIP_BOTH: &str = "    skip-replace-cli: \"true\"\n    skip-replace-builder: \"true\"\n";
const FROM_BASE: &str = "      from:\n        kind: ImageStreamTag\n        name: \"release:base\"\n";

fn files() -> Vec<(&'static str, String)> {
    let images_none = "    contextDir: .\n    images: []\n";
    vec![
        ("buildconfigs/kustomization.yaml", KUSTOMIZATION.into()),
        (
            "buildconfigs/00-namespace.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: okd\n".into(),
        ),
        ("buildconfigs/01-imagestream.yaml", RELEASE_IS.into()),
        ("buildconfigs/02-additional-imagestream.yaml", TOOLS_IS.into()),
        (
            "buildconfigs/03-forked-dockerfiles.yaml",
            bc(
                "forked-dockerfiles",
                SKIP_BOTH,
                Some("https://github.com/okd-project/okd-payload-pipeline"),
                "    contextDir: forks\n    images: []\n",
                "",
                "forked-dockerfiles",
            )
            .replace("ref: release-4.15", "ref: main"),
        ),
        (
            "buildconfigs/04-builder.yaml",
            bc(
                "builder",
                SKIP_BOTH,
                Some("https://github.com/okd-project/images"),
                "    contextDir: builder\n    images: []\n",
                "      dockerfilePath: Dockerfile\n      from:\n        kind: ImageStreamTag\n        name: tools:centos9\n",
                "builder",
            ),
        ),
        (
            "buildconfigs/05-base.yaml",
            bc(
                "base",
                SKIP_BOTH,
                Some("https://github.com/okd-project/images"),
                "    contextDir: base\n    images: []\n",
                "      from:\n        kind: ImageStreamTag\n        name: tools:centos9\n",
                "base",
            ),
        ),
        (
            "buildconfigs/06-cli.yaml",
            bc(
                "cli",
                "    skip-replace-cli: \"true\"\n",
                Some("https://github.com/openshift/oc"),
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'release:forked-dockerfiles'
        paths:
          - sourcePath: /code/artifacts/Dockerfile.builder.centos9
            destinationDir: \"./images/cli-artifacts\"
",
                &format!(
                    "      dockerfilePath: images/cli-artifacts/Dockerfile.builder.centos9\n{FROM_BASE}      env:\n        - name: GO_BUILD_BINDIR\n          value: _output/bin\n      buildArgs:\n        - name: TAGS\n          value: openshift,cli\n"
                ),
                "cli",
            ),
        ),
        (
            "buildconfigs/10-cluster-dns-operator.yaml",
            bc(
                "cluster-dns-operator",
                "",
                Some("https://github.com/openshift/cluster-dns-operator.git"),
                images_none,
                &format!("      dockerfilePath: Dockerfile.rhel\n{FROM_BASE}"),
                "cluster-dns-operator",
            ),
        ),
        (
            "buildconfigs/10-installer.yaml",
            bc(
                "installer",
                "    change-build-arg-tags: \"true\"\n",
                Some("https://github.com/openshift/installer"),
                images_none,
                &format!(
                    "      dockerfilePath: images/installer/Dockerfile.ci\n{FROM_BASE}      buildArgs:\n        - name: TAGS\n          value: okd\n        - name: GOFLAGS\n          value: -mod=vendor\n"
                ),
                "installer",
            ),
        ),
        (
            "buildconfigs/10-baremetal-installer.yaml",
            bc(
                "baremetal-installer",
                "    change-build-arg-tags: \"true\"\n",
                Some("https://github.com/openshift/installer"),
                images_none,
                &format!("      dockerfilePath: images/baremetal/Dockerfile.ci\n{FROM_BASE}"),
                "baremetal-installer",
            ),
        ),
        (
            "buildconfigs/10-network-interface-bond-cni.yaml",
            bc(
                "bond-cni",
                "",
                Some("https://github.com/openshift/bond-cni"),
                images_none,
                &format!("      dockerfilePath: Dockerfile.openshift\n{FROM_BASE}"),
                "network-interface-bond-cni",
            ),
        ),
        (
            "buildconfigs/10-ironic.yaml",
            bc(
                "ironic",
                "",
                Some("https://github.com/openshift/ironic-image"),
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'tools:centos9'
        as:
          - quay.io/centos/centos:stream8
          - builder
",
                &format!("      dockerfilePath: Dockerfile.okd\n{FROM_BASE}"),
                "ironic",
            ),
        ),
        (
            "buildconfigs/10-driver-toolkit.yaml",
            bc(
                "driver-toolkit",
                "",
                Some("https://github.com/openshift/driver-toolkit"),
                images_none,
                FROM_BASE,
                "driver-toolkit",
            )
            .replace(
                "  name: driver-toolkit\n",
                "  name: driver-toolkit\n  failureDescription: kernel-devel not found\n",
            ),
        ),
        (
            "buildconfigs/20-tools.yaml",
            bc(
                "tools",
                "",
                Some("https://github.com/openshift/oc"),
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'release:forked-dockerfiles'
        paths:
          - sourcePath: /code/tools/Dockerfile.centos9
            destinationDir: ./images/tools
",
                "      dockerfilePath: images/tools/Dockerfile.centos9\n      from:\n        kind: ImageStreamTag\n        name: release:cli\n",
                "tools",
            ),
        ),
        (
            "buildconfigs/20-ovn-kubernetes-base.yaml",
            bc(
                "ovn-kubernetes-base",
                "",
                Some("https://github.com/openshift/ovn-kubernetes"),
                images_none,
                &format!("      dockerfilePath: Dockerfile.base.rhel9\n{FROM_BASE}"),
                "ovn-kubernetes-base",
            ),
        ),
        (
            "buildconfigs/20-artifacts.yaml",
            bc(
                "artifacts",
                "",
                None,
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'release:cli'
        as:
          - 'release:cli'
      - from:
          kind: ImageStreamTag
          name: 'release:forked-dockerfiles'
        paths:
          - sourcePath: /code/artifacts/Dockerfile.centos9
            destinationDir: \".\"
",
                &format!("      dockerfilePath: Dockerfile.centos9\n{FROM_BASE}"),
                "artifacts",
            ),
        ),
        (
            "buildconfigs/30-ovn-kubernetes.yaml",
            bc(
                "ovn-kubernetes",
                "",
                Some("https://github.com/openshift/ovn-kubernetes"),
                images_none,
                "      dockerfilePath: Dockerfile.rhel9\n      from:\n        kind: ImageStreamTag\n        name: release:ovn-kubernetes-base\n",
                "ovn-kubernetes-rhel-9",
            ),
        ),
        (
            "buildconfigs/30-network-tools.yaml",
            bc(
                "network-tools",
                "",
                Some("https://github.com/openshift/network-tools"),
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'release:ovn-kubernetes'
        as:
          - registry.ci.openshift.org/ocp/4.13:ovn-kubernetes-rhel-9
",
                "      from:\n        kind: ImageStreamTag\n        name: release:tools\n",
                "network-tools",
            ),
        ),
        (
            "buildconfigs/30-fedora-coreos.yaml",
            bc(
                "fedora-coreos",
                "",
                Some("https://github.com/openshift/okd-machine-os"),
                "    contextDir: .
    images:
      - from:
          kind: ImageStreamTag
          name: 'tools:fedora-coreos'
        as:
          - 'quay.io/coreos-assembler/fcos:next-devel'
",
                "",
                "fedora-coreos",
            ),
        ),
        ("argo-workflows/okd-workflows/40-mirror-and-customize.yaml", CUSTOMIZE.into()),
        ("argo-workflows/okd-workflows/50-build-okd-from-scratch.yaml", SCRATCH.into()),
        ("variants/fcos/kustomization.yaml", VARIANT.into()),
    ]
}

const CUSTOMIZE: &str = r#"kind: WorkflowTemplate
apiVersion: argoproj.io/v1alpha1
metadata:
  name: mirror-and-customize
spec:
  entrypoint: entrypoint
  templates:
    - name: entrypoint
      steps:
        - - name: initial
            template: batches
            arguments:
              parameters:
                - name: buildconfigs-batched-list
                  value: |
                    [
                      [
                        { "buildConfig": "builder", "overrideRepoUrl": "", "overrideBranch": "" },
                        { "buildConfig": "forked-dockerfiles", "overrideRepoUrl": "", "overrideBranch": "" },
                        { "buildConfig": "base", "overrideRepoUrl": "", "overrideBranch": "" }
                      ],
                      [ { "buildConfig": "cli", "overrideRepoUrl": "", "overrideBranch": "" } ]
                    ]
"#;

const SCRATCH: &str = r#"kind: WorkflowTemplate
apiVersion: argoproj.io/v1alpha1
metadata:
  name: build-okd-from-scratch
spec:
  arguments:
    parameters:
      - name: architectures
        default: arm64,amd64,riscv64
      - name: os-buildconfig
        default: "fedora-coreos"
      - name: buildconfigs-batched-list
        value: |
          [ [
            {"buildConfig":"cluster-dns-operator","overrideRepoUrl":"","overrideBranch":"my-branch"},
            {"buildConfig":"installer","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"baremetal-installer","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"bond-cni","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"ironic","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"ovn-kubernetes-base","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"ovn-kubernetes","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"no-such-buildconfig","overrideRepoUrl":"","overrideBranch":""}
          ], [
            {"buildConfig":"artifacts","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"tools","overrideRepoUrl":"","overrideBranch":""},
            {"buildConfig":"network-tools","overrideRepoUrl":"","overrideBranch":""}
          ] ]
  entrypoint: entrypoint
"#;

const VARIANT: &str = r#"apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization

namespace: okd-fcos

resources:
  - ../../argo-workflows/okd-workflows
  - ../../buildconfigs
  - ../../pipelines

images:
  - name: quay.io/example/unused

patches:
  - patch: |-
      apiVersion: build.openshift.io/v1
      kind: BuildConfig
      metadata:
        name: not-used
        labels:
          change-build-arg-tags: ""
      spec:
        strategy:
          dockerStrategy:
            buildArgs:
              - name: "TAGS"
                value: "fcos"
    target:
      labelSelector: "change-build-arg-tags==true"
      kind: BuildConfig
  - patch: |-
      apiVersion: build.openshift.io/v1
      kind: BuildConfig
      metadata:
        name: baremetal-installer
      spec:
        strategy:
          dockerStrategy:
            buildArgs:
              - name: "TAGS"
                value: "fcos libvirt baremetal"
    target:
      kind: BuildConfig
      name: baremetal-installer
  - patch: |-
      - op: add
        path: "/spec/tags/-"
        value:
          name: fedora-coreos
          from:
            kind: DockerImage
            name: quay.io/fedora/fedora-coreos:next-devel
    target:
      kind: ImageStream
      name: tools
  - patch: |-
      - op: remove
        path: /spec/tags/0
    target:
      kind: ImageStream
      name: release
  - path: extra.yaml
    target:
      kind: BuildConfig
"#;

fn file(path: &str) -> String {
    files().into_iter().find(|(p, _)| *p == path).unwrap().1
}

fn write(root: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), &files());
    dir
}

fn import(dir: &Path, variant: Option<&str>) -> PayloadPipelineImport {
    let options = ImportOptions { variant: variant.map(str::to_owned), ..Default::default() };
    import_payload_pipeline(dir, &options).unwrap()
}

fn load(dir: &Path, import: &PayloadPipelineImport) -> Release {
    load_str(&dir.join("release.yaml"), &import.manifest, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("{e}\n{}", import.manifest))
}

/// The 1-based line of the first line of `file` (under `dir`) that contains `needle`.
fn line_of(dir: &Path, file: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle} not in {file}")) as u32
        + 1
}

/// The warnings of `kind` that mention `needle`.
fn find<'a>(
    import: &'a PayloadPipelineImport,
    kind: WarningKind,
    needle: &str,
) -> Vec<&'a okd_core::Warning> {
    import.warnings_of(kind).into_iter().filter(|w| w.message.contains(needle)).collect()
}

fn one<'a>(import: &'a PayloadPipelineImport, kind: WarningKind, needle: &str) -> &'a okd_core::Warning {
    let found = find(import, kind, needle);
    assert_eq!(found.len(), 1, "{kind:?} {needle}: {:#?}", import.warnings);
    found[0]
}

fn git(release: &Release, name: &str) -> (String, String) {
    match &release.component(name).unwrap().source {
        Source::Git { url, reference } => (url.clone(), reference.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn buildconfigs_become_components() {
    let dir = fixture();
    let result = import(dir.path(), None);
    assert_eq!(result.buildconfigs, 16);
    assert_eq!(result.components.len(), 16, "{:#?}", result.skipped);
    assert!(result.skipped.is_empty());
    let release = load(dir.path(), &result);
    assert_eq!(release.name, "okd");
    assert_eq!(release.version.to_string(), "4.15.0-0.okd");
    assert_eq!(release.output.repository, "okd/release");
    assert_eq!(release.arches, ["arm64", "amd64"]);
    one(&result, WarningKind::Unmapped, "architecture riscv64");

    // Source, context, Dockerfile, build args; `.git` trimmed.
    assert_eq!(
        git(&release, "cluster-dns-operator"),
        ("https://github.com/openshift/cluster-dns-operator".into(), "release-4.15".into())
    );
    let dns = release.component("cluster-dns-operator").unwrap();
    assert_eq!((dns.context.as_str(), dns.dockerfile.as_str()), (".", "Dockerfile.rhel"));
    let builder = release.component("builder").unwrap();
    assert_eq!((builder.context.as_str(), builder.dockerfile.as_str()), ("builder", "Dockerfile"));
    assert_eq!(builder.last_from, Some(Target::Stream("centos9".into())));
    assert_eq!(release.streams["centos9"].image, "quay.io/centos/centos:stream9");
    let installer = release.component("installer").unwrap();
    assert_eq!(installer.build_args["TAGS"], "okd");
    assert_eq!(installer.build_args["GOFLAGS"], "-mod=vendor");

    // dockerStrategy.from -> last_from; `as` -> replace, by member or stream.
    assert_eq!(dns.last_from, Some(Target::Member("base".into())));
    assert_eq!(release.component("tools").unwrap().last_from, Some(Target::Member("cli".into())));
    let ironic = release.component("ironic").unwrap();
    assert_eq!(ironic.replace["quay.io/centos/centos:stream8"], Target::Stream("centos9".into()));
    assert!(!ironic.replace.contains_key("builder"), "a stage name is not an image reference");
    one(&result, WarningKind::Unmapped, "`as` name builder of BuildConfig ironic is a Dockerfile stage name");

    // The component is the output tag; members follow tags.
    assert!(release.component("bond-cni").is_none());
    assert!(release.component("network-interface-bond-cni").is_some());
    let ovn = release.component("ovn-kubernetes-rhel-9").unwrap();
    assert_eq!(ovn.last_from, Some(Target::Member("ovn-kubernetes-base".into())));
    let renamed =
        one(&result, WarningKind::Renamed, "BuildConfig bond-cni outputs release:network-interface-bond-cni");
    assert!(renamed.file.ends_with("buildconfigs/10-network-interface-bond-cni.yaml"));
    let bond = result.components.iter().find(|c| c.buildconfig == "bond-cni").unwrap();
    assert_eq!(bond.name, "network-interface-bond-cni");

    // Payload: all but the build infrastructure and *-base parents.
    let payload = |n: &str| release.component(n).unwrap().payload;
    assert!(!payload("builder") && !payload("base") && !payload("forked-dockerfiles"));
    assert!(!payload("ovn-kubernetes-base"));
    assert!(payload("cli") && payload("installer") && payload("fedora-coreos") && payload("tools"));

    // Placeholders, other fields, the JSON report and the summary.
    let w = one(&result, WarningKind::Placeholder, "powervs-block-csi-driver");
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/01-imagestream.yaml", "powervs-block-csi-driver"));
    assert_eq!(result.placeholders, ["powervs-block-csi-driver"]);
    let env = one(&result, WarningKind::Unmapped, "dockerStrategy.env (GO_BUILD_BINDIR)");
    assert_eq!(env.line, line_of(dir.path(), "buildconfigs/06-cli.yaml", "env:"));
    one(
        &result,
        WarningKind::Unmapped,
        "imageOptimizationPolicy (on builder, base, cli, ... (14 BuildConfigs))",
    );
    let marked = one(&result, WarningKind::Unmapped, "marked as failing (kernel-devel not found)");
    assert!(marked.file.ends_with("10-driver-toolkit.yaml"));
    let json = serde_json::to_value(&result).unwrap();
    assert_eq!(json["components"].as_array().unwrap().len(), 16);
    assert!(json["warning_counts"]["renamed"].as_u64().unwrap() >= 2);
    assert!(json.get("manifest").is_none());
    let summary = result.summary();
    assert!(summary.starts_with("16 BuildConfigs: 16 components (12 payload), 0 skipped"), "{summary}");
}

#[test]
fn kustomize_patches_follow_label_selectors() {
    let dir = fixture();
    let result = import(dir.path(), None);
    let release = load(dir.path(), &result);
    // Added to most BuildConfigs: the release-wide replace.
    let builder_name = "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.21-openshift-4.15";
    assert_eq!(release.replace[builder_name], Target::Member("builder".into()));
    assert_eq!(release.replace["registry.ci.openshift.org/ocp/4.15:cli"], Target::Member("cli".into()));
    // Left out by `skip-replace-builder!=true` / `skip-replace-cli!=true`: kept as written.
    for name in ["builder", "base", "forked-dockerfiles"] {
        let c = release.component(name).unwrap();
        assert_eq!(c.replace[builder_name], Target::Image(builder_name.into()), "{name}");
        assert_eq!(
            c.replace["registry.ci.openshift.org/ocp/4.15:cli"],
            Target::Image("registry.ci.openshift.org/ocp/4.15:cli".into())
        );
    }
    let cli = release.component("cli").unwrap();
    assert!(!cli.replace.contains_key(builder_name), "cli takes the builder patch");
    assert_eq!(
        cli.replace["registry.ci.openshift.org/ocp/4.15:cli"],
        Target::Image("registry.ci.openshift.org/ocp/4.15:cli".into())
    );
    assert!(!release.component("installer").unwrap().replace.contains_key(builder_name));
    // Added by name to one BuildConfig: that component's replace.
    let os = release.component("fedora-coreos").unwrap();
    assert_eq!(
        os.replace["registry.ci.openshift.org/origin/4.15:artifacts"],
        Target::Member("artifacts".into())
    );
    assert!(!release.replace.contains_key("registry.ci.openshift.org/origin/4.15:artifacts"));
    // Resources from a patch: one warning at the patch.
    let w = one(&result, WarningKind::Unmapped, "spec.resources (on");
    assert!(w.file.ends_with("buildconfigs/kustomization.yaml"));
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/kustomization.yaml", "/spec/resources") - 1);
}

#[test]
fn forked_dockerfiles() {
    let dir = fixture();
    let result = import(dir.path(), None);
    let release = load(dir.path(), &result);
    // With a git source: the Dockerfile the BuildConfig names, and a warning naming the fork.
    let cli = release.component("cli").unwrap();
    assert_eq!(cli.dockerfile, "images/cli-artifacts/Dockerfile.builder.centos9");
    let w = one(&result, WarningKind::ForkedDockerfile, "BuildConfig cli builds");
    assert!(
        w.message.contains("okd-payload-pipeline@main:forks/artifacts/Dockerfile.builder.centos9"),
        "{w}"
    );
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/06-cli.yaml", "sourcePath"));
    let c = result.components.iter().find(|c| c.name == "cli").unwrap();
    assert_eq!(
        c.forked_dockerfile.as_deref(),
        Some(
            "https://github.com/okd-project/okd-payload-pipeline@main:forks/artifacts/Dockerfile.builder.centos9"
        )
    );
    // Without one (artifacts): the fork's folder is the source.
    assert_eq!(
        git(&release, "artifacts"),
        ("https://github.com/okd-project/okd-payload-pipeline".into(), "main".into())
    );
    let artifacts = release.component("artifacts").unwrap();
    assert_eq!(
        (artifacts.context.as_str(), artifacts.dockerfile.as_str()),
        ("forks/artifacts", "Dockerfile.centos9")
    );
    assert_eq!(artifacts.replace["release:cli"], Target::Member("cli".into()));
    one(&result, WarningKind::ForkedDockerfile, "BuildConfig artifacts has no git source");
}

#[test]
fn variant_overlay_sets_tags_and_streams() {
    let dir = fixture();
    let result = import(dir.path(), Some("fcos"));
    let release = load(dir.path(), &result);
    assert_eq!(release.name, "okd-fcos");
    assert_eq!(release.output.repository, "okd-fcos/release");
    // The merge patch replaces the whole buildArgs list, as kustomize does.
    let installer = release.component("installer").unwrap();
    assert_eq!(installer.build_args.len(), 1);
    assert_eq!(installer.build_args["TAGS"], "fcos");
    let dropped = one(&result, WarningKind::Kustomize, "so GOFLAGS is dropped");
    assert!(dropped.file.ends_with("variants/fcos/kustomization.yaml"));
    assert_eq!(
        release.component("baremetal-installer").unwrap().build_args["TAGS"],
        "fcos libvirt baremetal"
    );
    assert!(release.component("cli").unwrap().build_args["TAGS"] == "openshift,cli", "not selected");
    // The tools tag the overlay adds is a stream, and fedora-coreos's `as` reaches it.
    assert_eq!(release.streams["fedora-coreos"].image, "quay.io/fedora/fedora-coreos:next-devel");
    assert_eq!(
        release.component("fedora-coreos").unwrap().replace["quay.io/coreos-assembler/fcos:next-devel"],
        Target::Stream("fedora-coreos".into())
    );
    assert!(find(&result, WarningKind::MissingParent, "tools:fedora-coreos").is_empty());
    // What is not applied is said, where it is.
    let variant = "variants/fcos/kustomization.yaml";
    let w = one(&result, WarningKind::Kustomize, "`images` is not applied");
    assert_eq!(w.line, line_of(dir.path(), variant, "images:"));
    let w = one(&result, WarningKind::Kustomize, "resource ../../pipelines is not read");
    assert_eq!(w.line, line_of(dir.path(), variant, "../../pipelines"));
    let w = one(&result, WarningKind::Kustomize, "JSON 6902 op remove is not applied");
    assert_eq!(w.line, line_of(dir.path(), variant, "op: remove"));
    let w = one(&result, WarningKind::Kustomize, "`path` of a patch is not supported");
    assert_eq!(w.line, line_of(dir.path(), variant, "path: extra.yaml"));
    // Without the variant, the missing tools tag is a warning at the reference.
    let plain = import(dir.path(), None);
    let w = one(&plain, WarningKind::MissingParent, "tools:fedora-coreos");
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/30-fedora-coreos.yaml", "'tools:fedora-coreos'"));
    assert!(
        !load(dir.path(), &plain)
            .component("fedora-coreos")
            .unwrap()
            .replace
            .contains_key("quay.io/coreos-assembler/fcos:next-devel")
    );
}

#[test]
fn batch_lists_are_checked() {
    let dir = fixture();
    let result = import(dir.path(), None);
    let scratch = "argo-workflows/okd-workflows/50-build-okd-from-scratch.yaml";
    assert_eq!(result.batches.len(), 5, "2 initial, 2 listed, the OS: {:?}", result.batches);
    assert_eq!(result.batches[0], ["builder", "forked-dockerfiles", "base"]);
    assert_eq!(result.batches[4], ["fedora-coreos"]);
    // A parent that no BuildConfig outputs: at the reference, and not emitted.
    let w = one(&result, WarningKind::MissingParent, "takes release:ovn-kubernetes,");
    assert!(w.file.ends_with("buildconfigs/30-network-tools.yaml"), "{w}");
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/30-network-tools.yaml", "'release:ovn-kubernetes'"));
    assert!(w.message.contains("BuildConfig ovn-kubernetes outputs release:ovn-kubernetes-rhel-9"), "{w}");
    let release = load(dir.path(), &result);
    let tools = release.component("network-tools").unwrap();
    assert!(
        tools.replace.is_empty()
            || !tools.replace.values().any(|t| *t == Target::Member("ovn-kubernetes".into()))
    );
    assert!(!tools.replace.contains_key("registry.ci.openshift.org/ocp/4.13:ovn-kubernetes-rhel-9"));
    // Scheduled no later than a parent: at the child's entry of the list.
    let w = one(&result, WarningKind::BuildOrder, "network-tools (batch 2) takes release:tools");
    assert!(w.file.ends_with(scratch) && w.message.contains("in the same batch"), "{w}");
    assert_eq!(w.line, line_of(dir.path(), scratch, "\"network-tools\""));
    let w =
        one(&result, WarningKind::BuildOrder, "ovn-kubernetes (batch 1) takes release:ovn-kubernetes-base");
    assert_eq!(w.line, line_of(dir.path(), scratch, "\"ovn-kubernetes\""));
    // In no batch; an entry that names no BuildConfig; a source override.
    let w = one(&result, WarningKind::NotInBatch, "driver-toolkit");
    assert_eq!(w.line, line_of(dir.path(), "buildconfigs/10-driver-toolkit.yaml", "name: driver-toolkit"));
    assert_eq!(result.warnings_of(WarningKind::NotInBatch).len(), 1);
    let w = one(&result, WarningKind::BatchList, "no-such-buildconfig");
    assert_eq!(w.line, line_of(dir.path(), scratch, "no-such-buildconfig"));
    let w = one(&result, WarningKind::BatchList, "overrideBranch \"my-branch\"");
    assert_eq!(w.line, line_of(dir.path(), scratch, "my-branch"));
    // bond-cni is scheduled under its BuildConfig name.
    let bond = result.components.iter().find(|c| c.buildconfig == "bond-cni").unwrap();
    assert_eq!(bond.batch.as_deref(), Some("batch 1"));
    let os = result.components.iter().find(|c| c.name == "fedora-coreos").unwrap();
    assert_eq!(os.batch.as_deref(), Some("the OS build"));
}

#[test]
fn without_templates_the_order_is_not_checked() {
    let dir = fixture();
    std::fs::remove_dir_all(dir.path().join("argo-workflows")).unwrap();
    let result = import(dir.path(), None);
    assert!(result.batches.is_empty());
    one(&result, WarningKind::BatchList, "the build order is not checked");
    assert!(result.warnings_of(WarningKind::NotInBatch).is_empty());
    load(dir.path(), &result);
}

#[test]
fn errors_name_file_and_line() {
    let cases: Vec<(&str, &str, String, &str)> = vec![
        (
            "git is a list",
            "buildconfigs/10-installer.yaml",
            file("buildconfigs/10-installer.yaml").replace(
                "    git:\n      uri: 'https://github.com/openshift/installer'\n      ref: release-4.15\n",
                "    git: [a, b]\n",
            ),
            "git: [a, b]",
        ),
        (
            "not YAML",
            "buildconfigs/10-installer.yaml",
            file("buildconfigs/10-installer.yaml")
                .replace("  name: installer\n", "  name: installer\n  name: again\n"),
            "name: again",
        ),
        (
            "unquoted build arg",
            "buildconfigs/10-installer.yaml",
            file("buildconfigs/10-installer.yaml").replace("value: okd", "value: 42"),
            "value: 42",
        ),
        (
            "missing resource",
            "buildconfigs/kustomization.yaml",
            KUSTOMIZATION.replace("  - 10-ironic.yaml\n", "  - 10-ironic.yaml\n  - 10-gone.yaml\n"),
            "10-gone.yaml",
        ),
    ];
    for (case, file, text, needle) in cases {
        let dir = fixture();
        write(dir.path(), &[(file, text)]);
        let error = import_payload_pipeline(dir.path(), &ImportOptions::default()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidInput, "{case}: {error}");
        let location = error.location().unwrap_or_else(|| panic!("{case}: no location: {error}"));
        assert_eq!(location.file, dir.path().join(file), "{case}");
        assert_eq!(location.line, line_of(dir.path(), file, needle), "{case}: {error}");
        assert!(error.help().is_some_and(|h| !h.is_empty()), "{case}: a fix is offered");
    }
}

#[test]
fn not_a_checkout_or_unknown_variant() {
    let error = import_payload_pipeline(Path::new("/no/such/dir"), &ImportOptions::default()).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert!(error.help().is_some());
    let empty = tempfile::tempdir().unwrap();
    let error = import_payload_pipeline(empty.path(), &ImportOptions::default()).unwrap_err();
    assert!(error.message().contains("buildconfigs/kustomization.yaml"), "{error}");
    assert!(error.help().unwrap().contains("okd-payload-pipeline"));
    let dir = fixture();
    let options = ImportOptions { variant: Some("socs".into()), ..Default::default() };
    let error = import_payload_pipeline(dir.path(), &options).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidInput);
    assert_eq!(error.help(), Some("known variants: fcos"));
    let options = ImportOptions { version: Some("4.15".into()), ..Default::default() };
    assert!(import_payload_pipeline(dir.path(), &options).is_err());
}

#[test]
fn options_set_release_values() {
    let dir = fixture();
    let options = ImportOptions {
        name: Some("okd-test".into()),
        version: Some("4.15.0-0.okd-2024-05-10".into()),
        registry: Some("quay.io".into()),
        repository: Some("example/okd".into()),
        ..Default::default()
    };
    let result = import_payload_pipeline(dir.path(), &options).unwrap();
    let release = load(dir.path(), &result);
    assert_eq!(release.name, "okd-test");
    assert_eq!(release.version.to_string(), "4.15.0-0.okd-2024-05-10");
    assert_eq!(release.output_image("cli"), "quay.io/example/okd:cli");
}

#[test]
fn unlisted_and_other_resources_are_warned() {
    let dir = fixture();
    write(
        dir.path(),
        &[
            ("buildconfigs/99-stray.yaml", bc("stray", "", Some("https://github.com/x/y"), "", "", "stray")),
            (
                "buildconfigs/07-secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: token\n".into(),
            ),
            (
                "buildconfigs/kustomization.yaml",
                KUSTOMIZATION.replace("  - 06-cli.yaml\n", "  - 06-cli.yaml\n  - 07-secret.yaml\n"),
            ),
        ],
    );
    let result = import(dir.path(), None);
    let w = one(&result, WarningKind::Kustomize, "not listed in");
    assert!(w.file.ends_with("99-stray.yaml"));
    let w = one(&result, WarningKind::OtherResource, "Secret token");
    assert_eq!(w.line, 4);
    assert!(result.components.iter().all(|c| c.name != "stray"));
}

#[test]
fn a_buildconfig_without_source_is_skipped() {
    let dir = fixture();
    let text = file("buildconfigs/10-cluster-dns-operator.yaml").replace("    type: Git\n    git:\n      uri: 'https://github.com/openshift/cluster-dns-operator.git'\n      ref: release-4.15\n", "");
    write(dir.path(), &[("buildconfigs/10-cluster-dns-operator.yaml", text)]);
    let result = import(dir.path(), None);
    assert_eq!(result.buildconfigs, 16);
    assert_eq!(result.components.len() + result.skipped.len(), 16);
    assert_eq!(result.skipped.len(), 1);
    assert!(result.skipped[0].reason.contains("no git source"), "{:?}", result.skipped);
    one(&result, WarningKind::Skipped, "cluster-dns-operator");
    load(dir.path(), &result);
}

fn corpus() -> Option<PathBuf> {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        eprintln!("skipping: OKD_SHARED is not set");
        return None;
    };
    Some(PathBuf::from(shared).join("corpus/okd-payload-pipeline/main-01eb331"))
}

#[test]
fn the_corpus_repository_imports() {
    let Some(dir) = corpus() else { return };
    let result = import(&dir, None);
    // Every BuildConfig is accounted for.
    assert_eq!(result.buildconfigs, 189);
    assert_eq!(result.components.len() + result.skipped.len(), 189, "{:#?}", result.skipped);
    assert_eq!(result.components.len(), 189);
    let release = load(&dir, &result);
    assert_eq!(release.components.len(), 189);
    assert_eq!(release.version.to_string(), "4.15.0-0.okd");
    assert_eq!(result.components.iter().filter(|c| !c.payload).count(), 6);
    // The network-tools defect, at its reference.
    let w =
        one(&result, WarningKind::MissingParent, "BuildConfig network-tools takes release:ovn-kubernetes,");
    assert_eq!(w.file, dir.join("buildconfigs/30-network-tools.yaml"));
    assert_eq!(w.line, line_of(&dir, "buildconfigs/30-network-tools.yaml", "'release:ovn-kubernetes'"));
    assert!(w.message.contains("BuildConfig ovn-kubernetes outputs release:ovn-kubernetes-rhel-9"), "{w}");
    assert!(w.message.contains("batch 3 too"), "{w}");
    assert!(w.to_string().starts_with(&format!("{}:15: ", w.file.display())), "{w}");
    let tools = release.component("network-tools").unwrap();
    assert!(tools.replace.is_empty(), "{:?}", tools.replace);
    assert_eq!(tools.last_from, Some(Target::Member("tools".into())));
    // The five BuildConfigs no batch builds (issue #47, kuryr, driver-toolkit).
    let mut unscheduled: Vec<String> =
        result.components.iter().filter(|c| c.batch.is_none()).map(|c| c.buildconfig.clone()).collect();
    unscheduled.sort();
    assert_eq!(
        unscheduled,
        [
            "driver-toolkit",
            "kuryr-cni",
            "kuryr-cni-rpm-base",
            "kuryr-controller",
            "nutanix-cloud-controller-manager"
        ]
    );
    assert_eq!(result.warnings_of(WarningKind::NotInBatch).len(), 5);
    // 3 + 1 initial, 167 + 8 + 4 listed, the OS.
    let sizes: Vec<usize> = result.batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 1, 167, 8, 4, 1]);
    assert_eq!(result.placeholders.len(), 5);
    assert_eq!(result.warnings_of(WarningKind::Placeholder).len(), 5);
    assert_eq!(result.warnings_of(WarningKind::Renamed).len(), 3);
    assert_eq!(result.warnings_of(WarningKind::ForkedDockerfile).len(), 17);
    assert!(
        result.warnings_of(WarningKind::BatchList).is_empty(),
        "{:#?}",
        result.warnings_of(WarningKind::BatchList)
    );
    // 34 builder names and 5 cli names are release-wide.
    assert_eq!(release.replace.values().filter(|t| **t == Target::Member("builder".into())).count(), 34);
    assert_eq!(release.replace.values().filter(|t| **t == Target::Member("cli".into())).count(), 5);
    eprintln!("{}", result.summary());
}

#[test]
fn the_corpus_variants_import() {
    let Some(dir) = corpus() else { return };
    for variant in ["fcos-multiarch", "fcos", "scos"] {
        let result = import(&dir, Some(variant));
        let release = load(&dir, &result);
        assert_eq!(result.components.len(), 189, "{variant}");
        let tags = |name: &str| release.component(name).unwrap().build_args.get("TAGS").cloned();
        let want = if variant == "scos" { "scos" } else { "fcos" };
        assert_eq!(tags("machine-config-operator").as_deref(), Some(want), "{variant}");
        let bm = if variant == "fcos-multiarch" { "fcos libvirt baremetal" } else { want };
        assert_eq!(tags("baremetal-installer").as_deref(), Some(bm), "{variant}");
        assert_eq!(release.streams.contains_key("fedora-coreos"), variant != "scos", "{variant}");
        one(&result, WarningKind::MissingParent, "network-tools takes release:ovn-kubernetes,");
        eprintln!("{}", result.summary());
    }
}

#[test]
fn unsupported_kustomize_is_warned() {
    let dir = fixture();
    let kustomization = KUSTOMIZATION.replace(
        "resources:\n",
        "  - patch: |-\n      - op: add\n        path: /metadata/labels/x\n        value: y\n    target:\n      kind: BuildConfig\n      labelSelector: \"tier in (a,b)\"\ncommonLabels:\n  app: okd\nresources:\n",
    );
    let dns = file("buildconfigs/10-cluster-dns-operator.yaml").replace("    images: []\n", "");
    write(
        dir.path(),
        &[
            ("buildconfigs/kustomization.yaml", kustomization),
            ("buildconfigs/10-cluster-dns-operator.yaml", dns),
        ],
    );
    let result = import(dir.path(), None);
    let k = "buildconfigs/kustomization.yaml";
    let w = one(&result, WarningKind::Kustomize, "label selector \"tier in (a,b)\" is not supported");
    assert_eq!(w.line, line_of(dir.path(), k, "tier in"));
    let w = one(&result, WarningKind::Kustomize, "`commonLabels` is not applied");
    assert_eq!(w.line, line_of(dir.path(), k, "commonLabels"));
    // A JSON 6902 add on a path the BuildConfig lacks: kustomize fails, the import says where.
    let failed = find(&result, WarningKind::Kustomize, "on BuildConfig cluster-dns-operator");
    assert_eq!(failed.len(), 2, "{:#?}", result.warnings);
    assert!(failed[0].message.contains("/spec/source/images does not exist"), "{}", failed[0]);
    assert!(failed.iter().all(|w| w.file.ends_with(k)));
    let release = load(dir.path(), &result);
    let builder_name = "registry.ci.openshift.org/ocp/builder:rhel-9-golang-1.21-openshift-4.15";
    assert_eq!(
        release.component("cluster-dns-operator").unwrap().replace[builder_name],
        Target::Image(builder_name.into())
    );
}

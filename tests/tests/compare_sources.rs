#![allow(clippy::unwrap_used)]
//! `okd compare sources` (okd_core::compare::sources): small in-memory releases for each kind of
//! difference, then the real corpus (OKD_SHARED): the 4.22 ocp-build-data import (okd variant)
//! against the ci-operator configs of the branch that promotes to 4.22 and the okd-payload-pipeline
//! import, planned offline.

use std::{collections::HashMap, path::Path, sync::Arc};

use okd_core::{
    compare::sources::{Field, Input, SourcesComparison, compare, normalize_url},
    manifest::{LoadOptions, Release, load_str},
    plan::{Plan, PlanOptions, plan, sources_from_memory},
    source::{SourceState, Sources},
};

fn release(path: &Path, yaml: &str) -> Arc<Release> {
    Arc::new(load_str(path, yaml, &LoadOptions::default()).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
}

/// Plans `yaml`; components named in `dockerfiles` are read from memory, the others are unread.
fn planned(yaml: &str, dockerfiles: &[(&str, &str)]) -> Plan {
    let r = release(Path::new("r.yaml"), yaml);
    let files: HashMap<String, String> =
        dockerfiles.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    plan(r.clone(), &sources_from_memory(&r, &files), &PlanOptions::default()).unwrap()
}

fn compare2(a: &Plan, b: &Plan) -> SourcesComparison {
    compare(&[Input { label: "a.yaml".into(), plan: a }, Input { label: "b.yaml".into(), plan: b }])
}

/// Doozer style: positional parents, stream aliased to the CI builder name.
const DOOZER: &str = r#"name: r
version: 4.22.0
output: { registry: quay.io, repository: okd/r }
streams:
  golang: { image: "quay.io/art/golang:1.24", aliases: ["registry.ci.openshift.org/ocp/builder:golang-1.24"] }
components:
  - { name: base, source: { git: "https://github.com/openshift/images", ref: release-4.22 }, dockerfile: base/Dockerfile }
  - name: cli
    source: { git: "https://github.com/openshift/oc", ref: release-4.22 }
    dockerfile: images/cli/Dockerfile.rhel
    from: { builders: ["stream:golang"], final: "member:base" }
"#;

/// The fields that differ, per component.
fn differing(c: &SourcesComparison) -> Vec<(String, Vec<Field>)> {
    c.differences.iter().map(|d| (d.component.clone(), d.fields.iter().map(|f| f.field).collect())).collect()
}

/// `DOOZER` with `from` replaced in the text, compared with `DOOZER`, both unread.
fn against_doozer(from: &str, to: &str) -> SourcesComparison {
    let changed = DOOZER.replace(from, to);
    assert_ne!(changed, DOOZER, "{from} is not in the manifest");
    compare2(&planned(DOOZER, &[]), &planned(&changed, &[]))
}

#[test]
fn identical_releases_agree() {
    let c = compare2(&planned(DOOZER, &[]), &planned(DOOZER, &[]));
    assert!(c.agree(), "{}", c.to_table());
    assert_eq!((c.summary.components, c.summary.in_all, c.pairs[0].common), (2, 2, 2));
    assert!(c.to_table().starts_with("agree: 2 components in 2 inputs"), "{}", c.to_table());
}

#[test]
fn a_component_only_in_one_input() {
    let extra = format!(
        "{DOOZER}  - {{ name: tools, source: {{ git: \"https://github.com/openshift/oc\", ref: release-4.22 }} }}\n"
    );
    let c = compare2(&planned(&extra, &[]), &planned(DOOZER, &[]));
    assert!(!c.agree());
    assert_eq!(c.only_in.len(), 1);
    assert_eq!(
        (c.only_in[0].inputs.as_slice(), c.only_in[0].components.as_slice()),
        (&[0][..], &["tools".to_owned()][..])
    );
    let p = &c.pairs[0];
    assert_eq!((p.common, p.only_a, p.only_b, p.differing), (2, 1, 0, 0));
    assert!(c.differences.is_empty());
}

#[test]
fn each_field_difference_is_found_with_both_values() {
    let cases = [
        ("images/cli/Dockerfile.rhel", "images/cli/Dockerfile.okd", Field::Dockerfile),
        ("ref: release-4.22 }\n    dockerfile: images", "ref: main }\n    dockerfile: images", Field::GitRef),
        ("openshift/oc\"", "okd-project/oc\"", Field::GitUrl),
        (
            "dockerfile: images/cli/Dockerfile.rhel",
            "dockerfile: Dockerfile.rhel\n    context: images/cli",
            Field::Context,
        ),
        ("    from:", "    build_args: { TAGS: scos }\n    from:", Field::BuildArgs),
    ];
    for (from, to, field) in cases {
        let c = against_doozer(from, to);
        assert_eq!(differing(&c), [("cli".to_owned(), vec![field])], "{from} -> {to}");
        assert_eq!(c.summary.fields[&field], 1);
        assert_eq!(c.pairs[0].fields[&field], 1);
    }
    let c = against_doozer("    from:", "    build_args: { TAGS: scos }\n    from:");
    let values = &c.differences[0].fields[0].values;
    assert_eq!(values, &[Some("(none)".to_owned()), Some("TAGS=\"scos\"".to_owned())]);
    // Context is its own field: the same Dockerfile from another context differs in context only.
    let c = against_doozer(
        "dockerfile: images/cli/Dockerfile.rhel",
        "dockerfile: Dockerfile.rhel\n    context: images/cli",
    );
    assert_eq!(c.differences[0].fields[0].values, [Some(".".to_owned()), Some("images/cli".to_owned())]);
}

#[test]
fn one_url_written_differently_is_equal() {
    for url in [
        "git@github.com:openshift/oc.git",
        "https://GitHub.com/openshift/oc/",
        "ssh://git@github.com/openshift/oc.git",
    ] {
        assert_eq!(normalize_url(url), "github.com/openshift/oc", "{url}");
        let c = against_doozer("https://github.com/openshift/oc", url);
        assert!(c.agree(), "{url}: {:?}", differing(&c));
    }
    assert_eq!(normalize_url("file:///srv/git/openshift/oc.git"), "file:///srv/git/openshift/oc");
    assert_ne!(
        normalize_url("https://github.com/openshift/oc"),
        normalize_url("https://gitlab.com/openshift/oc")
    );
}

#[test]
fn a_different_from_target_is_found() {
    let c = against_doozer("final: \"member:base\"", "final: \"image:quay.io/centos/centos:stream9\"");
    assert_eq!(differing(&c), [("cli".to_owned(), vec![Field::FromFinal, Field::FromTargets])]);
    let values = &c.differences[0].fields[0].values;
    assert_eq!(
        values,
        &[Some("member:base".to_owned()), Some("image:quay.io/centos/centos:stream9".to_owned())]
    );
}

/// ci-operator style: the last FROM by `last_from`, the builder by exact text, its own stream
/// name for the CI builder, and the base as a stream that is the release's own output image.
const CI: &str = r#"name: okd-scos
version: 4.22.0
output: { registry: quay.io, repository: okd/r }
streams:
  ocp_builder_golang: { image: "registry.ci.openshift.org/ocp/builder:golang-1.24" }
  scos_base: { image: "quay.io/okd/r:base" }
components:
  - { name: base, source: { git: "https://github.com/openshift/images", ref: release-4.22 }, dockerfile: base/Dockerfile }
  - name: cli
    source: { git: "git@github.com:openshift/oc.git", ref: release-4.22 }
    dockerfile: images/cli/Dockerfile.rhel
    last_from: "stream:scos_base"
    replace: { "registry.ci.openshift.org/ocp/builder:golang-1.24": "stream:ocp_builder_golang" }
"#;

const CLI_DOCKERFILE: &str = "FROM registry.ci.openshift.org/ocp/builder:golang-1.24 AS b\nRUN make\n\
    FROM registry.ci.openshift.org/ocp/4.22:base\nCOPY --from=b /oc /oc\n";

#[test]
fn positional_and_by_text_mappings_to_the_same_images_agree() {
    // Declared only (unread), then from the Dockerfile.
    let c = compare2(&planned(DOOZER, &[]), &planned(CI, &[]));
    assert!(c.agree(), "{:?}", c.differences);
    let read = [("cli", CLI_DOCKERFILE), ("base", "FROM quay.io/centos/centos:stream9\n")];
    let c = compare2(&planned(DOOZER, &read), &planned(CI, &read));
    assert!(c.agree(), "{:?}", c.differences);
    assert_eq!(c.inputs[0].dockerfiles_read, 2);
    // Another builder in one Dockerfile shows in the targets, not in the final.
    let other = CLI_DOCKERFILE.replace("AS b", "AS b\nFROM quay.io/other/tool:1 AS t");
    let ci = CI
        .replace("\"stream:scos_base\"", "\"stream:scos_base\"\n    from: null")
        .replace("    from: null\n", "");
    let c = compare2(&planned(DOOZER, &read), &planned(&ci, &[("cli", &other), read[1]]));
    assert_eq!(differing(&c), [("cli".to_owned(), vec![Field::FromTargets])]);
    assert_eq!(
        c.differences[0].fields[0].values[1].as_deref(),
        Some(
            "image:quay.io/other/tool:1, image:registry.ci.openshift.org/ocp/builder:golang-1.24, member:base"
        )
    );
}

#[test]
fn the_table_fits_100_columns_and_the_markdown_and_json_have_everything() {
    let many = |reference: &str| {
        let mut yaml =
            "name: r\nversion: 1.0.0\noutput: { registry: q, repository: o/r }\ncomponents:\n".to_owned();
        for i in 0..30 {
            yaml += &format!(
                "  - {{ name: component-with-a-rather-long-name-{i}, source: {{ git: \"https://github.com/o/r{i}\", ref: {reference} }}, build_args: {{ DESCRIPTION: \"{}\" }} }}\n",
                reference.repeat(20)
            );
        }
        planned(&yaml, &[])
    };
    let (a, b) = (many("main"), many("release-4.22"));
    let c = compare2(&a, &b);
    assert_eq!(c.summary.differing, 30);
    let table = c.to_table();
    assert!(table.lines().all(|l| l.chars().count() <= 100), "{table}");
    assert!(table.contains("... 100 more rows; see --output json"), "{table}");
    let markdown = c.to_markdown();
    assert!(markdown.starts_with("# Sources comparison\n\ndiffer: 30 components"), "{markdown}");
    assert!(markdown.contains("| component | field | #1 a.yaml | #2 b.yaml |"), "{markdown}");
    assert_eq!(markdown.matches("| git_ref | `").count(), 30);
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["summary"]["fields"]["git_ref"], 30);
    let fields = &json["differences"][0]["fields"];
    assert_eq!((&fields[0]["field"], &fields[1]["field"]), (&"build_args".into(), &"git_ref".into()));
    assert_eq!(fields[1]["values"], serde_json::json!(["main", "release-4.22"]));
    assert_eq!(json["pairs"][0]["common"], 30);
}

/// The shared corpus, or why the test is skipped.
fn shared() -> Option<std::path::PathBuf> {
    let Some(shared) = std::env::var_os("OKD_SHARED") else {
        println!("skipped: OKD_SHARED is not set");
        return None;
    };
    Some(std::path::PathBuf::from(shared).join("corpus"))
}

/// Plans `manifest` offline: no source is read, as with an empty git cache.
fn offline(path: &Path, manifest: &str) -> Plan {
    let r = release(path, manifest);
    let unread = |name: &str| (name.to_owned(), SourceState::Unreadable { reason: "offline".to_owned() });
    let sources = Sources(r.components.iter().map(|c| unread(&c.name)).collect());
    plan(r, &sources, &PlanOptions::default()).unwrap()
}

#[test]
fn the_corpus_sources_of_truth_for_4_22_differ() {
    let Some(corpus) = shared() else { return };
    let obd = okd_core::doozer::import(
        &corpus.join("ocp-build-data/openshift-4.22"),
        &okd_core::doozer::ImportOptions { variant: Some("okd".into()), ..Default::default() },
    )
    .unwrap();
    // The ci-operator configs of the branch that promotes to origin/scos-4.22: main, okd-scos.
    let config = corpus.join("openshift-release/ci-operator/config/openshift");
    let mut files: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .flat_map(|repo| std::fs::read_dir(repo.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|f| f.to_string_lossy().ends_with("-main__okd-scos.yaml"))
        .collect();
    files.sort();
    let ci = backend_prow::import::import_ci_operator(&files, &Default::default()).unwrap();
    let pp = backend_argo::import::import_payload_pipeline(
        &corpus.join("okd-payload-pipeline/main-01eb331"),
        &Default::default(),
    )
    .unwrap();
    let plans = [
        offline(Path::new("ocp-build-data-4.22-okd.yaml"), &obd.manifest),
        offline(Path::new("ci-operator-main-okd-scos.yaml"), &ci.manifest),
        offline(Path::new("okd-payload-pipeline.yaml"), &pp.manifest),
    ];
    let labels = ["ocp-build-data-4.22-okd", "ci-operator-main-okd-scos", "okd-payload-pipeline"];
    let inputs: Vec<Input<'_>> =
        labels.iter().zip(&plans).map(|(l, p)| Input { label: (*l).to_owned(), plan: p }).collect();
    let c = compare(&inputs);
    println!("{}", c.to_table());
    print_numbers(&c);
    assert!(!c.agree());
    let sizes: Vec<(usize, usize)> = c.inputs.iter().map(|i| (i.components, i.dockerfiles_read)).collect();
    assert_eq!(sizes, [(250, 0), (10, 0), (189, 0)]);
    let s = &c.summary;
    assert_eq!((s.components, s.in_all, s.only_in_some, s.differing), (285, 8, 277, 156));
    // Per pair: common, only in the first, only in the second, differing, then per field.
    let pairs: Vec<[usize; 11]> = c
        .pairs
        .iter()
        .map(|p| {
            let f = |field| p.fields[&field];
            let [d, ctx, args, url, r, fin, all] = Field::ALL.map(f);
            [p.common, p.only_a, p.only_b, p.differing, d, ctx, args, url, r, fin, all]
        })
        .collect();
    assert_eq!(
        pairs,
        [
            // ocp-build-data and ci-operator name the same Dockerfiles; ci-operator passes
            // TAGS=scos to all, builds from main and still pins older base-stream9 images.
            [9, 241, 1, 9, 0, 1, 9, 0, 9, 6, 7],
            // okd-payload-pipeline is 4.15 (release-4.15 refs everywhere) with forked
            // CentOS/OKD Dockerfiles and a base named `base`.
            [155, 95, 34, 155, 35, 0, 10, 9, 155, 152, 154],
            [8, 2, 181, 8, 5, 1, 8, 0, 8, 6, 7],
        ]
    );
    assert_eq!(
        c.only_in.iter().find(|o| o.inputs == [1]).map(|o| o.components.clone()),
        Some(vec!["base-stream9".to_owned()])
    );
    let value = |component: &str, field: Field| {
        let d = c.differences.iter().find(|d| d.component == component)?;
        Some(d.fields.iter().find(|f| f.field == field)?.values.clone())
    };
    let some = |v: &[Option<&str>]| Some(v.iter().map(|v| v.map(str::to_owned)).collect::<Vec<_>>());
    // ocp-build-data names the RHEL Dockerfiles; the pipeline builds forked CentOS ones.
    assert_eq!(
        value("tests", Field::Dockerfile),
        some(&[
            Some("images/tests/Dockerfile.rhel"),
            Some("images/tests/Dockerfile.rhel"),
            Some("images/tests/Dockerfile.centos9")
        ])
    );
    assert_eq!(
        value("ironic", Field::Dockerfile),
        some(&[Some("Dockerfile.scos"), None, Some("Dockerfile.okd")])
    );
    let okd_dockerfiles = c
        .differences
        .iter()
        .filter_map(|d| d.fields.iter().find(|f| f.field == Field::Dockerfile))
        .filter(|f| f.values[2].as_deref().is_some_and(|v| v.contains("centos9") || v.ends_with(".okd")))
        .count();
    assert_eq!(okd_dockerfiles, 15);
    // The same Dockerfile path, from a different context.
    assert_eq!(
        value("deployer", Field::Context),
        some(&[Some("images/deployer"), Some("."), Some("images/deployer")])
    );
    // Repositories that moved since 4.15: five CSI operators went into openshift/csi-operator.
    let moved = c.differences.iter().filter_map(|d| d.fields.iter().find(|f| f.field == Field::GitUrl));
    let csi = moved.filter(|f| f.values[0].as_deref() == Some("github.com/openshift/csi-operator")).count();
    assert_eq!(csi, 5);
    // FROMs mapped three ways agree where the images agree: ocp-build-data's positional
    // `stream:rhel-9-golang` is ci-operator's `inputs.*.as` builder (one stream alias), and
    // ci-operator's promoted origin/scos-4.22:tools is the member tools.
    assert_eq!(value("tests", Field::FromFinal), None);
    assert_eq!(value("tests", Field::FromTargets).map(|v| v[0] == v[1]), Some(true));
    assert_eq!(
        value("cli", Field::FromFinal),
        some(&[
            Some("member:openshift-enterprise-base-rhel9-minimal"),
            Some("image:registry.ci.openshift.org/origin/scos-4.20:base-stream9"),
            Some("member:base")
        ])
    );
    assert_eq!(
        value("keepalived-ipfailover", Field::FromFinal).map(|v| v[1].clone()),
        Some(Some("member:base-stream9".to_owned()))
    );
    // ocp-build-data's okd variant passes no build args; ci-operator passes TAGS=scos.
    assert_eq!(
        value("machine-config-operator", Field::BuildArgs),
        some(&[Some("(none)"), Some("TAGS=\"scos\""), Some("TAGS=\"okd\"")])
    );
    let markdown = c.to_markdown();
    assert!(
        markdown.contains("| #1-#3 | 155 | 95 | 34 | 155 | 35 | 0 | 10 | 9 | 155 | 152 | 154 |"),
        "{markdown}"
    );
    assert!(c.to_table().lines().all(|l| l.chars().count() <= 100));
}

/// The numbers for the README.
fn print_numbers(c: &SourcesComparison) {
    for (i, input) in c.inputs.iter().enumerate() {
        println!("#{} {}: {} components", i + 1, input.label, input.components);
    }
    let s = &c.summary;
    println!(
        "{} names, {} in all, {} only in some, {} differing",
        s.components, s.in_all, s.only_in_some, s.differing
    );
    for o in &c.only_in {
        println!("only in {:?}: {}", o.inputs, o.components.len());
    }
    for p in &c.pairs {
        let fields: Vec<String> = p.fields.iter().map(|(f, n)| format!("{} {n}", f.as_str())).collect();
        println!(
            "#{}-#{}: common {}, only #{} {}, only #{} {}, differing {}: {}",
            p.a + 1,
            p.b + 1,
            p.common,
            p.a + 1,
            p.only_a,
            p.b + 1,
            p.only_b,
            p.differing,
            fields.join(", ")
        );
    }
    let fields: Vec<String> = s.fields.iter().map(|(f, n)| format!("{} {n}", f.as_str())).collect();
    println!("over all inputs: {}", fields.join(", "));
}

#![allow(clippy::unwrap_used)]
//! Planning from in-memory Dockerfiles: order, levels, rewriting, fingerprints, offline sources.

use std::{collections::HashMap, fmt::Write, path::Path, sync::Arc};

use proptest::prelude::*;

use super::*;
use crate::{
    manifest::{LoadOptions, load_str},
    source::SourceState,
};

fn release(text: &str) -> Arc<Release> {
    Arc::new(load_str(Path::new("r.yaml"), text, &LoadOptions::default()).unwrap())
}

fn dockerfiles(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

const MINI: &str = r#"name: r
version: 1.0.0
output: { registry: reg:5000, repository: okd/r }
streams: { bb: { image: localhost/bb:1, aliases: [up/os:9] } }
replace: { "up/builder:1": member:builder, "up/base:1": member:base }
components:
  - { name: installer, source: { path: x }, payload: true, replace: { "up/cli:1": member:cli } }
  - { name: cli, source: { path: x }, payload: true }
  - { name: base, source: { path: x } }
  - { name: builder, source: { path: x } }
"#;

fn mini_files() -> HashMap<String, String> {
    dockerfiles(&[
        ("builder", "FROM up/os:9\nRUN true\n"),
        ("base", "FROM up/os:9\n"),
        ("cli", "FROM up/builder:1 AS b\nRUN go-build\nFROM up/base:1\nCOPY --from=b /oc /oc\n"),
        ("installer", "FROM up/builder:1 AS b\nFROM up/base:1\nCOPY --from=up/cli:1 /oc /oc\n"),
    ])
}

#[test]
fn plans_in_build_order_with_levels_rewrites_and_fingerprints() {
    let r = release(MINI);
    let p = plan(r.clone(), &sources_from_memory(&r, &mini_files()), &PlanOptions::default()).unwrap();
    let order: Vec<_> = p.components.iter().map(|c| (c.name.as_str(), c.level)).collect();
    assert_eq!(order, [("base", 0), ("builder", 0), ("cli", 1), ("installer", 2)]);
    let installer = p.component("installer").unwrap();
    // Parents are listed in manifest order.
    assert_eq!(installer.depends_on, ["cli", "base", "builder"]);
    assert_eq!(
        installer.rewritten.as_deref(),
        Some(
            "FROM reg:5000/okd/r:builder AS b\nFROM reg:5000/okd/r:base\nCOPY --from=reg:5000/okd/r:cli /oc /oc\n"
        )
    );
    assert_eq!(p.critical_path, ["base", "cli", "installer"]);
    assert!(p.components.iter().all(|c| c.fingerprint.as_ref().is_some_and(|f| f.starts_with("sha256:"))));
    assert_eq!(installer.image, "reg:5000/okd/r:installer");
}

#[test]
fn a_member_cycle_points_at_the_manifest() {
    let text = MINI.replace(
        "{ name: base, source: { path: x } }",
        "{ name: base, source: { path: x }, last_from: member:installer }",
    );
    let r = release(&text);
    let mut files = mini_files();
    files.insert("base".into(), "FROM up/os:9 AS os\nFROM something\n".into());
    let e = plan(r.clone(), &sources_from_memory(&r, &files), &PlanOptions::default()).unwrap_err();
    assert!(e.message().contains("cycle: "), "{e}");
    assert!(e.message().contains("installer") && e.message().contains("base"), "{e}");
    let at = e.location().unwrap();
    assert_eq!(at.file, Path::new("r.yaml"));
    assert!((7..=10).contains(&at.line), "{at}");
}

#[test]
fn an_unreadable_source_uses_explicit_parents_and_has_no_fingerprint() {
    let text = MINI.replace("{ name: cli, source: { path: x }, payload: true }", "{ name: cli, source: { path: x }, payload: true, from: { builders: [member:builder], final: member:base } }");
    let r = release(&text);
    let mut sources = sources_from_memory(&r, &mini_files());
    sources.0.insert("cli".into(), SourceState::Unreadable { reason: "offline".into() });
    let p = plan(r, &sources, &PlanOptions::default()).unwrap();
    let cli = p.component("cli").unwrap();
    assert_eq!(cli.depends_on, ["base", "builder"]);
    assert_eq!((cli.fingerprint.as_deref(), cli.stages.len()), (None, 0));
    assert_eq!(p.component("installer").unwrap().fingerprint, None, "a dependent of an unknown is unknown");
    assert!(p.component("base").unwrap().fingerprint.is_some());
    assert_eq!(p.unreadable().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["cli"]);
}

/// A random DAG release: component `i` depends on the listed lower-numbered components, each
/// through its own upstream FROM text and a `replace` entry.
fn dag_release(parents: &[Vec<usize>]) -> (String, HashMap<String, String>) {
    let mut text =
        String::from("name: p\nversion: 1.0.0\noutput: { registry: r, repository: o/p }\ncomponents:\n");
    let mut files = HashMap::new();
    for (i, ps) in parents.iter().enumerate() {
        let mut replace = String::new();
        let mut df = String::from("ARG V=1\n");
        for (k, p) in ps.iter().enumerate() {
            let _ = write!(replace, "\"up/c{p}:v\": member:c{p}, ");
            let _ = writeln!(df, "FROM up/c{p}:v AS s{k}\nRUN build {i} {k}");
        }
        let _ = writeln!(
            df,
            "FROM up/final:$V\nCOPY --from={} /a /a",
            if ps.is_empty() { "up/tools:1" } else { "s0" }
        );
        let _ = writeln!(
            text,
            "  - {{ name: c{i}, source: {{ path: x }}, replace: {{ {replace}}}, build_args: {{ A: x }} }}"
        );
        files.insert(format!("c{i}"), df);
    }
    (text, files)
}

fn fingerprints(text: &str, files: &HashMap<String, String>) -> HashMap<String, String> {
    let r = release(text);
    let p = plan(r.clone(), &sources_from_memory(&r, files), &PlanOptions::default()).unwrap();
    p.components.into_iter().map(|c| (c.name, c.fingerprint.unwrap())).collect()
}

fn arb_dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (2usize..14).prop_flat_map(|n| {
        (0..n)
            .map(|i| proptest::sample::subsequence((0..i).collect::<Vec<_>>(), 0..=i.min(3)))
            .collect::<Vec<_>>()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Changing one input changes the fingerprint of that component and of its dependents, and
    /// of no other.
    #[test]
    fn one_changed_input_changes_exactly_the_component_and_its_dependents(
        dag in arb_dag(), pick in any::<prop::sample::Index>(), which in 0usize..3,
    ) {
        let (text, files) = dag_release(&dag);
        let before = fingerprints(&text, &files);
        let target = pick.index(dag.len());
        let name = format!("c{target}");
        let (mut text2, mut files2) = (text.clone(), files.clone());
        let line = text.lines().find(|l| l.contains(&format!("name: {name},"))).unwrap();
        match which {
            0 => files2.get_mut(&name).unwrap().push_str("RUN echo changed\n"),
            1 => text2 = text.replace(line, &line.replace("A: x", "A: y")),
            _ => text2 = text.replace(line, &line.replace("build_args", "arches: [arm64], build_args")),
        }
        let after = fingerprints(&text2, &files2);
        // The dependents closure of `target`, computed independently of the graph module.
        let mut affected = vec![false; dag.len()];
        affected[target] = true;
        for i in 0..dag.len() {
            if dag[i].iter().any(|&p| affected[p]) { affected[i] = true; }
        }
        for (i, hit) in affected.iter().enumerate() {
            let n = format!("c{i}");
            prop_assert_eq!(before[&n] != after[&n], *hit, "component {} (changed {}, input {})", n, name, which);
        }
    }
}

#![allow(clippy::unwrap_used)]
use std::path::Path;

use super::*;

pub(crate) const GOOD: &str = r#"name: okd-mini
version: 4.17.0-0.okd-mini
variant: scos
arches: [amd64]
output: { registry: 127.0.0.1:5000, repository: okd/okd-mini }
streams:
  busybox: { image: localhost/okd-mini/busybox:1.36, aliases: ["quay.io/centos/centos:stream9"] }
replace:
  "registry.ci.openshift.org/ocp/4.17:base-rhel9": member:base
components:
  - name: base
    source: { path: components/base }
  - name: cli
    source: { git: "file:///tmp/cli", ref: main }
    payload: true
    arches: [amd64, arm64]
    build_args: { TAGS: ocp }
    replace: { "quay.io/openshift/origin-cli:latest": member:base }
    from: { builders: [stream:busybox], final: member:base }
    variants: { scos: { dockerfile: Dockerfile.scos, build_args: { TAGS: scos } } }
"#;

fn load_err(text: &str) -> crate::Error {
    load_str(Path::new("release.yaml"), text, &LoadOptions::default()).unwrap_err()
}

fn load_ok(text: &str, variant: Option<&str>) -> Release {
    let options = LoadOptions { variant: variant.map(str::to_owned) };
    load_str(Path::new("dir/release.yaml"), text, &options).unwrap()
}

#[test]
fn a_good_manifest_loads_with_defaults_and_the_variant_applied() {
    let r = load_ok(GOOD, None);
    assert_eq!(r.name, "okd-mini");
    assert_eq!(r.version.to_string(), "4.17.0-0.okd-mini");
    assert_eq!(r.dir, Path::new("dir"));
    assert_eq!(r.output_image("cli"), "127.0.0.1:5000/okd/okd-mini:cli");
    let base = r.component("base").unwrap();
    assert_eq!((base.dockerfile.as_str(), base.context.as_str(), base.payload), ("Dockerfile", ".", false));
    assert_eq!(base.arches, ["amd64"]);
    assert_eq!(base.source, Source::Path("components/base".into()));
    let cli = r.component("cli").unwrap();
    assert_eq!(cli.source, Source::Git { url: "file:///tmp/cli".into(), reference: "main".into() });
    assert_eq!(cli.dockerfile, "Dockerfile.scos", "the scos variant is selected by the manifest");
    assert_eq!(cli.build_args["TAGS"], "scos");
    assert_eq!(cli.arches, ["amd64", "arm64"]);
    let from = cli.from.as_ref().unwrap();
    assert_eq!(from.builders, [Target::Stream("busybox".into())]);
    assert_eq!(from.final_, Some(Target::Member("base".into())));
    assert_eq!(r.replace["registry.ci.openshift.org/ocp/4.17:base-rhel9"], Target::Member("base".into()));
    assert_eq!(cli.declared_at.line, 13);
}

#[test]
fn the_variant_can_be_overridden_and_components_without_it_keep_their_base_values() {
    let text = GOOD.replace(
        "  - name: base\n    source: { path: components/base }\n",
        "  - name: base\n    source: { path: components/base }\n    variants: { okd: { context: okd } }\n",
    );
    let r = load_ok(&text, Some("okd"));
    let cli = r.component("cli").unwrap();
    assert_eq!(r.variant.as_deref(), Some("okd"));
    assert_eq!((cli.dockerfile.as_str(), cli.build_args["TAGS"].as_str()), ("Dockerfile", "ocp"));
    assert_eq!(r.component("base").unwrap().context, "okd");
}

/// A variant no component defines would silently build every default Dockerfile (issue 11):
/// from the manifest it is located, from --variant it names the flag, and both list the known.
#[test]
fn a_variant_no_component_defines_is_an_error_listing_the_known_ones() {
    let e = load_err(&GOOD.replace("variant: scos", "variant: socs"));
    assert_eq!(e.location().map(|l| l.line), Some(3), "{e:?}");
    assert!(e.message().contains("'socs'"), "{e}");
    assert_eq!(e.help(), Some("known variants: scos"));
    for flag in ["socs", ""] {
        let options = LoadOptions { variant: Some(flag.to_owned()) };
        let e = load_str(Path::new("release.yaml"), GOOD, &options).unwrap_err();
        assert!(e.message().starts_with("--variant"), "{e}");
        assert!(
            e.help()
                .is_some_and(|h| h.contains("scos") || h.contains("empty") || h.contains("name a variant")),
            "{e:?}"
        );
    }
}

#[test]
fn variant_maps_merge_and_from_replaces_last_from() {
    let text = GOOD.replace(
        "variants: { scos: { dockerfile: Dockerfile.scos, build_args: { TAGS: scos } } }",
        "variants: { scos: { last_from: stream:busybox, build_args: { X: y } } }",
    );
    let cli = load_ok(&text, None).components.remove(1);
    assert_eq!(cli.from, None);
    assert_eq!(cli.last_from, Some(Target::Stream("busybox".into())));
    assert_eq!(cli.build_args.len(), 2);
}

#[test]
fn errors_point_at_the_offending_value() {
    let cases: &[(&str, &str, u32, &str)] = &[
        ("payload: true", "payload: true\n    colour: blue", 16, "unknown field `colour`"),
        ("payload: true", "payload: maybe", 15, "expected a boolean"),
        ("variant: scos", "variant: scos\nvariant: okd", 4, "duplicate mapping key: variant"),
        ("name: cli", "name: base", 13, "declared twice (first at line 11)"),
        ("name: cli", "name: Cli", 13, "not a DNS-1123 label"),
        ("final: member:base", "final: member:nope", 19, "'member:nope' names no component"),
        ("[stream:busybox]", "[stream:nope]", 19, "'stream:nope' names no stream"),
        ("[stream:busybox]", "[busybox]", 19, "'busybox' is not a target"),
        ("components/base", "../base", 12, "source path '../base' leaves the manifest's folder"),
        ("components/base", "/abs", 12, "source path '/abs' is absolute"),
        (
            "    payload: true",
            "    payload: true\n    last_from: member:base",
            16,
            "sets both `from` and `last_from`",
        ),
        ("4.17.0-0.okd-mini", "4.17", 2, "not strict semver"),
        ("arches: [amd64]", "arches: [x86_64]", 4, "unknown architecture 'x86_64'"),
        ("ref: main", "ref: main, path: x", 14, "exactly one of `path` and `git`"),
        (
            "{ path: components/base }",
            "{ path: components/base, ref: x }",
            12,
            "`ref` applies only to git sources",
        ),
        ("Dockerfile.scos", "../../Dockerfile", 20, "dockerfile '../../Dockerfile' leaves the context"),
        ("repository: okd/okd-mini", "repository: OKD", 5, "not a valid repository path"),
    ];
    for (from, to, line, needle) in cases {
        let text = GOOD.replacen(from, to, 1);
        assert_ne!(text, GOOD, "{from} must occur in GOOD");
        let e = load_err(&text);
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
        assert!(e.message().contains(needle), "{needle:?} not in {e}");
        let at = e.location().unwrap();
        assert_eq!((at.file.as_path(), at.line), (Path::new("release.yaml"), *line), "{e}");
        assert!(e.help().is_some_and(|h| !h.is_empty()));
    }
}

/// An image reference with a space would reach a FROM line no engine reads (issue 11).
#[test]
fn image_references_with_spaces_are_refused() {
    let e =
        load_err(&GOOD.replace("image: localhost/okd-mini/busybox:1.36", "image: \"localhost/x:has space\""));
    assert!(e.message().contains("has spaces"), "{e}");
    assert_eq!(e.location().map(|l| l.line), Some(7), "{e:?}");
    let text = GOOD.replace(": member:base\ncomponents", ": \"image:quay.io/a b\"\ncomponents");
    assert_ne!(text, GOOD);
    let e = load_err(&text);
    assert!(e.message().contains("no spaces"), "{e}");
}

#[test]
fn yaml_errors_speak_the_users_language_at_the_line() {
    let base = GOOD.replace("    payload: true\n", "    payload: PAYLOAD\n");
    for spelling in ["no", "\"no\"", "yes", "on"] {
        let err = load_err(&base.replace("PAYLOAD", spelling));
        assert_eq!(err.message(), "expected a boolean: `true` or `false`", "{spelling}");
        assert_eq!(err.location().unwrap().line, 15, "{spelling}");
        assert!(err.help().unwrap().contains("write true or false"), "{spelling}");
    }
    let err = load_err(&format!("{GOOD}---\nname: other\n"));
    assert!(err.message().starts_with("the manifest holds more than one YAML document"), "{}", err.message());
    assert!(!err.to_string().contains("from_str_multiple"), "{err}");

    // Any reader limit, said as such (not `budget breached: Nodes {...}`).
    let mut options = yaml_options(GOOD.len());
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 5;
    options.budget = Some(budget);
    let e = serde_saphyr::from_str_with_options::<serde_json::Value>(GOOD, options).unwrap_err();
    let err = load::yaml_error(Path::new("release.yaml"), &e);
    assert!(err.message().starts_with("the manifest is over the reader's limit for "), "{}", err.message());
    assert!(!err.message().contains('{'), "{}", err.message());
}

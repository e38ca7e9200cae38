//! Writes the imported release as manifest text. Every string is written as a JSON string, a
//! valid YAML double-quoted scalar, so no value from a config can break the document.

use std::{collections::BTreeMap, fmt::Write, path::Path};

use super::{ReleaseDefaults, map::Comp};

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Text that goes into a `#` comment: one line.
fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

pub(super) fn manifest(
    inputs: &[&Path],
    variant: Option<&str>,
    configs: usize,
    release: &ReleaseDefaults,
    streams: &BTreeMap<String, String>,
    builders: &str,
    comps: &[(String, &Comp)],
) -> String {
    let mut out = String::new();
    let variant = variant.map(|v| format!(" of variant {v}")).unwrap_or_default();
    let _ = writeln!(
        out,
        "# Imported by `okd import ci-operator` from {configs} ci-operator configs{variant} in:"
    );
    for input in inputs {
        let _ = writeln!(out, "#   {}", comment(&input.display().to_string()));
    }
    let _ = writeln!(
        out,
        "# One component per images item; each base image used is a stream at its CI pull spec"
    );
    let _ = writeln!(out, "# (pulling from registry.ci.openshift.org needs a CI login).");
    match &release.stream {
        Some(stream) => {
            let _ = writeln!(
                out,
                "# name, version and output follow the promotion stream {}: check them.",
                comment(stream)
            );
        }
        None => out.push_str("# No config promotes to a named stream: set version and output.\n"),
    }
    let _ = writeln!(out, "name: {}", q(&release.name));
    let _ = writeln!(out, "version: {}", q(&release.version));
    let _ = writeln!(
        out,
        "output: {{ registry: {}, repository: {} }}",
        q(&release.registry),
        q(&release.repository)
    );
    let used: Vec<&str> = comps
        .iter()
        .flat_map(|(_, c)| c.last_from.iter().chain(c.replace.values()))
        .filter_map(|t| t.text.strip_prefix("stream:"))
        .collect();
    let streams: Vec<(&String, &String)> =
        streams.iter().filter(|(n, _)| used.contains(&n.as_str())).collect();
    if !streams.is_empty() {
        out.push_str("streams:\n");
        for (name, image) in streams {
            let _ = writeln!(out, "  {}: {{ image: {} }}", q(name), q(image));
        }
    }
    out.push_str("components:\n");
    out.push_str(builders);
    for (shown, c) in comps {
        let _ = writeln!(out, "  - name: {}  # {}:{}", c.name, comment(shown), c.to_at.line);
        let _ = writeln!(out, "    source: {{ git: {}, ref: {} }}", q(&c.git), q(&c.reference));
        if let Some(context) = &c.context {
            let _ = writeln!(out, "    context: {}", q(context));
        }
        if let Some(dockerfile) = &c.dockerfile {
            let _ = writeln!(out, "    dockerfile: {}", q(dockerfile));
        }
        if c.payload {
            out.push_str("    payload: true\n");
        }
        if let Some(arches) = &c.arches {
            let list: Vec<String> = arches.iter().map(|a| q(a)).collect();
            let _ = writeln!(out, "    arches: [{}]", list.join(", "));
        }
        if !c.build_args.is_empty() {
            let args: Vec<String> = c.build_args.iter().map(|(k, v)| format!("{}: {}", q(k), q(v))).collect();
            let _ = writeln!(out, "    build_args: {{ {} }}", args.join(", "));
        }
        if let Some(from) = &c.last_from {
            let _ = writeln!(out, "    last_from: {}", q(&from.text));
        }
        if !c.replace.is_empty() {
            out.push_str("    replace:\n");
            for (reference, target) in &c.replace {
                let _ = writeln!(out, "      {}: {}", q(reference), q(&target.text));
            }
        }
    }
    out
}

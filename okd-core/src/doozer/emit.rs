//! Writes the imported release as an okd-build manifest. Strings are written as JSON strings,
//! which are valid YAML double-quoted scalars, so no value can break the document.

use std::{collections::BTreeMap, fmt::Write};

use super::{Group, ImportOptions, StreamDef, builders::DoozerBuilders, image::Built};

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| q(s)).collect::<Vec<_>>().join(", "))
}

pub(super) fn manifest(
    group: &Group,
    options: &ImportOptions,
    streams: &BTreeMap<String, StreamDef>,
    components: &[Built],
    go: &DoozerBuilders,
) -> String {
    let variant = options.variant.as_deref().unwrap_or("ocp");
    let version = match &group.major_minor {
        Some((major, minor)) => format!("{major}.{minor}.0-0.{variant}"),
        None => format!("0.0.0-0.{variant}"),
    };
    let mut out = String::new();
    let _ = writeln!(out, "# Imported by `okd import ocp-build-data` (variant {variant}).");
    let _ = writeln!(out, "# Edit `output` to say where images go; everything else mirrors ocp-build-data.");
    let _ = writeln!(out, "name: {}", q(&group.name));
    let _ = writeln!(out, "version: {}", q(&version));
    let _ = writeln!(out, "arches: {}", list(&group.arches));
    let (registry, repository) = group.output();
    let _ = writeln!(out, "output: {{ registry: {}, repository: {} }}", q(&registry), q(&repository));
    // Only streams that are used, each with its upstream (CI) image as an alias so that upstream
    // FROM lines resolve too; an upstream image claimed twice stays with the first stream.
    let used: Vec<&str> = components
        .iter()
        .flat_map(|c| c.builders.iter().chain(&c.final_))
        .filter_map(|t| t.strip_prefix("stream:"))
        .collect();
    let mut claimed = std::collections::BTreeSet::new();
    let mut stream_lines = String::new();
    for (name, def) in streams {
        let image = &def.image;
        if !used.contains(&name.as_str()) {
            continue;
        }
        let aliases: Vec<String> =
            def.upstream.iter().filter(|u| *u != image && claimed.insert((*u).clone())).cloned().collect();
        let _ =
            writeln!(stream_lines, "  {}: {{ image: {}, aliases: {} }}", q(name), q(image), list(&aliases));
    }
    if !stream_lines.is_empty() {
        out.push_str("streams:\n");
        out.push_str(&stream_lines);
    }
    if !go.replace.is_empty() {
        out.push_str("replace:\n");
        for (reference, target) in &go.replace {
            let _ = writeln!(out, "  {}: {}", q(reference), q(target));
        }
    }
    out.push_str("components:\n");
    out.push_str(&go.components);
    for c in components {
        let _ = writeln!(out, "  - name: {}  # {}", c.name, c.key);
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
            let _ = writeln!(out, "    arches: {}", list(arches));
        }
        if c.has_from {
            let final_ = c.final_.as_ref().map(|f| format!(", final: {}", q(f))).unwrap_or_default();
            let _ = writeln!(out, "    from: {{ builders: {}{final_} }}", list(&c.builders));
        }
    }
    out
}

//! Writes the imported release as manifest text. Every string is written as a JSON string, a
//! valid YAML double-quoted scalar, so no value from a BuildConfig can break the document.

use std::{collections::BTreeMap, fmt::Write, path::Path};

use super::{
    ReleaseDefaults,
    map::{Comp, Stream},
};

fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// Text that goes into a `#` comment: one line.
fn comment(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

pub(super) struct Input<'a> {
    pub(super) dir: &'a Path,
    pub(super) variant: Option<&'a str>,
    pub(super) release: &'a ReleaseDefaults,
    pub(super) streams: &'a BTreeMap<String, Stream>,
    pub(super) replace: &'a BTreeMap<String, String>,
    pub(super) comps: &'a [Comp],
}

pub(super) fn manifest(input: &Input<'_>) -> String {
    let Input { dir, variant, release, streams, replace, comps } = input;
    let shown = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Imported by `okd import payload-pipeline` from {}",
        comment(&dir.display().to_string())
    );
    match variant {
        Some(v) => {
            let _ = writeln!(
                out,
                "# with the overlay variants/{} applied (its build args are built in).",
                comment(v)
            );
        }
        None => out.push_str("# without a variant overlay (pass --variant to apply variants/<name>).\n"),
    }
    out.push_str(
        "# One component per BuildConfig of buildconfigs/kustomization.yaml, named after its output tag\n\
         # release:<tag>. dockerStrategy.from became last_from and source.images[].as became replace;\n\
         # the builder and cli names kustomize adds to nearly every BuildConfig are the release-wide\n\
         # replace. The build order follows from the member: references, not from the batch lists.\n",
    );
    let _ = writeln!(out, "name: {}", q(&release.name));
    let _ = writeln!(out, "version: {}", q(&release.version));
    if let Some(arches) = &release.arches {
        let list: Vec<String> = arches.iter().map(|a| q(a)).collect();
        let _ = writeln!(out, "arches: [{}]", list.join(", "));
    }
    let _ = writeln!(
        out,
        "output: {{ registry: {}, repository: {} }}",
        q(&release.registry),
        q(&release.repository)
    );
    if !streams.is_empty() {
        out.push_str("streams:\n");
        for (name, stream) in *streams {
            let _ = writeln!(
                out,
                "  {}: {{ image: {} }}  # {}:{}",
                q(name),
                q(&stream.image),
                comment(&shown(&stream.at.file)),
                stream.at.line
            );
        }
    }
    if !replace.is_empty() {
        out.push_str("replace:\n");
        for (reference, target) in *replace {
            let _ = writeln!(out, "  {}: {}", q(reference), q(target));
        }
    }
    out.push_str("components:\n");
    for c in *comps {
        let _ = writeln!(
            out,
            "  - name: {}  # {}:{} (BuildConfig {})",
            c.name,
            comment(&shown(&c.bc.at.file)),
            c.bc.at.line,
            comment(&c.bc.name)
        );
        let _ = writeln!(out, "    source: {{ git: {}, ref: {} }}", q(&c.git), q(&c.reference));
        if c.context != "." {
            let _ = writeln!(out, "    context: {}", q(&c.context));
        }
        if c.dockerfile != "Dockerfile" {
            let _ = writeln!(out, "    dockerfile: {}", q(&c.dockerfile));
        }
        if let Some(fork) = &c.forked {
            let _ = writeln!(out, "    # forked Dockerfile: {}", comment(fork));
        }
        if c.payload {
            out.push_str("    payload: true\n");
        }
        if !c.build_args.is_empty() {
            out.push_str("    build_args:\n");
            for (k, v) in &c.build_args {
                let _ = writeln!(out, "      {}: {}", q(k), q(v));
            }
        }
        if let Some(from) = &c.last_from {
            let _ = writeln!(out, "    last_from: {}", q(from));
        }
        if !c.replace.is_empty() {
            out.push_str("    replace:\n");
            for (reference, target) in c.replace.iter().filter(|(r, _)| !c.external.contains(*r)) {
                let _ = writeln!(out, "      {}: {}", q(reference), q(target));
            }
            if !c.external.is_empty() {
                out.push_str(
                    "      # kustomize's label selectors leave this BuildConfig out: kept as written\n",
                );
            }
            for (reference, target) in c.replace.iter().filter(|(r, _)| c.external.contains(*r)) {
                let _ = writeln!(out, "      {}: {}", q(reference), q(target));
            }
        }
    }
    out
}

//! `okd dockerfile froms|rewrite`: the parser and the rewriter on one file.

use std::{collections::BTreeMap, path::Path};

use okd_core::{Error, ErrorKind, Result, dockerfile};

use crate::{
    cli::{DockerfileCommand, ListOutput},
    output::{self, print},
};

pub fn run(cmd: DockerfileCommand) -> Result<u8> {
    match cmd {
        DockerfileCommand::Froms { file, build_args, output } => {
            let (text, parsed) = read_dockerfile(&file, build_args)?;
            let _ = text;
            let out = match output {
                ListOutput::Json => output::to_json(&output::refs_view(&parsed))?,
                ListOutput::Table => output::refs_table(&parsed),
            };
            print(&out)?;
        }
        DockerfileCommand::Rewrite { file, replace, build_args, in_place } => {
            // A new reference must be one image reference: an empty one, or one with spaces,
            // would leave a FROM line that no engine reads.
            for (old, new) in &replace {
                if new.is_empty() || new.chars().any(char::is_whitespace) {
                    return Err(Error::invalid(format!(
                        "--replace {old}={new}: {new:?} is not an image reference"
                    ))
                    .with_help(
                        "write --replace OLD=NEW with NEW a reference such as quay.io/okd/scos-base:4.17",
                    ));
                }
            }
            let (text, parsed) = read_dockerfile(&file, build_args)?;
            let map: BTreeMap<String, String> = replace.into_iter().collect();
            for old in map.keys() {
                if !parsed.refs.iter().any(|r| &r.expanded == old || &r.raw == old) {
                    eprintln!(
                        "warning: --replace {old}=...: {} names no such image; nothing replaced for it",
                        file.display()
                    );
                }
            }
            let edits: Vec<dockerfile::Edit> = parsed
                .refs
                .iter()
                .filter(|r| matches!(r.target, dockerfile::RefTarget::Image))
                .filter_map(|r| {
                    let new = map.get(&r.expanded).or_else(|| map.get(&r.raw))?;
                    Some(dockerfile::Edit { span: r.span.clone(), replacement: new.clone() })
                })
                .collect();
            let rewritten = dockerfile::rewrite(&text, &edits)?;
            if in_place {
                output::write_atomically(&file, &rewritten)?;
                eprintln!("{}: {} reference(s) rewritten", file.display(), edits.len());
            } else {
                print(&rewritten)?;
            }
        }
    }
    Ok(0)
}

fn read_dockerfile(
    file: &Path,
    build_args: Vec<(String, String)>,
) -> Result<(String, dockerfile::Dockerfile)> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(file, "read the Dockerfile", e).with_help("pass the path of a Dockerfile"))?;
    let args: BTreeMap<String, String> = build_args.into_iter().collect();
    let parsed = dockerfile::parse(file, &text, &args)?;
    if parsed.stages.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, format!("{} has no FROM", file.display())));
    }
    Ok((text, parsed))
}

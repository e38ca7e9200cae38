//! `okd import ocp-build-data|tekton|ci-operator|payload-pipeline`: a release manifest from another source of truth.

use std::path::{Path, PathBuf};

use okd_core::{
    Result,
    doozer::builders::{BuilderTemplate, report_line},
};

use crate::{
    cli::{ImportCommand, ImportOutput},
    output::finish_import,
};

pub fn run(command: ImportCommand) -> Result<u8> {
    match command {
        ImportCommand::OcpBuildData {
            dir,
            variant,
            vars,
            payload_only,
            okd_builders,
            out,
            output,
            report_json,
        } => {
            let options = okd_core::doozer::ImportOptions {
                variant,
                vars: vars.into_iter().collect(),
                payload_only,
                okd_builders: template(okd_builders.as_deref(), out.as_deref())?,
            };
            let import = okd_core::doozer::import(&dir, &options)?;
            finish_import(
                &import,
                &import.manifest,
                &import.warnings,
                notes(report_line(&import.go_versions), import.summary()),
                json(output, report_json),
                out,
            )
        }
        ImportCommand::Tekton { dir, out, output, report_json } => {
            let import = backend_konflux::import_tekton(&dir)?;
            finish_import(
                &import,
                &import.manifest,
                &import.warnings,
                import.summary(),
                json(output, report_json),
                out,
            )
        }
        ImportCommand::CiOperator {
            paths,
            variant,
            name,
            version,
            registry,
            repository,
            git_base,
            okd_builders,
            out,
            output,
            report_json,
        } => {
            let options = backend_prow::import::ImportOptions {
                variant,
                name,
                version,
                registry,
                repository,
                git_base,
                okd_builders: template(okd_builders.as_deref(), out.as_deref())?,
            };
            let import = backend_prow::import::import_ci_operator(&paths, &options)?;
            let mut go = report_line(&import.go_versions);
            if !import.build_roots.is_empty() {
                let mut roots: Vec<_> = import.build_roots.iter().map(|b| b.version).collect();
                roots.sort();
                roots.dedup();
                let roots: Vec<String> = roots.iter().map(ToString::to_string).collect();
                go = Some(format!(
                    "{}build roots name Go {} (not built: okd-build builds each Dockerfile from its git source)",
                    go.map(|g| format!("{g}; ")).unwrap_or_default(),
                    roots.join(", ")
                ));
            }
            finish_import(
                &import,
                &import.manifest,
                &import.warnings,
                notes(go, import.summary()),
                json(output, report_json),
                out,
            )
        }
        ImportCommand::PayloadPipeline { dir, variant, name, version, registry, repository, out, output } => {
            let options =
                backend_argo::import::ImportOptions { variant, name, version, registry, repository };
            let import = backend_argo::import::import_payload_pipeline(&dir, &options)?;
            finish_import(
                &import,
                &import.manifest,
                &import.warnings,
                import.summary(),
                json(output, false),
                out,
            )
        }
        // Reads a registry, so it is async and lives in its own module.
        ImportCommand::ReleaseImage(_) => Err(okd_core::Error::new(
            okd_core::ErrorKind::Internal,
            "release-image is dispatched by commands::run",
        )),
    }
}

/// `--okd-builders DIR`, checked before anything is read. A path source is relative to the
/// manifest's folder: the `-O` file's, else the current one (where `okd build -` reads it).
fn template(dir: Option<&Path>, out: Option<&Path>) -> Result<Option<BuilderTemplate>> {
    let Some(dir) = dir else { return Ok(None) };
    let manifest_dir = out
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    BuilderTemplate::open(dir, &manifest_dir).map(Some)
}

/// The summary, after the Go builders line when there is one: the summary stays the last line.
fn notes(go: Option<String>, summary: String) -> String {
    match go {
        Some(go) => format!("{go}\n{summary}"),
        None => summary,
    }
}

fn json(output: ImportOutput, report_json: bool) -> bool {
    output == ImportOutput::Json || report_json
}

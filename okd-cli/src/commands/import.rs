//! `okd import ocp-build-data|tekton|ci-operator`: a release manifest from another source of truth.

use okd_core::Result;

use crate::{
    cli::ImportCommand,
    output::{self, print},
};

pub fn run(command: ImportCommand) -> Result<u8> {
    match command {
        ImportCommand::OcpBuildData { dir, variant, vars, payload_only, out, report_json } => {
            let options =
                okd_core::doozer::ImportOptions { variant, vars: vars.into_iter().collect(), payload_only };
            let import = okd_core::doozer::import(&dir, &options)?;
            finish_import(&import, &import.manifest, &import.warnings, import.summary(), report_json, out)
        }
        ImportCommand::Tekton { dir, out, report_json } => {
            let import = backend_konflux::import_tekton(&dir)?;
            finish_import(&import, &import.manifest, &import.warnings, import.summary(), report_json, out)
        }
        ImportCommand::CiOperator {
            paths,
            variant,
            name,
            version,
            registry,
            repository,
            git_base,
            out,
            report_json,
        } => {
            let options = backend_prow::import::ImportOptions {
                variant,
                name,
                version,
                registry,
                repository,
                git_base,
            };
            let import = backend_prow::import::import_ci_operator(&paths, &options)?;
            finish_import(&import, &import.manifest, &import.warnings, import.summary(), report_json, out)
        }
    }
}

/// Writes an imported manifest (to `out` atomically, else stdout), then its report on stderr:
/// each warning with file and line, the JSON report when asked, the summary line.
fn finish_import<T: serde::Serialize>(
    import: &T,
    manifest: &str,
    warnings: &[okd_core::doozer::Warning],
    summary: String,
    report_json: bool,
    out: Option<std::path::PathBuf>,
) -> Result<u8> {
    let mut report = String::new();
    for w in warnings {
        report.push_str(&format!("warning: {}:{}: {}\n", w.file.display(), w.line, w.message));
    }
    if report_json {
        report.push_str(&output::to_json(import)?);
    }
    report.push_str(&summary);
    report.push('\n');
    match out {
        Some(path) => output::write_atomically(&path, manifest)?,
        None => print(manifest)?,
    }
    eprint!("{report}");
    Ok(0)
}

//! `okd render`: write the configuration a backend needs, as it would land in each repository.

use std::{path::Path, sync::Arc};

use okd_core::{Error, Result, backend::BackendPlanOptions};
use okd_runtime::BackendRegistry;

use crate::{
    cli::{ListOutput, RenderArgs},
    context::{self, load_plan},
    output::{print, to_json},
};

pub async fn run(args: RenderArgs, registry: &BackendRegistry) -> Result<u8> {
    context::folder_arg("--out", &args.out)?;
    let plan = Arc::new(load_plan(&args.release).await?);
    let (_, backend) =
        context::backend(registry, &args.backend.backend, &args.backend.settings, Some(&args.release))?;
    let backend_plan = backend.plan(plan, &BackendPlanOptions::default()).await?;
    crate::output::backend_warnings(&backend_plan, args.release.strict)?;
    let out = &args.out;
    if out.exists()
        && !args.force
        && std::fs::read_dir(out).map_err(|e| Error::io(out, "read", e))?.next().is_some()
    {
        return Err(Error::invalid(format!("{} exists and is not empty", out.display()))
            .with_help("choose an empty folder, or pass --force to replace it"));
    }
    // Render beside the target and rename into place, so a failure leaves no half-written tree.
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, "create", e))?;
    let staging = parent.join(format!(".okd-render-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    // Created here: a backend with nothing to write (local, or prow on path sources) writes no
    // file, and the result is then an empty folder.
    std::fs::create_dir_all(&staging).map_err(|e| Error::io(&staging, "create", e))?;
    let summary = match backend.render(&backend_plan, &staging).await {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
    };
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| Error::io(out, "replace", e))?;
    }
    std::fs::rename(&staging, out).map_err(|e| Error::io(out, "move the rendered files into", e))?;
    print(&match args.output {
        ListOutput::Json => to_json(&summary)?,
        ListOutput::Table => {
            let mut text: String =
                summary.files.iter().map(|f| format!("{}\n", out.join(f).display())).collect();
            text.push_str(&format!(
                "{} files for {} repositories written under {}\n",
                summary.files.len(),
                summary.repositories,
                out.display()
            ));
            text
        }
    })?;
    Ok(0)
}

//! `okd status`, `okd cancel` and `okd runs`: runs from the run store (and, for a run this
//! machine does not know, from the backend's remote system).

use okd_core::{
    Result,
    backend::{Outcome, RunId, RunState},
    manifest::{self, LoadOptions},
};
use okd_runtime::{BackendRegistry, store::RunFilter};

use crate::{
    cli::{ListOutput, RunArgs, RunsArgs},
    context,
    output::{print, to_json},
};

pub async fn status(args: RunArgs, registry: &BackendRegistry) -> Result<u8> {
    let (_, backend) = context::backend(registry, &args.backend.backend, &args.backend.settings, None)?;
    let status = backend.status(&RunId(args.run.clone())).await?;
    if args.output == ListOutput::Json {
        return print(&to_json(&status)?).map(|_| 0);
    }
    let mut text = format!("run {}: {}\n", status.run, RunState::as_str(status.state));
    for c in &status.components {
        let detail = c.reason.as_deref().or(c.image.as_deref()).unwrap_or("");
        text.push_str(&format!("  {:<28} {:<10} {detail}\n", c.name, Outcome::as_str(c.outcome)));
    }
    print(&text)?;
    Ok(0)
}

pub async fn cancel(args: RunArgs, registry: &BackendRegistry) -> Result<u8> {
    let run = RunId(args.run.clone());
    let (_, backend) = context::backend(registry, &args.backend.backend, &args.backend.settings, None)?;
    backend.cancel(&run).await?;
    print(&format!("run {run}: cancelled\n"))?;
    Ok(0)
}

pub fn list(args: RunsArgs) -> Result<u8> {
    let mut filter = RunFilter { backend: args.backend.clone(), ..RunFilter::default() };
    if let Some(path) = &args.release {
        // Only the manifest's name and version are needed: no sources are read.
        let release = manifest::load(path, &LoadOptions::default())?;
        filter.release = Some(release.name.clone());
        filter.version = Some(release.version.to_string());
    }
    let runtime = context::runtime(args.state.as_deref(), None);
    let store = runtime.store().get()?;
    let runs = store.runs(&filter, args.limit)?;
    if args.output == ListOutput::Json {
        return print(&to_json(&runs)?).map(|_| 0);
    }
    if runs.is_empty() {
        print(&format!("no runs recorded in {}\n", store.location()))?;
        return Ok(0);
    }
    let release = |r: &okd_runtime::store::RunSummary| match (&r.release, &r.version) {
        (Some(name), Some(version)) => format!("{name} {version}"),
        _ => "-".to_owned(),
    };
    // Columns as wide as their widest cell, so long run ids and versions stay aligned.
    let run_w = runs.iter().map(|r| r.run.0.len()).max().unwrap_or(0).max(3);
    let backend_w = runs.iter().map(|r| r.backend.len()).max().unwrap_or(0).max(7);
    let release_w = runs.iter().map(|r| release(r).len()).max().unwrap_or(0).max(7);
    let mut text = format!(
        "{:<run_w$}  {:<backend_w$}  {:<release_w$}  {:<9}  {:>4}  STARTED\n",
        "RUN", "BACKEND", "RELEASE", "STATE", "COMP"
    );
    for r in &runs {
        let started = r.started.round(jiff::Unit::Second).unwrap_or(r.started);
        text.push_str(&format!(
            "{:<run_w$}  {:<backend_w$}  {:<release_w$}  {:<9}  {:>4}  {started}\n",
            r.run.0,
            r.backend,
            release(r),
            RunState::as_str(r.state),
            r.components
        ));
    }
    print(&text)?;
    Ok(0)
}

//! `okd compare`: every backend's plan of one release side by side (configuration cost, FROM
//! verdicts, approach), the runs recorded for it, and releases from other sources of truth.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use okd_core::{
    Error, Result,
    backend::{BackendPlanOptions, RunId},
    compare::{self, Comparison, Planned, RunRecord, sources::SourcesComparison},
    manifest::{self, LoadOptions},
    plan::{self, Plan, PlanOptions},
    registry::BackendSettings,
    source::{self, SourceOptions},
};
use okd_runtime::{BackendRegistry, Runtime, store::RunFilter};

use crate::{
    cli::{CompareArgs, CompareCommand, CompareOutput, CompareSourcesArgs},
    context::{self, load_plan},
    output::{print, to_json},
    report,
};

pub async fn run(args: CompareArgs, registry: &BackendRegistry) -> Result<u8> {
    if let Some(CompareCommand::Sources(sources)) = args.command {
        return compare_sources(sources).await;
    }
    let Some(release) = &args.release_args() else {
        return Err(Error::invalid("okd compare needs a release manifest")
            .with_help("okd compare RELEASE, or okd compare sources A B"));
    };
    let names = backend_names(&args.backends, registry)?;
    let settings = backend_settings(&args.settings, &names)?;
    let plan = Arc::new(load_plan(release).await?);
    let runtime = context::runtime(args.state.as_deref(), Some(release));
    let mut planned = Vec::with_capacity(names.len());
    for name in &names {
        let info = registry.info(name)?;
        let empty = BackendSettings::new();
        let backend = registry.get(name, &runtime, settings.get(name).unwrap_or(&empty))?;
        // A backend that cannot plan this release is a finding, not a failure of the comparison.
        let result =
            backend.plan(plan.clone(), &BackendPlanOptions::default()).await.map_err(|e| e.to_string());
        planned.push(Planned { info, plan: result });
    }
    let (records, missing) = match &args.runs {
        Some(which) => run_records(&runtime, &plan, &names, which)?,
        None => (Vec::new(), Vec::new()),
    };
    let jobs = args.jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let mut comparison = compare::compare(&plan, &planned, &records, jobs);
    comparison.missing_runs = missing;
    let sources = if args.sources.is_empty() {
        None
    } else {
        let mut plans = vec![plan.clone()];
        for path in &args.sources {
            plans.push(Arc::new(plan_manifest(path, &context::source_options(release)).await?));
        }
        Some(sources_comparison(&release.release, &args.sources, &plans))
    };
    print(&render(&comparison, sources.as_ref(), args.output)?)?;
    Ok(0)
}

fn render(c: &Comparison, sources: Option<&SourcesComparison>, output: CompareOutput) -> Result<String> {
    Ok(match output {
        CompareOutput::Json => match sources {
            Some(s) => to_json(&serde_json::json!({ "comparison": c, "sources": s }))?,
            None => to_json(c)?,
        },
        CompareOutput::Table => report::table::comparison(c, sources),
        CompareOutput::Markdown => report::markdown::comparison(c, sources),
        CompareOutput::Html => report::html::page(Some(c), sources),
    })
}

/// `all` or a comma-separated list, each name checked against the registry.
fn backend_names(list: &str, registry: &BackendRegistry) -> Result<Vec<&'static str>> {
    if list.trim() == "all" {
        return Ok(registry.names());
    }
    let known = registry.names();
    let mut names = Vec::new();
    for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match known.iter().find(|k| **k == name) {
            Some(k) if !names.contains(k) => names.push(*k),
            Some(_) => {}
            None => {
                return Err(Error::invalid(format!("--backends: unknown backend '{name}'"))
                    .with_help(format!("choose from: all, {}", known.join(", "))));
            }
        }
    }
    if names.is_empty() {
        return Err(Error::invalid("--backends names no backend").with_help("give `all` or NAME,NAME"));
    }
    Ok(names)
}

/// `BACKEND.KEY=VALUE` pairs, grouped by backend; a backend not compared is a mistake.
fn backend_settings(
    pairs: &[(String, String)],
    names: &[&'static str],
) -> Result<BTreeMap<&'static str, BackendSettings>> {
    let mut out: BTreeMap<&'static str, BackendSettings> = BTreeMap::new();
    for (key, value) in pairs {
        let Some((backend, setting)) = key.split_once('.').filter(|(b, s)| !b.is_empty() && !s.is_empty())
        else {
            return Err(Error::invalid(format!("--set {key}={value}: the key names no backend"))
                .with_help("write BACKEND.KEY=VALUE, e.g. --set prow.variant=okd"));
        };
        let Some(name) = names.iter().find(|n| **n == backend) else {
            return Err(Error::invalid(format!("--set {key}: backend '{backend}' is not compared"))
                .with_help(format!("compared backends: {}", names.join(", "))));
        };
        out.entry(name).or_default().insert(setting.to_owned(), value.clone());
    }
    Ok(out)
}

/// The runs `which` names (`latest`, or run ids) from the run store, and a line for each that
/// is not there.
fn run_records(
    runtime: &Runtime,
    plan: &Plan,
    names: &[&'static str],
    which: &str,
) -> Result<(Vec<RunRecord>, Vec<String>)> {
    let Some(store) = runtime.store().existing()? else {
        return Ok((Vec::new(), vec![format!("no run store in {}", runtime.state_dir().display())]));
    };
    let release = &plan.release;
    let mut summaries = Vec::new();
    let mut missing = Vec::new();
    if which.trim() == "latest" {
        for name in names {
            let filter = RunFilter {
                backend: Some((*name).to_owned()),
                release: Some(release.name.clone()),
                version: Some(release.version.to_string()),
            };
            match store.runs(&filter, 1)?.into_iter().next() {
                Some(s) => summaries.push(s),
                None => missing.push(format!("{name}: no run of {} {}", release.name, release.version)),
            }
        }
    } else {
        let all = store.runs(&RunFilter::default(), usize::MAX)?;
        for id in which.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match all.iter().find(|s| s.run.0 == id) {
                Some(s) => summaries.push(s.clone()),
                None => {
                    return Err(Error::invalid(format!("--runs: no run '{id}' in {}", store.location()))
                        .with_help("`okd runs` lists the recorded runs"));
                }
            }
        }
    }
    let mut records = Vec::new();
    for s in summaries {
        let Some(status) = store.run_status(&s.run)? else { continue };
        records.push(RunRecord {
            backend: s.backend.clone(),
            run: RunId(s.run.0.clone()),
            state: s.state,
            started: s.started,
            finished: s.finished,
            components: status.components,
            api_requests: s.api_requests,
        });
    }
    Ok((records, missing))
}

/// Loads and plans a manifest with the given source options (no variant override, not strict).
async fn plan_manifest(path: &Path, options: &SourceOptions) -> Result<Plan> {
    let release = manifest::load(path, &LoadOptions::default())?;
    let sources = source::read_sources(&release, options).await?;
    plan::plan(Arc::new(release), &sources, &PlanOptions::default())
}

fn sources_comparison(first: &Path, rest: &[std::path::PathBuf], plans: &[Arc<Plan>]) -> SourcesComparison {
    let labels = std::iter::once(first).chain(rest.iter().map(|p| p.as_path()));
    let inputs: Vec<okd_core::compare::sources::Input<'_>> = labels
        .zip(plans)
        .map(|(path, plan)| okd_core::compare::sources::Input { label: path.display().to_string(), plan })
        .collect();
    okd_core::compare::sources::compare(&inputs)
}

async fn compare_sources(args: CompareSourcesArgs) -> Result<u8> {
    let options = SourceOptions {
        offline: args.offline,
        cache_dir: args.cache_dir.clone().unwrap_or_else(SourceOptions::default_cache_dir),
        ..SourceOptions::default()
    };
    let mut plans = Vec::with_capacity(args.manifests.len());
    for path in &args.manifests {
        plans.push(Arc::new(plan_manifest(path, &options).await?));
    }
    let (first, rest) =
        args.manifests.split_first().ok_or_else(|| Error::invalid("give two or more manifests"))?;
    let result = sources_comparison(first, rest, &plans);
    let text = match args.output {
        CompareOutput::Json => to_json(&result)?,
        CompareOutput::Table => result.to_table(),
        CompareOutput::Markdown => result.to_markdown(),
        CompareOutput::Html => report::html::page(None, Some(&result)),
    };
    print(&text)?;
    Ok(if result.agree() { 0 } else { 1 })
}

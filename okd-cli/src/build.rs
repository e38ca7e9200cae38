//! `okd build`: runs a plan through a backend, printing events as they happen.

use std::{sync::Arc, time::Instant};

use okd_core::{
    Result,
    backend::{BackendPlanOptions, BuildEvent, BuildOptions, EventKind, EventSink, Outcome, RunReport},
    registry::{BackendConfig, BackendRegistry},
};

use crate::{
    cli::{BuildArgs, ListOutput},
    commands::load_plan,
    output::print,
};

/// Exit code for a run stopped by Ctrl-C, as shells report SIGINT.
const INTERRUPTED: u8 = 130;

pub async fn build(args: BuildArgs, registry: &BackendRegistry) -> Result<u8> {
    let plan = Arc::new(load_plan(&args.release).await?);
    let mut config = BackendConfig::new();
    for (key, value) in [
        ("engine", &args.engine),
        ("state", &args.state),
        ("cache", &args.release.cache_dir.as_ref().map(|p| p.display().to_string())),
    ] {
        if let Some(value) = value {
            config.insert(key.to_owned(), value.clone());
        }
    }
    let backend = registry.get(&args.backend, &config)?;
    let backend_plan = backend.plan(plan, &BackendPlanOptions::default()).await?;
    let mut options = BuildOptions::default().with_jobs(args.jobs.unwrap_or(0));
    options.only = args.only.clone();
    options.force = args.force;
    options.push = args.push;
    let run = okd_core::backend::run_id(&backend_plan, &options);
    let (sink, mut events) = EventSink::channel();
    let started = Instant::now();
    let worker = {
        let (backend, options) = (backend.clone(), options.clone());
        tokio::spawn(async move { backend.build(&backend_plan, &options, sink).await })
    };
    let mut interrupted = false;
    let mut worker = Box::pin(worker);
    let report = loop {
        tokio::select! {
            Some(event) = events.recv() => show(&event, args.output, started)?,
            done = &mut worker => {
                while let Ok(event) = events.try_recv() {
                    show(&event, args.output, started)?;
                }
                break done.map_err(|e| okd_core::Error::new(okd_core::ErrorKind::Internal, "the build task failed").with_source(e))??;
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                eprintln!("interrupted: cancelling run {run} (Ctrl-C again to quit at once)");
                backend.cancel(&run).await?;
                tokio::spawn(async {
                    let _ = tokio::signal::ctrl_c().await;
                    std::process::exit(i32::from(INTERRUPTED));
                });
            }
        }
    };
    if args.output == ListOutput::Table {
        print(&summary(&report, started))?;
    }
    Ok(if interrupted {
        INTERRUPTED
    } else if report.succeeded() {
        0
    } else {
        crate::exit::BUILD_FAILED
    })
}

fn show(event: &BuildEvent, output: ListOutput, started: Instant) -> Result<()> {
    match output {
        ListOutput::Json => {
            let line = serde_json::to_string(event).map_err(|e| {
                okd_core::Error::new(okd_core::ErrorKind::Internal, "cannot encode an event").with_source(e)
            })?;
            print(&format!("{line}\n"))
        }
        ListOutput::Table => {
            let at = started.elapsed().as_secs_f64();
            let what = match &event.kind {
                EventKind::Log { .. } | EventKind::Queued => return Ok(()),
                EventKind::Started => "started".to_owned(),
                EventKind::Succeeded { image, .. } => format!("built {image}"),
                EventKind::Reused { image, .. } => format!("reused {image}"),
                EventKind::Failed { reason } => format!("FAILED: {reason}"),
                EventKind::Skipped { because } => format!("skipped: {because} failed"),
            };
            print(&format!("[{at:7.1}s] {:<28} {what}\n", event.component))
        }
    }
}

fn summary(report: &RunReport, started: Instant) -> String {
    let count = |o| report.count(o);
    format!(
        "\nrun {}: {} built, {} reused, {} failed, {} skipped, {} cancelled in {:.1}s\n",
        report.run,
        count(Outcome::Succeeded),
        count(Outcome::Reused),
        count(Outcome::Failed),
        count(Outcome::Skipped),
        count(Outcome::Cancelled),
        started.elapsed().as_secs_f64()
    )
}

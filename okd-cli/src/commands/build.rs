//! `okd build`: runs a plan through a backend, printing events as they happen.

use std::{
    collections::{HashMap, VecDeque},
    io::IsTerminal,
    sync::Arc,
    time::Instant,
};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use okd_core::{
    Result,
    backend::{
        BackendPlanOptions, BuildEvent, BuildOptions, EventKind, EventSink, Outcome, RunId, RunReport,
    },
};
use okd_runtime::{
    BackendRegistry,
    feedback::{FeedbackReporter, FeedbackSummary},
};

use crate::{
    cli::{BuildArgs, ListOutput, exit},
    context::{self, load_plan},
    output::print,
};

pub async fn run(args: BuildArgs, registry: &BackendRegistry) -> Result<u8> {
    // A bad --report value is a usage error before any source is read.
    args.feedback.targets()?;
    let plan = Arc::new(load_plan(&args.release).await?);
    let (runtime, backend) =
        context::backend(registry, &args.backend.backend, &args.backend.settings, Some(&args.release))?;
    // Never two builds of one release on one backend at once (`okd watch` takes the same lock
    // for each cycle); the OS drops the lock with a killed process.
    let _lock = okd_runtime::watch::ReleaseLock::acquire(
        runtime.state_dir(),
        &plan.release.name,
        &args.backend.backend,
        okd_runtime::watch::LockKind::Build,
    )?;
    let backend_plan = backend.plan(plan.clone(), &BackendPlanOptions::default()).await?;
    crate::output::backend_warnings(&backend_plan, args.release.strict)?;
    let feedback = args.feedback.reporter(&plan, backend.info().name).await?;
    for note in feedback.iter().flat_map(|f| f.notes()) {
        eprintln!("{note}");
    }
    let mut options = BuildOptions::default().with_jobs(args.jobs.unwrap_or(0));
    options.only = args.only.clone();
    options.force = args.force;
    options.push = args.push;
    // The run id arrives as the first event; until then Ctrl-C has nothing to cancel by name.
    let mut run: Option<RunId> = None;
    let (sink, mut events) = EventSink::channel();
    let started = Instant::now();
    let worker = {
        let (backend, options) = (backend.clone(), options.clone());
        tokio::spawn(async move { backend.build(&backend_plan, &options, sink).await })
    };
    let mut interrupted = false;
    let mut worker = Box::pin(worker);
    let mut view = View::new(args.output);
    let mut tails: HashMap<String, VecDeque<String>> = HashMap::new();
    let report = loop {
        tokio::select! {
            Some(event) = events.recv() => {
                if let EventKind::RunStarted { run: id } = &event.kind {
                    // On stderr, so JSON output stays events only; `okd status` and `okd cancel`
                    // take this id.
                    eprintln!("run {id}");
                    run = Some(id.clone());
                }
                if let Some(feedback) = &feedback {
                    feedback.observe(&event);
                }
                view.show(&event, started)?;
                tail(&mut tails, &event, &view)?;
            }
            done = &mut worker => {
                while let Ok(event) = events.try_recv() {
                    if let Some(feedback) = &feedback {
                        feedback.observe(&event);
                    }
                    view.show(&event, started)?;
                    tail(&mut tails, &event, &view)?;
                }
                view.finish();
                break done.map_err(|e| okd_core::Error::new(okd_core::ErrorKind::Internal, "the build task failed").with_source(e))??;
            }
            _ = tokio::signal::ctrl_c(), if !interrupted => {
                interrupted = true;
                match &run {
                    Some(run) => {
                        eprintln!("interrupted: cancelling run {run} (Ctrl-C again to quit at once)");
                        backend.cancel(run).await?;
                    }
                    // Still preparing: nothing has been recorded or started yet.
                    None => std::process::exit(i32::from(exit::INTERRUPTED)),
                }
                tokio::spawn(async {
                    let _ = tokio::signal::ctrl_c().await;
                    std::process::exit(i32::from(exit::INTERRUPTED));
                });
            }
        }
    };
    let feedback = match feedback {
        None => None,
        Some(feedback) => match finish_feedback(feedback, &report, args.output, interrupted).await {
            Some(summary) => Some(summary),
            None => return Ok(exit::INTERRUPTED),
        },
    };
    match args.output {
        ListOutput::Table => {
            let mut text = summary(&report, started);
            if let Some(logs) = &report.logs {
                text.push_str(&format!("logs: {}\n", logs.display()));
            }
            text.push_str(&feedback.as_ref().map(FeedbackSummary::text).unwrap_or_default());
            print(&text)?;
        }
        // One more line after the events, shaped like them: what reached GitHub.
        ListOutput::Json => {
            if let Some(feedback) = &feedback {
                let mut line = serde_json::json!({"event": "feedback", "run": report.run});
                if let (Some(line), serde_json::Value::Object(fields)) =
                    (line.as_object_mut(), serde_json::to_value(feedback).unwrap_or_default())
                {
                    line.extend(fields);
                }
                print(&format!("{line}\n"))?;
            }
        }
    }
    Ok(if interrupted {
        exit::INTERRUPTED
    } else if report.succeeded() {
        0
    } else {
        exit::BUILD_FAILED
    })
}

/// Waits for the statuses still queued and reports the release issue. `None` when Ctrl-C
/// stops the wait: what is still queued is dropped (GitHub keeps the last status posted).
async fn finish_feedback(
    feedback: FeedbackReporter,
    report: &RunReport,
    output: ListOutput,
    interrupted: bool,
) -> Option<FeedbackSummary> {
    let outstanding = feedback.outstanding();
    if outstanding > 0 && output == ListOutput::Table {
        eprintln!("github: posting {outstanding} commit statuses still queued");
    }
    if interrupted {
        // The first Ctrl-C cancelled the build; the second one quits at once (set up above).
        return Some(feedback.finish(report).await);
    }
    tokio::select! {
        summary = feedback.finish(report) => Some(summary),
        _ = tokio::signal::ctrl_c() => {
            eprintln!("interrupted: commit statuses still queued were not posted");
            None
        }
    }
}

/// Lines of log shown when a component fails.
const TAIL: usize = 12;

/// Keeps each component's last log lines and prints them when it fails (not in JSON mode, where
/// the log events themselves are the output).
fn tail(tails: &mut HashMap<String, VecDeque<String>>, event: &BuildEvent, view: &View) -> Result<()> {
    if matches!(view, View::Json) {
        return Ok(());
    }
    match &event.kind {
        EventKind::Log { line } => {
            let lines = tails.entry(event.component.clone()).or_default();
            if lines.len() == TAIL {
                lines.pop_front();
            }
            lines.push_back(line.clone());
        }
        EventKind::Failed { .. } => {
            let lines = tails.remove(&event.component).unwrap_or_default();
            let mut text = format!("--- last {} lines of {}'s log ---\n", lines.len(), event.component);
            for line in lines {
                text.push_str(&format!("    {line}\n"));
            }
            match view {
                View::Live { bars, .. } => {
                    let _ = bars.println(text.trim_end());
                }
                _ => print(&text)?,
            }
        }
        _ => {}
    }
    Ok(())
}

/// How events reach the user: JSON lines, a live view on a terminal, or plain lines otherwise.
enum View {
    Json,
    Lines,
    Live { bars: MultiProgress, rows: HashMap<String, ProgressBar> },
}

impl View {
    fn new(output: ListOutput) -> Self {
        match output {
            ListOutput::Json => View::Json,
            // Redrawing only makes sense for a person watching; pipes and CI logs get lines.
            ListOutput::Table if std::io::stderr().is_terminal() => View::Live {
                bars: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
                rows: HashMap::new(),
            },
            ListOutput::Table => View::Lines,
        }
    }

    fn show(&mut self, event: &BuildEvent, started: Instant) -> Result<()> {
        let View::Live { bars, rows } = self else {
            return show(
                event,
                if matches!(self, View::Json) { ListOutput::Json } else { ListOutput::Table },
                started,
            );
        };
        if event.component.is_empty() {
            return Ok(());
        }
        let row = rows.entry(event.component.clone()).or_insert_with(|| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix:28} {elapsed:>4} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(event.component.clone());
            bar
        });
        match &event.kind {
            EventKind::RunStarted { .. } | EventKind::Queued => row.set_message("queued"),
            EventKind::Started => {
                row.reset_elapsed();
                row.enable_steady_tick(std::time::Duration::from_millis(120));
                row.set_message("building");
            }
            EventKind::Log { line } => row.set_message(line.chars().take(100).collect::<String>()),
            EventKind::Link { .. } => {}
            EventKind::Succeeded { image, .. } => row.finish_with_message(format!("built {image}")),
            EventKind::Reused { image, .. } => row.finish_with_message(format!("reused {image}")),
            EventKind::Failed { reason } => row.finish_with_message(format!("FAILED: {reason}")),
            EventKind::Skipped { because } => row.finish_with_message(format!("skipped: {because} failed")),
        }
        Ok(())
    }

    fn finish(&mut self) {
        if let View::Live { rows, .. } = self {
            rows.values().filter(|r| !r.is_finished()).for_each(|r| r.abandon_with_message("cancelled"));
        }
    }
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
                EventKind::Log { .. }
                | EventKind::Link { .. }
                | EventKind::Queued
                | EventKind::RunStarted { .. } => return Ok(()),
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

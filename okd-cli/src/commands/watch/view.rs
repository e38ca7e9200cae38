//! What `okd watch` shows: progress while a cycle builds (a status line on a terminal, log
//! lines with -v), a failed component's reason as it fails, and one line (or JSON object) per
//! cycle on stdout. Every build event passes through [`View::event`], where the feedback
//! reporter (`--report`: commit statuses, the release issue) sees it too.

use std::{collections::BTreeSet, io::IsTerminal, time::Duration};

use async_trait::async_trait;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use okd_core::{
    Result,
    backend::{BackendPlan, BuildEvent, EventKind, RunReport},
    plan::Plan,
};
use okd_runtime::{
    feedback::FeedbackReporter,
    payload::strip_tag,
    store::CycleResult,
    watch::{CycleListener, CycleReport},
};

use crate::{
    cli::{FeedbackArgs, ListOutput},
    output::print,
};

/// At most this many names in a cycle line's list; the rest are counted.
const NAMES: usize = 6;

pub struct View {
    output: ListOutput,
    /// A status line on stderr, for a person at a terminal.
    bar: Option<ProgressBar>,
    running: BTreeSet<String>,
    done: usize,
    total: usize,
    /// Backend warnings already shown: the same warnings every cycle would drown the output.
    warned: Vec<String>,
    /// `--strict`: a backend warning ends the cycle.
    strict: bool,
    /// `--report`, and the backend the statuses name.
    feedback: FeedbackArgs,
    backend: String,
    /// This cycle's reporter, from its run's start to its end.
    reporter: Option<FeedbackReporter>,
}

impl View {
    pub fn new(output: ListOutput, strict: bool, feedback: FeedbackArgs, backend: String) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar
        });
        View {
            output,
            bar,
            running: BTreeSet::new(),
            done: 0,
            total: 0,
            warned: Vec::new(),
            strict,
            feedback,
            backend,
            reporter: None,
        }
    }

    fn status(&self) {
        if let Some(bar) = &self.bar {
            let running: Vec<&str> = self.running.iter().map(String::as_str).take(NAMES).collect();
            bar.set_message(format!("building: {}/{} done; {}", self.done, self.total, running.join(", ")));
        }
    }

    /// A line for a person, above the status line.
    fn say(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Prints the cycle's line (table) or object (JSON) on stdout.
    pub fn cycle(&mut self, report: &CycleReport) -> Result<()> {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        match self.output {
            ListOutput::Json => print(&(okd_core_json(report)? + "\n")),
            ListOutput::Table => print(&(line(report) + "\n")),
        }
    }
}

fn okd_core_json(report: &CycleReport) -> Result<String> {
    serde_json::to_string(report).map_err(|e| {
        okd_core::Error::new(okd_core::ErrorKind::Internal, "cannot encode a cycle").with_source(e)
    })
}

#[async_trait]
impl CycleListener for View {
    fn planned(&mut self, plan: &BackendPlan) -> Result<()> {
        let warnings: Vec<String> = plan.warnings.iter().map(ToString::to_string).collect();
        if warnings != self.warned {
            crate::output::backend_warnings(plan, false)?;
            self.warned = warnings;
        }
        // Checked every cycle, shown or not: the manifest may have changed.
        if self.strict && !plan.warnings.is_empty() {
            return Err(okd_core::Error::invalid(format!(
                "--strict: {} cannot express parts of the release ({} warnings, shown when they first appeared)",
                plan.backend,
                plan.warnings.len()
            ))
            .with_help("fix what each warning names, or drop --strict to go on without it"));
        }
        Ok(())
    }

    /// Every build event of every cycle passes here, and on to the feedback reporter.
    async fn event(&mut self, plan: &Plan, event: &BuildEvent) {
        if let EventKind::RunStarted { .. } = &event.kind {
            // One reporter per run, over the plan it builds. A reporter that cannot connect
            // costs this cycle's feedback, never the build (the token was checked at start).
            self.reporter = match self.feedback.reporter(plan, &self.backend).await {
                Ok(reporter) => reporter,
                Err(e) => {
                    self.say(&format!("warning: no GitHub feedback this cycle: {}", e.message()));
                    None
                }
            };
            if let Some(reporter) = &self.reporter {
                reporter.notes().iter().for_each(|note| self.say(note));
            }
        }
        if let Some(reporter) = &self.reporter {
            reporter.observe(event);
        }
        match &event.kind {
            EventKind::RunStarted { run } => {
                self.total = plan.components.len();
                (self.done, self.running) = (0, BTreeSet::new());
                if let Some(bar) = &self.bar {
                    bar.reset();
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
                tracing::info!(%run, "building");
            }
            EventKind::Started => {
                self.running.insert(event.component.clone());
                tracing::info!(component = event.component, "started");
            }
            EventKind::Succeeded { image, .. } | EventKind::Reused { image, .. } => {
                self.running.remove(&event.component);
                self.done += 1;
                tracing::info!(component = event.component, image, "{}", event.kind.name());
            }
            EventKind::Failed { reason } => {
                self.running.remove(&event.component);
                self.done += 1;
                self.say(&format!("FAILED {}: {reason}", event.component));
            }
            EventKind::Skipped { .. } => self.done += 1,
            // Queued, log lines, links: nothing to count.
            _ => {}
        }
        self.status();
    }

    async fn finished(&mut self, _plan: &Plan, report: &RunReport) {
        if let Some(bar) = &self.bar {
            bar.disable_steady_tick();
        }
        if let Some(reporter) = self.reporter.take() {
            let summary = reporter.finish(report).await;
            let text = summary.text();
            if !text.is_empty() {
                self.say(text.trim_end());
            }
        }
        if !report.succeeded()
            && let Some(logs) = &report.logs
        {
            self.say(&format!("logs of run {}: {}", report.run, logs.display()));
        }
    }
}

/// One cycle as one line: when, what started it, what changed, what was built, the payload,
/// the next cycle.
pub fn line(r: &CycleReport) -> String {
    let time = |t: jiff::Timestamp| t.round(jiff::Unit::Second).unwrap_or(t).to_string();
    let changed = match &r.changed {
        None if r.run.is_none() => "-".to_owned(),
        None => "first cycle".to_owned(),
        Some(names) if names.is_empty() => "nothing".to_owned(),
        Some(names) => names_list(names),
    };
    let mut text = format!(
        "{} cycle {} ({}): {}; changed: {changed}; built {}, reused {}, failed {}",
        time(r.finished),
        r.cycle,
        r.trigger,
        r.result.as_str(),
        r.built.len(),
        r.reused,
        r.failed.len()
    );
    if r.skipped > 0 {
        text.push_str(&format!(", skipped {}", r.skipped));
    }
    if r.cancelled > 0 {
        text.push_str(&format!(", cancelled {}", r.cancelled));
    }
    if !r.failed.is_empty() {
        text.push_str(&format!(" ({})", names_list(&r.failed)));
    }
    text.push_str("; payload ");
    text.push_str(&match (&r.payload, r.result) {
        (Some(p), _) => format!("pushed {}@{}", strip_tag(&p.image), p.digest),
        (None, CycleResult::Green) => "unchanged".to_owned(),
        (None, _) => "not pushed".to_owned(),
    });
    text.push_str(&match r.next {
        Some(next) => format!("; next {}", time(next)),
        None => String::new(),
    });
    text
}

fn names_list(names: &[String]) -> String {
    let mut text = names.iter().take(NAMES).map(String::as_str).collect::<Vec<_>>().join(", ");
    if names.len() > NAMES {
        text.push_str(&format!(" and {} more", names.len() - NAMES));
    }
    text
}

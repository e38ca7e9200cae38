//! `okd watch`: keeps one release building. Each cycle (okd_runtime::watch) asks upstream what
//! moved, builds what changed, and pushes the payload after a green run that built something;
//! this module holds the flags, the lock, the webhook listener, the signals and the waiting in
//! between, and prints one line (or JSON object) per cycle.

mod view;

use std::{
    io::Write,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
};

use okd_core::{Error, Result, backend::BuildOptions, manifest::LoadOptions, payload::ImageRef};
use okd_runtime::{
    BackendRegistry, SqliteRunStore,
    payload::PayloadRequest,
    store::CycleResult,
    watch::{
        Backoff, CancellationToken, CycleReport, LockKind, ReleaseLock, WatchSpec, Watcher, format_interval,
        webhook::{self, Push},
    },
};
use tokio::sync::mpsc;

use crate::{
    cli::{WatchArgs, exit},
    context,
};

pub async fn run(args: WatchArgs, registry: &BackendRegistry) -> Result<u8> {
    check_args(&args)?;
    let secret = webhook_secret(&args)?;
    if !args.feedback.targets()?.is_empty() {
        // Each cycle connects anew; a missing token is said once, before anything runs.
        okd_runtime::feedback::github::Token::from_env(&okd_runtime::feedback::github::api_url_from_env())
            .await?;
    }
    context::folder_arg("--cache-dir", &context::source_options(&args.release).cache_dir)?;
    let load = LoadOptions { variant: args.release.variant.clone() };
    let release = okd_core::manifest::load(&args.release.release, &load)?;
    let name = args.backend.backend.clone();
    let (runtime, backend) = context::backend(registry, &name, &args.backend.settings, Some(&args.release))?;
    let state_dir = runtime.state_dir().to_path_buf();
    let _watch_lock = ReleaseLock::acquire(&state_dir, &release.name, &name, LockKind::Watch)?;
    let store = Arc::new(SqliteRunStore::open(&state_dir)?);

    let mut build = BuildOptions::default().with_jobs(args.jobs.unwrap_or(0));
    build.push = true;
    let spec = WatchSpec {
        release_file: args.release.release.clone(),
        load,
        sources: context::source_options(&args.release),
        strict: args.release.strict,
        backend_name: name.clone(),
        build,
        payload: PayloadRequest {
            to: args
                .to
                .as_deref()
                .map(|to| ImageRef::parse(to).map_err(|e| e.context("--to")))
                .transpose()?,
            insecure: args.insecure_registry.clone(),
            release_file: Some(args.release.release.display().to_string()),
            ..PayloadRequest::default()
        },
        state_dir: state_dir.clone(),
    };
    let watcher = Watcher::new(spec, backend, store, &release);
    let (push_tx, mut pushes) = mpsc::channel::<Push>(1);
    let server = match (&args.listen, secret) {
        (Some(addr), Some(secret)) => {
            let server = webhook::listen(addr, secret, push_tx).await?;
            eprintln!("listening for GitHub push webhooks on http://{}", server.addr());
            Some(server)
        }
        _ => None,
    };
    let stop = Stop::install();
    let history = state_dir.join("watch").join(format!("{}.{name}.jsonl", release.name.replace('/', "_")));
    let mut view = view::View::new(args.output, args.release.strict, args.feedback.clone(), name.clone());
    let backoff = Backoff::new(args.interval);
    let mut trigger = "start".to_owned();
    let code = loop {
        let mut report = watcher.cycle(&trigger, &stop.token, &mut view).await;
        let stopped = stop.token.is_cancelled();
        let wait = backoff.delay(report.failures);
        if !args.once && !stopped {
            report.next = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
                .ok();
        }
        keep_history(&history, &report);
        if !args.once
            && let Some(error) = &report.error
        {
            // The watcher goes on; the error is shown in full once, as any command's would be.
            eprint!("{}", crate::diagnostic::render(error));
        }
        view.cycle(&report)?;
        if stopped {
            break stop.code();
        }
        if args.once {
            break match report.result {
                CycleResult::Green => 0,
                CycleResult::Failed => exit::BUILD_FAILED,
                CycleResult::Cancelled => stop.code(),
                CycleResult::Error => match report.error.take() {
                    Some(error) => {
                        stop_server(server).await;
                        return Err(error);
                    }
                    None => exit::BUILD_FAILED,
                },
            };
        }
        if report.failures > 1 {
            eprintln!(
                "{} cycles in a row were not green: waiting {} before the next try",
                report.failures,
                format_interval(wait)
            );
        }
        trigger = tokio::select! {
            () = tokio::time::sleep(wait) => if report.failures > 0 { "retry".to_owned() } else { "interval".to_owned() },
            Some(push) = pushes.recv() => format!("push {} {}", push.repository, push.reference),
            () = stop.token.cancelled() => break stop.code(),
        };
    };
    stop_server(server).await;
    Ok(code)
}

/// What clap cannot check: bad combinations are usage errors, before anything starts.
fn check_args(args: &WatchArgs) -> Result<()> {
    if args.release.release.as_os_str() == "-" {
        return Err(Error::invalid(
            "okd watch reads the release manifest again every cycle, so it cannot come from standard input",
        )
        .with_help("save the manifest to a file and give its path"));
    }
    if args.once && args.listen.is_some() {
        return Err(Error::invalid("--once does one cycle and exits, so it does not --listen for webhooks")
            .with_help("drop --listen, or drop --once to keep watching"));
    }
    if args.listen.is_none() && args.webhook_secret_file.is_some() {
        return Err(Error::invalid("--webhook-secret-file is only read with --listen")
            .with_help("add --listen ADDR, or drop --webhook-secret-file"));
    }
    Ok(())
}

/// The webhook secret, when listening: from --webhook-secret-file, else OKD_WEBHOOK_SECRET.
fn webhook_secret(args: &WatchArgs) -> Result<Option<Vec<u8>>> {
    let Some(addr) = &args.listen else { return Ok(None) };
    let secret = match &args.webhook_secret_file {
        Some(file) => std::fs::read(file).map_err(|e| {
            Error::io(file, "read the webhook secret from", e)
                .with_help("give the file that holds the GitHub webhook's secret")
        })?,
        None => std::env::var_os("OKD_WEBHOOK_SECRET").map(|s| s.into_encoded_bytes()).unwrap_or_default(),
    };
    let end = secret.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(0, |i| i + 1);
    let secret = secret[..end].to_vec();
    if secret.is_empty() {
        let from = match &args.webhook_secret_file {
            Some(file) => format!("{} is empty", file.display()),
            None => "neither --webhook-secret-file nor OKD_WEBHOOK_SECRET gives one".to_owned(),
        };
        return Err(Error::invalid(format!("--listen {addr} needs the webhook's secret: {from}")).with_help(
            "set a secret on the GitHub webhook and give it with --webhook-secret-file FILE or OKD_WEBHOOK_SECRET; \
             unsigned deliveries are refused, so a listener without one would take none",
        ));
    }
    Ok(Some(secret))
}

async fn stop_server(server: Option<webhook::WebhookServer>) {
    if let Some(server) = server {
        server.stop().await;
    }
}

/// Appends the cycle's JSON to the watch's history under the state folder: what every cycle
/// did stays readable after the terminal is gone. A history that cannot be written costs only
/// the history.
fn keep_history(path: &Path, report: &CycleReport) {
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut line = serde_json::to_string(report).map_err(std::io::Error::other)?;
        line.push('\n');
        std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(line.as_bytes())
    };
    if let Err(e) = write() {
        tracing::warn!(path = %path.display(), error = %e, "cannot append to the watch history");
    }
}

/// Ctrl-C and SIGTERM: the first cancels the running cycle (its build through the backend) and
/// ends the watch, a second exits at once.
struct Stop {
    token: CancellationToken,
    code: Arc<AtomicU8>,
}

impl Stop {
    fn install() -> Self {
        let token = CancellationToken::new();
        let code = Arc::new(AtomicU8::new(0));
        let (task_token, task_code) = (token.clone(), code.clone());
        tokio::spawn(async move {
            loop {
                let (code, name) = next_signal().await;
                if task_code.load(Ordering::SeqCst) != 0 {
                    std::process::exit(i32::from(code));
                }
                task_code.store(code, Ordering::SeqCst);
                eprintln!("{name}: stopping the watch, cancelling the running build (again to quit at once)");
                task_token.cancel();
            }
        });
        Stop { token, code }
    }

    /// The exit code of the signal that stopped the watch.
    fn code(&self) -> u8 {
        match self.code.load(Ordering::SeqCst) {
            0 => exit::INTERRUPTED,
            code => code,
        }
    }
}

#[cfg(unix)]
async fn next_signal() -> (u8, &'static str) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => (exit::INTERRUPTED, "interrupted"),
            _ = term.recv() => (exit::TERMINATED, "terminated"),
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            (exit::INTERRUPTED, "interrupted")
        }
    }
}

#[cfg(not(unix))]
async fn next_signal() -> (u8, &'static str) {
    let _ = tokio::signal::ctrl_c().await;
    (exit::INTERRUPTED, "interrupted")
}

//! `okd`: the one place where okd-build is wired together. It parses the command line, builds the
//! backend registry, runs the command and turns errors into diagnostics and exit codes.

mod cli;
mod commands;
mod context;
mod diagnostic;
mod output;
mod report;

use std::{io::Write, process::ExitCode};

use clap::Parser;
use cli::exit;
use okd_core::ErrorKind;
use okd_runtime::BackendRegistry;

fn main() -> ExitCode {
    // One crypto provider for every TLS client in the process (kube, the registry client).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = cli::Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::UNAVAILABLE);
        }
    };
    match runtime.block_on(commands::run(cli.command, &registry())) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            let mut stderr = std::io::stderr().lock();
            let _ = stderr.write_all(diagnostic::render(&error).as_bytes());
            ExitCode::from(exit_code(error.kind()))
        }
    }
}

/// Every backend this binary knows, by name.
pub fn registry() -> BackendRegistry {
    let mut registry = BackendRegistry::new();
    backend_prow::register(&mut registry);
    backend_konflux::register(&mut registry);
    backend_argo::register(&mut registry);
    backend_local::register(&mut registry);
    registry
}

fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidInput | ErrorKind::NotFound | ErrorKind::NotImplemented | ErrorKind::Conflict => {
            exit::INVALID
        }
        ErrorKind::Unavailable | ErrorKind::Unauthorized | ErrorKind::Timeout => exit::UNAVAILABLE,
        _ => exit::BUILD_FAILED,
    }
}

/// okd-build's own crates: without -v only their warnings reach the user; library log lines
/// (kube, hyper, oci-client, ...) need -v or OKD_LOG.
const OWN_CRATES: [&str; 7] =
    ["okd", "okd_core", "okd_runtime", "backend_local", "backend_konflux", "backend_prow", "backend_argo"];

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => OWN_CRATES.map(|c| format!("{c}=warn")).join(","),
        1 => "info".to_owned(),
        2 => "debug".to_owned(),
        _ => "trace".to_owned(),
    };
    let filter = match std::env::var("OKD_LOG") {
        Ok(text) if !text.trim().is_empty() => match tracing_subscriber::EnvFilter::try_new(&text) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!(
                    "warning: OKD_LOG={text:?} is not a log filter ({e}); using the default. \
                     Write e.g. OKD_LOG=debug or OKD_LOG=okd_runtime=debug,kube=info"
                );
                tracing_subscriber::EnvFilter::new(default)
            }
        },
        _ => tracing_subscriber::EnvFilter::new(default),
    };
    // Colour codes only for a person at a terminal, never into a CI log or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

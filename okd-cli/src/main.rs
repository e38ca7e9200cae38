//! `okd`: the one place where okd-build is wired together. It parses the command line, builds the
//! backend registry, runs the command and turns errors into diagnostics and exit codes.

mod cli;
mod commands;
mod context;
mod diagnostic;
mod output;

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

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OKD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

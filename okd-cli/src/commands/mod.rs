//! One module per command. Each computes its whole result before printing anything, so a failing
//! command leaves no half-written output behind, and each depends only on `cli`, `context`,
//! `output` and `report`: commands never call each other.

mod backends;
mod build;
mod compare;
mod dockerfile;
mod generate;
mod graph;
mod import;
mod import_release;
mod payload;
mod plan;
mod publish;
mod render;
mod runs;
mod validate;
mod watch;

use clap::CommandFactory;
use okd_core::Result;
use okd_runtime::BackendRegistry;

use crate::{cli::Command, output::print};

/// Runs `command`; returns the exit code for success paths (0, or 1 for a failed build).
pub async fn run(command: Command, registry: &BackendRegistry) -> Result<u8> {
    match command {
        Command::Validate(args) => validate::run(&args).await,
        Command::Plan(args) => plan::run(args, registry).await,
        Command::Graph(args) => graph::run(args).await,
        Command::Generate(args) => generate::run(args).await,
        Command::Build(args) => build::run(args, registry).await,
        Command::Payload(crate::cli::PayloadCommand::Publish(args)) => publish::run(*args, registry).await,
        Command::Payload(cmd) => payload::run(cmd, registry).await,
        Command::Render(args) => render::run(args, registry).await,
        Command::Status(args) => runs::status(args, registry).await,
        Command::Cancel(args) => runs::cancel(args, registry).await,
        Command::Runs(args) => runs::list(args),
        Command::Backends(args) => backends::run(args, registry),
        Command::Compare(args) => compare::run(*args, registry).await,
        Command::Dockerfile(cmd) => dockerfile::run(cmd),
        Command::Import(crate::cli::ImportCommand::ReleaseImage(args)) => import_release::run(args).await,
        Command::Import(cmd) => import::run(cmd),
        Command::Watch(args) => watch::run(*args, registry).await,
        Command::Version { output } => backends::version(output, registry),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::Cli::command(), "okd", &mut buf);
            print(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
    }
}

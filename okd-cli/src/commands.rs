//! One function per command. Each computes its whole result before printing anything, so a
//! failing command leaves no half-written output behind.

use std::{collections::BTreeMap, path::Path, sync::Arc};

use clap::CommandFactory;
use okd_core::{
    Error, ErrorKind, Result,
    backend::BackendPlanOptions,
    dockerfile,
    manifest::{self, LoadOptions},
    plan::{self, Plan, PlanOptions},
    registry::{BackendConfig, BackendRegistry},
    source::{self, SourceOptions},
};

use crate::{
    cli::{
        BackendsArgs, Command, DockerfileCommand, GenerateArgs, GraphArgs, GraphFormat, ImportCommand,
        ListOutput, PlanArgs, ReleaseArgs,
    },
    output::{self, print},
};

/// Runs `command`; returns the exit code for success paths (0, or 1 for a failed build).
pub async fn run(command: Command, registry: &BackendRegistry) -> Result<u8> {
    match command {
        Command::Validate(args) => validate(&args.release).await,
        Command::Plan(args) => plan_command(args, registry).await,
        Command::Graph(args) => graph(args).await,
        Command::Generate(args) => generate(args).await,
        Command::Build(args) => crate::build::build(args, registry).await,
        Command::Payload(cmd) => crate::payload::run(cmd, registry).await,
        Command::Render(args) => crate::render::render(args, registry).await,
        Command::Status(args) => crate::build::status(args, registry).await,
        Command::Cancel(args) => crate::build::cancel(args, registry).await,
        Command::Backends(args) => backends(args, registry),
        Command::Dockerfile(cmd) => dockerfile_command(cmd),
        Command::Import(ImportCommand::OcpBuildData {
            dir,
            variant,
            vars,
            payload_only,
            out,
            report_json,
        }) => {
            let options =
                okd_core::doozer::ImportOptions { variant, vars: vars.into_iter().collect(), payload_only };
            let import = okd_core::doozer::import(&dir, &options)?;
            finish_import(&import, &import.manifest, &import.warnings, import.summary(), report_json, out)
        }
        Command::Import(ImportCommand::Tekton { dir, out, report_json }) => {
            let import = backend_konflux::import_tekton(&dir)?;
            finish_import(&import, &import.manifest, &import.warnings, import.summary(), report_json, out)
        }
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut crate::cli::Cli::command(), "okd", &mut buf);
            print(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
    }
}

/// Writes an imported manifest (to `out` atomically, else stdout), then its report on stderr:
/// each warning with file and line, the JSON report when asked, the summary line.
fn finish_import<T: serde::Serialize>(
    import: &T,
    manifest: &str,
    warnings: &[okd_core::doozer::Warning],
    summary: String,
    report_json: bool,
    out: Option<std::path::PathBuf>,
) -> Result<u8> {
    let mut report = String::new();
    for w in warnings {
        report.push_str(&format!("warning: {}:{}: {}\n", w.file.display(), w.line, w.message));
    }
    if report_json {
        report.push_str(&output::to_json(import)?);
    }
    report.push_str(&summary);
    report.push('\n');
    match out {
        Some(path) => output::write_atomically(&path, manifest)?,
        None => print(manifest)?,
    }
    eprint!("{report}");
    Ok(0)
}

/// Loads the manifest, reads the sources and plans: what every release command starts with.
pub async fn load_plan(args: &ReleaseArgs) -> Result<Plan> {
    let release = manifest::load(&args.release, &LoadOptions { variant: args.variant.clone() })?;
    let sources = source::read_sources(&release, &source_options(args)).await?;
    plan::plan(Arc::new(release), &sources, &PlanOptions { strict: args.strict })
}

async fn validate(args: &ReleaseArgs) -> Result<u8> {
    let plan = load_plan(args).await?;
    let release = &plan.release;
    let refs: usize = plan.components.iter().map(|c| c.stages.len()).sum();
    let changed: usize = plan.components.iter().flat_map(|c| &c.stages).filter(|s| s.changes()).count();
    let mut text = format!(
        "{}: release {} {} is valid: {} components, {} levels, {refs} FROM/--from references ({changed} rewritten)\n",
        args.release.display(),
        release.name,
        release.version,
        plan.components.len(),
        plan.components.iter().map(|c| c.level + 1).max().unwrap_or(0),
    );
    for c in plan.unreadable() {
        if let plan::PlannedSource::Unreadable { reason } = &c.source {
            text.push_str(&format!(
                "warning: {}: source not read ({reason}); only `from`/`last_from` were used\n",
                c.name
            ));
        }
    }
    print(&text)?;
    Ok(0)
}

async fn plan_command(args: PlanArgs, registry: &BackendRegistry) -> Result<u8> {
    let plan = Arc::new(load_plan(&args.release).await?);
    let previous = args.compare.as_deref().map(output::read_previous_plan).transpose()?;
    let artifacts = match &args.backend {
        Some(name) => {
            let backend = registry.get(name, &BackendConfig::new())?;
            Some(backend.plan(plan.clone(), &BackendPlanOptions::default()).await?)
        }
        None => None,
    };
    let view = output::PlanView::new(&plan, args.backend.as_deref(), artifacts.as_ref(), previous.as_ref());
    let text = match args.output {
        crate::cli::Output::Table => output::plan_table(&view),
        crate::cli::Output::Json => output::to_json(&view)?,
        crate::cli::Output::Yaml => output::to_yaml(&view)?,
    };
    print(&text)?;
    Ok(0)
}

async fn generate(args: GenerateArgs) -> Result<u8> {
    let timestamp = match &args.timestamp {
        Some(text) => text.parse::<jiff::Timestamp>().map_err(|e| {
            Error::invalid(format!("--timestamp '{text}' is not an RFC 3339 time: {e}"))
                .with_help("write e.g. 2026-11-23T12:00:00Z")
        })?,
        None => jiff::Timestamp::now(),
    };
    let release =
        manifest::load(&args.release.release, &LoadOptions { variant: args.release.variant.clone() })?;
    let source = source_options(&args.release);
    let sources = source::read_sources(&release, &source).await?;
    let release = Arc::new(release);
    let plan = plan::plan(release.clone(), &sources, &PlanOptions { strict: args.release.strict })?;
    let mut options = okd_core::generate::GenerateOptions::new(&release, args.out.clone(), source);
    options.components = args.components;
    options.pins = args.pins.into_iter().collect();
    options.timestamp = timestamp;
    options.assembly = args.assembly;
    let generated = okd_core::generate::generate(&plan, &sources, &options).await?;
    let mut text = String::new();
    for g in &generated {
        text.push_str(&format!("{}\t{}\t{}\n", g.component, g.release, g.dir.display()));
    }
    text.push_str(&format!(
        "{} component source trees written under {}\n",
        generated.len(),
        args.out.display()
    ));
    print(&text)?;
    Ok(0)
}

fn source_options(args: &ReleaseArgs) -> SourceOptions {
    SourceOptions {
        offline: args.offline,
        cache_dir: args.cache_dir.clone().unwrap_or_else(SourceOptions::default_cache_dir),
        ..SourceOptions::default()
    }
}

async fn graph(args: GraphArgs) -> Result<u8> {
    let plan = load_plan(&args.release).await?;
    let text = match args.format {
        GraphFormat::Dot => plan.graph.to_dot(&plan.release.name),
        GraphFormat::Json => output::to_json(&plan.graph.to_view())?,
    };
    print(&text)?;
    Ok(0)
}

fn backends(args: BackendsArgs, registry: &BackendRegistry) -> Result<u8> {
    let infos = registry.infos();
    let text = match args.output {
        ListOutput::Json => output::to_json(&infos)?,
        ListOutput::Table => output::backends_table(&infos),
    };
    print(&text)?;
    Ok(0)
}

fn dockerfile_command(cmd: DockerfileCommand) -> Result<u8> {
    match cmd {
        DockerfileCommand::Froms { file, build_args, output } => {
            let (text, parsed) = read_dockerfile(&file, build_args)?;
            let _ = text;
            let out = match output {
                ListOutput::Json => output::to_json(&output::refs_view(&parsed))?,
                ListOutput::Table => output::refs_table(&parsed),
            };
            print(&out)?;
        }
        DockerfileCommand::Rewrite { file, replace, build_args, in_place } => {
            let (text, parsed) = read_dockerfile(&file, build_args)?;
            let map: BTreeMap<String, String> = replace.into_iter().collect();
            let edits: Vec<dockerfile::Edit> = parsed
                .refs
                .iter()
                .filter(|r| matches!(r.target, dockerfile::RefTarget::Image))
                .filter_map(|r| {
                    let new = map.get(&r.expanded).or_else(|| map.get(&r.raw))?;
                    Some(dockerfile::Edit { span: r.span.clone(), replacement: new.clone() })
                })
                .collect();
            let rewritten = dockerfile::rewrite(&text, &edits)?;
            if in_place {
                output::write_atomically(&file, &rewritten)?;
                eprintln!("{}: {} reference(s) rewritten", file.display(), edits.len());
            } else {
                print(&rewritten)?;
            }
        }
    }
    Ok(0)
}

fn read_dockerfile(
    file: &Path,
    build_args: Vec<(String, String)>,
) -> Result<(String, dockerfile::Dockerfile)> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| Error::io(file, "read the Dockerfile", e).with_help("pass the path of a Dockerfile"))?;
    let args: BTreeMap<String, String> = build_args.into_iter().collect();
    let parsed = dockerfile::parse(file, &text, &args)?;
    if parsed.stages.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, format!("{} has no FROM", file.display())));
    }
    Ok((text, parsed))
}

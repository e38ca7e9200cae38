//! `okd generate`: the source trees Doozer would hand to a build system.

use std::sync::Arc;

use okd_core::{
    Error, Result,
    plan::{self, PlanOptions},
    source,
};

use crate::{cli::GenerateArgs, context::source_options, output::print};

pub async fn run(args: GenerateArgs) -> Result<u8> {
    crate::context::folder_arg("--out", &args.out)?;
    // As `okd render`: never write into a folder that holds something, unless told to.
    if !args.force && std::fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Error::invalid(format!("{} exists and is not empty", args.out.display()))
            .with_help("choose an empty folder, or pass --force to regenerate into it"));
    }
    crate::context::folder_arg("--cache-dir", &crate::context::source_options(&args.release).cache_dir)?;
    let timestamp = match &args.timestamp {
        Some(text) => text.parse::<jiff::Timestamp>().map_err(|e| {
            Error::invalid(format!("--timestamp '{text}' is not an RFC 3339 time: {e}"))
                .with_help("write e.g. 2026-11-23T12:00:00Z")
        })?,
        None => jiff::Timestamp::now(),
    };
    let release = crate::context::load_release(&args.release)?;
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
    if args.output == crate::cli::ListOutput::Json {
        print(&crate::output::to_json(&generated)?)?;
        return Ok(0);
    }
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

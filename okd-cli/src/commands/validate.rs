//! `okd validate`: every check, one summary line.

use okd_core::{Result, plan};

use crate::{cli::ReleaseArgs, context::load_plan, output::print};

pub async fn run(args: &ReleaseArgs) -> Result<u8> {
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

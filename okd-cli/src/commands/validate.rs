//! `okd validate`: every check, one summary line.

use okd_core::{Result, plan};

use crate::{
    cli::{ListOutput, ValidateArgs},
    context::load_plan,
    output::{print, to_json},
};

pub async fn run(validate: &ValidateArgs) -> Result<u8> {
    let args = &validate.release;
    let plan = load_plan(args).await?;
    let release = &plan.release;
    let refs: usize = plan.components.iter().map(|c| c.stages.len()).sum();
    let changed: usize = plan.components.iter().flat_map(|c| &c.stages).filter(|s| s.changes()).count();
    let levels = plan.components.iter().map(|c| c.level + 1).max().unwrap_or(0);
    if validate.output == ListOutput::Json {
        let unread: Vec<serde_json::Value> = plan
            .unreadable()
            .filter_map(|c| match &c.source {
                plan::PlannedSource::Unreadable { reason } => {
                    Some(serde_json::json!({"component": c.name, "reason": reason}))
                }
                _ => None,
            })
            .collect();
        let view = serde_json::json!({
            "manifest": args.release,
            "release": {"name": release.name, "version": release.version.to_string()},
            "valid": true,
            "components": plan.components.len(),
            "levels": levels,
            "references": refs,
            "rewritten": changed,
            "unread_sources": unread,
        });
        print(&to_json(&view)?)?;
        return Ok(0);
    }
    let mut text = format!(
        "{}: release {} {} is valid: {} components, {} levels, {refs} FROM/--from references ({changed} rewritten)\n",
        args.release.display(),
        release.name,
        release.version,
        plan.components.len(),
        levels,
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

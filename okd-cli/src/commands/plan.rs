//! `okd plan`: FROM resolution, build order and fingerprints, the Go builders, and a backend's
//! artifacts.

use std::sync::Arc;

use okd_core::{Result, backend::BackendPlanOptions, plan::go::GoVersionUse};
use okd_runtime::BackendRegistry;

use crate::{
    cli::{Output, PlanArgs},
    context::{self, load_plan},
    output::{self, print},
};

pub async fn run(args: PlanArgs, registry: &BackendRegistry) -> Result<u8> {
    let plan = Arc::new(load_plan(&args.release).await?);
    let previous = args.compare.as_deref().map(output::read_previous_plan).transpose()?;
    let artifacts = match &args.backend {
        Some(name) => {
            let (_, backend) = context::backend(registry, name, &args.settings, Some(&args.release))?;
            let backend_plan = backend.plan(plan.clone(), &BackendPlanOptions::default()).await?;
            output::backend_warnings(&backend_plan, args.release.strict)?;
            Some(backend_plan)
        }
        None => None,
    };
    let view = output::PlanView::new(&plan, args.backend.as_deref(), artifacts.as_ref(), previous.as_ref());
    let go_versions = plan.go_versions();
    let with_go = WithGo { view: &view, go_versions: &go_versions };
    let text = match args.output {
        Output::Table => output::plan_table(&view) + &go_table(&go_versions),
        Output::Json => output::to_json(&with_go)?,
        Output::Yaml => output::to_yaml(&with_go)?,
    };
    print(&text)?;
    Ok(0)
}

/// The plan's view with the Go versions its components build with (each component also says
/// its own, as `go_builders`).
#[derive(serde::Serialize)]
struct WithGo<'a> {
    #[serde(flatten)]
    view: &'a output::PlanView<'a>,
    #[serde(skip_serializing_if = "<[GoVersionUse]>::is_empty")]
    go_versions: &'a [GoVersionUse],
}

/// Characters of component names on one line of the Go builders section.
const NAMES_WIDTH: usize = 96;

/// The Go builders section of the table: each version, what provides it and, wrapped, the
/// components that build on it. Nothing when no builder names a Go version.
fn go_table(versions: &[GoVersionUse]) -> String {
    if versions.is_empty() {
        return String::new();
    }
    let mut out = String::from("\nGo builders (version, builder, components):\n");
    for v in versions {
        let n = v.components.len();
        out.push_str(&format!(
            "  {}  {}  {n} component{}\n",
            v.version,
            v.builders.join(", "),
            if n == 1 { "" } else { "s" }
        ));
        let mut line = String::new();
        for name in &v.components {
            if !line.is_empty() && line.len() + name.len() + 2 > NAMES_WIDTH {
                out.push_str(&format!("      {line},\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push_str(", ");
            }
            line.push_str(name);
        }
        out.push_str(&format!("      {line}\n"));
    }
    out
}

//! `okd plan`: FROM resolution, build order and fingerprints, and a backend's artifacts.

use std::sync::Arc;

use okd_core::{Result, backend::BackendPlanOptions};
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
    let text = match args.output {
        Output::Table => output::plan_table(&view),
        Output::Json => output::to_json(&view)?,
        Output::Yaml => output::to_yaml(&view)?,
    };
    print(&text)?;
    Ok(0)
}

//! `okd graph`: the build graph as DOT or JSON.

use okd_core::Result;

use crate::{
    cli::{GraphArgs, GraphFormat},
    context::load_plan,
    output::{self, print},
};

pub async fn run(args: GraphArgs) -> Result<u8> {
    let plan = load_plan(&args.release).await?;
    let text = match args.format {
        GraphFormat::Dot => plan.graph.to_dot(&plan.release.name),
        GraphFormat::Json => output::to_json(&plan.graph.to_view())?,
    };
    print(&text)?;
    Ok(0)
}

//! `okd backends`: the approaches, what each implementation can do, what each costs.

use okd_core::Result;
use okd_runtime::BackendRegistry;

use crate::{
    cli::{BackendsArgs, ListOutput},
    output::{self, print},
};

pub fn run(args: BackendsArgs, registry: &BackendRegistry) -> Result<u8> {
    let infos = registry.infos();
    let text = match args.output {
        ListOutput::Json => output::to_json(&infos)?,
        ListOutput::Table => output::backends_table(&infos),
    };
    print(&text)?;
    Ok(0)
}

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

/// `okd version`: the version, the commit built from, and each backend with its status.
pub fn version(output: ListOutput, registry: &BackendRegistry) -> Result<u8> {
    let backends: Vec<serde_json::Value> = registry
        .infos()
        .into_iter()
        .map(|i| serde_json::json!({ "name": i.name, "maturity": i.maturity }))
        .collect();
    let version = env!("CARGO_PKG_VERSION");
    let commit = env!("OKD_BUILD_COMMIT");
    let text = match output {
        ListOutput::Json => output::to_json(
            &serde_json::json!({ "version": version, "commit": commit, "backends": backends }),
        )?,
        ListOutput::Table => {
            let list: Vec<String> =
                registry.infos().iter().map(|i| format!("{} ({})", i.name, i.maturity.as_str())).collect();
            format!("okd {version} (commit {commit})\nbackends: {}\n", list.join(", "))
        }
    };
    print(&text)?;
    Ok(0)
}

//! Not built yet.

use okd_core::{Error, Result};

use crate::cli::WatchArgs;

pub async fn run(_args: WatchArgs, _registry: &okd_runtime::BackendRegistry) -> Result<u8> {
    Err(Error::not_implemented("okd", "watch"))
}

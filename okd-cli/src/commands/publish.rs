//! Not built yet.

use okd_core::{Error, Result};

use crate::cli::PublishArgs;

pub async fn run(_args: PublishArgs, _registry: &okd_runtime::BackendRegistry) -> Result<u8> {
    Err(Error::not_implemented("okd", "publish"))
}

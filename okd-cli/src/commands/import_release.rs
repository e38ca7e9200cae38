//! Not built yet.

use okd_core::{Error, Result};

use crate::cli::ReleaseImageArgs;

pub async fn run(_args: ReleaseImageArgs) -> Result<u8> {
    Err(Error::not_implemented("okd", "import_release"))
}

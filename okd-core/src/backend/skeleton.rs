//! A registered backend whose operations are not built yet.

use std::{path::Path, sync::Arc};

use async_trait::async_trait;

use super::{
    BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, EventSink, RenderSummary,
    RunId, RunReport, RunStatus,
};
use crate::{Error, Result, plan::Plan};

/// Describes itself and answers every operation with a NotImplemented error that names the
/// backend and the operation. Backend crates use it until their issue builds them, so a user who
/// picks such a backend is told plainly rather than given an empty result.
#[derive(Debug, Clone)]
pub struct Skeleton {
    info: fn() -> BackendInfo,
}

impl Skeleton {
    /// A skeleton described by `info`.
    pub fn new(info: fn() -> BackendInfo) -> Self {
        Skeleton { info }
    }

    fn refuse(&self, operation: &str) -> Error {
        Error::not_implemented((self.info)().name, operation)
    }
}

#[async_trait]
impl BuildBackend for Skeleton {
    fn info(&self) -> BackendInfo {
        (self.info)()
    }

    async fn plan(&self, _plan: Arc<Plan>, _options: &BackendPlanOptions) -> Result<BackendPlan> {
        Err(self.refuse("plan"))
    }

    async fn render(&self, _plan: &BackendPlan, _dir: &Path) -> Result<RenderSummary> {
        Err(self.refuse("render"))
    }

    async fn build(
        &self,
        _plan: &BackendPlan,
        _options: &BuildOptions,
        _events: EventSink,
    ) -> Result<RunReport> {
        Err(self.refuse("build"))
    }

    async fn status(&self, _run: &RunId) -> Result<RunStatus> {
        Err(self.refuse("status"))
    }

    async fn cancel(&self, _run: &RunId) -> Result<()> {
        Err(self.refuse("cancel"))
    }
}

#![allow(clippy::unwrap_used)]
//! The conformance suite against the in-memory backend, and proof that the suite catches a
//! backend that breaks the contract.

use std::{path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use futures::FutureExt;
use okd_core::{
    Result,
    backend::{
        BackendInfo, BackendPlan, BackendPlanOptions, BuildBackend, BuildOptions, EventSink, RenderSummary,
        RunId, RunReport, RunStatus,
    },
    plan::Plan,
};
use okd_tests::conformance::{CHECKS, Check, Harness, MemoryHarness, run_check};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_backend_passes_every_check() {
    for name in CHECKS {
        let harness = MemoryHarness::default();
        let check = tokio::time::timeout(Duration::from_secs(30), run_check(name, &harness)).await;
        assert_eq!(check.unwrap_or_else(|_| panic!("{name} timed out")), Check::Passed, "{name}");
    }
}

/// How a wrapper breaks the contract.
#[derive(Debug, Clone, Copy)]
enum Flaw {
    /// Reports builds without digests.
    NoDigests,
    /// `cancel` says yes and does nothing.
    CancelDoesNothing,
}

#[derive(Debug)]
struct Broken {
    inner: Arc<dyn BuildBackend>,
    flaw: Flaw,
}

#[async_trait]
impl BuildBackend for Broken {
    fn info(&self) -> BackendInfo {
        self.inner.info()
    }
    async fn plan(&self, plan: Arc<Plan>, options: &BackendPlanOptions) -> Result<BackendPlan> {
        self.inner.plan(plan, options).await
    }
    async fn render(&self, plan: &BackendPlan, dir: &Path) -> Result<RenderSummary> {
        self.inner.render(plan, dir).await
    }
    async fn build(
        &self,
        plan: &BackendPlan,
        options: &BuildOptions,
        events: EventSink,
    ) -> Result<RunReport> {
        let mut report = self.inner.build(plan, options, events).await?;
        if let Flaw::NoDigests = self.flaw {
            report.components.iter_mut().for_each(|c| c.digest = None);
        }
        Ok(report)
    }
    async fn status(&self, run: &RunId) -> Result<RunStatus> {
        self.inner.status(run).await
    }
    async fn cancel(&self, run: &RunId) -> Result<()> {
        match self.flaw {
            Flaw::CancelDoesNothing => Ok(()),
            Flaw::NoDigests => self.inner.cancel(run).await,
        }
    }
}

struct BrokenHarness {
    inner: MemoryHarness,
    flaw: Flaw,
}

#[async_trait]
impl Harness for BrokenHarness {
    async fn backend(&self) -> Arc<dyn BuildBackend> {
        Arc::new(Broken { inner: self.inner.backend().await, flaw: self.flaw })
    }
    async fn plan(&self) -> Arc<Plan> {
        self.inner.plan().await
    }
    async fn fail(&self, component: &str) {
        self.inner.fail(component).await
    }
    async fn set_duration(&self, component: &str, d: Duration) {
        self.inner.set_duration(component, d).await
    }
    async fn remote_builds(&self) -> usize {
        self.inner.remote_builds().await
    }
    async fn running_builds(&self) -> usize {
        self.inner.running_builds().await
    }
    async fn inject_transient_failures(&self, n: usize) -> bool {
        self.inner.inject_transient_failures(n).await
    }
    async fn drop_watches(&self) -> bool {
        self.inner.drop_watches().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_catches_broken_backends() {
    for (flaw, check) in [(Flaw::NoDigests, "build_end_to_end"), (Flaw::CancelDoesNothing, "cancel")] {
        let harness = BrokenHarness { inner: MemoryHarness::default(), flaw };
        let outcome = std::panic::AssertUnwindSafe(run_check(check, &harness)).catch_unwind().await;
        assert!(outcome.is_err(), "{check} passed a backend with {flaw:?}");
    }
}

//! Running a build graph with bounded parallelism.
//!
//! A Kahn-style ready queue over a [`JoinSet`]: a component starts as soon as its own parents
//! are done (no barrier between levels), at most `jobs` run at once, a failure marks every
//! dependent skipped while independent work goes on, and cancellation aborts what runs and
//! cancels what waits. The [`RunDriver`](crate::RunDriver) runs every backend's builds through
//! this, so they all order, skip and cancel the same way.
//!
//! The scheduler emits `queued`, then `succeeded`/`reused`, `failed` or `skipped`; `started` is
//! the build's own to say (the driver says it when a build really starts, not for a reuse).

use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap},
    future::Future,
};

use jiff::Timestamp;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use okd_core::{
    Error, ErrorKind,
    backend::{ComponentResult, EventKind, EventSink, Outcome},
    graph::BuildGraph,
};

/// Ready nodes by priority, then by arrival.
struct ReadyQueue<'a> {
    heap: BinaryHeap<(u64, Reverse<u64>, usize)>,
    priority: &'a [u64],
    arrivals: u64,
}

impl ReadyQueue<'_> {
    fn push(&mut self, node: usize) {
        let priority = self.priority.get(node).copied().unwrap_or(0);
        self.heap.push((priority, Reverse(self.arrivals), node));
        self.arrivals += 1;
    }

    fn pop(&mut self) -> Option<usize> {
        self.heap.pop().map(|(_, _, node)| node)
    }
}

/// What one build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The image reference.
    pub image: String,
    /// Its digest.
    pub digest: String,
    /// Whether an earlier build was taken instead of building.
    pub reused: bool,
    /// The backend's own name for the build (engine image ID, PipelineRun), recorded in the run
    /// store; the digest when `None`.
    pub build_ref: Option<String>,
    /// The build's log, when kept.
    pub log: Option<std::path::PathBuf>,
    /// Per architecture, when the backend builds each separately.
    pub arches: Vec<okd_core::backend::ArchResult>,
}

impl Built {
    /// A new build of `image` with `digest`.
    pub fn new(image: impl Into<String>, digest: impl Into<String>) -> Self {
        Built {
            image: image.into(),
            digest: digest.into(),
            reused: false,
            build_ref: None,
            log: None,
            arches: Vec::new(),
        }
    }

    /// With per-architecture results.
    pub fn with_arches(mut self, arches: Vec<okd_core::backend::ArchResult>) -> Self {
        self.arches = arches;
        self
    }

    /// Marked as taken from an earlier build.
    pub fn reused(mut self) -> Self {
        self.reused = true;
        self
    }

    /// With the backend's name for the build.
    pub fn with_ref(mut self, build_ref: impl Into<String>) -> Self {
        self.build_ref = Some(build_ref.into());
        self
    }

    /// With the path of its log.
    pub fn with_log(mut self, log: std::path::PathBuf) -> Self {
        self.log = Some(log);
        self
    }
}

/// Runs `build(node)` for every node of `graph` in `selected` (all nodes when `None`), parents
/// first, at most `jobs` at once. Nodes outside `selected` count as done. Returns one result per
/// selected node, in build order. Events go to `events` as things happen. Ready nodes start
/// first come, first served; [`run_by_priority`] orders them.
pub async fn run<F, Fut>(
    graph: &BuildGraph,
    selected: Option<&[usize]>,
    jobs: usize,
    cancel: CancellationToken,
    events: EventSink,
    build: F,
) -> Vec<ComponentResult>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Built, Error>> + Send + 'static,
{
    run_by_priority(graph, selected, jobs, &[], cancel, events, build).await
}

/// [`run`], but when more than one node is ready the one with the highest `priority[node]`
/// starts first; ties, and every node when `priority` is empty, go first come, first served.
/// With [`BuildGraph::remaining_work`] over expected build times as the priority this is list
/// scheduling by the longest remaining path (HLFET), which keeps the critical path moving.
pub async fn run_by_priority<F, Fut>(
    graph: &BuildGraph,
    selected: Option<&[usize]>,
    jobs: usize,
    priority: &[u64],
    cancel: CancellationToken,
    events: EventSink,
    build: F,
) -> Vec<ComponentResult>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Built, Error>> + Send + 'static,
{
    let n = graph.len();
    let mut wanted = vec![selected.is_none(); n];
    for &i in selected.unwrap_or(&[]) {
        wanted[i] = true;
    }
    let mut waiting: Vec<usize> =
        (0..n).map(|i| graph.parents(i).iter().filter(|&&p| wanted[p]).count()).collect();
    let mut results: Vec<Option<ComponentResult>> = vec![None; n];
    let mut ready = ReadyQueue { heap: BinaryHeap::new(), priority, arrivals: 0 };
    for &i in graph.order() {
        if wanted[i] {
            events.emit(graph.name(i), EventKind::Queued);
            if waiting[i] == 0 {
                ready.push(i);
            }
        }
    }
    let mut running: JoinSet<(usize, Timestamp, Result<Built, Error>)> = JoinSet::new();
    let jobs = jobs.max(1);
    let mut tasks: HashMap<tokio::task::Id, (usize, Timestamp)> = HashMap::new();
    let mut started_at: Vec<Option<Timestamp>> = vec![None; n];
    loop {
        while running.len() < jobs && !cancel.is_cancelled() {
            let Some(node) = ready.pop() else { break };
            let started = Timestamp::now();
            started_at[node] = Some(started);
            let work = build(node);
            let handle = running.spawn(async move { (node, started, work.await) });
            tasks.insert(handle.id(), (node, started));
        }
        if running.is_empty() {
            break;
        }
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            () = cancel.cancelled() => {
                running.abort_all();
                while running.join_next().await.is_some() {}
                break;
            }
        };
        let Some(joined) = joined else { break };
        let (node, started, outcome) = match joined {
            Ok(done) => done,
            // A build task that panicked is that component's failure, not the run's end.
            Err(e) => match tasks.get(&e.id()) {
                Some(&(node, started)) => {
                    (node, started, Err(Error::new(ErrorKind::Internal, "the build task panicked")))
                }
                None => continue,
            },
        };
        let name = graph.name(node).to_owned();
        let result = match outcome {
            Ok(built) => {
                let kind = if built.reused {
                    EventKind::Reused { image: built.image.clone(), digest: built.digest.clone() }
                } else {
                    EventKind::Succeeded { image: built.image.clone(), digest: built.digest.clone() }
                };
                events.emit(&name, kind);
                for &child in graph.children(node) {
                    if wanted[child] {
                        waiting[child] -= 1;
                        if waiting[child] == 0 && results[child].is_none() {
                            ready.push(child);
                        }
                    }
                }
                ComponentResult {
                    name,
                    outcome: if built.reused { Outcome::Reused } else { Outcome::Succeeded },
                    image: Some(built.image),
                    digest: Some(built.digest),
                    reason: None,
                    started: Some(started),
                    finished: Some(Timestamp::now()),
                    fingerprint: None,
                    arches: built.arches,
                }
            }
            Err(error) => {
                let reason = error.to_string();
                events.emit(&name, EventKind::Failed { reason: reason.clone() });
                for dependent in graph.dependents_closure(node).into_iter().skip(1) {
                    if wanted[dependent] && results[dependent].is_none() {
                        events.emit(graph.name(dependent), EventKind::Skipped { because: name.clone() });
                        results[dependent] = Some(ComponentResult {
                            name: graph.name(dependent).to_owned(),
                            outcome: Outcome::Skipped,
                            image: None,
                            digest: None,
                            reason: Some(format!("{name} failed")),
                            started: None,
                            finished: None,
                            fingerprint: None,
                            arches: Vec::new(),
                        });
                    }
                }
                ComponentResult {
                    name,
                    outcome: Outcome::Failed,
                    image: None,
                    digest: None,
                    reason: Some(reason),
                    started: Some(started),
                    finished: Some(Timestamp::now()),
                    fingerprint: None,
                    arches: Vec::new(),
                }
            }
        };
        results[node] = Some(result);
    }
    // Whatever has no result was cancelled.
    graph
        .order()
        .iter()
        .filter(|&&i| wanted[i])
        .map(|&i| {
            results[i].take().unwrap_or_else(|| ComponentResult {
                name: graph.name(i).to_owned(),
                outcome: Outcome::Cancelled,
                image: None,
                digest: None,
                reason: Some("cancelled".into()),
                started: started_at[i],
                finished: Some(Timestamp::now()),
                fingerprint: None,
                arches: Vec::new(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::{
        sync::{
            Arc,
            atomic::{AtomicUsize, Ordering},
        },
        time::Duration,
    };

    use super::*;

    fn graph() -> BuildGraph {
        // a, b -> c -> d; e independent
        let names = ["a", "b", "c", "d", "e"].map(String::from).to_vec();
        BuildGraph::new(names, [(0, 2), (1, 2), (2, 3)]).unwrap()
    }

    fn ok(i: usize) -> Result<Built, Error> {
        Ok(Built::new(format!("img{i}"), format!("sha256:{i}")))
    }

    /// The order nodes start in, one slot, with `priority`.
    async fn start_order(g: &BuildGraph, priority: &[u64]) -> Vec<String> {
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        run_by_priority(g, None, 1, priority, CancellationToken::new(), EventSink::discard(), |i| {
            order.lock().unwrap().push(g.name(i).to_owned());
            async move { ok(i) }
        })
        .await;
        order.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn ready_nodes_start_by_priority_then_first_come() {
        // a, b -> c -> d; e independent. Weighted by remaining work, e (10) goes first, then a
        // and b (6 each: 1 + c 2 + d 3), a first because it was ready first.
        let g = graph();
        let cost = [1, 1, 2, 3, 10];
        let rank = g.remaining_work(|i| cost[i]);
        assert_eq!(rank, [6, 6, 5, 3, 10]);
        assert_eq!(start_order(&g, &rank).await, ["e", "a", "b", "c", "d"]);
        // No priority: first come, first served in build order.
        assert_eq!(start_order(&g, &[]).await, ["a", "b", "e", "c", "d"]);
    }

    #[tokio::test]
    async fn parents_first_bounded_and_no_level_barrier() {
        let g = graph();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (running, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let results = run(&g, None, 2, CancellationToken::new(), EventSink::discard(), |i| {
            let (log, running, peak) = (log.clone(), running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                log.lock().unwrap().push(format!("start {i}"));
                tokio::time::sleep(Duration::from_millis(if i == 4 { 60 } else { 10 })).await;
                log.lock().unwrap().push(format!("end {i}"));
                running.fetch_sub(1, Ordering::SeqCst);
                ok(i)
            }
        })
        .await;
        assert!(results.iter().all(|r| r.outcome == Outcome::Succeeded));
        assert!(peak.load(Ordering::SeqCst) <= 2);
        let log = log.lock().unwrap().clone();
        let pos = |s: &str| log.iter().position(|l| l == s).unwrap();
        assert!(
            pos("end 0") < pos("start 2") && pos("end 1") < pos("start 2") && pos("end 2") < pos("start 3")
        );
        // `c` does not wait for the slow independent `e` (no barrier between levels).
        assert!(pos("start 2") < pos("end 4"), "{log:?}");
    }

    #[tokio::test]
    async fn a_failure_skips_dependents_and_independents_finish() {
        let g = graph();
        let (sink, mut rx) = EventSink::channel();
        let results = run(&g, None, 4, CancellationToken::new(), sink, |i| async move {
            if i == 0 { Err(Error::new(ErrorKind::BuildFailed, "RUN make failed")) } else { ok(i) }
        })
        .await;
        let by: std::collections::HashMap<_, _> =
            results.iter().map(|r| (r.name.as_str(), r.outcome)).collect();
        assert_eq!(by["a"], Outcome::Failed);
        assert_eq!((by["c"], by["d"]), (Outcome::Skipped, Outcome::Skipped));
        assert_eq!((by["b"], by["e"]), (Outcome::Succeeded, Outcome::Succeeded));
        let mut skipped = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let EventKind::Skipped { because } = &e.kind {
                skipped.push((e.component, because.clone()));
            }
        }
        assert_eq!(skipped, [("c".to_owned(), "a".to_owned()), ("d".to_owned(), "a".to_owned())]);
    }

    #[tokio::test]
    async fn cancel_aborts_running_and_cancels_waiting() {
        let g = graph();
        let cancel = CancellationToken::new();
        let trigger = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            trigger.cancel();
        });
        let results = run(&g, None, 4, cancel, EventSink::discard(), |i| async move {
            tokio::time::sleep(Duration::from_secs(if i == 4 { 0 } else { 30 })).await;
            ok(i)
        })
        .await;
        let cancelled = results.iter().filter(|r| r.outcome == Outcome::Cancelled).count();
        assert_eq!(cancelled, 4, "{results:?}");
    }

    #[tokio::test]
    async fn only_selected_nodes_run() {
        let g = graph();
        let results = run(
            &g,
            Some(&[2, 3]),
            2,
            CancellationToken::new(),
            EventSink::discard(),
            |i| async move { ok(i) },
        )
        .await;
        assert_eq!(results.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["c", "d"]);
    }
}

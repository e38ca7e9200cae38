//! When a GitHub call that failed is tried again, and how long to wait first.
//!
//! GitHub's rules (docs.github.com, "Rate limits for the REST API"): a 403 or 429 with
//! `Retry-After` means wait that long; one with `x-ratelimit-remaining: 0` means wait until
//! `x-ratelimit-reset`; a 429 with neither means wait at least a minute. Server errors and lost
//! connections are retried a few times with backoff; anything else (401, 404, 422, a 403 that
//! is a permission) will not get better. Waits are bounded per call ([`RetryPolicy::max_wait`]):
//! feedback must never hold a build's end for an hour, so a call that would have to wait
//! longer gives up and is counted as not delivered, and once the limit is known to last
//! longer, later calls give up without asking.

use std::{
    future::Future,
    sync::Mutex,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use async_trait::async_trait;

use super::api::ApiFailure;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts for errors that are not rate limits (5xx, no answer), the first included.
    pub attempts: u32,
    /// The first backoff wait; it doubles up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// The most one call waits in all, rate limits and backoff together.
    pub max_wait: Duration,
    /// The most requests one call makes, whatever the waits (a `Retry-After: 0` loop ends).
    pub max_requests: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_wait: Duration::from_secs(120),
            max_requests: 20,
        }
    }
}

/// Waits shorter than this are made this long: a reset in the current second, or a
/// `Retry-After: 0`, still deserves a breath before the next request.
const MIN_WAIT: Duration = Duration::from_millis(100);

/// What to do after a failed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Wait, then call again. `rate_limited` says the wait is GitHub's, not a backoff.
    Retry { wait: Duration, rate_limited: bool },
    /// Stop; the reason says why, for the run report.
    GiveUp(String),
}

impl RetryPolicy {
    /// Short waits, for tests against local fakes.
    pub fn fast() -> Self {
        RetryPolicy {
            attempts: 4,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(20),
            max_wait: Duration::from_secs(10),
            max_requests: 20,
        }
    }

    /// The decision after `failure`, the call's `requests`-th request, when `errors` earlier
    /// requests failed for other reasons than a rate limit and the call has waited `waited`.
    pub fn decide(
        &self,
        failure: &ApiFailure,
        requests: u32,
        errors: u32,
        waited: Duration,
        now: SystemTime,
    ) -> Decision {
        if requests >= self.max_requests {
            return Decision::GiveUp(format!("{failure} (gave up after {requests} requests)"));
        }
        if let Some(wait) = rate_limit_wait(failure, now) {
            if waited + wait > self.max_wait {
                return Decision::GiveUp(format!(
                    "{failure} (rate limited for {}s more; gave up after waiting {}s)",
                    wait.as_secs(),
                    waited.as_secs()
                ));
            }
            return Decision::Retry { wait: wait.max(MIN_WAIT), rate_limited: true };
        }
        let transient = match failure.status {
            None => true,
            Some(status) => matches!(status, 500 | 502 | 503 | 504),
        };
        if !transient {
            return Decision::GiveUp(failure.to_string());
        }
        if errors + 1 >= self.attempts {
            return Decision::GiveUp(format!("{failure} (gave up after {} attempts)", errors + 1));
        }
        let wait = self.initial_backoff.saturating_mul(1 << errors.min(16)).min(self.max_backoff);
        if waited + wait > self.max_wait {
            return Decision::GiveUp(format!("{failure} (gave up after waiting {}s)", waited.as_secs()));
        }
        Decision::Retry { wait, rate_limited: false }
    }
}

/// How long a rate-limited answer says to wait; `None` when it is no rate limit.
fn rate_limit_wait(failure: &ApiFailure, now: SystemTime) -> Option<Duration> {
    let status = failure.status?;
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(after) = failure.retry_after {
        return Some(after);
    }
    if failure.remaining == Some(0)
        && let Some(reset) = failure.reset
    {
        let reset = UNIX_EPOCH + Duration::from_secs(reset);
        return Some(reset.duration_since(now).unwrap_or_default());
    }
    // A secondary limit that names no time: GitHub says wait at least a minute. A 403 without
    // any of these is a permission, which waiting does not change.
    (status == 429).then_some(Duration::from_secs(60))
}

/// Time, as the retry loop sees it: real in the program, mocked in tests.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait Pause: Send + Sync {
    /// Waits.
    async fn sleep(&self, wait: Duration);
    /// The wall clock (rate-limit resets are wall-clock times).
    fn now(&self) -> SystemTime;
}

/// Real time.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealTime;

#[async_trait]
impl Pause for RealTime {
    async fn sleep(&self, wait: Duration) {
        tokio::time::sleep(wait).await;
    }
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// Runs calls under a [`RetryPolicy`], remembering across calls until when GitHub's rate limit
/// holds, so that once it is known to last past the budget nothing more is asked until then.
pub struct Deliverer {
    policy: RetryPolicy,
    pause: Box<dyn Pause>,
    blocked_until: Mutex<Option<SystemTime>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Deliverer {
    pub fn new(policy: RetryPolicy, pause: Box<dyn Pause>) -> Self {
        Deliverer { policy, pause, blocked_until: Mutex::new(None) }
    }

    fn blocked_until(&self) -> Option<SystemTime> {
        *self.blocked_until.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn block_until(&self, until: SystemTime) {
        *self.blocked_until.lock().unwrap_or_else(|p| p.into_inner()) = Some(until);
    }

    /// Calls `call` until it succeeds or the policy gives up; the error is why, in one line.
    pub async fn deliver<T, F, Fut>(&self, mut call: F) -> Result<T, String>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiFailure>>,
    {
        let mut waited = Duration::ZERO;
        if let Some(until) = self.blocked_until() {
            let wait = until.duration_since(self.pause.now()).unwrap_or_default();
            if wait > self.policy.max_wait {
                return Err(format!(
                    "GitHub's rate limit holds for {}s more; not asked (the wait would pass the {}s limit)",
                    wait.as_secs(),
                    self.policy.max_wait.as_secs()
                ));
            }
            if !wait.is_zero() {
                self.pause.sleep(wait).await;
                waited += wait;
            }
        }
        let (mut requests, mut errors) = (0, 0);
        loop {
            requests += 1;
            let failure = match call().await {
                Ok(value) => return Ok(value),
                Err(failure) => failure,
            };
            let now = self.pause.now();
            match self.policy.decide(&failure, requests, errors, waited, now) {
                Decision::Retry { wait, rate_limited } => {
                    tracing::debug!(?wait, rate_limited, "GitHub call failed, trying again: {failure}");
                    if rate_limited {
                        self.block_until(now + wait);
                    } else {
                        errors += 1;
                    }
                    self.pause.sleep(wait).await;
                    waited += wait;
                }
                Decision::GiveUp(reason) => {
                    if let Some(wait) = rate_limit_wait(&failure, now) {
                        self.block_until(now + wait);
                    }
                    return Err(reason);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    };

    use mockall::{Sequence, predicate::eq};

    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(NOW)
    }

    fn failure(status: u16) -> ApiFailure {
        ApiFailure { status: Some(status), message: "x".into(), ..ApiFailure::default() }
    }

    fn primary_limit(reset_in: u64) -> ApiFailure {
        ApiFailure { remaining: Some(0), reset: Some(NOW + reset_in), ..failure(403) }
    }

    fn clock() -> MockPause {
        let mut pause = MockPause::new();
        pause.expect_now().returning(now);
        pause
    }

    /// A call that answers `answers` in turn, then succeeds; counts its requests.
    fn scripted(
        answers: Vec<ApiFailure>,
    ) -> (Arc<AtomicU32>, impl FnMut() -> std::future::Ready<Result<(), ApiFailure>>) {
        let count = Arc::new(AtomicU32::new(0));
        let seen = count.clone();
        let call = move || {
            let n = seen.fetch_add(1, Ordering::SeqCst) as usize;
            std::future::ready(answers.get(n).cloned().map_or(Ok(()), Err))
        };
        (count, call)
    }

    #[test]
    fn rate_limits_wait_for_what_github_says() {
        let policy = RetryPolicy::default();
        let decide = |f: &ApiFailure| policy.decide(f, 1, 0, Duration::ZERO, now());
        assert_eq!(
            decide(&primary_limit(30)),
            Decision::Retry { wait: Duration::from_secs(30), rate_limited: true }
        );
        let secondary = ApiFailure { retry_after: Some(Duration::from_secs(7)), ..failure(429) };
        assert_eq!(decide(&secondary), Decision::Retry { wait: Duration::from_secs(7), rate_limited: true });
        let secondary_403 = ApiFailure { retry_after: Some(Duration::from_secs(3)), ..failure(403) };
        assert_eq!(
            decide(&secondary_403),
            Decision::Retry { wait: Duration::from_secs(3), rate_limited: true }
        );
        assert_eq!(
            decide(&failure(429)),
            Decision::Retry { wait: Duration::from_secs(60), rate_limited: true }
        );
        // A reset already past still waits a moment.
        assert_eq!(
            policy.decide(&primary_limit(0), 1, 0, Duration::ZERO, now() + Duration::from_secs(2)),
            Decision::Retry { wait: MIN_WAIT, rate_limited: true }
        );
        // A limit past the budget gives up at once, saying so.
        let Decision::GiveUp(why) = decide(&primary_limit(3600)) else { panic!("gives up") };
        assert!(why.contains("rate limited for 3600s more"), "{why}");
    }

    #[test]
    fn other_errors_back_off_a_few_times_or_give_up_at_once() {
        let policy = RetryPolicy::default();
        let decide = |f: &ApiFailure, errors| policy.decide(f, errors + 1, errors, Duration::ZERO, now());
        assert_eq!(
            decide(&failure(502), 0),
            Decision::Retry { wait: Duration::from_millis(500), rate_limited: false }
        );
        assert_eq!(
            decide(&failure(503), 2),
            Decision::Retry { wait: Duration::from_secs(2), rate_limited: false }
        );
        assert!(matches!(decide(&failure(500), 3), Decision::GiveUp(why) if why.contains("4 attempts")));
        assert!(matches!(
            decide(&ApiFailure::transport("refused"), 0),
            Decision::Retry { rate_limited: false, .. }
        ));
        for status in [401, 404, 422] {
            assert_eq!(decide(&failure(status), 0), Decision::GiveUp(failure(status).to_string()));
        }
        // A 403 that names no limit is a permission: waiting does not help.
        assert!(matches!(
            decide(&ApiFailure { remaining: Some(4000), ..failure(403) }, 0),
            Decision::GiveUp(_)
        ));
        assert!(
            matches!(policy.decide(&failure(429), 20, 0, Duration::ZERO, now()), Decision::GiveUp(why) if why.contains("20 requests"))
        );
    }

    #[tokio::test]
    async fn a_rate_limit_is_waited_out_then_the_call_succeeds() {
        let mut pause = clock();
        let mut order = Sequence::new();
        pause
            .expect_sleep()
            .with(eq(Duration::from_secs(30)))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
        pause
            .expect_sleep()
            .with(eq(Duration::from_millis(5)))
            .times(1)
            .in_sequence(&mut order)
            .return_const(());
        let deliverer = Deliverer::new(RetryPolicy::fast_with_wait(60), Box::new(pause));
        let (requests, call) = scripted(vec![primary_limit(30), failure(502)]);
        assert_eq!(deliverer.deliver(call).await, Ok(()));
        assert_eq!(requests.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_long_limit_gives_up_and_later_calls_do_not_ask() {
        let mut pause = clock();
        pause.expect_sleep().never();
        let deliverer = Deliverer::new(RetryPolicy::fast_with_wait(60), Box::new(pause));
        let (requests, call) = scripted(vec![primary_limit(600)]);
        let why = deliverer.deliver(call).await.unwrap_err();
        assert!(why.contains("rate limited for 600s more"), "{why}");
        let (later, call) = scripted(vec![]);
        let why = deliverer.deliver(call).await.unwrap_err();
        assert!(why.contains("not asked"), "{why}");
        assert_eq!((requests.load(Ordering::SeqCst), later.load(Ordering::SeqCst)), (1, 0));
    }

    #[tokio::test]
    async fn a_storm_stops_at_the_wait_budget() {
        let mut pause = clock();
        // 429s with Retry-After: 20 s each; a 60 s budget allows three waits.
        pause.expect_sleep().with(eq(Duration::from_secs(20))).times(3).return_const(());
        let deliverer = Deliverer::new(RetryPolicy::fast_with_wait(60), Box::new(pause));
        let storm = ApiFailure { retry_after: Some(Duration::from_secs(20)), ..failure(429) };
        let (requests, call) = scripted(vec![storm; 10]);
        let why = deliverer.deliver(call).await.unwrap_err();
        assert!(why.contains("gave up after waiting 60s"), "{why}");
        assert_eq!(requests.load(Ordering::SeqCst), 4);
    }

    impl RetryPolicy {
        fn fast_with_wait(seconds: u64) -> Self {
            RetryPolicy { max_wait: Duration::from_secs(seconds), ..RetryPolicy::fast() }
        }
    }
}

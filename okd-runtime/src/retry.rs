//! Retrying what failed for a passing reason (a 5xx, a 429, a dropped connection), with
//! exponential backoff and the service's own `Retry-After` when it gives one. Backends wrap
//! every remote call in [`retry`], so a flaky service costs time, never a result.

use std::{future::Future, time::Duration};

use okd_core::Result;

/// How to back off.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(200), max: Duration::from_secs(10), attempts: 8 }
    }
}

impl Backoff {
    /// Short waits, for tests against local fakes.
    pub fn fast() -> Self {
        Backoff { initial: Duration::from_millis(5), max: Duration::from_millis(50), attempts: 8 }
    }

    /// The wait before attempt `n` (1-based retry count): doubling from `initial`, capped, with
    /// up to 25 % jitter so that many clients do not retry in step.
    fn wait(&self, n: u32) -> Duration {
        let base = self.initial.saturating_mul(1 << n.min(16)).min(self.max);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base + base.mul_f64(f64::from(nanos % 250) / 1000.0)
    }
}

/// Runs `op` until it succeeds, fails for good, or the attempts run out. Only errors that say
/// they are retryable are retried; `Retry-After` wins over the computed wait when it is longer.
pub async fn retry<T, F, Fut>(backoff: &Backoff, mut op: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if e.is_retryable() && attempt < backoff.attempts => {
                let wait = backoff.wait(attempt - 1).max(e.retry_after().unwrap_or_default());
                tracing::debug!(attempt, ?wait, error = %e, "retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use okd_core::{Error, ErrorKind};

    #[tokio::test]
    async fn transient_errors_are_retried_and_permanent_ones_are_not() {
        let calls = AtomicU32::new(0);
        let out = retry(&Backoff::fast(), || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 3 {
                Err(Error::new(ErrorKind::Unavailable, "503"))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!((out.unwrap(), calls.load(Ordering::SeqCst)), (7, 4));
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry(&Backoff::fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(ErrorKind::InvalidInput, "bad"))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_honoured_and_attempts_are_bounded() {
        let started = tokio::time::Instant::now();
        let calls = AtomicU32::new(0);
        let out: Result<()> = retry(&Backoff::fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(Error::new(ErrorKind::Unavailable, "429").with_retry_after(Duration::from_secs(2)))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 8);
        assert!(started.elapsed() >= Duration::from_secs(14), "7 waits of at least 2 s");
    }
}

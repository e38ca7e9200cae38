//! When the next watch cycle runs: the interval (`--interval 5m`), stretched exponentially after
//! failed cycles so a broken release does not rebuild every few minutes all night, and capped.

use std::time::Duration;

/// The longest a watcher waits after failures (unless its interval is longer still).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60 * 60);

/// Parses `30s`, `5m`, `1h` or a sum of such parts (`1h30m`): what `--interval` takes.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let usage =
        || format!("'{text}' is not an interval: write a number and a unit, e.g. 30s, 5m, 1h or 1h30m");
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 60 * 60,
            'd' => 24 * 60 * 60,
            _ => return Err(usage()),
        };
        let n: u64 = digits.parse().map_err(|_| usage())?;
        digits.clear();
        total = n.checked_mul(unit).and_then(|s| total.checked_add(s)).ok_or_else(usage)?;
    }
    if !digits.is_empty() || text.trim().is_empty() {
        return Err(usage());
    }
    if total == 0 {
        return Err(format!("'{text}' is no time at all: give an interval of at least 1s"));
    }
    Ok(Duration::from_secs(total))
}

/// `30s`, `5m`, `1h30m`: how [`parse_interval`] reads it back.
pub fn format_interval(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut text = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            text.push_str(&format!("{n}{unit}"));
        }
    }
    if text.is_empty() { "0s".to_owned() } else { text }
}

/// The wait before each cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    interval: Duration,
    cap: Duration,
}

impl Backoff {
    /// Cycles every `interval`; after failures up to [`MAX_BACKOFF`] apart (or `interval`, when
    /// that is longer).
    pub fn new(interval: Duration) -> Self {
        Backoff { interval, cap: MAX_BACKOFF.max(interval) }
    }

    /// The wait after a cycle that leaves `failures` consecutive failed cycles: the interval
    /// after a green cycle and after the first failure (it may have been a passing hiccup), then
    /// doubling with each further failure, up to the cap.
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(32);
        self.interval.saturating_mul(1u32 << doublings.min(31)).min(self.cap)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn intervals_parse_in_seconds_minutes_hours_and_sums() {
        assert_eq!(parse_interval("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_interval("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_interval("1h").unwrap(), Duration::from_secs(3600));
        assert_eq!(parse_interval("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_interval(" 2d ").unwrap(), Duration::from_secs(2 * 86400));
        for bad in ["", "5", "m", "5 m", "5min", "-5m", "1.5h", "5M", "99999999999999999999s"] {
            let error = parse_interval(bad).unwrap_err();
            assert!(error.contains("30s, 5m, 1h"), "{bad}: {error}");
        }
        assert!(parse_interval("0s").unwrap_err().contains("at least 1s"));
        for text in ["30s", "5m", "1h", "1h30m", "2h0m5s"] {
            let d = parse_interval(text).unwrap();
            assert_eq!(parse_interval(&format_interval(d)).unwrap(), d, "{text}");
        }
        assert_eq!(format_interval(Duration::from_secs(5400)), "1h30m");
    }

    #[test]
    fn failures_double_the_wait_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_secs(300));
        let waits: Vec<u64> = (0..7).map(|n| backoff.delay(n).as_secs()).collect();
        assert_eq!(waits, [300, 300, 600, 1200, 2400, 3600, 3600]);
        assert_eq!(backoff.delay(u32::MAX), MAX_BACKOFF, "no overflow");
        let slow = Backoff::new(Duration::from_secs(6 * 3600));
        assert_eq!(slow.delay(5), Duration::from_secs(6 * 3600), "never shorter than the interval");
        let fast = Backoff::new(Duration::from_secs(1));
        assert_eq!(fast.delay(3), Duration::from_secs(4));
    }
}

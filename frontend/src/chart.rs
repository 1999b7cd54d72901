//! The overview's chart of validations per hour: the histogram the API counts in SQL, laid out
//! as one bar per hour (pure, so the component tests check it without a browser layout).

use shared::audit::{AuditAction, AuditHistogram};

/// One hour of the chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HourBar {
    /// The hour's start, seconds since the epoch.
    pub start: i64,
    pub successes: u64,
    /// Wrong codes, the ones that locked included.
    pub failures: u64,
}

/// The actions a bar counts as a success, and as a failure.
pub const SUCCESS: &[AuditAction] = &[AuditAction::ChallengeSuccess];
pub const FAILURE: &[AuditAction] = &[AuditAction::ChallengeFailure, AuditAction::ChallengeFailureLocked];

/// The first hour of a chart of `hours` hours that ends with the hour holding `now`.
pub fn first_hour(now: i64, hours: usize) -> i64 {
    now.div_euclid(3600) * 3600 - 3600 * (hours as i64 - 1)
}

/// `hours` bars from `first`, an hour without events included as an empty bar.
pub fn hourly_bars(histogram: &AuditHistogram, first: i64, hours: usize) -> Vec<HourBar> {
    let mut bars: Vec<HourBar> =
        (0..hours).map(|i| HourBar { start: first + 3600 * i as i64, successes: 0, failures: 0 }).collect();
    for bucket in &histogram.buckets {
        let offset = bucket.start.0 - first;
        if offset < 0 || offset % 3600 != 0 {
            continue;
        }
        let Some(bar) = bars.get_mut((offset / 3600) as usize) else { continue };
        for (action, count) in &bucket.counts {
            let is = |actions: &[AuditAction]| actions.iter().any(|a| a.as_str() == action);
            if is(SUCCESS) {
                bar.successes += count;
            } else if is(FAILURE) {
                bar.failures += count;
            }
        }
    }
    bars
}

/// The height of the tallest bar, never 0 (an empty chart draws nothing, not a division by 0).
pub fn scale(bars: &[HourBar]) -> u64 {
    bars.iter().map(|b| b.successes + b.failures).max().unwrap_or(0).max(1)
}

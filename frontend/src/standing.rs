//! Why an authenticator does not validate now, in the words the user's page shows beside its
//! badge: `shared::standing`'s rule (the one the API and the store follow), read from what the
//! API returns (pure, tested in the component tests).

use shared::Timestamp;
use shared::authenticator::{Authenticator, Enabled};
use shared::standing::Standing;
pub use shared::standing::{Inactive, Refusal};

/// `None` when it validates now. `max_fails` is its policy's: the API shows an authenticator
/// locked by failures as DISABLED, and one with as many consecutive failures was locked by them.
pub fn why_inactive(
    authenticator: &Authenticator,
    max_fails: Option<u32>,
    user_active: bool,
    now: i64,
) -> Option<Inactive> {
    let status = &authenticator.status;
    let statistics = &authenticator.statistics;
    let disabled = status.status == Enabled::Disabled;
    let locked =
        disabled && max_fails.is_some_and(|m| m > 0 && statistics.consecutive_failed >= u64::from(m));
    let standing = Standing {
        enabled: !disabled || locked,
        disabled_by_failures: locked,
        start_date: status.start_date,
        expiry_date: status.expiry_date,
        max_usages: statistics.maximum_number_of_usages,
        total_success: statistics.total_success,
    };
    // Active but for its devices: none of them is usable.
    Inactive::of(user_active, standing.refusal(Timestamp(now)), status.active)
}

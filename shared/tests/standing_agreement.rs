//! The refusal rule of SPEC §14 is written once in Rust (`Standing::refusal`, `Inactive::of`)
//! and once as the SQL the store inlines (`REFUSAL_SQL`, `ACTIVE_SQL`): SQLite and Rust must say
//! the same of any authenticator at any instant.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use shared::Timestamp;
use shared::standing::{ACTIVE_SQL, Inactive, REFUSAL_SQL, Refusal, Standing};

fn standing() -> impl Strategy<Value = (Standing, i64, bool, bool, u64)> {
    (
        any::<bool>(),
        any::<bool>(),
        0i64..20,
        prop::option::of(0i64..20),
        0u64..4,
        0u64..6,
        0i64..20,
        any::<bool>(),
        any::<bool>(),
        0u64..3,
    )
        .prop_map(
            |(enabled, locked, start, expiry, max_usages, total, now, user_active, questions, usable)| {
                let standing = Standing {
                    enabled,
                    disabled_by_failures: locked,
                    start_date: Timestamp(start),
                    expiry_date: expiry.map(Timestamp),
                    max_usages,
                    total_success: total,
                };
                (standing, now, user_active, questions, usable)
            },
        )
}

proptest! {
    #[test]
    fn sql_and_rust_agree((standing, now, user_active, questions, usable) in standing()) {
        let db = rusqlite::Connection::open_in_memory().unwrap();
        let sql = format!(
            "SELECT {REFUSAL_SQL} AS refusal, {ACTIVE_SQL} AS active FROM (SELECT ?1 AS enabled, \
             ?2 AS disabled_by_failures, ?3 AS start_date, ?4 AS expiry_date, ?5 AS max_usages, \
             ?6 AS total_success, ?7 AS user_active, ?8 AS kind, ?9 AS usable_devices)"
        )
        .replace("{now}", &now.to_string());
        let (refusal, active): (Option<String>, bool) = db
            .query_row(
                &sql,
                rusqlite::params![
                    standing.enabled,
                    standing.disabled_by_failures,
                    standing.start_date.0,
                    standing.expiry_date.map(|t| t.0),
                    standing.max_usages as i64,
                    standing.total_success as i64,
                    user_active,
                    if questions { "SECURITY_QUESTION" } else { "TOTP" },
                    usable as i64,
                ],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .unwrap();
        let rust = standing.refusal(Timestamp(now));
        prop_assert_eq!(refusal.as_deref().map(|w| Refusal::parse(w).expect("a word of Refusal")), rust);
        let inactive = Inactive::of(user_active, rust, questions || usable > 0);
        prop_assert_eq!(active, inactive.is_none());
    }
}

//! Persistence in Spin SQLite, one room per thing it owns: the schema and its migrations
//! (`migrations`), write transactions (`tx`), devices, users, policies, authenticators,
//! challenges, a validation's reads and compare-and-sets (`validation`), listings in SQL
//! (`listing`), the audit trail and dev outbox as read back (`audit`), the first read of a
//! request (`session`), login budgets and the credential cache (`logins`). No HTTP in here.
//!
//! Handlers and rules reach it through [`Store`]: the store as one request sees it (its tenant,
//! its principal, its clock). Only the request pipeline, before it knows the tenant and the
//! principal, uses the database itself (migrations, the session read, login budgets).
//!
//! Every state change that must not race (a code used once, a fail counter, an If-Match) is a
//! single `UPDATE ... WHERE <expected state> RETURNING`, so two requests can never both win.
//! Every change of a device is a method of [`WriteTx`], which writes the change's audit row in the
//! same transaction (SPEC §12), or, for a validation, one statement of [`Validation`] whose audit
//! row a trigger writes: a change without its audit row cannot be written.
//! Rows are read by column name and fail loudly when a column is missing or mistyped. The SQL
//! fragments several rooms share (columns, the refusal rule) are in `sql`, devices' rows in `rows`.

mod audit;
mod authenticators;
mod challenges;
mod devices;
mod listing;
mod logins;
mod migrations;
mod oath_devices;
mod policies;
mod rows;
mod session;
mod sql;
mod tx;
mod users;
mod validation;

pub use authenticators::{ActionTarget, AuthenticatorRefused, AuthenticatorRow, StoredAnswer};
pub use challenges::{Answered, Challenge, ChallengeKind, NewChallenge, OpenCode, Ping, SendRefused};
pub use policies::{PolicyRefused, seed_tenant};

pub use audit::{AuditEntry, Counters, HISTOGRAM_GROUPS, OutboxMessage};
pub use devices::Secrets;
pub use listing::{ListQuery, Table, list_query};
pub use logins::{LoginBudget, cache_credential, forget_stale_logins, login_succeeded, reserve_login};
#[cfg(test)]
pub(crate) use migrations::{MIGRATIONS, split_script};
pub use migrations::{SCHEMA_VERSION, migrate};
pub use oath_devices::{COUNT_GROUPS, Holder, Resynced, TokenState};
pub use session::{Session, SessionMemo, session};
pub use tx::{Actor, Store, WriteTx, pause};
pub use users::UserRefused;
pub use validation::{ChallengeState, SuccessGuard, Validation, Won};

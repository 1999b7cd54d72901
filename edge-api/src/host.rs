//! What the host (Spin, the runner, a test) provides besides the request.

use crate::challenge::{Deliver, Notify};
use crate::db::Database;

/// What the host provides besides the request.
pub struct Env<'a> {
    pub db: &'a dyn Database,
    /// Unix seconds.
    pub now: i64,
    pub deliver: Deliver<'a>,
    pub notify: Notify<'a>,
    /// One line to the host's log; never given a secret.
    pub log: &'a dyn Fn(&str),
}

//! Any text as a SCIM filter: parsing never panics; a filter that parses compiles to SQL that
//! SQLite accepts (count and page, with its bound parameters), and SQL selects exactly the
//! devices the in-memory evaluator matches.

#![no_main]

#[path = "common.rs"]
mod common;

use edge_api::db::{Database, Sql};
use libfuzzer_sys::fuzz_target;
use shared::filter::Condition;
use std::sync::LazyLock;
use std::sync::Mutex;

static DB: LazyLock<Mutex<(rusqlite::Connection, Vec<shared::OtpDevice>)>> =
    LazyLock::new(|| Mutex::new(common::database()));

fuzz_target!(|text: &str| {
    let Ok(condition) = Condition::compile(text) else { return };
    let db = DB.lock().unwrap_or_else(|e| e.into_inner());
    let (connection, devices) = &*db;
    let query = edge_api::store::list_query(Some(&condition), None);
    let counted = Database::execute(connection, &query.count_sql, &query.params).expect("the count SQL runs");
    let mut params = query.params.clone();
    params.extend([Sql::Int(100), Sql::Int(0)]);
    let page = Database::execute(connection, &query.page_sql, &params).expect("the page SQL runs");
    let expected = devices.iter().filter(|d| condition.matches(d)).count();
    let total = counted.first().map(|r| r.int("total")).transpose().expect("count(*) reads as an integer");
    assert_eq!(total, Some(expected as i64), "count for {text:?}");
    assert_eq!(page.rows.len(), expected, "SQL and the evaluator disagree on {text:?}");
});

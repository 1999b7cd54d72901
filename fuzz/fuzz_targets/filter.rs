//! Any text as a SCIM filter, on devices and on users: parsing never panics; a filter that
//! parses compiles to SQL that SQLite accepts (count and page, with its bound parameters), and
//! SQL selects exactly the resources of the tenant that the in-memory evaluator matches (never
//! one of the other tenant's, which the sample holds too).

#![no_main]

#[path = "common.rs"]
mod common;

use edge_api::db::Database;
use edge_api::store::Table;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use shared::filter::Condition;
use shared::schema::{DEVICE, Resource, USER};
use std::sync::{LazyLock, Mutex};

/// The sample database and its resources in their JSON form (what the evaluator reads).
static SAMPLE: LazyLock<Mutex<(rusqlite::Connection, Vec<Value>, Vec<Value>)>> = LazyLock::new(|| {
    let sample = common::database();
    let devices = sample.devices.iter().map(|d| serde_json::to_value(d).expect("json")).collect();
    let users = sample.users.iter().map(|u| serde_json::to_value(u).expect("json")).collect();
    Mutex::new((sample.db, devices, users))
});

fn check(
    connection: &rusqlite::Connection,
    resource: &'static Resource,
    table: Table,
    all: &[Value],
    text: &str,
) {
    let Ok(condition) = Condition::compile(resource, text) else { return };
    let query = edge_api::store::list_query(table, "default", Some(&condition), None);
    let counted = Database::execute(connection, &query.count_sql, &query.params).expect("the count SQL runs");
    let page = Database::execute(connection, &query.page_sql, &query.page_params(100, 0))
        .expect("the page SQL runs");
    let expected = all.iter().filter(|r| condition.matches(r)).count();
    let total = counted.first().map(|r| r.int("total")).transpose().expect("count(*) reads as an integer");
    assert_eq!(total, Some(expected as i64), "count for {text:?} on {}", resource.name);
    assert_eq!(page.rows.len(), expected, "SQL and the evaluator disagree on {text:?} on {}", resource.name);
    let carried =
        page.first().map(|r| r.int("total")).transpose().expect("the page's total reads as an integer");
    assert_eq!(carried, (expected > 0).then_some(expected as i64), "the page's count for {text:?}");
}

fuzz_target!(|text: &str| {
    let sample = SAMPLE.lock().unwrap_or_else(|e| e.into_inner());
    let (db, devices, users) = &*sample;
    check(db, &DEVICE, Table::Devices, devices, text);
    check(db, &USER, Table::Users, users, text);
});

//! Shared by the fuzz targets: an in-memory SQLite database with the component's own schema
//! (its migrations) and one device of each kind, NULLs and odd values included.

use edge_api::db::Database;
use shared::OtpDevice;
use shared::query::Page;

pub fn database() -> (rusqlite::Connection, Vec<OtpDevice>) {
    let db = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
    edge_api::store::migrate(&db, 0).expect("migrations");
    Database::execute(
        &db,
        "INSERT INTO devices (name, type, user_name, status, fails, created, modified, last_used, email, phone, \
         algorithm, digits, period, external_id) VALUES \
         ('TOTP000001', 'TOTP', 'alice', 'V', 0, 1700000000, 1700000000, 1700000500, NULL, NULL, 'SHA1', 6, 30, 'okta-00u1'), \
         ('HOTP000001', 'HOTP', 'Bob', 'C', 3, 1600000000, 1600000000, NULL, NULL, NULL, 'SHA512', 8, NULL, NULL), \
         ('EMAIL000001', 'EMAIL', 'alice', 'L', 5, 1700000001, 1700000001, 1690000000, 'A@Example.org', NULL, NULL, 6, NULL, 'OKTA-00U1'), \
         ('SMS000001', 'SMS', '', 'D', 1, 0, 0, 0, NULL, '+34 600 11 22 33', NULL, 6, NULL, 'ñ'), \
         ('PIN000001', 'PIN', 'ñandú', 'V', 0, 1800000000, 1800000000, 1800000000, NULL, NULL, NULL, NULL, NULL, NULL)",
        &[],
    )
    .expect("sample devices");
    let (_, devices) = edge_api::store::list_devices(&db, None, None, Page::new(None, Some(100)))
        .expect("sample devices load");
    assert_eq!(devices.len(), 5);
    (db, devices)
}

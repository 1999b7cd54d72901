//! Shared by the fuzz targets: an in-memory SQLite database with the component's own schema
//! (its migrations), one device of each kind and users with emails and phones, NULLs and odd
//! values included, in the default tenant; and a device and a user of another tenant, which no
//! listing of the default tenant may ever return.

use edge_api::db::Database;
use shared::query::Page;
use shared::{OtpDevice, User};

pub struct Sample {
    pub db: rusqlite::Connection,
    pub devices: Vec<OtpDevice>,
    pub users: Vec<User>,
}

pub fn database() -> Sample {
    let db = rusqlite::Connection::open_in_memory().expect("in-memory SQLite");
    edge_api::store::migrate(&db, 0, "default").expect("migrations");
    let run = |sql: &str| Database::execute(&db, sql, &[]).expect(sql);
    run(
        "INSERT INTO users (id, tenant, user_name, external_id, display_name, given_name, family_name, active, created, modified) VALUES \
         (1, 'default', 'alice', 'okta-00u1', 'Alice A', 'Alice', NULL, 1, 1700000000, 1700000000), \
         (2, 'default', 'Bob', NULL, NULL, NULL, 'Builder', 0, 1600000000, 1650000000), \
         (3, 'default', 'ñandú', 'ñ', '', 'Ñ', 'ú', 1, 1800000000, 1800000000), \
         (4, 'other', 'alice', 'okta-00u1', 'Alice A', 'Alice', NULL, 1, 1700000000, 1700000000)",
    );
    run("INSERT INTO user_contacts (user_id, kind, position, value, type, is_primary) VALUES \
         (1, 'email', 0, 'alice@example.com', 'work', 1), (1, 'email', 1, 'A@Home.example', 'home', NULL), \
         (1, 'phone', 0, '+34 600 11 22 33', 'mobile', 0), (2, 'email', 0, 'bob@example.org', NULL, NULL), \
         (3, 'phone', 0, '666', 'Custom', 1), (4, 'email', 0, 'alice@example.com', 'work', 1)");
    run(
        "INSERT INTO devices (tenant, user_id, name, type, user_name, status, fails, created, modified, last_used, email, phone, \
         algorithm, digits, period, external_id) VALUES \
         ('default', 1, 'TOTP000001', 'TOTP', 'alice', 'V', 0, 1700000000, 1700000000, 1700000500, NULL, NULL, 'SHA1', 6, 30, 'okta-00u1'), \
         ('default', 2, 'HOTP000001', 'HOTP', 'Bob', 'C', 3, 1600000000, 1600000000, NULL, NULL, NULL, 'SHA512', 8, NULL, NULL), \
         ('default', 1, 'EMAIL000001', 'EMAIL', 'alice', 'L', 5, 1700000001, 1700000001, 1690000000, 'A@Example.org', NULL, NULL, 6, NULL, 'OKTA-00U1'), \
         ('default', 3, 'SMS000001', 'SMS', 'ñandú', 'D', 1, 0, 0, 0, NULL, '+34 600 11 22 33', NULL, 6, NULL, 'ñ'), \
         ('default', 3, 'PIN000001', 'PIN', 'ñandú', 'V', 0, 1800000000, 1800000000, 1800000000, NULL, NULL, NULL, NULL, NULL, NULL), \
         ('other', 4, 'TOTP000002', 'TOTP', 'alice', 'V', 0, 1700000000, 1700000000, 1700000500, NULL, NULL, 'SHA1', 6, 30, 'okta-00u1')",
    );
    // Authenticators (SPEC §14): alice's TOTP and EMAIL devices, ñandú's security questions (the
    // answers' hashes need not match anything), and one of the other tenant.
    run(
        "INSERT INTO authenticators (id, tenant, user_id, policy, start_date, created, modified, answers) VALUES \
         (1, 'default', 1, 'AT_EMPOTP', 0, 1700000000, 1700000000, NULL), \
         (2, 'default', 1, 'AT_OOBEML', 0, 1700000000, 1700000000, NULL), \
         (3, 'default', 3, 'AT_CUSTQA', 0, 1700000000, 1700000000, \
          '[{\"prompt\":\"PR_NICK\",\"hash\":\"$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA\"}]'), \
         (4, 'other', 4, 'AT_EMPOTP', 0, 1700000000, 1700000000, NULL)",
    );
    run(
        "UPDATE devices SET authenticator_id = CASE name WHEN 'TOTP000001' THEN 1 WHEN 'EMAIL000001' THEN 2 \
         WHEN 'TOTP000002' THEN 4 END",
    );
    let page = Page::new(None, Some(100));
    let actor = edge_api::store::Actor { tenant: "default", name: "fuzz" };
    let store = edge_api::store::Store::new(&db, actor, 1_700_000_000);
    let (_, devices) = store.list_devices(None, None, page).expect("devices load");
    let (_, users) = store.list_users(None, None, page).expect("users load");
    assert_eq!((devices.len(), users.len()), (5, 3));
    Sample { db, devices, users }
}

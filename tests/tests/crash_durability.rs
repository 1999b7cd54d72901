//! Crash durability: the host is killed with SIGKILL at random moments under a create/PATCH
//! load; after each restart every acknowledged write is there, SQLite's integrity check is
//! `ok`, and no device exists without the audit entry written in the same transaction.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, TempDir};
use serde_json::json;
use shared::model::etag_version;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const CRASHES: usize = 20;

/// A small deterministic generator for the kill delays (xorshift), seeded per run.
fn delays(seed: u64) -> impl Iterator<Item = u64> {
    let mut x = seed | 1;
    std::iter::from_fn(move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        Some(50 + x % 400)
    })
}

#[test]
fn acknowledged_writes_survive_kill_minus_nine() {
    let state = TempDir::new("crash");
    let created: Arc<Mutex<Vec<(i64, String)>>> = Arc::default();
    let disabled: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("crash delays seeded with {seed}");
    let mut delay = delays(seed);
    for round in 0..CRASHES {
        let app = Arc::new(App::start(&state.0, &[]));
        // Everything acknowledged before the last crash is still there.
        for (id, user) in created.lock().unwrap().iter() {
            let device = app.call("GET", &format!("/OtpDevice/{id}"), None);
            assert_eq!(
                (device.status, device.json["user"].as_str()),
                (200, Some(user.as_str())),
                "round {round}: device {id}"
            );
        }
        for (id, version) in disabled.lock().unwrap().iter() {
            let device = app.call("GET", &format!("/OtpDevice/{id}"), None);
            assert_eq!(device.json["status"], "D", "round {round}: acknowledged PATCH of {id}");
            let now = etag_version(device.json["meta"]["version"].as_str().unwrap()).unwrap();
            assert!(now >= *version, "round {round}: device {id} went back to version {now} < {version}");
        }
        let load = {
            let (app, created, disabled) = (app.clone(), created.clone(), disabled.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                // Until the crash: the first request without an answer ends the load.
                loop {
                    n += 1;
                    let user = format!("crash-{round}-{n}");
                    let Some(reply) =
                        app.try_call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": user})))
                    else {
                        break;
                    };
                    if reply.status != 201 {
                        break;
                    }
                    let id = reply.json["id"].as_i64().unwrap();
                    created.lock().unwrap().push((id, user));
                    if n % 2 == 0 {
                        let patch =
                            json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
                        let Some(reply) = app.try_call("PATCH", &format!("/OtpDevice/{id}"), Some(&patch))
                        else {
                            break;
                        };
                        if reply.status == 200 {
                            let version =
                                etag_version(reply.json["meta"]["version"].as_str().unwrap()).unwrap();
                            disabled.lock().unwrap().push((id, version));
                        }
                    }
                }
            })
        };
        std::thread::sleep(Duration::from_millis(delay.next().unwrap()));
        app.crash();
        load.join().unwrap();
    }

    let db = rusqlite::Connection::open(state.0.join("sqlite_db.db")).unwrap();
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let orphans: i64 = db
        .query_row(
            "SELECT count(*) FROM devices d WHERE NOT EXISTS \
             (SELECT 1 FROM audit a WHERE a.device_id = d.id AND a.action = 'create')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "a device without its create audit entry was half-applied");
    let acknowledged = created.lock().unwrap().len();
    println!(
        "{CRASHES} crashes, {acknowledged} acknowledged creates, {} acknowledged PATCHes, all present",
        disabled.lock().unwrap().len()
    );
    assert!(acknowledged > CRASHES, "the load ran between crashes");
}

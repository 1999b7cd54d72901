//! Crash durability: the host is killed with SIGKILL at random moments under a create/PATCH
//! load; after each restart every acknowledged write is there, SQLite's integrity check is
//! `ok`, and no device exists without the audit entry written in the same transaction.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, Cluster, TempDir, host_label, on_libsql, query_store, with_sqld};
use serde_json::json;
use shared::model::etag_version;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// Every acknowledged create is there with its user, and every acknowledged PATCH with its
/// status and a version no older than acknowledged.
fn all_present(app: &App, created: &[(i64, String)], disabled: &[(i64, i64)], round: usize) {
    for (id, user) in created {
        let device = app.call("GET", &format!("/OtpDevice/{id}"), None);
        assert_eq!(
            (device.status, device.json["user"].as_str()),
            (200, Some(user.as_str())),
            "round {round}: device {id}: {:?}",
            app.log().iter().rev().take(8).collect::<Vec<_>>()
        );
    }
    for (id, version) in disabled {
        let device = app.call("GET", &format!("/OtpDevice/{id}"), None);
        assert_eq!(device.json["status"], "D", "round {round}: acknowledged PATCH of {id}");
        let now = etag_version(device.json["meta"]["version"].as_str().unwrap()).unwrap();
        assert!(now >= *version, "round {round}: device {id} went back to version {now} < {version}");
    }
}

type Created = Arc<Mutex<Vec<(i64, String)>>>;
type Disabled = Arc<Mutex<Vec<(i64, i64)>>>;

/// Creates devices (every second one disabled by PATCH) until the first request that is not
/// acknowledged; records what was.
fn write_load(
    app: Arc<App>,
    tag: String,
    created: Created,
    disabled: Disabled,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        for n in 1.. {
            let user = format!("{tag}-{n}");
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
                let patch = json!({"Operations": [{"op": "replace", "path": "status", "value": "D"}]});
                let Some(reply) = app.try_call("PATCH", &format!("/OtpDevice/{id}"), Some(&patch)) else {
                    break;
                };
                if reply.status != 200 {
                    break;
                }
                let version = etag_version(reply.json["meta"]["version"].as_str().unwrap()).unwrap();
                disabled.lock().unwrap().push((id, version));
            }
        }
    })
}

#[test]
fn acknowledged_writes_survive_kill_minus_nine() {
    let state = TempDir::new("crash");
    let created: Created = Arc::default();
    let disabled: Disabled = Arc::default();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("crash delays seeded with {seed}");
    let mut delay = delays(seed);
    // On a shared store a second node stays up through every crash of the first, and must see
    // every write the first acknowledged before it died.
    let witness = on_libsql().then(|| App::start(&state.0, &[]));
    // The witness migrates the fresh store first: over the network the migrations take longer
    // than the shortest crash delays, and a node killed while migrating (rolled back, as it
    // should be) would leave the next round nothing to check but another migration.
    if let Some(witness) = &witness {
        let warm = witness.call("GET", "/OtpDevice?count=0", None);
        assert_eq!(warm.status, 200, "{}", warm.json);
    }
    for round in 0..CRASHES {
        let app = Arc::new(App::start(&state.0, &[]));
        // Everything acknowledged before the last crash is still there.
        all_present(&app, &created.lock().unwrap(), &disabled.lock().unwrap(), round);
        let load = write_load(app.clone(), format!("crash-{round}"), created.clone(), disabled.clone());
        std::thread::sleep(Duration::from_millis(delay.next().unwrap()));
        app.crash();
        load.join().unwrap();
        if let Some(witness) = &witness {
            all_present(witness, &created.lock().unwrap(), &disabled.lock().unwrap(), round);
        }
    }

    let check = query_store(&state.0, "PRAGMA integrity_check");
    assert_eq!(check, [[json!("ok")]]);
    let orphans = query_store(
        &state.0,
        "SELECT count(*) FROM devices d WHERE NOT EXISTS \
         (SELECT 1 FROM audit a WHERE a.device_id = d.id AND a.action = 'create')",
    );
    let orphans = orphans[0][0].as_i64().unwrap();
    assert_eq!(orphans, 0, "a device without its create audit entry was half-applied");
    let acknowledged = created.lock().unwrap().len();
    println!(
        "{CRASHES} crashes ({}{}), {acknowledged} acknowledged creates, {} acknowledged PATCHes, all present",
        host_label(),
        if witness.is_some() { ", each checked from a second node at once" } else { "" },
        disabled.lock().unwrap().len()
    );
    assert!(acknowledged > CRASHES, "the load ran between crashes");
}

/// The libSQL server itself killed with SIGKILL under writes through both nodes, and restarted:
/// every write it acknowledged is there; while it is down every request is a SCIM 503 with
/// `Retry-After`, answered at once (the component's retries last 150 ms), never a hang or a 500.
#[test]
fn the_store_server_killed_and_restarted_keeps_every_acknowledged_write() {
    const ROUNDS: usize = 5;
    if !on_libsql() {
        println!("skipped: a local SQLite store has no server to kill (cargo xtask test-libsql runs this)");
        return;
    }
    let state = TempDir::new("sqld-crash");
    let cluster = Cluster::start(&state.0, &[]);
    let created: Created = Arc::default();
    let disabled: Disabled = Arc::default();
    let mut slowest_refusal = Duration::ZERO;
    for round in 0..ROUNDS {
        let loads: Vec<_> = cluster
            .nodes
            .iter()
            .enumerate()
            .map(|(n, node)| {
                write_load(node.clone(), format!("sqld-{round}-{n}"), created.clone(), disabled.clone())
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 150 * round as u64));
        with_sqld(&state.0, |sqld| sqld.crash());
        for load in loads {
            load.join().unwrap();
        }
        for node in &cluster.nodes {
            for (method, path, body) in [
                ("GET", "/OtpDevice", None),
                ("POST", "/OtpDevice", Some(json!({"type": "TOTP", "user": "while-down"}))),
            ] {
                let started = Instant::now();
                let reply =
                    node.send(method, path, body.as_ref(), Some((&node.admin().0, &node.admin().1)), &[]);
                slowest_refusal = slowest_refusal.max(started.elapsed());
                assert_eq!(reply.status, 503, "{method} {path} while the store is down: {}", reply.json);
                assert_eq!(reply.header("retry-after"), Some("1"));
                assert_eq!(reply.json["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
                let detail = reply.json["detail"].as_str().unwrap();
                assert!(!detail.contains("Hrana") && !detail.contains("127.0.0.1"), "no internals: {detail}");
            }
        }
        with_sqld(&state.0, |sqld| sqld.restart());
        for node in &cluster.nodes {
            all_present(node, &created.lock().unwrap(), &disabled.lock().unwrap(), round);
        }
    }
    assert_eq!(query_store(&state.0, "PRAGMA integrity_check"), [[json!("ok")]]);
    let acknowledged = created.lock().unwrap().len();
    println!(
        "sqld killed {ROUNDS} times under writes through {}: {acknowledged} acknowledged creates, {} acknowledged \
         PATCHes, all present after each restart; while down every request was a 503, the slowest in {:.0} ms",
        cluster.label(),
        disabled.lock().unwrap().len(),
        slowest_refusal.as_secs_f64() * 1000.0
    );
    assert!(acknowledged > ROUNDS, "the load ran between crashes");
    assert!(slowest_refusal < Duration::from_secs(2), "a refusal took {slowest_refusal:?}");
}

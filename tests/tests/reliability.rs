//! Races, secret leaks and abuse, over HTTP against the compiled component. Each test prints its
//! figures (`--nocapture`) for RELIABILITY.md.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::load::{Call, Load, drive};
use scim_otp_tests::{
    App, Cluster, Gateway, Reply, TempDir, basic_auth, get_from, id_of, now, on_libsql, query_store,
    secret_of, together,
};
use serde_json::{Value, json};
use shared::Algorithm;
use shared::otp::{CodeParams, Secret, format_code, hotp, totp};
use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

const SHA1_6: CodeParams = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };

/// `count` TOTP devices, one per user `{prefix}{n}`, created by `workers` threads at once, each
/// through the node its number names. The store is made first (schema, the tenant's policies)
/// by one request per node in turn: the race of first requests on a fresh store is
/// `migrations_race_on_a_fresh_store_and_run_once`'s.
fn totp_devices(
    cluster: &Arc<Cluster>,
    count: usize,
    workers: usize,
    prefix: &'static str,
) -> Vec<(i64, Secret)> {
    for node in 0..cluster.nodes.len() {
        let warm = cluster.node(node).call("GET", "/OtpDevice?count=1", None);
        assert_eq!(warm.status, 200, "{}", warm.json);
    }
    together(workers, {
        let cluster = cluster.clone();
        move |worker| {
            (worker..count)
                .step_by(workers)
                .map(|n| {
                    let body = json!({"type": "TOTP", "user": format!("{prefix}{n}")});
                    let created = cluster.node(worker).call("POST", "/OtpDevice", Some(&body));
                    assert_eq!(created.status, 201, "{}", created.json);
                    (id_of(&created), secret_of(created.json["otpauthUri"].as_str().unwrap()))
                })
                .collect::<Vec<_>>()
        }
    })
    .into_iter()
    .flatten()
    .collect()
}

/// The racers take turns by dialect: even ones send Soffid's `responseChallenge`, odd ones
/// HID's VERIFY on the device's authenticator (SPEC §14: one store, one single-use rule).
#[test]
fn a_thousand_validation_races_never_succeed_twice_in_either_dialect() {
    const TRIALS: usize = 1000;
    const RACERS: usize = 4;
    let state = TempDir::new("races");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let app = cluster.node(0).clone();
    // (On Spin with sqld, this set-up's four concurrent creates twice got no answer within 30 s,
    // at a point the logs do not show: open, see stop 27's note.)
    let devices = totp_devices(&cluster, TRIALS, 4, "racer");
    let devices = Arc::new(devices);
    let started = Instant::now();
    // Every racer takes part in every trial: a barrier per trial, then the same code at once.
    // One racer makes the trial's code (racers making their own could straddle a time step and
    // send two different codes, which may both be accepted), the others wait for it.
    let trial_start = Arc::new(Barrier::new(RACERS));
    let trial_code = Arc::new(std::sync::Mutex::new((String::new(), 0)));
    let failed = Arc::new(AtomicUsize::new(0));
    // Per racer and trial: whether it won, and the time its code was made for. A refused request
    // is counted, not asserted here: a racer that panicked would leave the others at the barrier.
    let wins: Vec<Vec<(bool, i64)>> = together(RACERS, {
        let (cluster, devices, failed) = (cluster.clone(), devices.clone(), failed.clone());
        move |racer| {
            let app = cluster.node(racer);
            devices
                .iter()
                .map(|(id, secret)| {
                    if trial_start.wait().is_leader() {
                        let at = now();
                        *trial_code.lock().unwrap() = (format_code(totp(secret, SHA1_6, 30, at), 6), at);
                    }
                    trial_start.wait();
                    let (code, at) = trial_code.lock().unwrap().clone();
                    let (reply, won) = match racer % 2 {
                        0 => {
                            let reply = app.call(
                                "POST",
                                &format!("/OtpDevice/{id}/responseChallenge"),
                                Some(&json!({"pin": code})),
                            );
                            let won = reply.json["success"] == true;
                            (reply, won)
                        }
                        _ => {
                            let reply =
                                app.call("POST", "/Authenticator/.AT_EMPOTP", Some(&verify(*id, &code)));
                            let won = request_status(&reply.json) == Some("1");
                            (reply, won)
                        }
                    };
                    if reply.status != 200 {
                        eprintln!("trial on device {id}: {} {}", reply.status, reply.json);
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                    (won, at)
                })
                .collect()
        }
    });
    assert_eq!(failed.load(Ordering::Relaxed), 0, "every validation was answered 200");
    let per_trial: Vec<usize> =
        (0..devices.len()).map(|t| wins.iter().filter(|racer| racer[t].0).count()).collect();
    for (t, _) in per_trial.iter().enumerate().filter(|(_, n)| **n != 1).take(3) {
        let (id, secret) = &devices[t];
        let at = wins[0][t].1;
        let steps: Vec<String> =
            (-2..=2).map(|k| format_code(totp(secret, SHA1_6, 30, at + 30 * k), 6)).collect();
        let audit = app.call("GET", &format!("/OtpDevice/{id}/audit"), None);
        println!(
            "trial {t} (device {id}, code made at {at}, codes of steps -2..=2 {steps:?}): {}",
            audit.json
        );
    }
    let doubles = per_trial.iter().filter(|&&n| n > 1).count();
    let none = per_trial.iter().filter(|&&n| n == 0).count();
    println!(
        "validation races ({}): {} trials × {RACERS} concurrent requests with one valid code (half \
         responseChallenge, half VERIFY) in {:.1} s: {doubles} double successes, {none} trials without a success",
        cluster.label(),
        devices.len(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(doubles, 0, "a code was accepted twice");
    assert_eq!(none, 0, "a valid code was refused by every racer");
}

/// `REQUEST.STATUS` of an action's answer: "1" done, "0" refused.
fn request_status(answer: &Value) -> Option<&str> {
    answer["attributes"].as_array()?.iter().find(|a| a["name"] == "REQUEST.STATUS")?["value"].as_str()
}

/// HID's VERIFY of `code` on device `device` of its owner's AT_EMPOTP authenticator, the owner
/// named by the device (no user part in the id).
fn verify(device: i64, code: &str) -> Value {
    let action = "urn:hid:scim:api:idp:2.0:Action";
    json!({"schemas": [action], action: {"action": "VERIFY", "attributes": [
        {"name": "DEVICE.ID", "value": device.to_string()}, {"name": "RESPONSE", "value": code}]}})
}

/// Issue 31: a code answers only the challenge that sent it, under races. Each trial delivers a
/// transaction (DELIVER-CHALLENGE with a CIBA correlation), then at once, split over the nodes:
/// a VERIFY of the transaction's code naming its `CHALLENGE.ID`, a Soffid `requestChallenge` and
/// a USER-CHALLENGE, whose new login codes open between the VERIFY's read and its write. The
/// VERIFY succeeds every time, the callback gets one ping per trial, and the newest login code
/// still signs in.
#[test]
fn challenges_opened_during_a_verify_leave_it_alone() {
    const TRIALS: usize = 40;
    let callback = Gateway::start();
    let state = TempDir::new("bound-races");
    let budget = [("send_cooldown_seconds", "0"), ("sends_per_hour", "1000")];
    let cluster =
        Arc::new(Cluster::start(&state.0, &[("ciba_notification_url", &callback.url), budget[0], budget[1]]));
    let app = cluster.node(0).clone();
    let owner = app.call(
        "POST",
        "/Users",
        Some(&json!({"userName": "payer", "phoneNumbers": [{"value": "600123456"}]})),
    );
    let owner = owner.json["id"].as_str().unwrap().to_owned();
    let created = app.call(
        "POST",
        "/Authenticator",
        Some(&json!({"owner": {"value": owner}, "policy": {"value": "AT_TDS"}})),
    );
    assert_eq!(created.status, 201, "{}", created.json);
    let device =
        created.json["urn:scim-otp:params:scim:schemas:extension:Enrollment"]["deviceId"].as_i64().unwrap();
    let id = format!("{owner}.AT_TDS");
    let action = |name: &str, attributes: Value| {
        let action = "urn:hid:scim:api:idp:2.0:Action";
        json!({"schemas": [action], action: {"action": name, "attributes": attributes}})
    };
    let newest_code = |app: &App| {
        let outbox = app.call("GET", "/Outbox", None);
        outbox.json["Resources"][0]["message"].as_str().unwrap().rsplit(' ').next().unwrap().to_owned()
    };
    for trial in 0..TRIALS {
        let correlation = format!("tok:req-{trial}");
        let delivered = app.call(
            "POST",
            &format!("/Authenticator/{id}"),
            Some(&action(
                "DELIVER-CHALLENGE",
                json!([{"name": "tds", "value": "pay"}, {"name": "correlationid", "value": correlation}]),
            )),
        );
        assert_eq!(request_status(&delivered.json), Some("1"), "{}", delivered.json);
        let challenge = delivered.json["attributes"][1]["value"].as_str().unwrap().to_owned();
        let code = newest_code(&app);
        let replies = together(3, {
            let (cluster, id) = (cluster.clone(), id.clone());
            let verify = action(
                "VERIFY",
                json!([{"name": "RESPONSE", "value": code}, {"name": "CHALLENGE.ID", "value": challenge}]),
            );
            let login = action("USER-CHALLENGE", json!([]));
            move |racer| {
                let app = cluster.node(racer);
                match racer {
                    0 => app.call("POST", &format!("/Authenticator/{id}"), Some(&verify)),
                    1 => app.call("GET", &format!("/OtpDevice/{device}/requestChallenge"), None),
                    _ => app.call("POST", &format!("/Authenticator/{id}"), Some(&login)),
                }
            }
        });
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{:?}",
            replies.iter().map(|r| &r.json).collect::<Vec<_>>()
        );
        assert_eq!(request_status(&replies[0].json), Some("1"), "trial {trial}: {}", replies[0].json);
        let login = app.call(
            "POST",
            &format!("/Authenticator/{id}"),
            Some(&action("VERIFY", json!([{"name": "RESPONSE", "value": newest_code(&app)}]))),
        );
        assert_eq!(
            request_status(&login.json),
            Some("1"),
            "trial {trial}: the newest login code: {}",
            login.json
        );
    }
    let pings = callback.received.lock().unwrap().clone();
    let expected: Vec<Value> = (0..TRIALS).map(|t| json!({"auth_req_id": format!("req-{t}")})).collect();
    assert_eq!(pings, expected, "one ping per transaction, in order, none for a login");
    println!(
        "bound codes ({}): {TRIALS} transactions verified while two login codes were sent at once: \
         {TRIALS} verified, {} pings, every newest login code signed in",
        cluster.label(),
        pings.len()
    );
}

/// Wrong codes at once through both dialects on a device at its policy's `maxFails` - 1:
/// exactly one failure is counted (it locks the device and its authenticator, audited once),
/// and every other attempt finds it locked and counts nothing.
#[test]
fn concurrent_failures_at_max_fails_lock_once_and_count_exactly() {
    const TRIALS: usize = 50;
    const RACERS: usize = 6;
    let state = TempDir::new("lock-races");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let app = cluster.node(0).clone();
    let mut counted = Vec::new();
    for trial in 0..TRIALS {
        let created =
            app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": format!("locker{trial}")})));
        let id = id_of(&created);
        // AT_EMPOTP locks at 5: four failures first, one at a time.
        for _ in 0..4 {
            let reply = app.call(
                "POST",
                &format!("/OtpDevice/{id}/responseChallenge"),
                Some(&json!({"pin": "000000"})),
            );
            assert_eq!(reply.json, json!({"success": false, "locked": false}));
        }
        let replies = together(RACERS, {
            let cluster = cluster.clone();
            move |racer| {
                let app = cluster.node(racer);
                match racer % 2 {
                    0 => app.call(
                        "POST",
                        &format!("/OtpDevice/{id}/responseChallenge"),
                        Some(&json!({"pin": "000000"})),
                    ),
                    _ => app.call("POST", "/Authenticator/.AT_EMPOTP", Some(&verify(id, "000000"))),
                }
            }
        });
        assert!(
            replies.iter().all(|r| r.status == 200),
            "{:?}",
            replies.iter().map(|r| &r.json).collect::<Vec<_>>()
        );
        let device = app.call("GET", &format!("/OtpDevice/{id}"), None);
        assert_eq!((device.json["status"].as_str(), device.json["fails"].as_i64()), (Some("L"), Some(5)));
        let user = app.call("GET", &format!("/Users?filter=userName%20eq%20%22locker{trial}%22"), None);
        let user_id = user.json["Resources"][0]["id"].as_str().unwrap().to_owned();
        let authenticator = app.call("GET", &format!("/Authenticator/{user_id}.AT_EMPOTP"), None);
        assert_eq!(authenticator.json["statistics"]["totalFailed"], 5, "{}", authenticator.json);
        assert_eq!(authenticator.json["status"]["status"], "DISABLED");
        let locks = query_store(
            &state.0,
            &format!(
                "SELECT count(*) FROM audit WHERE device_id = {id} AND action = 'challenge-failure-locked'"
            ),
        );
        assert_eq!(locks, vec![vec![json!(1)]], "locked once");
        counted.push(replies.len());
    }
    println!(
        "lockout races ({}): {TRIALS} trials × {RACERS} concurrent wrong codes (half responseChallenge, half VERIFY) \
         at maxFails - 1: each counted one failure, locked once, totalFailed 5",
        cluster.label()
    );
}

/// The first requests of a fresh store, at once on every node: the schema is made once (each
/// migration recorded once), and no request fails for it.
#[test]
fn migrations_race_on_a_fresh_store_and_run_once() {
    const CLIENTS: usize = 8;
    let state = TempDir::new("migrate");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let statuses = together(CLIENTS, {
        let cluster = cluster.clone();
        move |client| cluster.node(client).call("GET", "/OtpDevice", None).status
    });
    assert_eq!(statuses, [200; CLIENTS]);
    let recorded = query_store(&state.0, "SELECT version FROM schema_migrations ORDER BY version");
    let expected: Vec<Vec<Value>> = (1..=edge_api::store::SCHEMA_VERSION).map(|v| vec![json!(v)]).collect();
    assert_eq!(recorded, expected);
    println!(
        "migration race ({}): {CLIENTS} concurrent first requests, all 200; {} migrations, each applied once",
        cluster.label(),
        expected.len()
    );
}

#[test]
fn concurrent_patches_with_one_if_match_let_exactly_one_through() {
    const TRIALS: usize = 50;
    const RACERS: usize = 8;
    let state = TempDir::new("ifmatch");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let app = cluster.node(0).clone();
    let id = id_of(&app.call("POST", "/OtpDevice", Some(&json!({"type": "HOTP", "user": "etag"}))));
    let path = format!("/OtpDevice/{id}");
    let first_version = app.call("GET", &path, None).header("etag").unwrap().to_owned();
    let mut tally = (0, 0);
    for trial in 0..TRIALS {
        let etag = app.call("GET", &path, None).header("etag").unwrap().to_owned();
        let status = if trial % 2 == 0 { "D" } else { "V" };
        let statuses = together(RACERS, {
            let (cluster, path, etag) = (cluster.clone(), path.clone(), etag.clone());
            move |racer| {
                let app = cluster.node(racer);
                let (user, password) = app.admin();
                app.send(
                    "PATCH",
                    &path,
                    Some(&json!({
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                        "Operations": [{"op": "replace", "path": "status", "value": status}]
                    })),
                    Some((user.as_str(), password.as_str())),
                    &[("if-match", etag.as_str())],
                )
                .status
            }
        });
        let ok = statuses.iter().filter(|&&s| s == 200).count();
        let refused = statuses.iter().filter(|&&s| s == 412).count();
        assert_eq!((ok, refused), (1, RACERS - 1), "trial {trial}: {statuses:?}");
        tally = (tally.0 + ok, tally.1 + refused);
    }
    let last = app.call("GET", &path, None);
    let version = |etag: &str| shared::model::etag_version(etag).unwrap();
    assert_eq!(version(last.header("etag").unwrap()), version(&first_version) + TRIALS as i64);
    println!(
        "If-Match races ({}): {TRIALS} trials × {RACERS} concurrent PATCHes with one ETag: {} × 200, \
         {} × 412, the version moved by exactly {TRIALS}",
        cluster.label(),
        tally.0,
        tally.1
    );
}

#[test]
fn concurrent_creates_get_unique_ids_and_names() {
    const WORKERS: usize = 8;
    const EACH: usize = 40;
    let state = TempDir::new("creates");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let created: Vec<(i64, String)> = together(WORKERS, {
        let cluster = cluster.clone();
        move |worker| {
            (0..EACH)
                .map(|n| {
                    let kind = ["TOTP", "HOTP"][n % 2];
                    let reply = cluster.node(worker).call(
                        "POST",
                        "/OtpDevice",
                        Some(&json!({"type": kind, "user": format!("w{worker}")})),
                    );
                    assert_eq!(reply.status, 201, "{}", reply.json);
                    (id_of(&reply), reply.json["name"].as_str().unwrap().to_owned())
                })
                .collect::<Vec<_>>()
        }
    })
    .into_iter()
    .flatten()
    .collect();
    let ids: BTreeSet<i64> = created.iter().map(|(id, _)| *id).collect();
    let names: BTreeSet<&str> = created.iter().map(|(_, name)| name.as_str()).collect();
    assert_eq!((ids.len(), names.len()), (WORKERS * EACH, WORKERS * EACH));
    for node in &cluster.nodes {
        let listed = node.call("GET", "/OtpDevice?count=1000", None);
        assert_eq!(listed.json["totalResults"], WORKERS * EACH);
    }
    println!(
        "concurrent creates ({}): {WORKERS} clients × {EACH}: {} unique ids, {} unique names",
        cluster.label(),
        ids.len(),
        names.len()
    );
}

/// Every way a secret could be written down: raw, hex, base32 and base64 in their variants.
fn encodings(secret: &[u8]) -> Vec<Vec<u8>> {
    use data_encoding::{
        BASE32, BASE32_NOPAD, BASE64, BASE64_NOPAD, BASE64URL, BASE64URL_NOPAD, HEXLOWER, HEXUPPER,
    };
    let mut forms = vec![secret.to_vec()];
    for text in [
        HEXLOWER.encode(secret),
        HEXUPPER.encode(secret),
        BASE32.encode(secret),
        BASE32_NOPAD.encode(secret),
        BASE32_NOPAD.encode(secret).to_lowercase(),
        BASE64.encode(secret),
        BASE64_NOPAD.encode(secret),
        BASE64URL.encode(secret),
        BASE64URL_NOPAD.encode(secret),
    ] {
        forms.push(text.into_bytes());
    }
    forms
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// requestChallenge, then responseChallenge with `code`; both answers kept.
fn challenge(app: &App, replies: &mut Vec<Reply>, id: i64, code: &str) {
    replies.push(app.call("POST", &format!("/OtpDevice/{id}/requestChallenge"), None));
    replies.push(app.call(
        "POST",
        &format!("/OtpDevice/{id}/responseChallenge"),
        Some(&json!({"pin": code})),
    ));
}

/// HID's secrets and the requests that use them.
struct HidSecrets {
    password: &'static str,
    answers: [&'static str; 3],
    activation: &'static str,
    token: &'static str,
    code: String,
}

impl HidSecrets {
    fn exercise(app: &App, gateway: &Gateway, later: &mut Vec<Reply>) -> HidSecrets {
        let secrets = HidSecrets {
            password: "Zq8-unique-passphrase",
            answers: ["Marmalade Kettle", "quixotic lantern", "Verdigris Owl"],
            activation: "48213970",
            token: "ciba-token-5d1e77",
            code: String::new(),
        };
        let action = "urn:hid:scim:api:idp:2.0:Action";
        let act = |name: &str, attributes: Value| json!({"schemas": [action], action: {"action": name, "attributes": attributes}});
        let created = app.call(
            "POST",
            "/Users",
            Some(&json!({"userName": "hid-leak", "emails": [{"value": "hid@example.org"}]})),
        );
        let owner = created.json["id"].as_str().unwrap().to_owned();
        let mut post = |path: &str, body: Value| {
            let reply = app.call("POST", path, Some(&body));
            assert!(matches!(reply.status, 200 | 201), "{path}: {}", reply.json);
            later.push(reply.clone());
            reply
        };
        post(
            "/Authenticator",
            json!({"owner": {"value": owner}, "policy": {"value": "AT_EMPPWD"},
            "urn:hid:scim:api:idp:2.0:Password": {"password": secrets.password}}),
        );
        let pwd = format!("/Authenticator/{owner}.AT_EMPPWD");
        post(&pwd, act("VERIFY", json!([{"name": "RESPONSE", "value": secrets.password}])));
        let prompts: Vec<Value> = ["PR_SIBLING", "PR_NICK", "PR_ANIMAL"]
            .iter()
            .zip(secrets.answers)
            .map(|(p, a)| json!({"prompt": {"value": p}, "answer": a}))
            .collect();
        post(
            "/Authenticator",
            json!({"owner": {"value": owner}, "policy": {"value": "AT_CUSTQA"},
            "urn:hid:scim:api:idp:2.0:SecurityQuestion": {"prompts": prompts}}),
        );
        let qa = format!("/Authenticator/{owner}.AT_CUSTQA");
        let asked = post(&qa, act("USER-CHALLENGE", json!([])));
        let shown: Vec<Value> =
            serde_json::from_str(asked.json["attributes"][0]["value"].as_str().unwrap()).unwrap();
        let given: Vec<Value> = shown
            .iter()
            .map(|p| {
                let code = p["value"].as_str().unwrap();
                let n = ["PR_SIBLING", "PR_NICK", "PR_ANIMAL"].iter().position(|c| *c == code).unwrap();
                json!({"name": format!("ANSWER.{code}"), "value": secrets.answers[n]})
            })
            .collect();
        let verified = post(&qa, act("VERIFY", Value::Array(given)));
        assert_eq!(request_status(&verified.json), Some("1"), "{}", verified.json);
        // REGISTER-OOB shows its activation code once, by design: that answer is not scanned.
        let registered = app.call(
            "POST",
            "/Authenticator",
            Some(&json!({"owner": {"value": owner}, "policy": {"value": "AT_OOBEML"},
            action: {"action": "REGISTER-OOB", "attributes": [{"name": "OOB_DEVICETYPE_CODE", "value": "DT_OOBEML"}]},
            "activationCode": secrets.activation})),
        );
        assert_eq!(registered.json["activationCode"], secrets.activation, "{}", registered.json);
        let oob = format!("/Authenticator/{owner}.AT_OOBEML");
        post(&oob, act("VERIFY", json!([{"name": "RESPONSE", "value": secrets.activation}])));
        let delivered = post(
            &oob,
            act(
                "DELIVER-CHALLENGE",
                json!([
            {"name": "correlationid", "value": format!("{}:req-leak", secrets.token)}]),
            ),
        );
        let code = gateway.received.lock().unwrap().last().unwrap()["code"].as_str().unwrap().to_owned();
        let challenge = delivered.json["attributes"][1]["value"].clone();
        post(
            &oob,
            act(
                "VERIFY",
                json!([{"name": "RESPONSE", "value": code}, {"name": "CHALLENGE.ID", "value": challenge}]),
            ),
        );
        assert_eq!(
            gateway.received.lock().unwrap().last(),
            Some(&json!({"auth_req_id": "req-leak"})),
            "pinged"
        );
        for path in [&pwd, &qa, &oob] {
            later.push(app.call("GET", path, None));
        }
        later.push(app.call("GET", "/Authenticator?count=100", None));
        HidSecrets { code, ..secrets }
    }

    /// Each secret, and an answer as it is normalised before hashing.
    fn all(&self) -> Vec<(&'static str, Vec<u8>)> {
        let mut all = vec![
            ("HID password", self.password.as_bytes().to_vec()),
            ("activation code", self.activation.as_bytes().to_vec()),
            ("CIBA token", self.token.as_bytes().to_vec()),
            ("one-time code", self.code.as_bytes().to_vec()),
        ];
        for answer in self.answers {
            all.push(("security answer", answer.as_bytes().to_vec()));
            all.push(("security answer", answer.to_lowercase().into_bytes()));
        }
        all
    }
}

/// The secrets of hardware tokens: the seeds of a PSKC file and of a CSV, the file's password,
/// an export's password, and the codes used.
struct TokenSecrets {
    seeds: [Vec<u8>; 2],
    file_password: &'static str,
    export_password: &'static str,
    code: String,
}

impl TokenSecrets {
    fn exercise(app: &App, later: &mut Vec<Reply>) -> TokenSecrets {
        let seeds = [b"leak-seed-in-a-pskc!".to_vec(), b"leak-seed-in-a-csv!!".to_vec()];
        let file_password = "pskc file password 31";
        let export_password = "export password 59 long";
        let token = pskc::Export {
            serial: "LEAK-1",
            manufacturer: None,
            model: None,
            kind: pskc::Kind::Totp,
            suite: "sha1",
            digits: 8,
            secret: &seeds[0],
            counter: None,
            time_interval: Some(30),
            time_drift: None,
            start_date: None,
            expiry_date: None,
            user_id: Some("leak"),
        };
        let mut n = 7u8;
        let file = pskc::write(&[token], file_password, 1_000, &mut |b: &mut [u8]| {
            for x in b {
                n = n.wrapping_mul(29).wrapping_add(3);
                *x = n;
            }
        });
        let body =
            json!({"format": "pskc", "document": file, "password": file_password, "assignUsers": true});
        let imported = app.call("POST", "/Device/.import", Some(&body));
        assert_eq!(imported.json["imported"], 1, "{}", imported.json);
        let id = imported.json["results"][0]["id"].as_str().unwrap().parse::<i64>().unwrap();
        let csv = format!("LEAK-2, {}, hotp, 8, 0\n", data_encoding::HEXLOWER.encode(&seeds[1]));
        later.push(app.call("POST", "/Device/.import", Some(&json!({"format": "csv", "document": csv}))));
        later.push(imported);
        let eight = CodeParams { algorithm: Algorithm::Sha1, digits: 8 };
        let code = format_code(totp(&Secret::from_bytes(seeds[0].clone()), eight, 30, now()), 8);
        challenge(app, later, id, &code);
        later.push(app.call("GET", "/Device?count=100", None));
        let export = app.call("POST", "/Device/.export", Some(&json!({"password": export_password})));
        assert_eq!(export.status, 200, "{}", export.text);
        later.push(export);
        TokenSecrets { seeds, file_password, export_password, code }
    }

    fn all(&self) -> Vec<(&'static str, Vec<u8>)> {
        vec![
            ("PSKC seed", self.seeds[0].clone()),
            ("CSV seed", self.seeds[1].clone()),
            ("PSKC file password", self.file_password.as_bytes().to_vec()),
            ("export password", self.export_password.as_bytes().to_vec()),
            ("token code", self.code.as_bytes().to_vec()),
        ]
    }
}

#[test]
fn no_secret_reaches_the_database_logs_or_later_responses() {
    let gateway = Gateway::start();
    let state = TempDir::new("secrets");
    let app = App::start(
        &state.0,
        &[
            ("delivery_webhook_url", &gateway.url),
            ("dev_outbox", "false"),
            ("ciba_notification_url", &gateway.url),
            ("seed_export", "true"),
        ],
    );
    let pin = "73914862";
    let mut later: Vec<Reply> = Vec::new();
    let create = |body: Value| {
        let reply = app.call("POST", "/OtpDevice", Some(&body));
        assert_eq!(reply.status, 201, "{}", reply.json);
        reply
    };
    let totp_device = create(json!({"type": "TOTP", "user": "leak", "digits": 8}));
    let hotp_device = create(json!({"type": "HOTP", "user": "leak", "digits": 8}));
    let email = create(json!({"type": "EMAIL", "user": "leak", "email": "leak@example.org", "digits": 8}));
    let sms = create(json!({"type": "SMS", "user": "leak", "phone": "+34600111222", "digits": 8}));
    let pin_device = create(json!({"type": "PIN", "user": "leak", "pin": pin}));
    let totp_seed = secret_of(totp_device.json["otpauthUri"].as_str().unwrap());
    let hotp_seed = secret_of(hotp_device.json["otpauthUri"].as_str().unwrap());
    let eight = CodeParams { algorithm: Algorithm::Sha1, digits: 8 };
    let mut codes = Vec::new();
    let totp_code = format_code(totp(&totp_seed, eight, 30, now()), 8);
    challenge(&app, &mut later, id_of(&totp_device), &totp_code);
    let hotp_code = format_code(hotp(&hotp_seed, eight, 0), 8);
    challenge(&app, &mut later, id_of(&hotp_device), &hotp_code);
    codes.extend([totp_code, hotp_code]);
    for device in [&email, &sms] {
        let id = id_of(device);
        later.push(app.call("POST", &format!("/OtpDevice/{id}/requestChallenge"), None));
        let code = gateway.received.lock().unwrap().last().unwrap()["code"].as_str().unwrap().to_owned();
        later.push(app.call(
            "POST",
            &format!("/OtpDevice/{id}/responseChallenge"),
            Some(&json!({"pin": code})),
        ));
        codes.push(code);
    }
    challenge(&app, &mut later, id_of(&pin_device), pin);
    challenge(&app, &mut later, id_of(&pin_device), "00000000");
    assert!(later.iter().all(|r| r.status == 200), "every challenge call answered 200");
    assert_eq!(later.iter().filter(|r| r.json["success"] == true).count(), 5, "one success per device");
    for id in [&totp_device, &hotp_device, &email, &sms, &pin_device].map(id_of) {
        later.push(app.call("GET", &format!("/OtpDevice/{id}"), None));
        later.push(app.call("GET", &format!("/OtpDevice/{id}/audit"), None));
    }
    later.push(app.call("GET", "/OtpDevice?count=100", None));
    later.push(app.call("POST", "/OtpDevice/.search", Some(&json!({"filter": "user eq \"leak\""}))));
    let (user, password) = app.admin();
    later.push(app.send("GET", "/OtpDevice", None, Some((&user, "wrong-password")), &[]));

    // HID's secrets (SPEC §14): a password, security-question answers, an activation code and a
    // CIBA bearer token, each used once.
    let hid = HidSecrets::exercise(&app, &gateway, &mut later);
    // Hardware tokens (SPEC §19): a PSKC file under a password and a CSV imported, one token
    // handed out and validated, every token exported under another password.
    let tokens = TokenSecrets::exercise(&app, &mut later);
    // The whole audit trail as the admin app reads it (issue 15), and its histogram.
    let audit = app.call("GET", "/Audit?count=1000", None);
    assert!(audit.json["totalResults"].as_u64().unwrap() > 30, "{}", audit.json);
    later.push(audit);
    later.push(app.call("GET", "/Audit/.histogram?interval=60", None));

    let mut secrets: Vec<(&str, Vec<u8>)> = vec![
        ("TOTP seed", totp_seed.as_bytes().to_vec()),
        ("HOTP seed", hotp_seed.as_bytes().to_vec()),
        ("PIN", pin.as_bytes().to_vec()),
        ("admin password", password.as_bytes().to_vec()),
    ];
    secrets.extend(codes.iter().map(|c| ("one-time code", c.as_bytes().to_vec())));
    secrets.extend(hid.all());
    secrets.extend(tokens.all());
    let key = std::fs::read_to_string(state.0.join("secret_key")).unwrap();
    secrets.push(("secret_key", key.trim().as_bytes().to_vec()));

    // The runner prints the generated login once, at first start: that is its purpose. Every
    // other line is scanned.
    let log: Vec<String> = app
        .interrupt()
        .into_iter()
        .filter(|line| !line.trim_start().starts_with("login: admin / "))
        .collect();
    let mut places: Vec<(String, Vec<u8>)> = vec![("runner log".to_owned(), log.join("\n").into_bytes())];
    places.extend(scim_otp_tests::store_files(&state.0));
    places.extend(
        later.iter().enumerate().map(|(n, r)| (format!("response {n}"), r.text.clone().into_bytes())),
    );
    let scanned: usize = places.iter().map(|(_, bytes)| bytes.len()).sum();
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for form in encodings(secret) {
            for (place, bytes) in &places {
                if contains(bytes, &form) {
                    leaks.push(format!("{what} as {:?} in {place}", String::from_utf8_lossy(&form)));
                }
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked: {leaks:#?}");
    // The scanner does see a seed where it belongs: in the create response, once.
    let shown = totp_device.json.to_string().into_bytes();
    assert!(encodings(totp_seed.as_bytes()).iter().any(|form| contains(&shown, form)));
    println!(
        "secret scan: {} secrets × {} encodings over {} places ({} KiB: database, WAL, log, {} responses): 0 found",
        secrets.len(),
        encodings(b"x").len(),
        places.len(),
        scanned / 1024,
        later.len()
    );
}

/// POSTs a create whose body declares `declared` bytes and streams spaces until the server
/// answers, the way curl or a browser does (reading the answer while still sending); the status
/// and the time to the answer.
fn oversized_post(app: &App, declared: usize) -> (u16, Duration) {
    use std::io::{Read, Write};
    let address = app.origin.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = basic_auth("admin", &app.password);
    let started = Instant::now();
    write!(
        stream,
        "POST /scim/v2/OtpDevice HTTP/1.1\r\nhost: {address}\r\nauthorization: {auth}\r\n\
         content-type: application/scim+json\r\ncontent-length: {declared}\r\n\r\n"
    )
    .unwrap();
    let mut reader = stream.try_clone().unwrap();
    let sender = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 * 1024];
        let mut sent = 0;
        while sent < declared && stream.write_all(&chunk).is_ok() {
            sent += chunk.len();
        }
        sent
    });
    let mut head = [0u8; 12];
    reader.read_exact(&mut head).unwrap();
    let took = started.elapsed();
    let _ = reader.shutdown(std::net::Shutdown::Both);
    let sent = sender.join().unwrap();
    assert!(sent < declared, "the server read the whole body ({sent} bytes) before answering");
    let status = String::from_utf8_lossy(&head[9..12]).parse().unwrap();
    (status, took)
}

/// What, method, path, body, content type, the status expected.
type AbuseCase = (&'static str, &'static str, String, Vec<u8>, &'static str, u16);

/// One request, timed.
fn timed(app: &App, method: &str, path: &str, body: &[u8], content_type: &str) -> (Reply, Duration) {
    let (user, password) = app.admin();
    let started = Instant::now();
    let reply = app.send_raw(method, path, body, Some((&user, &password)), &[("content-type", content_type)]);
    (reply, started.elapsed())
}

#[test]
fn abuse_is_refused_quickly_and_changes_nothing() {
    let state = TempDir::new("abuse");
    let app = App::start(&state.0, &[]);
    let id = id_of(&app.call("POST", "/OtpDevice", Some(&json!({"type": "TOTP", "user": "victim"}))));
    let path = format!("/OtpDevice/{id}");
    let snapshot = |app: &App| {
        let device = app.call("GET", &path, None).json;
        let audit = app.call("GET", &format!("{path}/audit"), None).json;
        let total = app.call("GET", "/OtpDevice?count=0", None).json["totalResults"].clone();
        (device, audit, total)
    };
    let before = snapshot(&app);
    let mut figures = Vec::new();
    let deep = format!("{}{}", "[".repeat(30_000), "]".repeat(30_000));
    let huge_filter = format!("filter={}", "user%20eq%20%22a%22%20or%20".repeat(2000));
    let many_attributes = format!("attributes={}", "user,".repeat(5000));
    let cases: Vec<AbuseCase> = vec![
        ("body of 64 KiB + 1", "PUT", path.clone(), vec![b' '; 65 * 1024 + 1], "application/scim+json", 413),
        (
            "JSON nested 30,000 deep",
            "POST",
            "/OtpDevice".into(),
            deep.into_bytes(),
            "application/scim+json",
            400,
        ),
        (
            "invalid UTF-8",
            "POST",
            "/OtpDevice".into(),
            b"{\"type\": \"TOTP\xff\xfe\"}".to_vec(),
            "application/scim+json",
            400,
        ),
        ("wrong content type", "POST", "/OtpDevice".into(), b"type=TOTP".to_vec(), "text/plain", 415),
        (
            "filter of 2,000 terms (52 KB)",
            "GET",
            format!("/OtpDevice?{huge_filter}"),
            Vec::new(),
            "application/scim+json",
            400,
        ),
        (
            "5,000 names in attributes",
            "GET",
            format!("/OtpDevice?{many_attributes}"),
            Vec::new(),
            "application/scim+json",
            400,
        ),
        (
            "count=10^15",
            "GET",
            "/OtpDevice?count=1000000000000000".into(),
            Vec::new(),
            "application/scim+json",
            200,
        ),
        ("startIndex=-7", "GET", "/OtpDevice?startIndex=-7".into(), Vec::new(), "application/scim+json", 200),
        (
            "startIndex=10^18",
            "GET",
            "/OtpDevice?startIndex=1000000000000000000".into(),
            Vec::new(),
            "application/scim+json",
            200,
        ),
        ("count=abc", "GET", "/OtpDevice?count=abc".into(), Vec::new(), "application/scim+json", 400),
    ];
    for (what, method, target, body, content_type, expected) in cases {
        let (reply, took) = timed(&app, method, &target, &body, content_type);
        assert_eq!(reply.status, expected, "{what}: {}", reply.json);
        if expected >= 400 {
            assert_eq!(reply.json["status"], expected.to_string(), "{what}: a SCIM error body");
        } else {
            assert!(
                reply.json["Resources"].as_array().is_some_and(|r| r.len() <= 1),
                "{what}: {}",
                reply.json
            );
        }
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
        figures.push(format!("| {what} | {} | {:.1} ms |", reply.status, took.as_secs_f64() * 1000.0));
    }
    // A client that declares 1 GiB and streams it: the answer comes after the first 64 KiB.
    let (status, took) = oversized_post(&app, 1 << 30);
    assert_eq!(status, 413);
    assert!(took < Duration::from_secs(2), "1 GiB body took {took:?}");
    figures.push(format!("| body of 1 GiB, streamed | {status} | {:.1} ms |", took.as_secs_f64() * 1000.0));
    assert_eq!(snapshot(&app), before, "no abusive request changed anything");

    // OTP guessing: wrong codes until the device locks.
    let mut checked = 0;
    while checked < 50 {
        checked += 1;
        let reply = app.call("POST", &format!("{path}/responseChallenge"), Some(&json!({"pin": "000000"})));
        if reply.json["locked"] == true {
            break;
        }
    }
    assert_eq!(checked, 5, "max_fails is 5");
    let after_lock = app.call("POST", &format!("{path}/responseChallenge"), Some(&json!({"pin": "000000"})));
    assert_eq!(after_lock.json, json!({"success": false, "locked": true}));
    let fails = app.call("GET", &path, None).json["fails"].clone();
    assert_eq!(fails, 5, "guesses after the lock are not even counted");

    // Password guessing: wrong Basic passwords for one principal from one address within a minute.
    let started = Instant::now();
    let statuses: Vec<u16> =
        (0..30).map(|_| app.send("GET", "/OtpDevice", None, Some(("admin", "guess")), &[]).status).collect();
    let tried = statuses.iter().filter(|&&s| s == 401).count();
    assert!(statuses[tried..].iter().all(|&s| s == 429), "{statuses:?}");
    let right = app.send("GET", "/OtpDevice", None, Some(("admin", app.password.as_str())), &[]);
    assert_eq!(right.status, 200, "the admin's cached credential is never refused");
    assert_eq!(tried, 10);
    let linear = app
        .interrupt()
        .into_iter()
        .find_map(|l| l.strip_prefix("stopped; the largest instance linear memory was ").map(str::to_owned))
        // The runner reports it as it stops; Spin does not.
        .unwrap_or_else(|| "(not reported by this host)".to_owned());
    println!(
        "abuse figures (the test host: the debug runner, or Spin at opt-level 1; loopback):\n| request | status | time |\n|---|---|---|"
    );
    println!("{}", figures.join("\n"));
    println!(
        "OTP guessing: {checked} wrong codes checked, then the device is locked (max_fails 5); \
         password guessing: {tried} attempts per principal and address per minute, then 429 for {:.1} s of 20 tries; \
         largest instance linear memory during the run: {linear}",
        started.elapsed().as_secs_f64()
    );
}

/// Anyone can send wrong passwords for `admin`; that must never lock the admin out. An attacker
/// on 127.0.0.2 guesses at full speed (with a forged `spin-client-addr` on every request, which
/// the component must ignore) while the admin works from 127.0.0.1: every one of the admin's
/// requests succeeds, the attacker gets at most its budget of verified guesses in the window, and
/// 50 concurrent guesses from a third address are counted exactly (10 verified, 40 refused).
#[test]
fn a_guesser_on_another_address_cannot_lock_the_admin_out() {
    let state = TempDir::new("guesser");
    let app = App::start(&state.0, &[]);
    let origin = app.origin.clone();
    let guess = basic_auth("admin", "not-the-password");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = {
        let (origin, guess, stop) = (origin.clone(), guess.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let status = get_from(Ipv4Addr::new(127, 0, 0, 2), &origin, "/scim/v2/OtpDevice", &guess);
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let (user, password) = app.admin();
    let mut admin = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        admin.push(app.send("GET", "/OtpDevice?count=1", None, Some((&user, &password)), &[]).status);
        std::thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let attacks = attacker.join().unwrap();
    assert!(admin.iter().all(|&s| s == 200), "the admin was refused: {admin:?}");
    let verified = attacks.get(&401).copied().unwrap_or(0);
    let refused = attacks.get(&429).copied().unwrap_or(0);
    assert_eq!(verified, 10, "one window of 60 s, a budget of 10 per address: {attacks:?}");
    assert_eq!(attacks.keys().filter(|s| ![401, 429].contains(s)).count(), 0, "{attacks:?}");

    // Forged spin-client-addr headers from one address are still that address.
    let forged: Vec<u16> = (0..12)
        .map(|i| {
            let spoof = format!("10.9.9.{i}:1");
            app.send("GET", "/OtpDevice", None, Some(("reader-nobody", "x")), &[("spin-client-addr", &spoof)])
                .status
        })
        .collect();
    assert_eq!(forged.iter().filter(|&&s| s == 401).count(), 10, "{forged:?}");

    let concurrent =
        together(50, move |_| get_from(Ipv4Addr::new(127, 0, 0, 3), &origin, "/scim/v2/OtpDevice", &guess));
    let count = |status: u16| concurrent.iter().filter(|&&s| s == status).count();
    assert_eq!((count(401), count(429)), (10, 40), "{concurrent:?}");
    // The host passes the component's log lines on as they come: give the last ones a moment
    // (Spin on libSQL answered before its last lines arrived) before stopping it.
    let logged = |app: &App| app.log().iter().filter(|l| l.contains("login refused")).count();
    for _ in 0..50 {
        if logged(&app) >= refused + 40 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = app.interrupt();
    let refusals = log.iter().filter(|l| l.contains("login refused")).count();
    let merged = log.iter().filter(|l| l.matches("login refused").count() > 1).count();
    assert_eq!(merged, 0, "lines of concurrent instances came out as one line");
    assert!(refusals >= refused + 40, "every refusal is logged ({refusals} lines, {refused} + 40 refused)");
    assert!(!log.iter().any(|l| l.contains("not-the-password")), "no password in the log");
    println!(
        "guessing from 127.0.0.2 for 10 s: {verified} verified, {refused} refused (429); the admin from 127.0.0.1: \
         {} of {} requests succeeded; 50 concurrent guesses from 127.0.0.3: {} verified, {} refused",
        admin.iter().filter(|&&s| s == 200).count(),
        admin.len(),
        count(401),
        count(429)
    );
}

/// 64 clients at once, through both nodes on libSQL (one host otherwise), for a bounded time:
/// every validation answered as expected (a valid code accepted, a wrong one refused), none
/// refused for overload, and the slowest 1% within a bound, on a machine that runs another
/// test beside this one.
///
/// On libSQL it needs a sqld without the write-queue bug of 0.24.33 (`bench/sqld/README.md`:
/// under sustained concurrent writes its writers stop for good, whatever the client; seen here
/// with both builds): it runs when `SCIM_OTP_SQLD_QUEUE_FIXED=1` says the sqld under test has
/// `bench/sqld/stale-write-queue-entry.patch`, and says why it did not otherwise.
#[test]
fn sixty_four_clients_at_once_are_all_answered_in_time() {
    const CLIENTS: usize = 64;
    const DEVICES: usize = 640;
    const P99_BOUND: Duration = Duration::from_secs(5);
    if on_libsql() && std::env::var("SCIM_OTP_SQLD_QUEUE_FIXED").as_deref() != Ok("1") {
        println!(
            "not run: sqld 0.24.33 stops every writer for good under this load (bench/sqld/README.md); \
             set SCIM_OTP_SQLD_QUEUE_FIXED=1 with a sqld that has bench/sqld/stale-write-queue-entry.patch"
        );
        return;
    }
    let state = TempDir::new("sixty-four");
    let cluster = Arc::new(Cluster::start(&state.0, &[]));
    let devices = totp_devices(&cluster, DEVICES, 8, "many");
    let (user, password) = cluster.node(0).admin();
    let auth = basic_auth(&user, &password);
    let bases: Vec<String> = cluster.nodes.iter().map(|node| node.base.clone()).collect();
    // Each device once with its code, then once with a code no window accepts; clients take
    // turns between the nodes.
    let call = |i: usize, valid: bool| {
        let (id, secret) = &devices[i];
        let code = if valid {
            totp(secret, SHA1_6, 30, now())
        } else {
            (totp(secret, SHA1_6, 30, now()) + 500_000) % 1_000_000
        };
        Call {
            method: "POST",
            url: format!("{}/OtpDevice/{id}/responseChallenge", bases[i % bases.len()]),
            headers: vec![
                ("authorization", auth.clone()),
                ("content-type", "application/scim+json".to_owned()),
            ],
            body: json!({"pin": format_code(code, 6)}).to_string().into_bytes(),
        }
    };
    let load = Load { concurrency: CLIENTS, requests: DEVICES, time_limit: Duration::from_secs(90) };
    for valid in [true, false] {
        let expected = if valid { r#""success":true"# } else { r#""success":false"# };
        let outcome =
            drive(load, |i| call(i, valid), |status, body| status == 200 && body.contains(expected));
        let p99 = outcome.percentile(99.0);
        println!(
            "{CLIENTS} clients, {}, {} codes: {} answered in {:.1} s ({:.0}/s), p50 {:?}, p99 {p99:?}, {} unexpected",
            cluster.label(),
            if valid { "valid" } else { "wrong" },
            outcome.done(),
            outcome.elapsed.as_secs_f64(),
            outcome.per_second(),
            outcome.percentile(50.0),
            outcome.unexpected
        );
        assert_eq!(outcome.done(), DEVICES, "every request sent within the time bound");
        assert_eq!(outcome.unexpected, 0, "first unexpected answer: {:?}", outcome.first_unexpected);
        assert!(p99 <= P99_BOUND, "p99 {p99:?} over {P99_BOUND:?}");
    }
    // Each validation counted once, in its audit row: a success and a failure per device.
    let counted = query_store(
        &state.0,
        "SELECT action, count(*), count(DISTINCT device_id) FROM audit \
         WHERE action LIKE 'challenge-%' GROUP BY action ORDER BY action",
    );
    let each = json!(DEVICES);
    assert_eq!(
        counted,
        vec![
            vec![json!("challenge-failure"), each.clone(), each.clone()],
            vec![json!("challenge-success"), each.clone(), each]
        ]
    );
}

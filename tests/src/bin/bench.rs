//! `cargo xtask bench`: measures the compiled component on the local runner and, in the same run,
//! privacyIDEA doing the same job, then writes the tables into BENCHMARKS.md.
//!
//! Everything stays on loopback; every load is bounded in requests and in time. The runner and
//! the component are the ones `cargo xtask bench` just built; privacyIDEA comes from the
//! virtualenv it prepared (`SCIM_OTP_PI_VENV`).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use edge_api::store::Table;
use scim_otp_tests::load::{Call, Load, Outcome, drive};
use scim_otp_tests::{App, Cluster, Host, TempDir, basic_auth, now, privacyidea_config, secret_of};
use serde_json::{Value, json};
use shared::filter::Condition;
use shared::otp::{CodeParams, Secret, format_code, totp};
use shared::query::Sort;
use shared::schema::{DEVICE, Resource, USER};
use shared::{Algorithm, Timestamp};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const LEVELS: [usize; 4] = [1, 8, 32, 64];
const SCALE: usize = 100_000;
const TIME_LIMIT: Duration = Duration::from_secs(120);
const SHA1_6: CodeParams = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };

/// Request counts; `--quick` shrinks them to check the command itself in a minute.
#[derive(Clone, Copy)]
struct Sizes {
    /// Validations per run (and devices per concurrency level) on our side.
    ours: usize,
    /// The same on privacyIDEA's side, which is far slower.
    peer: usize,
    /// Devices for the listing benchmark.
    scale: usize,
    /// Validations per concurrency level on each host of the hosts table.
    hosts: usize,
    /// Requests per listing query and per overhead probe.
    probes: usize,
    /// Keys per seed file (import and export).
    seeds: usize,
}

const FULL: Sizes = Sizes { ours: 3000, peer: 400, scale: SCALE, probes: 400, hosts: 1000, seeds: 10_000 };
const QUICK: Sizes = Sizes { ours: 100, peer: 20, scale: 2000, probes: 50, hosts: 40, seeds: 200 };

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let number = |flag: &str| {
        value(flag).map(|v| v.parse::<usize>().unwrap_or_else(|_| panic!("{flag} takes a number")))
    };
    let mut sizes = if args.iter().any(|a| a == "--quick") { QUICK } else { FULL };
    sizes.ours = number("--validations").unwrap_or(sizes.ours);
    sizes.scale = number("--devices").unwrap_or(sizes.scale);
    let out = value("--write").map(PathBuf::from);
    let mut report = String::new();
    machine(&mut report, &args);
    if args.iter().any(|a| a == "--hosts-only") {
        sizes.hosts = number("--validations").unwrap_or(sizes.hosts);
        let hosts = hosts(sizes, value("--host").map(String::as_str));
        hosts_table(&mut report, &hosts, &Err("--hosts-only".to_owned()));
        print!("{report}");
        return;
    }
    if args.iter().any(|a| a == "--seeds-only") {
        // The seed-file rows alone (privacyIDEA's validation runs shrunk to a check).
        sizes.peer = QUICK.peer;
        let seeds = SeedFiles::write(sizes.seeds);
        let seed_rows = seeds.as_ref().map(import_ours).map_err(String::clone);
        let peer = match std::env::var_os("SCIM_OTP_PI_VENV") {
            Some(venv) => privacyidea(Path::new(&venv), sizes, seeds.as_ref().ok()),
            None => Err("SCIM_OTP_PI_VENV is not set (run `cargo xtask bench`)".to_owned()),
        };
        seed_table(&mut report, &seed_rows, &peer);
        print!("{report}");
        return;
    }
    let validations = ours(&mut report, sizes);
    let hosts = hosts(sizes, None);
    let seeds = SeedFiles::write(sizes.seeds);
    let seed_rows = seeds.as_ref().map(import_ours).map_err(String::clone);
    let peer = match std::env::var_os("SCIM_OTP_PI_VENV").filter(|_| !args.iter().any(|a| a == "--skip-peer"))
    {
        Some(venv) => privacyidea(Path::new(&venv), sizes, seeds.as_ref().ok()),
        None => Err(std::env::var("SCIM_OTP_PI_MISSING").unwrap_or_else(|_| {
            "it was skipped (--skip-peer), or SCIM_OTP_PI_VENV is not set (run `cargo xtask bench`)"
                .to_owned()
        })),
    };
    compare(&mut report, &validations, &peer);
    hosts_table(&mut report, &hosts, &peer);
    seed_table(&mut report, &seed_rows, &peer);
    print!("{report}");
    if let Some(path) = out {
        write_section(&path, &report);
        eprintln!("wrote the figures into {}", path.display());
    }
}

// ---------------------------------------------------------------------------------------------
// Our side.

/// A TOTP credential to validate.
struct Device {
    /// The path under the base: `OtpDevice/{id}` (Soffid) or `Authenticator/{id}` (HID).
    path: String,
    secret: Secret,
}

impl Device {
    fn soffid(id: i64, otpauth_uri: &str) -> Device {
        Device { path: format!("OtpDevice/{id}"), secret: secret_of(otpauth_uri) }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialect {
    /// `POST …/OtpDevice/{id}/responseChallenge` with `{"pin"}`, answered `{"success"}`.
    Soffid,
    /// HID's named action VERIFY, `POST …/Authenticator/{id}` with `RESPONSE`, answered with
    /// `REQUEST.STATUS` "1" or "0" (SPEC §14).
    Hid,
}

const ACTION: &str = "urn:hid:scim:api:idp:2.0:Action";
const AUTHENTICATOR: &str = "urn:hid:scim:api:idp:2.0:Authenticator";
const ENROLLMENT: &str = "urn:scim-otp:params:scim:schemas:extension:Enrollment";

impl Dialect {
    fn call(self, base: &str, device: &Device, code: String, auth: &str) -> Call {
        match self {
            Dialect::Soffid => scim_call(
                "POST",
                format!("{base}/{}/responseChallenge", device.path),
                auth,
                Some(json!({"pin": code})),
            ),
            Dialect::Hid => scim_call(
                "POST",
                format!("{base}/{}", device.path),
                auth,
                Some(json!({
                    "schemas": [ACTION],
                    ACTION: {"action": "VERIFY", "attributes": [{"name": "RESPONSE", "value": code}]},
                })),
            ),
        }
    }

    /// Whether the answer accepted the code; `None` when it is not a well-formed answer.
    fn accepted(self, status: u16, body: &str) -> Option<bool> {
        if status != 200 {
            return None;
        }
        match self {
            Dialect::Soffid => {
                let success = body.contains(r#""success":true"#);
                (success || body.contains(r#""success":false"#)).then_some(success)
            }
            Dialect::Hid => {
                let answer: Value = serde_json::from_str(body).ok()?;
                let attributes = answer["attributes"].as_array()?;
                let status = attributes.iter().find(|a| a["name"] == "REQUEST.STATUS")?;
                match status["value"].as_str()? {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                }
            }
        }
    }
}

/// One validation row: the outcome with a valid code and with a wrong one, at one concurrency.
struct Validation {
    valid: Outcome,
    wrong: Outcome,
}

/// One validation per device with its valid code, then one per device with a wrong code, at
/// `concurrency`, through `dialect`; the i-th request of each goes to `base(i)`.
fn validate_each<'a>(
    dialect: Dialect,
    devices: &[Device],
    concurrency: usize,
    auth: &str,
    base: impl Fn(usize) -> &'a str + Sync,
) -> Validation {
    let load = Load { concurrency, requests: devices.len(), time_limit: TIME_LIMIT };
    let validate = |i: usize, code: fn(&Secret) -> String| {
        let device = &devices[i];
        dialect.call(base(i), device, code(&device.secret), auth)
    };
    let valid = drive(load, |i| validate(i, code_for), |s, b| dialect.accepted(s, b) == Some(true));
    let wrong = drive(load, |i| validate(i, wrong_code), |s, b| dialect.accepted(s, b) == Some(false));
    Validation { valid, wrong }
}

/// Blocks per dialect in [`validate_paired`]: enough to cancel a drift, few enough that each
/// block is long beside the ramp of 64 connections.
const BLOCKS: usize = 4;

/// [`validate_each`] through both dialects on their own devices (`[Soffid's, HID's]`), in
/// [`BLOCKS`] blocks each, taken in the order AB BA AB BA; each dialect's blocks are summed.
fn validate_paired(
    devices: [&[Device]; 2],
    concurrency: usize,
    auth: &str,
    base: &str,
) -> (Validation, Validation) {
    let mut runs: [Vec<Validation>; 2] = [Vec::new(), Vec::new()];
    for block in 0..BLOCKS {
        let order = if block % 2 == 0 { [0, 1] } else { [1, 0] };
        for side in order {
            let dialect = [Dialect::Soffid, Dialect::Hid][side];
            let all = devices[side];
            let part = &all[block * all.len() / BLOCKS..(block + 1) * all.len() / BLOCKS];
            runs[side].push(validate_each(dialect, part, concurrency, auth, |_| base));
        }
    }
    let [soffid, hid] = runs.map(|blocks| {
        let (valid, wrong): (Vec<_>, Vec<_>) = blocks.into_iter().map(|v| (v.valid, v.wrong)).unzip();
        Validation { valid: Outcome::sum(valid), wrong: Outcome::sum(wrong) }
    });
    (soffid, hid)
}

fn scim_call(method: &'static str, url: String, auth: &str, body: Option<Value>) -> Call {
    let mut headers = vec![("authorization", auth.to_owned())];
    if body.is_some() {
        headers.push(("content-type", "application/scim+json".to_owned()));
    }
    Call { method, url, headers, body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default() }
}

fn code_for(secret: &Secret) -> String {
    format_code(totp(secret, SHA1_6, 30, now()), 6)
}

/// A 6-digit code that no step within ±2 of now produces, so no verification window accepts it.
fn wrong_code(secret: &Secret) -> String {
    let step = now();
    let window: Vec<u32> = (-2..=2).map(|k| totp(secret, SHA1_6, 30, step + 30 * k)).collect();
    let mut code = (window[2] + 500_000) % 1_000_000;
    while window.contains(&code) {
        code = (code + 1) % 1_000_000;
    }
    format_code(code, 6)
}

fn ours(report: &mut String, sizes: Sizes) -> Vec<Validation> {
    let state = TempDir::new("bench");
    let app = App::start(&state.0, &[]);
    let auth = basic_auth("admin", &app.password);
    let base = app.base.clone();
    let pid = app.pid();
    // The first authenticated request runs the migrations and one argon2id verification.
    let warm = app.call("GET", "/OtpDevice?count=1", None);
    assert_eq!(warm.status, 200, "warm-up: {}", warm.json);

    // Create: TOTP devices with their QR code, the ones the validation runs use.
    let devices: Vec<OnceLock<Device>> = (0..sizes.ours * LEVELS.len()).map(|_| OnceLock::new()).collect();
    let first_batch = devices.len() / 9;
    let create = |offset: usize| {
        let devices = &devices;
        let base = &base;
        let auth = &auth;
        (
            move |i: usize| {
                let n = offset + i;
                scim_call(
                    "POST",
                    format!("{base}/OtpDevice"),
                    auth,
                    // One user each: the devices of one user share an authenticator, whose
                    // consecutive failures (the wrong-code runs) would lock its other devices.
                    Some(json!({"type": "TOTP", "user": format!("v{n:05}")})),
                )
            },
            move |status: u16, body: &str| {
                let Ok(json) = serde_json::from_str::<Value>(body) else { return false };
                let (Some(id), Some(uri)) = (json["id"].as_i64(), json["otpauthUri"].as_str()) else {
                    return false;
                };
                let n = usize::try_from(id - 1).unwrap_or(usize::MAX);
                status == 201
                    && json["image"].as_str().is_some_and(|i| !i.is_empty())
                    && devices.get(n).is_some_and(|slot| slot.set(Device::soffid(id, uri)).is_ok())
            },
        )
    };
    let (build, check) = create(0);
    let create_1 =
        drive(Load { concurrency: 1, requests: first_batch, time_limit: TIME_LIMIT }, build, check);
    let (build, check) = create(first_batch);
    let create_8 = drive(
        Load { concurrency: 8, requests: devices.len() - first_batch, time_limit: TIME_LIMIT },
        build,
        check,
    );
    let devices: Vec<Device> = devices.into_iter().filter_map(OnceLock::into_inner).collect();
    assert_eq!(devices.len(), sizes.ours * LEVELS.len(), "every create answered with its device");

    // The same load goes through HID's dialect (SPEC §14): an authenticator of policy AT_EMPOTP
    // for each new user, created through `POST /Authenticator` with its TOTP device, then VERIFY.
    let enrolled: Vec<OnceLock<Device>> = (0..sizes.ours * LEVELS.len()).map(|_| OnceLock::new()).collect();
    let enrol = drive(
        Load { concurrency: 8, requests: enrolled.len(), time_limit: TIME_LIMIT },
        |i| {
            let body = json!({
                "schemas": [AUTHENTICATOR],
                "owner": {"display": format!("h{i:05}")},
                "policy": {"value": "AT_EMPOTP"},
            });
            scim_call("POST", format!("{base}/Authenticator"), &auth, Some(body))
        },
        |status, body| {
            let Ok(json) = serde_json::from_str::<Value>(body) else { return false };
            let owner = json["owner"]["display"].as_str().and_then(|d| d.strip_prefix('h'));
            let n = owner.and_then(|n| n.parse::<usize>().ok());
            let (Some(n), Some(id), Some(uri)) =
                (n, json["id"].as_str(), json[ENROLLMENT]["otpauthUri"].as_str())
            else {
                return false;
            };
            let device = Device { path: format!("Authenticator/{id}"), secret: secret_of(uri) };
            status == 201 && enrolled.get(n).is_some_and(|slot| slot.set(device).is_ok())
        },
    );
    let enrolled: Vec<Device> = enrolled.into_iter().filter_map(OnceLock::into_inner).collect();
    assert_eq!(enrolled.len(), sizes.ours * LEVELS.len(), "every create answered with its authenticator");
    // A new device's first success through VERIFY also enables it (C to V, with its audit row:
    // 9 statements instead of 4), once in its life; Soffid's first success costs what any does.
    // So every device takes its first VERIFY here, unmeasured, and the load runs from the next
    // TOTP step on, as it would on devices in use.
    let first = drive(
        Load { concurrency: 8, requests: enrolled.len(), time_limit: TIME_LIMIT },
        |i| Dialect::Hid.call(&base, &enrolled[i], code_for(&enrolled[i].secret), &auth),
        |s, b| Dialect::Hid.accepted(s, b) == Some(true),
    );
    assert_eq!(first.unexpected, 0, "first VERIFY of each device: {:?}", first.first_unexpected);
    std::thread::sleep(Duration::from_secs(30 - now().rem_euclid(30).unsigned_abs() + 1));
    // Validation: each request a different device, so that replay protection never interferes.
    // Both dialects at each level, in alternating blocks (ABBA…), so that a drift of the disk or
    // of the machine over the run weighs on both alike and their ratio can be read to 10%.
    let mut validations = Vec::new();
    let mut verifications = Vec::new();
    let mut peak_rss = 0;
    for (level, concurrency) in LEVELS.into_iter().enumerate() {
        if concurrency == 32 {
            reset_peak_rss(pid);
        }
        let range = level * sizes.ours..(level + 1) * sizes.ours;
        let pair = [&devices[range.clone()], &enrolled[range]];
        let (soffid, hid) = validate_paired(pair, concurrency, &auth, &base);
        if concurrency == 32 {
            peak_rss = peak_rss_kib(pid);
        }
        validations.push(soffid);
        verifications.push(hid);
    }

    // Listing at scale: the rest of the devices through the API, in a mix of types.
    let existing = devices.len() + enrolled.len();
    let more = sizes.scale.saturating_sub(existing);
    let mix = drive(
        Load { concurrency: 8, requests: more, time_limit: Duration::from_secs(600) },
        |i| {
            let n = existing + i;
            let user = format!("u{:05}", n / 10);
            let body = match n % 10 {
                0..=4 => json!({"type": "TOTP", "user": user}),
                5 => json!({"type": "HOTP", "user": user}),
                6 | 7 => json!({"type": "EMAIL", "user": user, "email": format!("{user}.{n}@example.org")}),
                _ => json!({"type": "SMS", "user": user, "phone": format!("+3460{n:07}")}),
            };
            scim_call("POST", format!("{base}/OtpDevice"), &auth, Some(body))
        },
        |s, _| s == 201,
    );
    let db_path = state.0.join("sqlite_db.db");
    let now = now();
    age_devices(&db_path, now);
    let cutoff = Timestamp(now - 180 * 86_400).to_rfc3339();
    let selective = format!(r#"user eq "u{:05}""#, sizes.scale / 20);
    let broad = format!(r#"status eq "V" and lastUsed lt "{cutoff}""#);
    let deep = sizes.scale * 9 / 10;
    let queries: [ListingQuery<'_>; 4] = [
        ("selective filter (one user)", Some(&selective), None, 1),
        ("broad filter (`status eq \"V\" and lastUsed lt` 180 days ago)", Some(&broad), None, 1),
        ("sort by `lastUsed` descending, no filter", None, Some("lastUsed"), 1),
        ("deep page (`startIndex` at 90%)", None, None, deep),
    ];
    let probe = |endpoint: &str, table: Table, resource: &'static Resource, query: ListingQuery<'_>| {
        let (label, filter, sort_by, start) = query;
        let mut url = format!("{base}{endpoint}?count=100&startIndex={start}");
        if let Some(filter) = filter {
            url.push_str(&format!("&filter={}", encode(filter)));
        }
        if let Some(sort_by) = sort_by {
            url.push_str(&format!("&sortBy={sort_by}&sortOrder=descending"));
        }
        let outcome = drive(
            Load { concurrency: 1, requests: sizes.probes, time_limit: TIME_LIMIT },
            |_| scim_call("GET", url.clone(), &auth, None),
            |s, b| s == 200 && b.contains("\"totalResults\""),
        );
        let plan = explain_in(&db_path, table, resource, filter, sort_by);
        (label, filter.map(str::to_owned), outcome, plan)
    };
    let listing: Vec<_> =
        queries.into_iter().map(|q| probe("/OtpDevice", Table::Devices, &DEVICE, q)).collect();
    // Users at the same scale: the devices above created one user per ten devices; one SQL
    // statement adds the rest, each with a work email, a family name and 10% inactive.
    add_users(&db_path, sizes.scale, now);
    let selective_user = format!(r#"userName eq "U{:05}""#, sizes.scale / 20);
    let by_email = format!(r#"emails[type eq "work"].value eq "u{:05}@example.com""#, sizes.scale / 20);
    let broad_user = r#"active eq true and name.familyName sw "F1""#.to_owned();
    let user_queries: [ListingQuery<'_>; 4] = [
        ("selective filter (`userName eq`, another case)", Some(&selective_user), None, 1),
        ("value path on emails (`emails[type eq \"work\"].value eq`)", Some(&by_email), None, 1),
        ("broad filter (`active eq true and name.familyName sw`)", Some(&broad_user), None, 1),
        ("sort by `userName` descending, no filter", None, Some("userName"), 1),
    ];
    let user_listing: Vec<_> =
        user_queries.into_iter().map(|q| probe("/Users", Table::Users, &USER, q)).collect();
    let (db_bytes, device_count, audit_rows) = database_size(&db_path);

    // Per-request overhead: a trivial authenticated component route against a static file.
    let static_file = drive(
        Load { concurrency: 1, requests: sizes.probes, time_limit: TIME_LIMIT },
        |_| Call {
            method: "GET",
            url: format!("{}/index.html", app.origin),
            headers: Vec::new(),
            body: Vec::new(),
        },
        |s, _| s == 200,
    );
    let discovery = drive(
        Load { concurrency: 1, requests: sizes.probes, time_limit: TIME_LIMIT },
        |_| scim_call("GET", format!("{base}/ServiceProviderConfig"), &auth, None),
        |s, _| s == 200,
    );
    let stopped = app.interrupt();
    let linear = stopped
        .iter()
        .find_map(|line| line.strip_prefix("stopped; the largest instance linear memory was "))
        .unwrap_or("(not reported)")
        .to_owned();

    section(report, "Validation (`responseChallenge`, Basic auth on every request)");
    report.push_str(
        "Each request validates a different TOTP device (SHA-1, 6 digits, 30 s), so replay protection \
         never interferes; the wrong-code run then sends a wrong code to each of the same devices.\n\n",
    );
    table_header(report, &["code", "concurrency", "requests", "req/s", "p50", "p99", "unexpected"]);
    for (v, concurrency) in validations.iter().zip(LEVELS) {
        row(report, "valid", concurrency, &v.valid);
        row(report, "wrong", concurrency, &v.wrong);
    }
    let _ = writeln!(report, "\nRunner peak RSS during the c=32 runs: **{} MiB**.", peak_rss / 1024);

    section(report, "Validation through HID's `VERIFY` (SPEC §14, Basic auth on every request)");
    report.push_str(
        "The same load through the other dialect: each request a named action `VERIFY` with `RESPONSE` \
         on a different authenticator (policy `AT_EMPOTP`, created through `POST /Authenticator` with \
         its TOTP device, which one VERIFY before the load enabled: C to V happens once in a device's \
         life), then a wrong code to each. The two dialects ran in turn at each concurrency, in 4 \
         blocks each taken AB BA AB BA, so that a drift over the run weighs on both alike; each row \
         sums its dialect's blocks. `÷ responseChallenge` is to the row above at the same code and \
         concurrency.\n\n",
    );
    table_header(
        report,
        &["code", "concurrency", "requests", "req/s", "p50", "p99", "unexpected", "÷ responseChallenge"],
    );
    for ((v, soffid), concurrency) in verifications.iter().zip(&validations).zip(LEVELS) {
        for (what, o, theirs) in [("valid", &v.valid, &soffid.valid), ("wrong", &v.wrong, &soffid.wrong)] {
            let ratio = format!("{:.2}×", o.per_second() / theirs.per_second().max(1e-9));
            row_and(report, what, concurrency, o, &[ratio]);
        }
    }

    section(report, "Create (TOTP with QR code)");
    table_header(report, &["what", "concurrency", "requests", "req/s", "p50", "p99", "unexpected"]);
    row(report, "create TOTP", 1, &create_1);
    row(report, "create TOTP", 8, &create_8);
    row(
        report,
        "create authenticator (`POST /Authenticator`, policy `AT_EMPOTP`: TOTP with QR code)",
        8,
        &enrol,
    );
    row(report, "create mix (50% TOTP, 10% HOTP, 20% EMAIL, 20% SMS)", 8, &mix);

    section(report, &format!("Listing at {} devices (`count=100`, concurrency 1)", device_count));
    let _ = writeln!(
        report,
        "The devices were created through the API above; then one SQL statement aged them, as a \
         year of use would (status 60% V, 10% D, 10% L, 20% C; `lastUsed` spread over 365 days, \
         unset for the C ones). The plan is SQLite's `EXPLAIN QUERY PLAN` of the exact statements \
         the component runs (`edge_api::store::list_query`).\n"
    );
    table_header(report, &["query", "requests", "p50", "p99", "unexpected", "query plan (page; count)"]);
    for (label, _filter, outcome, plan) in &listing {
        let _ = writeln!(
            report,
            "| {label} | {} | {} | {} | {} | {plan} |",
            outcome.done(),
            ms(outcome.percentile(50.0)),
            ms(outcome.percentile(99.0)),
            outcome.unexpected
        );
    }
    let _ = writeln!(report, "\nFilters sent: selective `{selective}`; broad `{broad}`.");

    let user_count = count_rows(&db_path, "users");
    section(report, &format!("Listing at {user_count} users (`count=100`, concurrency 1)"));
    let _ = writeln!(
        report,
        "The device creates above made one user per ten devices; one SQL statement added the rest \
         (userName `uNNNNN`, a work email `uNNNNN@example.com`, family names `F0`…`F99`, 10% inactive). \
         Plans as above (`list_query(Table::Users, …)`).\n"
    );
    table_header(report, &["query", "requests", "p50", "p99", "unexpected", "query plan (page; count)"]);
    for (label, filter, outcome, plan) in &user_listing {
        let _ = writeln!(
            report,
            "| {label} | {} | {} | {} | {} | {plan} |",
            outcome.done(),
            ms(outcome.percentile(50.0)),
            ms(outcome.percentile(99.0)),
            outcome.unexpected
        );
        if let Some(filter) = filter {
            let _ = writeln!(report, "|   `{filter}` | | | | | |");
        }
    }
    let _ = writeln!(
        report,
        "\nDatabase file after the run (WAL checkpointed): **{:.1} MiB** for {device_count} devices and \
         {audit_rows} audit rows, i.e. {:.1} MiB per 100,000 devices with their audit trail.",
        db_bytes as f64 / 1048576.0,
        db_bytes as f64 / 1048576.0 * 100_000.0 / device_count.max(1) as f64
    );

    section(report, "Per-request overhead (concurrency 1)");
    table_header(report, &["what", "concurrency", "requests", "req/s", "p50", "p99", "unexpected"]);
    row(report, "static file from the runner (`/index.html`)", 1, &static_file);
    row(report, "component: `GET /ServiceProviderConfig` (auth + discovery)", 1, &discovery);
    let overhead = discovery.percentile(50.0).saturating_sub(static_file.percentile(50.0));
    let _ = writeln!(
        report,
        "\nComponent overhead at p50 (instantiation, migrations check, auth cache lookup, JSON): **{}**.",
        ms(overhead)
    );
    let _ = writeln!(report, "The largest linear memory any instance reached in this run: **{linear}**.");
    sizes_table(report);
    validations
}

// ---------------------------------------------------------------------------------------------
// The same validation load on every host the component runs on.

/// The label of the floor row, to which every host's share is given.
const FLOOR: &str = "floor (native, one persistent connection)";

/// One host of the hosts table: its validations and a small GET's latency, or why it was not
/// measured.
struct HostRun {
    label: String,
    note: &'static str,
    validations: Result<(Vec<Validation>, Outcome), String>,
}

/// The hosts: the runner as Spin leaves SQLite and tuned, and, where `cargo xtask bench` found
/// them (`SCIM_OTP_BENCH_SPIN`, `SCIM_OTP_BENCH_SQLD`), the Spin CLI on local SQLite and on sqld
/// with one node and two. (The rest of the benchmark runs on the runner.)
/// The hosts of the hosts table; `only` keeps those whose label starts with it (`--host Spin`).
fn hosts(sizes: Sizes, only: Option<&str>) -> Vec<HostRun> {
    let spin = std::env::var_os("SCIM_OTP_BENCH_SPIN").map(PathBuf::from);
    let sqld = std::env::var_os("SCIM_OTP_BENCH_SQLD").map(PathBuf::from);
    let runner = |args: &[&str]| Host::Runner {
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        component: None,
    };
    let p3 = std::env::var_os("SCIM_OTP_BENCH_P3").map(PathBuf::from);
    let mut candidates: Vec<(&str, &'static str, Result<Host, &str>, usize)> = vec![
        ("runner (Spin's SQLite settings)", "", Ok(runner(&[])), 1),
        (
            "runner `--sync normal` (tuned)",
            "`synchronous=NORMAL`, which Spin does not set",
            Ok(runner(&["--sync", "normal"])),
            1,
        ),
        (
            "Spin, local SQLite",
            "Spin 4.1 built at opt-level 1: a lower bound for a release build",
            spin.clone().map(|b| Host::spin(b, None)).ok_or("no Spin CLI (SCIM_OTP_BENCH_SPIN)"),
            1,
        ),
        (
            "Spin on sqld, 1 node",
            "each statement a loopback HTTP round trip to sqld",
            match (&spin, &sqld) {
                (Some(b), Some(d)) => Ok(Host::spin(b.clone(), Some(d.clone()))),
                _ => Err("no Spin CLI or no sqld (SCIM_OTP_BENCH_SPIN, SCIM_OTP_BENCH_SQLD)"),
            },
            1,
        ),
        (
            "Spin on sqld, 2 nodes",
            "clients split over both; one 2-core box runs both nodes, sqld and the clients",
            match (&spin, &sqld) {
                (Some(b), Some(d)) => Ok(Host::spin(b.clone(), Some(d.clone()))),
                _ => Err("no Spin CLI or no sqld (SCIM_OTP_BENCH_SPIN, SCIM_OTP_BENCH_SQLD)"),
            },
            2,
        ),
    ];
    // The WASIp3 build on the runner and on the same Spin and sqld, when `SCIM_OTP_BENCH_P3`
    // names it.
    if let Some(p3) = &p3 {
        candidates.push((
            "runner, WASIp3 build",
            "instances reused as Spin reuses them",
            Ok(runner(&[]).serving(p3.clone())),
            1,
        ));
        candidates.push((
            "runner, WASIp3 build, one request at a time per instance",
            "`--max-instance-concurrent-reuse-count 1`",
            Ok(runner(&["--max-instance-concurrent-reuse-count", "1"]).serving(p3.clone())),
            1,
        ));
    }
    if let (Some(spin), Some(p3)) = (&spin, &p3) {
        let on = |sqld: Option<PathBuf>| Host::spin(spin.clone(), sqld).serving(p3.clone());
        candidates.push((
            "Spin, local SQLite, WASIp3 build",
            "the same API as `edge-api-p3`: an instance serves up to 128 requests, 16 at a time, on one connection",
            Ok(on(None)),
            1,
        ));
        candidates.push((
            "Spin, local SQLite, WASIp3 build, one request at a time per instance",
            "`spin up --max-instance-concurrent-reuse-count 1`",
            Ok(on(None).with_args(&["--max-instance-concurrent-reuse-count", "1"])),
            1,
        ));
        if let Some(sqld) = &sqld {
            candidates.push(("Spin on sqld, 1 node, WASIp3 build", "", Ok(on(Some(sqld.clone()))), 1));
            candidates.push(("Spin on sqld, 2 nodes, WASIp3 build", "", Ok(on(Some(sqld.clone()))), 2));
        }
    }
    let native = std::env::current_exe().unwrap().with_file_name("scim-otp-native");
    candidates.push((
        "native (`edge_api::app::handle` on hyper + rusqlite)",
        "the limit of this design: the same handler and SQL without wasm",
        Ok(Host::Native { binary: native.clone(), args: Vec::new() }),
        1,
    ));
    candidates.push((
        FLOOR,
        "the same handler and SQL on one connection kept open, one request at a time, `synchronous` \
         FULL: what the disk allows with nothing spent on connections (HTTP on loopback included)",
        Ok(Host::Native { binary: native, args: vec!["--one-connection".to_owned()] }),
        1,
    ));
    candidates
        .into_iter()
        // The floor stays: every host's share is given to it.
        .filter(|(label, ..)| *label == FLOOR || only.is_none_or(|only| label.starts_with(only)))
        .map(|(label, note, host, nodes)| HostRun {
            label: label.to_owned(),
            note,
            validations: host.map_err(str::to_owned).and_then(|host| validate_on(&host, nodes, sizes.hosts)),
        })
        .collect()
}

/// Creates `per_level` TOTP devices per concurrency level through the cluster, then validates
/// each once with a valid code and once with a wrong one, the clients going round the nodes.
/// When the creates fail, the host's row says how, and the other hosts are still measured.
fn validate_on(host: &Host, nodes: usize, per_level: usize) -> Result<(Vec<Validation>, Outcome), String> {
    eprintln!("[bench] hosts: {} × {nodes}", host.label());
    let state = TempDir::new("bench-host");
    let cluster = Cluster::start_on(host, nodes, &state.0, &[]);
    let bases: Vec<String> = cluster.nodes.iter().map(|n| n.base.clone()).collect();
    let auth = basic_auth("admin", &cluster.nodes[0].password);
    let warm = cluster.nodes[0].call("GET", "/OtpDevice?count=1", None);
    assert_eq!(warm.status, 200, "warm-up: {}", warm.json);
    let made = std::sync::Mutex::new(Vec::new());
    let total = per_level * LEVELS.len();
    let create = drive(
        Load { concurrency: 8, requests: total, time_limit: TIME_LIMIT * 2 },
        |i| {
            let body = json!({"type": "TOTP", "user": format!("h{i:05}")});
            scim_call("POST", format!("{}/OtpDevice", bases[i % nodes]), &auth, Some(body))
        },
        |status, body| {
            let Ok(json) = serde_json::from_str::<Value>(body) else { return false };
            let (Some(id), Some(uri)) = (json["id"].as_i64(), json["otpauthUri"].as_str()) else {
                return false;
            };
            made.lock().unwrap().push(Device::soffid(id, uri));
            status == 201
        },
    );
    let devices = made.into_inner().unwrap();
    if (devices.len(), create.unexpected) != (total, 0) {
        return Err(format!(
            "the set-up failed: {} of {total} TOTP creates at c=8 answered with a device ({} unexpected \
             answers, the first: {}), so its validations were not run",
            devices.len(),
            create.unexpected,
            create.first_unexpected.as_deref().map_or_else(
                || "none; the time bound ended it".to_owned(),
                // A table cell: one line, no column bars.
                |first| first
                    .chars()
                    .take(200)
                    .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
                    .collect()
            )
        ));
    }
    let validations = LEVELS
        .into_iter()
        .enumerate()
        .map(|(level, concurrency)| {
            let slice = &devices[level * per_level..(level + 1) * per_level];
            let validation = validate_each(Dialect::Soffid, slice, concurrency, &auth, |i| &bases[i % nodes]);
            for (what, o) in [("valid", &validation.valid), ("wrong", &validation.wrong)] {
                if let Some(first) = &o.first_unexpected {
                    eprintln!(
                        "{} × {nodes}, {what} at c={concurrency}: first unexpected answer: {first}",
                        host.label()
                    );
                }
            }
            validation
        })
        .collect();
    // A small answer on one keep-alive connection: what a client waits beyond the work (an
    // answer's last chunk can wait for the client's delayed ACK where the listener does not set
    // TCP_NODELAY).
    let small_get = drive(
        Load { concurrency: 1, requests: per_level.min(400), time_limit: TIME_LIMIT },
        |_| scim_call("GET", format!("{}/ServiceProviderConfig", bases[0]), &auth, None),
        |status, _| status == 200,
    );
    Ok((validations, small_get))
}

fn hosts_table(report: &mut String, hosts: &[HostRun], peer: &Result<Peer, String>) {
    section(report, "One load, every host (same run)");
    let _ = writeln!(
        report,
        "The same component on each host: TOTP devices created through it, then one validation per \
         device with a valid code and one with a wrong code at each concurrency, then a small \
         GET on one keep-alive connection. `÷ privacyIDEA` is to privacyIDEA's row at the same \
         concurrency above, `÷ native` to the native row, `÷ floor` to the floor row (its share of \
         what the disk allows).\n"
    );
    table_header(
        report,
        &[
            "host",
            "code",
            "concurrency",
            "req/s",
            "p50 / p99",
            "÷ privacyIDEA",
            "÷ native",
            "÷ floor",
            "unexpected",
        ],
    );
    let measured = |label: &str| {
        hosts.iter().find(|h| h.label.starts_with(label)).and_then(|h| h.validations.as_ref().ok())
    };
    let native = measured("native");
    let native_get = native.map(|(_, get)| get.per_second());
    let native = native.map(|(validations, _)| validations);
    let floor = measured(FLOOR);
    let floor_get = floor.map(|(_, get)| get.per_second());
    let floor = floor.map(|(validations, _)| validations);
    let rate = |validations: &[Validation], level: usize, what: &str| {
        let v = &validations[level];
        if what == "valid" { v.valid.per_second() } else { v.wrong.per_second() }
    };
    let ratio = |ours: f64, theirs: Option<f64>| {
        theirs.map_or("–".to_owned(), |t| format!("{:.2}×", ours / t.max(1e-9)))
    };
    for host in hosts {
        let (validations, small_get) = match &host.validations {
            Ok((validations, small_get)) => (validations, small_get),
            Err(why) => {
                let _ = writeln!(report, "| {} | not measured: {why} | | | | | | | |", host.label);
                continue;
            }
        };
        for (level, (v, concurrency)) in validations.iter().zip(LEVELS).enumerate() {
            for (what, o) in [("valid", &v.valid), ("wrong", &v.wrong)] {
                let theirs = peer.as_ref().ok().map(|p| rate(&p.validations, level, what));
                let _ = writeln!(
                    report,
                    "| {} | {what} | {concurrency} | {:.0} | {} / {} | {} | {} | {} | {} |",
                    host.label,
                    o.per_second(),
                    ms(o.percentile(50.0)),
                    ms(o.percentile(99.0)),
                    ratio(o.per_second(), theirs),
                    ratio(o.per_second(), native.map(|n| rate(n, level, what))),
                    ratio(o.per_second(), floor.map(|f| rate(f, level, what))),
                    o.unexpected
                );
            }
        }
        let _ = writeln!(
            report,
            "| {} | small GET (`/ServiceProviderConfig`, p90 {}) | 1 | {:.0} | {} / {} | – | {} | {} | {} |",
            host.label,
            ms(small_get.percentile(90.0)),
            small_get.per_second(),
            ms(small_get.percentile(50.0)),
            ms(small_get.percentile(99.0)),
            ratio(small_get.per_second(), native_get),
            ratio(small_get.per_second(), floor_get),
            small_get.unexpected
        );
    }
    let notes: Vec<String> =
        hosts.iter().filter(|h| !h.note.is_empty()).map(|h| format!("{}: {}", h.label, h.note)).collect();
    let _ = writeln!(report, "\n{}.", notes.join("; "));
}

/// Gives the devices a year of history in one statement (the API cannot backdate `lastUsed`).
fn age_devices(db: &Path, now: i64) {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
    connection
        .execute(
            "UPDATE devices SET \
               status = CASE id % 10 WHEN 0 THEN 'D' WHEN 1 THEN 'L' WHEN 2 THEN 'C' WHEN 3 THEN 'C' ELSE 'V' END, \
               last_used = CASE WHEN id % 10 IN (2, 3) THEN NULL ELSE ?1 - (id * 7919) % 31536000 END",
            [now],
        )
        .expect("age the devices");
}

/// A listing probe: label, filter, `sortBy` (descending), `startIndex`.
type ListingQuery<'a> = (&'static str, Option<&'a str>, Option<&'a str>, usize);

/// Users `u<n>` up to `scale`, in one statement (the devices' users already exist).
fn add_users(db: &Path, scale: usize, now: i64) {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
    connection
        .execute_batch(&format!(
            "BEGIN; \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {scale}) \
             INSERT OR IGNORE INTO users (tenant, user_name, family_name, active, created, modified) \
               SELECT 'default', printf('u%05d', i), 'F' || (i % 100), i % 10 <> 0, {now}, {now} FROM n; \
             UPDATE users SET family_name = 'F' || (id % 100), active = id % 10 <> 0 WHERE family_name IS NULL; \
             INSERT INTO user_contacts (user_id, kind, position, value, type, is_primary) \
               SELECT id, 'email', 0, user_name || '@example.com', 'work', 1 FROM users; \
             COMMIT;"
        ))
        .expect("add the users");
}

fn count_rows(db: &Path, table: &str) -> i64 {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).expect("count")
}

fn explain_in(
    db: &Path,
    table: Table,
    resource: &'static Resource,
    filter: Option<&str>,
    sort_by: Option<&str>,
) -> String {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    let condition = filter.map(|f| Condition::compile(resource, f).expect("the benchmark's filters parse"));
    let sort = Sort::parse(resource, sort_by, sort_by.map(|_| "descending")).expect("sort parses");
    let query = edge_api::store::list_query(table, "default", condition.as_ref(), sort.as_ref());
    let [page, count] = query.explain(&connection).expect("explain");
    format!("`{page}`; `{count}`")
}

fn database_size(db: &Path) -> (u64, i64, i64) {
    let connection = rusqlite::Connection::open(db).expect("open the database");
    connection.busy_timeout(Duration::from_secs(30)).expect("busy timeout");
    connection.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    let count = |table: &str| -> i64 {
        connection.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)).expect("count")
    };
    let bytes = std::fs::metadata(db).map(|m| m.len()).unwrap_or(0);
    (bytes, count("devices"), count("audit"))
}

/// Percent-encodes a query parameter value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// privacyIDEA.

/// A gunicorn serving privacyIDEA; stopped (with its workers) on drop.
struct Gunicorn(Child);

impl Drop for Gunicorn {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Peer {
    version: String,
    workers: usize,
    validations: Vec<Validation>,
    rss_kib: u64,
    /// `/token/load` of each seed file, or why it could not be measured.
    loads: Result<Vec<Loaded>, String>,
}

fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command.output().map_err(|e| format!("{what}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).lines().last().unwrap_or_default()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A deterministic 20-byte seed per token (splitmix64): the benchmark needs no secrecy.
fn seed(n: u64) -> Vec<u8> {
    let mut state = n.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x2545_F491_4F6C_DD1D);
    let mut bytes = Vec::with_capacity(24);
    while bytes.len() < 20 {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        bytes.extend_from_slice(&(z ^ (z >> 31)).to_le_bytes());
    }
    bytes.truncate(20);
    bytes
}

fn privacyidea(venv: &Path, sizes: Sizes, seeds: Option<&SeedFiles>) -> Result<Peer, String> {
    let bin = venv.join("bin");
    let dir = TempDir::new("privacyidea");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/privacyidea");
    let p = |name: &str| dir.0.join(name).display().to_string();
    let audit_keys = format!(
        "PI_AUDIT_KEY_PRIVATE = '{}'\nPI_AUDIT_KEY_PUBLIC = '{}'\nPI_LOGLEVEL = 30\n",
        p("private.pem"),
        p("public.pem")
    );
    let config = privacyidea_config(&dir.0, "benchmark-only", &audit_keys).map_err(|e| e.to_string())?;
    let with_config = |program: &str| {
        let mut command = Command::new(bin.join(program));
        command.env("PRIVACYIDEA_CONFIGFILE", &config).current_dir(&here);
        command
    };
    let version = run(
        with_config("python").args(["-c", "import privacyidea; print(privacyidea.__version__)"]),
        "privacyidea version",
    )
    .or_else(|_| run(with_config("pip").args(["show", "privacyidea"]), "pip show privacyidea"))?;
    let version =
        version.lines().find_map(|l| l.strip_prefix("Version: ")).unwrap_or(version.trim()).to_owned();
    for step in [["setup", "create_enckey"], ["setup", "create_audit_keys"], ["setup", "create_tables"]] {
        run(with_config("pi-manage").args(step), &format!("pi-manage {}", step.join(" ")))?;
    }
    // An admin for `/token/load`.
    run(
        with_config("pi-manage").args(["admin", "add", "bench", "-p", PI_ADMIN_PASSWORD]),
        "pi-manage admin add",
    )?;
    let tokens = sizes.peer * LEVELS.len();
    let secrets: Vec<Secret> = (0..tokens as u64).map(|n| Secret::from_bytes(seed(n))).collect();
    let list: String = secrets
        .iter()
        .enumerate()
        .map(|(n, s)| format!("P{n:05},{}\n", data_encoding::HEXLOWER.encode(s.as_bytes())))
        .collect();
    let list_file = dir.0.join("tokens.csv");
    std::fs::write(&list_file, list).map_err(|e| e.to_string())?;
    let seeded = run(with_config("python").arg("seed_tokens.py").arg(&list_file), "seeding tokens")?;
    eprintln!("privacyIDEA: {}", seeded.trim());

    let port =
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
    let workers = std::thread::available_parallelism().map_or(2, usize::from);
    let log = std::fs::File::create(dir.0.join("gunicorn.log")).map_err(|e| e.to_string())?;
    let child = with_config("gunicorn")
        // A seed file's load takes minutes there: gunicorn would kill the worker after 30 s.
        .args([
            "-w",
            &workers.to_string(),
            "-b",
            &format!("127.0.0.1:{port}"),
            "--timeout",
            "3600",
            "app:application",
        ])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting gunicorn: {e}"))?;
    let gunicorn = Gunicorn(child);
    let url = format!("http://127.0.0.1:{port}/validate/check");
    wait_until_up(&url)?;

    let mut validations = Vec::new();
    let mut rss_kib = 0;
    for (level, concurrency) in LEVELS.into_iter().enumerate() {
        let first = level * sizes.peer;
        let load = Load { concurrency, requests: sizes.peer, time_limit: TIME_LIMIT };
        let check_call = |i: usize, code: fn(&Secret) -> String| {
            let n = first + i;
            Call {
                method: "POST",
                url: url.clone(),
                headers: vec![("content-type", "application/x-www-form-urlencoded".to_owned())],
                body: format!("serial=P{n:05}&pass={}", code(&secrets[n])).into_bytes(),
            }
        };
        let valid = drive(load, |i| check_call(i, code_for), |s, b| s == 200 && b.contains(r#""ACCEPT""#));
        let wrong = drive(load, |i| check_call(i, wrong_code), |s, b| s == 200 && b.contains(r#""REJECT""#));
        if concurrency == 32 {
            rss_kib = tree_rss_kib(gunicorn.0.id());
        }
        validations.push(Validation { valid, wrong });
    }
    let loads = match seeds {
        Some(seeds) => {
            let mut load = with_config("python");
            load.arg("load.py").args([&format!("http://127.0.0.1:{port}"), "bench", PI_ADMIN_PASSWORD]);
            for file in &seeds.files {
                load.arg(&file.path).arg(format!("{}={}", file.unlock.0, file.unlock.1));
            }
            run(&mut load, "privacyIDEA /token/load").and_then(|out| {
                serde_json::from_str::<Vec<Value>>(&out).map_err(|e| format!("load.py: {e}: {out}")).map(
                    |all| {
                        all.iter()
                            .map(|l| Loaded {
                                seconds: l["seconds"].as_f64().unwrap_or(f64::NAN),
                                imported: l["imported"].as_u64().unwrap_or(0),
                            })
                            .collect()
                    },
                )
            })
        }
        None => Err("no seed files".to_owned()),
    };
    drop(gunicorn);
    Ok(Peer { version, workers, validations, rss_kib, loads })
}

const PI_ADMIN_PASSWORD: &str = "benchmark-only-admin";

// ---------------------------------------------------------------------------------------------
// Seed files.

/// One seed file of the benchmark: where it is, what it is, and what opens it (`psk` or
/// `password`, and its value).
struct SeedFile {
    path: PathBuf,
    what: &'static str,
    unlock: (&'static str, String),
}

/// The same files for both sides, written by python-pskc (the only PSKC writer besides ours) in
/// the one form privacyIDEA's importer reads: AES-128-CBC, HMAC-SHA1.
struct SeedFiles {
    _dir: TempDir,
    files: Vec<SeedFile>,
}

impl SeedFiles {
    fn write(count: usize) -> Result<SeedFiles, String> {
        let venv = std::env::var_os("SCIM_OTP_PSKC_VENV").ok_or("SCIM_OTP_PSKC_VENV is not set")?;
        let python = Path::new(&venv).join("bin/python");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("pskc/python_pskc.py");
        let dir = TempDir::new("seed-files");
        let mut files = Vec::new();
        for (what, source, prefix) in
            [("pre-shared key", "psk", "S"), ("PBKDF2 password (100,000 rounds)", "pbkdf2", "K")]
        {
            let path = dir.0.join(format!("{source}.pskc"));
            let out = run(
                Command::new(&python)
                    .arg(&script)
                    .args(["bulk", &count.to_string(), prefix])
                    .arg(&path)
                    .arg(source),
                "python-pskc bulk",
            )?;
            let unlock: Value = serde_json::from_str(&out).map_err(|e| format!("python_pskc.py: {e}"))?;
            let unlock = match unlock["preSharedKey"].as_str() {
                Some(key) => ("psk", key.to_owned()),
                None => ("password", unlock["password"].as_str().unwrap_or_default().to_owned()),
            };
            files.push(SeedFile { path, what, unlock });
        }
        Ok(SeedFiles { _dir: dir, files })
    }
}

/// privacyIDEA's `/token/load` of one file.
struct Loaded {
    seconds: f64,
    imported: u64,
}

/// Our side: each file imported with `POST /Device/.import`, then the first file's tokens
/// exported with `POST /Device/.export` and that export imported again, on Spin when it is found
/// (the host users deploy), else on the runner; each a single request, timed around it.
struct SeedRows {
    host: String,
    rows: Vec<(String, Duration, u64)>,
}

fn import_ours(seeds: &SeedFiles) -> SeedRows {
    let host = match std::env::var_os("SCIM_OTP_BENCH_SPIN") {
        Some(spin) => Host::spin(PathBuf::from(spin), None),
        None => Host::from_env(),
    };
    // A started, warmed-up instance; and one POST on it, timed, that must answer 200.
    let started = |state: &TempDir, variables: &[(&str, &str)]| {
        let app = App::start_on(&host, &state.0, variables);
        let warm = app.call("GET", "/Device?count=1", None);
        assert_eq!(warm.status, 200, "warm-up: {}", warm.json);
        app
    };
    let timed = |app: &App, body: &Value, path: &str| {
        let started = Instant::now();
        let reply = app.call("POST", path, Some(body));
        let took = started.elapsed();
        assert_eq!(reply.status, 200, "{path}: {}", reply.text.chars().take(300).collect::<String>());
        (reply, took)
    };
    let state = TempDir::new("bench-seeds");
    let app = started(&state, &[("seed_export", "true")]);
    let mut rows = Vec::new();
    for file in &seeds.files {
        let document = std::fs::read_to_string(&file.path).unwrap();
        let key = if file.unlock.0 == "psk" { "preSharedKey" } else { "password" };
        let body = json!({"format": "pskc", "document": document, key: file.unlock.1});
        let (reply, took) = timed(&app, &body, "/Device/.import");
        rows.push((format!("import, {}", file.what), took, reply.json["imported"].as_u64().unwrap_or(0)));
    }
    let password = "an export password for the benchmark";
    let export = json!({"password": password, "filter": "serialNumber sw \"S\""});
    let (exported, took) = timed(&app, &export, "/Device/.export");
    let count = exported.text.matches("<KeyPackage>").count() as u64;
    rows.push((
        "export (PBKDF2-HMAC-SHA256 100,000 rounds, AES-256-CBC, HMAC-SHA256)".to_owned(),
        took,
        count,
    ));
    // The export read back: a fresh instance, as a migration's target is.
    drop(app);
    let state = TempDir::new("bench-seeds-back");
    let app = started(&state, &[]);
    let body = json!({"format": "pskc", "document": exported.text, "password": password});
    let (reply, took) = timed(&app, &body, "/Device/.import");
    rows.push(("import of that export".to_owned(), took, reply.json["imported"].as_u64().unwrap_or(0)));
    SeedRows { host: host.label(), rows }
}

fn seed_table(report: &mut String, ours: &Result<SeedRows, String>, peer: &Result<Peer, String>) {
    section(report, "Seed files: import and export (same run, same machine)");
    let ours = match ours {
        Ok(ours) => ours,
        Err(why) => {
            let _ = writeln!(report, "Seed files could not be written in this run: {why}");
            return;
        }
    };
    let loads = match peer {
        Ok(peer) => peer.loads.as_ref().map_err(String::clone),
        Err(why) => Err(why.clone()),
    };
    let _ = writeln!(
        report,
        "The same python-pskc files of {} TOTP keys (AES-128-CBC, HMAC-SHA1: the one form \
         privacyIDEA's importer reads) imported here by `POST /Device/.import` on {}, one request \
         each, and by privacyIDEA's `POST /token/load` (its admin API, gunicorn, SQLite); wall time \
         of the request. privacyIDEA: {}.\n",
        ours.rows.first().map_or(0, |r| r.2),
        ours.host,
        match &loads {
            Ok(_) => "measured".to_owned(),
            Err(why) => format!("not measured ({why})"),
        }
    );
    table_header(report, &["what", "keys", "ours", "privacyIDEA", "theirs ÷ ours"]);
    for (n, (what, took, keys)) in ours.rows.iter().enumerate() {
        let theirs = loads.as_ref().ok().and_then(|l| l.get(n)).filter(|_| what.starts_with("import, "));
        let _ = writeln!(
            report,
            "| {what} | {keys} | {:.2} s | {} | {} |",
            took.as_secs_f64(),
            theirs
                .map_or_else(|| "–".to_owned(), |t| format!("{:.2} s ({} imported)", t.seconds, t.imported)),
            theirs.map_or_else(
                || "–".to_owned(),
                |t| format!("**{:.0}×**", t.seconds / took.as_secs_f64().max(1e-9))
            )
        );
    }
}

fn wait_until_up(url: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    while Instant::now() < deadline {
        if agent.get(url).call().is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("gunicorn did not answer on {url} within 60 s"))
}

// ---------------------------------------------------------------------------------------------
// Memory from /proc.

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Resets the kernel's peak-RSS mark (`VmHWM`) of our own child process.
fn reset_peak_rss(pid: u32) {
    let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
}

fn peak_rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmHWM:")
}

/// Resident memory of a process and its children (gunicorn's master and workers).
fn tree_rss_kib(root: u32) -> u64 {
    let children: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().is_some_and(|stat| {
                stat.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(root)
            })
        })
        .collect();
    std::iter::once(root).chain(children).map(|pid| status_kib(pid, "VmRSS:")).sum()
}

// ---------------------------------------------------------------------------------------------
// The report.

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn section(report: &mut String, title: &str) {
    let _ = writeln!(report, "\n### {title}\n");
}

fn table_header(report: &mut String, columns: &[&str]) {
    let _ = writeln!(report, "| {} |", columns.join(" | "));
    let _ = writeln!(report, "|{}", "---|".repeat(columns.len()));
}

fn row(report: &mut String, what: &str, concurrency: usize, o: &Outcome) {
    row_and(report, what, concurrency, o, &[]);
}

/// A row of `row`'s columns and `more` after them.
fn row_and(report: &mut String, what: &str, concurrency: usize, o: &Outcome, more: &[String]) {
    let _ = writeln!(
        report,
        "| {what} | {concurrency} | {} | {:.0} | {} | {} | {} |{}",
        o.done(),
        o.per_second(),
        ms(o.percentile(50.0)),
        ms(o.percentile(99.0)),
        o.unexpected,
        more.iter().map(|m| format!(" {m} |")).collect::<String>()
    );
    if let Some(first) = &o.first_unexpected {
        eprintln!("{what} at c={concurrency}: first unexpected answer: {first}");
    }
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn machine(report: &mut String, args: &[String]) {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned()))
        .unwrap_or_default();
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let commit = command_output("git", &["rev-parse", "--short", "HEAD"]);
    let dirty = if command_output("git", &["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " (with uncommitted changes)"
    };
    let _ = writeln!(
        report,
        "Command: `cargo xtask bench{}`  ",
        args.iter().map(|a| format!(" {a}")).collect::<String>()
    );
    let _ = writeln!(report, "Date: {}  ", command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]));
    let _ = writeln!(report, "Commit: {commit}{dirty}  ");
    let _ = writeln!(
        report,
        "Machine: {cores} cores ({cpu}), {memory} memory, Linux {}  ",
        command_output("uname", &["-r"])
    );
    // Which Spin and sqld the hosts table ran on: a patched build has the same version, not the
    // same digest.
    for (name, variable) in [("Spin", "SCIM_OTP_BENCH_SPIN"), ("sqld", "SCIM_OTP_BENCH_SQLD")] {
        if let Some(path) = std::env::var_os(variable) {
            let path = Path::new(&path);
            let digest = command_output("sha256sum", &[&path.to_string_lossy()]);
            let _ = writeln!(
                report,
                "{name}: `{}`, sha256 {}  ",
                path.display(),
                digest.split_whitespace().next().unwrap_or("unknown")
            );
        }
    }
    let sqlite = if Host::from_env().label().contains("--sync normal") {
        "SQLite in WAL mode with `synchronous=NORMAL` (`--sync normal`, a tuning Spin does not apply)"
    } else {
        "SQLite as Spin leaves it: WAL (the component asks for it), `synchronous=FULL`, a fresh \
         connection per request"
    };
    let _ = writeln!(
        report,
        "Load generator: `scim-otp-bench` (closed loop, one keep-alive connection per concurrent \
         client, ureq) on the same machine, so the server had the cores minus the client's share. \
         The runner and the component are release builds; {sqlite}."
    );
}

fn sizes_table(report: &mut String) {
    section(report, "Sizes");
    table_header(report, &["artefact", "bytes", "gzip -9"]);
    let wasm = scim_otp_tests::component();
    let dist = scim_otp_tests::dist_index().parent().map(Path::to_path_buf).unwrap_or_default();
    let mut files = vec![("API component `edge_api.wasm`".to_owned(), wasm)];
    for entry in std::fs::read_dir(&dist).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if name.ends_with(".wasm") || name.ends_with(".js") {
            files.push((format!("SPA `{name}`"), path));
        }
    }
    for (label, path) in files {
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        let gzip = command_output("sh", &["-c", &format!("gzip -9c '{}' | wc -c", path.display())]);
        let _ = writeln!(report, "| {label} | {bytes} | {gzip} |");
    }
}

fn compare(report: &mut String, ours: &[Validation], peer: &Result<Peer, String>) {
    section(report, "Side by side with privacyIDEA (same run, same machine)");
    let peer = match peer {
        Ok(peer) => peer,
        Err(why) => {
            let _ = writeln!(report, "privacyIDEA could not be measured in this run: {why}");
            return;
        }
    };
    let _ = writeln!(
        report,
        "privacyIDEA {} from PyPI on its own SQLite backend, served by gunicorn with {} sync workers \
         (one per core); `POST /validate/check` with `serial` and `pass`, each request a different \
         TOTP token (SHA-1, 6 digits, 30 s), no authentication (its default for /validate). Ours \
         checks Basic auth on every request. Gunicorn's sync workers close the connection after each \
         answer, so the peer pays a TCP connect per request; ours keeps connections alive, as any \
         HTTP/1.1 client does. Resident memory of gunicorn's master and workers after the c=32 runs: \
         {} MiB.\n",
        peer.version,
        peer.workers,
        peer.rss_kib / 1024
    );
    table_header(
        report,
        &[
            "code",
            "concurrency",
            "ours req/s",
            "theirs req/s",
            "ours ÷ theirs",
            "ours p50 / p99",
            "theirs p50 / p99",
            "unexpected (ours, theirs)",
        ],
    );
    for ((o, t), concurrency) in ours.iter().zip(&peer.validations).zip(LEVELS) {
        for (what, a, b) in [("valid", &o.valid, &t.valid), ("wrong", &o.wrong, &t.wrong)] {
            let _ = writeln!(
                report,
                "| {what} | {concurrency} | {:.0} | {:.1} | **{:.0}×** | {} / {} | {} / {} | {}, {} |",
                a.per_second(),
                b.per_second(),
                a.per_second() / b.per_second().max(1e-9),
                ms(a.percentile(50.0)),
                ms(a.percentile(99.0)),
                ms(b.percentile(50.0)),
                ms(b.percentile(99.0)),
                a.unexpected,
                b.unexpected
            );
        }
    }
}

/// Replaces the generated section of BENCHMARKS.md (between the two markers), or appends it.
fn write_section(path: &Path, report: &str) {
    const BEGIN: &str = "<!-- cargo xtask bench: begin -->";
    const END: &str = "<!-- cargo xtask bench: end -->";
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{BEGIN}\n{report}\n{END}");
    let updated = match (text.find(BEGIN), text.find(END)) {
        (Some(begin), Some(end)) if begin < end => {
            format!("{}{generated}{}", &text[..begin], &text[end + END.len()..])
        }
        _ => format!("{}\n\n## Load benchmarks\n\n{generated}\n", text.trim_end()),
    };
    std::fs::write(path, updated).expect("write BENCHMARKS.md");
}

//! Migration between this service and a real privacyIDEA 3.14 (the benchmark's pinned
//! virtualenv, which `cargo xtask test` creates), both ways, through each side's own code:
//! tokens enrolled and used in privacyIDEA, exported by privacyIDEA's PSKC export, imported here
//! and validated with the codes privacyIDEA would accept next; and our export, re-encrypted by
//! python-pskc's `pskc2pskc` as the README says, read by privacyIDEA's own PSKC importer.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use scim_otp_tests::{App, TempDir, venv_python};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("privacyidea").join(name)
}

fn privacyidea_python() -> PathBuf {
    venv_python("SCIM_OTP_PI_VENV", "privacyidea-3.14")
}

/// privacyIDEA's configuration for a throwaway SQLite database in `dir`, and its key file.
fn privacyidea_config(dir: &Path) -> PathBuf {
    let config =
        scim_otp_tests::privacyidea_config(dir, "test-only", "PI_AUDIT_NO_SIGN = True\nPI_LOGLEVEL = 40\n")
            .unwrap();
    std::fs::write(
        dir.join("enckey"),
        (0..96u8).map(|b| b.wrapping_mul(167).wrapping_add(13)).collect::<Vec<_>>(),
    )
    .unwrap();
    config
}

/// Runs a Python program, `input` on its stdin; its stdout as JSON.
fn run_json(mut command: Command, input: &str) -> Value {
    use std::io::Write;
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

const RFC4226: &str = "3132333435363738393031323334353637383930";
const SHA256_KEY: &str = "3132333435363738393031323334353637383930313233343536373839303132";

/// Soffid's responseChallenge of a handed-out device with `code`: whether it validated.
fn validates(app: &App, id: &str, code: &str) -> bool {
    let answer = app.call("POST", &format!("/OtpDevice/{id}/responseChallenge"), Some(&json!({"pin": code})));
    assert_eq!(answer.status, 200, "{}", answer.json);
    answer.json["success"] == true
}

#[test]
fn tokens_move_from_privacyidea_with_their_counters_and_drift() {
    let dir = TempDir::new("pi-migration-in");
    let tokens = json!([
        {"serial": "PIHOTP1", "type": "hotp", "key": RFC4226, "digits": 6, "hash": "sha1", "step": 30,
         "used": 3, "description": "Yubico"},
        {"serial": "PITOTP1", "type": "totp", "key": SHA256_KEY, "digits": 8, "hash": "sha256", "step": 60,
         "used": 0, "behind": 300, "description": "Feitian"},
        {"serial": "PITOTP2", "type": "totp", "key": RFC4226, "digits": 6, "hash": "sha1", "step": 30,
         "used": 1, "description": "Token2"},
    ]);
    let mut command = Command::new(privacyidea_python());
    command.arg(script("export_pskc.py")).env("PRIVACYIDEA_CONFIGFILE", privacyidea_config(&dir.0));
    let exported = run_json(command, &tokens.to_string());
    let document = exported["pskc"].as_str().unwrap();
    assert!(document.contains("<keypackage>"), "privacyIDEA writes lower-case names: {document}");

    let app = App::start(&dir.0.join("state"), &[]);
    let body = json!({"format": "pskc", "document": document, "preSharedKey": exported["psk"]});
    let imported = app.call("POST", "/Device/.import", Some(&body));
    assert_eq!((imported.status, imported.json["imported"].as_u64()), (200, Some(3)), "{}", imported.json);
    let id = |serial: &str| {
        let results = imported.json["results"].as_array().unwrap();
        results.iter().find(|r| r["serialNumber"] == serial).unwrap()["id"].as_str().unwrap().to_owned()
    };
    for (n, serial) in ["PIHOTP1", "PITOTP1", "PITOTP2"].into_iter().enumerate() {
        let patch = json!({"Operations": [{"op": "add", "path": "owner", "value": {"display": format!("pi-user-{n}")}}]});
        let handed = app.call("PATCH", &format!("/Device/{}", id(serial)), Some(&patch));
        assert_eq!(handed.status, 200, "{}", handed.json);
    }
    let device = app.call("GET", &format!("/Device/{}", id("PITOTP1")), None).json;
    assert_eq!(
        (
            device["manufacturer"].as_str(),
            device["algorithm"].as_str(),
            device["digits"].as_u64(),
            device["period"].as_u64()
        ),
        (Some("Feitian"), Some("SHA256"), Some(8), Some(60)),
        "{device}"
    );
    // privacyIDEA keeps the drift in seconds, and a clock within the step as no drift: ceil(s / 60).
    let shift = exported["next"]["PITOTP1"]["shift"].as_f64().unwrap();
    assert!((-300.0..-120.0).contains(&shift), "five minutes late, as privacyIDEA's resync saw it: {shift}");
    assert_eq!(device["timeDrift"].as_f64(), Some((shift / 60.0).ceil()), "{device}");

    // The codes privacyIDEA accepted do not validate here (HOTP: its counter came along; TOTP:
    // the last step it accepted a code at); the next ones it would accept do.
    let (used, next) = (&exported["used"], &exported["next"]);
    let hotp = id("PIHOTP1");
    for code in used["PIHOTP1"].as_array().unwrap() {
        assert!(!validates(&app, &hotp, code.as_str().unwrap()), "{code} was used in privacyIDEA");
    }
    let replayed = used["PITOTP2"][0].as_str().unwrap();
    assert!(!validates(&app, &id("PITOTP2"), replayed), "{replayed} was used in privacyIDEA");
    assert!(validates(&app, &hotp, next["PIHOTP1"]["0"].as_str().unwrap()));
    assert!(validates(&app, &hotp, next["PIHOTP1"]["1"].as_str().unwrap()));
    assert!(validates(&app, &id("PITOTP2"), next["PITOTP2"]["accepted"][0].as_str().unwrap()));
    // The late token: privacyIDEA refuses what it shows now (its resync took a later step), and
    // so does this service; the two codes privacyIDEA takes next resync it here (they are
    // further from the learnt drift than a validation's window reaches).
    let late = id("PITOTP1");
    assert!(!validates(&app, &late, next["PITOTP1"]["shown"].as_str().unwrap()));
    let codes = &next["PITOTP1"]["accepted"];
    let resynced = app.call("POST", &format!("/Device/{late}/resync"), Some(&json!({"codes": codes})));
    assert_eq!((resynced.status, &resynced.json), (200, &json!({"resynced": true})));
}

#[test]
fn privacyidea_reads_our_export_through_pskc2pskc() {
    let dir = TempDir::new("pi-migration-out");
    let app = App::start(&dir.0.join("state"), &[("seed_export", "true")]);
    let csv = format!("SN-H1, {RFC4226}, hotp, 6, 7\nSN-T1, {SHA256_KEY}, totp, 8, 60\n");
    let imported = app.call("POST", "/Device/.import", Some(&json!({"format": "csv", "document": csv})));
    assert_eq!(imported.json["imported"], 2, "{}", imported.json);
    // A SHA-256 token too (privacyIDEA's CSV has no hash column): from privacyIDEA's own export.
    let from_privacyidea = include_str!("../../pskc/tests/privacyidea-3.14-export.xml");
    let body = json!({"format": "pskc", "document": from_privacyidea, "preSharedKey": "c4e9522a2d26ae7b9c25de13bc055e83"});
    let imported = app.call("POST", "/Device/.import", Some(&body));
    assert_eq!(imported.json["imported"], 2, "{}", imported.json);
    let export = app.call("POST", "/Device/.export", Some(&json!({"password": "migration password"})));
    assert_eq!(export.status, 200);
    let ours = dir.0.join("devices.pskc");
    std::fs::write(&ours, &export.text).unwrap();

    // python-pskc re-encrypts it the way privacyIDEA's importer reads (AES-128-CBC, a key).
    let psk = "00112233445566778899aabbccddeeff";
    let converted = dir.0.join("for-privacyidea.pskc");
    let pskc2pskc = venv_python("SCIM_OTP_PSKC_VENV", "python-pskc-1.4").with_file_name("pskc2pskc");
    let status = Command::new(pskc2pskc)
        .args(["--passwd", "migration password", "--new-secret", psk, "-o"])
        .arg(&converted)
        .arg(&ours)
        .status()
        .unwrap();
    assert!(status.success());

    let mut command = Command::new(privacyidea_python());
    command.arg(script("import_pskc.py")).arg(&converted).arg(psk);
    let read = run_json(command, "");
    assert_eq!(read["notImported"], json!([]), "{read}");
    let token = |serial: &str| {
        let t = &read["tokens"][serial];
        let field = |name: &str| t[name].as_str().unwrap_or_default().to_owned();
        [
            field("type"),
            field("otpkey"),
            field("otplen"),
            field("hashlib"),
            field("counter"),
            field("timeStep"),
        ]
    };
    assert_eq!(token("SN-H1"), ["hotp", RFC4226, "6", "sha1", "7", ""], "{read}");
    assert_eq!(token("SN-T1"), ["totp", SHA256_KEY, "8", "sha1", "", "60"], "{read}");
    // privacyIDEA's TOTP token went out with the last step it took a code at, and comes back.
    assert_eq!(token("PITOTP1"), ["totp", SHA256_KEY, "8", "sha256", "29943985", "60"], "{read}");
    assert_eq!(token("PIHOTP1")[..5], ["hotp", RFC4226, "6", "sha1", "2"], "{read}");
}

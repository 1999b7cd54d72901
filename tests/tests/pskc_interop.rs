//! Our PSKC reader and writer against an independent implementation, python-pskc 1.4 (PyPI,
//! LGPL, in a test virtualenv that `cargo xtask setup` creates): every file it writes with a
//! cipher, key source and MAC that SPEC §19 names is read here, secrets and all; every file we
//! write is read there.

#![allow(clippy::expect_used, clippy::unwrap_used)]
use scim_otp_tests::TempDir;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn venv_python() -> PathBuf {
    scim_otp_tests::venv_python("SCIM_OTP_PSKC_VENV", "python-pskc-1.4")
}

fn python_pskc(args: &[&str]) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pskc/python_pskc.py");
    let out = Command::new(venv_python()).arg(script).args(args).output().expect("python runs");
    assert!(out.status.success(), "python_pskc.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from python_pskc.py")
}

fn hex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(text.as_bytes()).expect("hex")
}

#[test]
fn we_read_every_file_python_pskc_writes() {
    let dir = TempDir::new("pskc-interop");
    let cases = python_pskc(&["write", dir.0.to_str().unwrap()]);
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), 6 * 5 * 3, "six ciphers, five MACs, three key sources");
    for case in cases {
        let text = std::fs::read_to_string(dir.0.join(case["file"].as_str().unwrap())).unwrap();
        let key = case["preSharedKey"].as_str().map(hex);
        let unlock = pskc::Unlock { pre_shared_key: key.as_deref(), password: case["password"].as_str() };
        let what = format!("{} {} {}", case["cipher"], case["mac"], case["source"]);
        let read = pskc::read(&text, &unlock).unwrap_or_else(|e| panic!("{what}: {e}"));
        let [hotp, totp] = &read.keys[..] else { panic!("{what}: {read:?}") };
        let expected = case["keys"].as_array().unwrap();
        assert_eq!(
            hotp.secret.as_deref(),
            Some(hex(expected[0]["secret"].as_str().unwrap()).as_slice()),
            "{what}"
        );
        assert_eq!(hotp.counter, expected[0]["counter"].as_u64(), "{what}");
        assert_eq!(
            (hotp.kind(), hotp.digits, hotp.serial.as_deref()),
            (Some(pskc::Kind::Hotp), Some(6), expected[0]["serial"].as_str())
        );
        assert_eq!(
            hotp.user_id.as_deref(),
            Some(format!("user{}", &hotp.serial.as_deref().unwrap()[5..]).as_str()),
            "{what}"
        );
        assert_eq!(
            totp.secret.as_deref(),
            Some(hex(expected[1]["secret"].as_str().unwrap()).as_slice()),
            "{what}"
        );
        assert_eq!(
            (totp.kind(), totp.digits, totp.time_interval, totp.time_drift),
            (Some(pskc::Kind::Totp), Some(8), Some(60), Some(-3)),
            "{what}"
        );
        assert_eq!(totp.suite.as_deref(), Some("HMAC-SHA256"));
        assert_eq!(totp.expiry_date, Some(4_070_908_800), "2099-01-01T00:00:00Z");
        // The wrong key or password never yields a secret.
        let wrong_key = key.as_ref().map(|k| k.iter().map(|b| b ^ 0x5a).collect::<Vec<u8>>());
        let wrong = pskc::Unlock {
            pre_shared_key: wrong_key.as_deref(),
            password: case["password"].as_str().map(|_| "not the password"),
        };
        let refused = pskc::read(&text, &wrong).unwrap_err();
        assert!(matches!(refused, pskc::Error::WrongKey | pskc::Error::Mac), "{what}: {refused:?}");
    }
}

#[test]
fn python_pskc_reads_what_we_write() {
    let dir = TempDir::new("pskc-export");
    let secrets: [&[u8]; 2] = [b"12345678901234567890", &[7u8; 32]];
    let keys = [
        pskc::Export {
            serial: "FT-1 <&>",
            manufacturer: Some("Feitian"),
            model: Some("c200"),
            kind: pskc::Kind::Hotp,
            suite: "sha1",
            digits: 6,
            secret: secrets[0],
            counter: Some(302),
            time_interval: None,
            time_drift: None,
            start_date: None,
            expiry_date: Some(4_070_908_800),
            user_id: Some("ann"),
        },
        pskc::Export {
            serial: "TK-2",
            manufacturer: None,
            model: None,
            kind: pskc::Kind::Totp,
            suite: "sha256",
            digits: 8,
            secret: secrets[1],
            counter: None,
            time_interval: Some(30),
            time_drift: Some(-2),
            start_date: None,
            expiry_date: None,
            user_id: None,
        },
    ];
    let mut next = 1u8;
    let mut random = |buf: &mut [u8]| {
        for b in buf {
            next = next.wrapping_mul(167).wrapping_add(13);
            *b = next;
        }
    };
    let text = pskc::write(&keys, "export password", 100_000, &mut random);
    let path = dir.0.join("ours.pskcxml");
    std::fs::write(&path, text).unwrap();
    let read = python_pskc(&["read", path.to_str().unwrap(), "export password"]);
    assert_eq!(read["cipher"], "http://www.w3.org/2001/04/xmlenc#aes256-cbc");
    assert_eq!(read["mac"], "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256");
    assert_eq!(
        read["prf"], "http://www.w3.org/2001/04/xmldsig-more#hmac-sha256",
        "the PRF as python-pskc reads it"
    );
    let keys_read = read["keys"].as_array().unwrap();
    assert_eq!(keys_read[0]["serial"], "FT-1 <&>");
    assert_eq!(keys_read[0]["secret"], data_encoding::HEXLOWER.encode(secrets[0]));
    assert_eq!((keys_read[0]["counter"].as_u64(), keys_read[0]["userid"].as_str()), (Some(302), Some("ann")));
    assert_eq!(keys_read[0]["expiry"], "2099-01-01T00:00:00+00:00");
    assert_eq!(keys_read[1]["secret"], data_encoding::HEXLOWER.encode(secrets[1]));
    assert_eq!(
        (keys_read[1]["interval"].as_u64(), keys_read[1]["drift"].as_i64(), keys_read[1]["digits"].as_u64()),
        (Some(30), Some(-2), Some(8))
    );
    assert_eq!(keys_read[1]["suite"], "sha256");
}

/// python-pskc's own test files (real vendors' files from ActivIdentity, Feitian, multiOTP,
/// NagraID and Yubico, the drafts' and the RFC's figures, files it must refuse), from its source
/// distribution, which `cargo xtask test` downloads from PyPI (pinned by hash) and unpacks beside
/// the virtualenv. python-pskc reads each with every key and password its doctests use; every file
/// it reads, we read with the same key to the same keys: serial, secret, counter, time step,
/// digits, manufacturer. Where a file uses a cipher SPEC §19 does not name (Camellia, Triple DES)
/// we refuse it as an `algorithm` error, and give no secret.
#[test]
fn we_read_what_python_pskc_reads_of_vendor_files() {
    let tests = std::env::var_os("SCIM_OTP_PSKC_SDIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| scim_otp_tests::target_dir().with_file_name("python-pskc-1.4-sdist"))
        .join("python_pskc-1.4/tests");
    assert!(tests.is_dir(), "{} is missing: `cargo xtask test` unpacks it", tests.display());
    let probed = python_pskc(&["probe", tests.to_str().unwrap()]);
    let (mut same, mut refused) = (0, Vec::new());
    for file in probed.as_array().unwrap() {
        let name = file["file"].as_str().unwrap();
        let Some(expected) = file["keys"].as_array() else { continue };
        let text = std::fs::read_to_string(tests.join(name)).unwrap();
        let key = file["unlock"]["preSharedKey"].as_str().map(|k| hex(&k.to_ascii_lowercase()));
        let unlock =
            pskc::Unlock { pre_shared_key: key.as_deref(), password: file["unlock"]["password"].as_str() };
        let lower = text.to_ascii_lowercase();
        match pskc::read(&text, &unlock) {
            Err(pskc::Error::Algorithm(what))
                if ["camellia", "tripledes", "3des"].iter().any(|c| lower.contains(c)) =>
            {
                refused.push(format!("{name} ({what})"));
            }
            Err(e) => panic!("{name}: python-pskc reads it, we do not: {e}"),
            Ok(read) => {
                assert_eq!(read.keys.len(), expected.len(), "{name}");
                for (ours, theirs) in read.keys.iter().zip(expected) {
                    let secret = ours.secret.as_ref().map(|s| data_encoding::HEXLOWER.encode(s));
                    assert_eq!(
                        (
                            ours.serial.as_deref(),
                            secret.as_deref(),
                            ours.counter,
                            ours.time_interval,
                            ours.digits.map(u64::from),
                            ours.manufacturer.as_deref(),
                        ),
                        (
                            theirs["serial"].as_str(),
                            theirs["secret"].as_str(),
                            theirs["counter"].as_u64(),
                            theirs["interval"].as_u64(),
                            theirs["digits"].as_u64(),
                            theirs["manufacturer"].as_str(),
                        ),
                        "{name}"
                    );
                }
                same += 1;
            }
        }
    }
    assert!(same >= 50, "{same} files read alike");
    assert_eq!(
        refused.len(),
        10,
        "Camellia CBC and key wrap (3 each), Triple DES (2 and 2 drafts): {refused:?}"
    );
}

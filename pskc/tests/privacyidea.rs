//! A file as privacyIDEA 3.14 exports it (`privacyidea.lib.importotp.export_pskc`, the export
//! of its token janitor), made by `tests/privacyidea/export_pskc.py` in a real privacyIDEA: two
//! tokens, the HOTP one after two codes were used, the TOTP one (SHA-256, 8 digits, 60 s)
//! resynced there with its clock five minutes late. privacyIDEA's export passes through an HTML
//! parser, so every element and attribute name is in lower case; it names the hash in an
//! attribute (`<suite hashalgo="sha256">`) and writes its clock drift in seconds, as a decimal.

#![allow(clippy::unwrap_used, clippy::panic)]

use pskc::{Unlock, read};

const EXPORT: &str = include_str!("privacyidea-3.14-export.xml");

fn key_of(hex: &str) -> Vec<u8> {
    data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap()
}

#[test]
fn privacyideas_own_export_reads_as_it_meant_it() {
    let psk = key_of("c4e9522a2d26ae7b9c25de13bc055e83");
    let container = read(EXPORT, &Unlock { pre_shared_key: Some(&psk), password: None }).unwrap();
    let [totp, hotp] = &container.keys[..] else { panic!("{:?}", container.keys.len()) };
    assert_eq!(
        (totp.serial.as_deref(), totp.manufacturer.as_deref(), totp.suite.as_deref(), totp.digits),
        (Some("PITOTP1"), Some("Feitian"), Some("sha256"), Some(8))
    );
    assert_eq!(totp.secret.as_deref(), Some(&b"12345678901234567890123456789012"[..]));
    // privacyIDEA writes a TOTP token's last accepted time step as its counter (after its resync,
    // one step past the second code).
    assert_eq!((totp.time_interval, totp.counter), (Some(60), Some(29_943_985)));
    assert_eq!(totp.time_drift, Some(-4), "-241.3 s at 60 s a step");
    assert_eq!(totp.problem, None);
    assert_eq!((hotp.serial.as_deref(), hotp.counter, hotp.time_drift), (Some("PIHOTP1"), Some(2), Some(0)));
    assert_eq!(hotp.secret.as_deref(), Some(&b"12345678901234567890"[..]));

    let wrong = key_of("c4e9522a2d26ae7b9c25de13bc055e84");
    assert!(read(EXPORT, &Unlock { pre_shared_key: Some(&wrong), password: None }).is_err());
}

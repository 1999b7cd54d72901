//! What [`pskc::write`] writes, [`pskc::read`] reads back: the identity on any set of tokens,
//! and only with the password it was written with.

#![allow(clippy::unwrap_used)]
use proptest::prelude::*;
use pskc::{Error, Export, Kind, Unlock, read, write};

#[derive(Debug, Clone)]
struct Token {
    serial: String,
    maker: Option<String>,
    model: Option<String>,
    totp: bool,
    suite: &'static str,
    digits: u32,
    secret: Vec<u8>,
    counter: u64,
    interval: u64,
    drift: i64,
    dates: Option<(i64, i64)>,
    user: Option<String>,
}

fn token() -> impl Strategy<Value = Token> {
    let text = "[ -~]{1,24}|[a-zA-Zé&<>\"' ]{1,12}";
    (
        (text, proptest::option::of(text), proptest::option::of(text), any::<bool>()),
        (prop::sample::select(vec!["sha1", "sha256", "sha512"]), prop::sample::select(vec![6u32, 8])),
        (proptest::collection::vec(any::<u8>(), 1..70), any::<u64>(), 1u64..600, -1000i64..1000),
        (proptest::option::of((0i64..4_000_000_000, 0i64..4_000_000_000)), proptest::option::of(text)),
    )
        .prop_map(
            |(
                (serial, maker, model, totp),
                (suite, digits),
                (secret, counter, interval, drift),
                (dates, user),
            )| Token {
                serial: serial.trim().to_owned(),
                maker: maker.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()),
                model: model.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()),
                totp,
                suite,
                digits,
                secret,
                counter,
                interval,
                drift,
                dates,
                user: user.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
            },
        )
        .prop_filter("a serial", |t| !t.serial.is_empty())
}

fn export(t: &Token) -> Export<'_> {
    Export {
        serial: &t.serial,
        manufacturer: t.maker.as_deref(),
        model: t.model.as_deref(),
        kind: if t.totp { Kind::Totp } else { Kind::Hotp },
        suite: t.suite,
        digits: t.digits,
        secret: &t.secret,
        counter: (!t.totp).then_some(t.counter),
        time_interval: t.totp.then_some(t.interval),
        time_drift: t.totp.then_some(t.drift),
        start_date: t.dates.map(|d| d.0),
        expiry_date: t.dates.map(|d| d.1),
        user_id: t.user.as_deref(),
    }
}

/// A deterministic stand-in for the caller's randomness.
fn counter_bytes(seed: u8) -> impl FnMut(&mut [u8]) {
    let mut next = seed;
    move |buf: &mut [u8]| {
        for b in buf {
            next = next.wrapping_mul(31).wrapping_add(7);
            *b = next;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn export_then_import_is_the_identity(tokens in proptest::collection::vec(token(), 0..6), seed in any::<u8>()) {
        let exports: Vec<Export<'_>> = tokens.iter().map(export).collect();
        let text = write(&exports, "correct horse battery", 1_000, &mut counter_bytes(seed));
        let back = read(&text, &Unlock { pre_shared_key: None, password: Some("correct horse battery") }).unwrap();
        prop_assert_eq!(back.keys.len(), tokens.len());
        for (key, token) in back.keys.iter().zip(&tokens) {
            prop_assert_eq!(key.serial.as_deref(), Some(token.serial.as_str()));
            prop_assert_eq!(key.id.as_deref(), Some(token.serial.as_str()));
            prop_assert_eq!(&key.manufacturer, &token.maker);
            prop_assert_eq!(&key.model, &token.model);
            prop_assert_eq!(key.kind(), Some(if token.totp { Kind::Totp } else { Kind::Hotp }));
            prop_assert_eq!(key.suite.as_deref(), Some(token.suite));
            prop_assert_eq!(key.digits, Some(token.digits));
            prop_assert_eq!(key.secret.as_deref(), Some(token.secret.as_slice()));
            prop_assert_eq!(key.counter, (!token.totp).then_some(token.counter));
            prop_assert_eq!(key.time_interval, token.totp.then_some(token.interval));
            prop_assert_eq!(key.time_drift, token.totp.then_some(token.drift));
            prop_assert_eq!(key.start_date, token.dates.map(|d| d.0));
            prop_assert_eq!(key.expiry_date, token.dates.map(|d| d.1));
            prop_assert_eq!(&key.user_id, &token.user);
            prop_assert_eq!(&key.problem, &None);
        }
        let wrong = read(&text, &Unlock { pre_shared_key: None, password: Some("correct horse batterY") });
        if !tokens.is_empty() {
            prop_assert!(matches!(wrong, Err(Error::WrongKey | Error::Mac)), "{:?}", wrong);
        }
    }
}

//! Cross-check of our HOTP/TOTP codes against an independent implementation: `oathtool`
//! (liboath, Debian package `oathtool`, installed by `cargo xtask setup`).

#![allow(clippy::expect_used, clippy::unwrap_used)]
use proptest::prelude::*;
use shared::Algorithm;
use shared::otp::{CodeParams, Secret, format_code, hotp, totp};
use std::process::Command;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn oathtool(args: &[String]) -> Vec<String> {
    let out =
        Command::new("oathtool").args(args).output().expect("oathtool runs (cargo xtask setup installs it)");
    assert!(out.status.success(), "oathtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop::sample::select(Algorithm::ALL.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn codes_equal_oathtool(
        key in prop::collection::vec(any::<u8>(), 1..=64),
        algorithm in algorithm(),
        digits in prop::sample::select(vec![6u32, 8]),
        period in prop::sample::select(vec![30u32, 60]),
        time in 0i64..=4_102_444_800,
        counter in 0u64..=(1 << 40),
    ) {
        let secret = Secret::from_bytes(key.clone());
        let mode = algorithm.as_str().to_ascii_lowercase();
        let expected = oathtool(&[
            format!("--totp={mode}"), "-d".into(), digits.to_string(), "-s".into(), format!("{period}s"),
            "-N".into(), format!("@{time}"), hex(&key),
        ]);
        let ours = format_code(totp(&secret, CodeParams { algorithm, digits }, period, time), digits);
        prop_assert_eq!(&expected, &vec![ours]);

        // liboath's HOTP is HMAC-SHA1 only; `-w 2` prints the codes of counter, counter+1, counter+2.
        let sha1 = CodeParams { algorithm: Algorithm::Sha1, digits };
        let expected = oathtool(&[
            "--hotp".into(), "-d".into(), digits.to_string(), "-c".into(), counter.to_string(),
            "-w".into(), "2".into(), hex(&key),
        ]);
        let ours: Vec<String> = (counter..counter + 3).map(|c| format_code(hotp(&secret, sha1, c), digits)).collect();
        prop_assert_eq!(expected, ours);
    }
}

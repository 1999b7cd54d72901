//! Any text as a PSKC container, read with a pre-shared key and with a password: reading never
//! panics, an error never repeats the key or the password (unless the text itself holds them:
//! an XML error quotes the text), and a container that reads is read the same way again.

#![no_main]

use libfuzzer_sys::fuzz_target;

const KEY: &[u8] = b"\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a\x5a";
const PASSWORD: &str = "fuzzing-password-7Q";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for unlock in [
        pskc::Unlock { pre_shared_key: Some(KEY), password: None },
        pskc::Unlock { pre_shared_key: None, password: Some(PASSWORD) },
    ] {
        match pskc::read(text, &unlock) {
            Err(error) => {
                let words = error.to_string();
                for secret in [PASSWORD, "ZZZZZZZZZZZZZZZZ"] {
                    assert!(
                        !words.contains(secret) || text.contains(secret),
                        "a secret in an error: {words}"
                    );
                }
            }
            Ok(first) => assert_eq!(Ok(first), pskc::read(text, &unlock), "read twice"),
        }
    }
});

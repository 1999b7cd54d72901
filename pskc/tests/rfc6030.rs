//! Every XML example of RFC 6030 that carries symmetric keys (figures 2–7 and 10), read with the
//! keys and passwords the RFC gives, and the refusals around them: a missing or wrong key or
//! password, a MAC that does not match, an unknown cipher.

#![allow(clippy::unwrap_used)]
use pskc::{Container, Error, Kind, Unlock, read};

fn figure(n: u32) -> String {
    let path = format!("{}/tests/rfc6030/figure{n}.xml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap()
}

fn hex(text: &str) -> Vec<u8> {
    data_encoding::HEXLOWER_PERMISSIVE.decode(text.as_bytes()).unwrap()
}

const FIGURE_6_KEY: &str = "12345678901234567890123456789012";
const SECRET: &[u8] = b"12345678901234567890";

fn plain(n: u32) -> Container {
    read(&figure(n), &Unlock::default()).unwrap()
}

#[test]
fn figure_2_a_plain_secret() {
    let container = plain(2);
    assert_eq!(container.id.as_deref(), Some("exampleID1"));
    let [key] = &container.keys[..] else { panic!("{container:?}") };
    assert_eq!((key.id.as_deref(), key.kind()), (Some("12345678"), Some(Kind::Hotp)));
    assert_eq!(key.issuer.as_deref(), Some("Issuer-A"));
    assert_eq!(key.secret.as_deref(), Some(&b"1234"[..]));
    assert_eq!(key.problem, None);
}

#[test]
fn figure_3_device_and_user() {
    let [key] = &plain(3).keys[..] else { panic!() };
    assert_eq!(key.manufacturer.as_deref(), Some("Manufacturer"));
    assert_eq!(key.serial.as_deref(), Some("987654321"));
    assert_eq!(key.user_id.as_deref(), Some("UID=jsmith,DC=example-bank,DC=net"), "the key's UserId wins");
    assert_eq!((key.digits, key.encoding.as_deref()), (Some(8), Some("DECIMAL")));
    assert_eq!((key.secret.as_deref(), key.counter), (Some(SECRET), Some(0)));
}

#[test]
fn figure_4_no_secret_to_read() {
    let [key] = &plain(4).keys[..] else { panic!() };
    assert_eq!((key.secret.as_ref(), key.counter, key.digits), (None, Some(0), Some(8)));
}

#[test]
fn figure_5_a_pin_key_beside_the_hotp_key() {
    let container = plain(5);
    let kinds: Vec<Option<Kind>> = container.keys.iter().map(pskc::Key::kind).collect();
    assert_eq!(
        kinds,
        vec![Some(Kind::Hotp), Some(Kind::Other("urn:ietf:params:xml:ns:keyprov:pskc:pin".into()))]
    );
    assert_eq!(container.keys[0].secret.as_deref(), Some(SECRET));
    assert_eq!(container.keys[1].secret.as_deref(), Some(&b"1234"[..]));
}

#[test]
fn figure_6_aes128_cbc_under_a_pre_shared_key_with_a_mac() {
    let key = hex(FIGURE_6_KEY);
    let container = read(&figure(6), &Unlock { pre_shared_key: Some(&key), password: None }).unwrap();
    let [found] = &container.keys[..] else { panic!() };
    assert_eq!((found.secret.as_deref(), found.counter), (Some(SECRET), Some(0)));

    assert_eq!(read(&figure(6), &Unlock::default()), Err(Error::KeyNeeded(Some("Pre-shared-key".into()))));
    let mut wrong = key.clone();
    wrong[0] ^= 1;
    let refused = read(&figure(6), &Unlock { pre_shared_key: Some(&wrong), password: None }).unwrap_err();
    assert!(matches!(refused, Error::WrongKey | Error::Mac), "{refused:?}");
    assert_eq!(
        read(&figure(6), &Unlock { pre_shared_key: Some(&key[..8]), password: None }),
        Err(Error::KeyLength { expected: 16, found: 8 })
    );
    // One bit of the secret's ciphertext changed: its MAC no longer matches, and nothing is read.
    let altered = figure(6).replace(
        "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv",
        "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGw",
    );
    assert_eq!(read(&altered, &Unlock { pre_shared_key: Some(&key), password: None }), Err(Error::Mac));
    let unknown = figure(6).replace(
        "xmlenc#aes128-cbc\"/>\n                        <xenc:CipherData>",
        "xmlenc#tripledes-cbc\"/>\n                        <xenc:CipherData>",
    );
    assert!(matches!(
        read(&unknown, &Unlock { pre_shared_key: Some(&key), password: None }),
        Err(Error::Algorithm(_))
    ));
}

#[test]
fn figure_7_pbkdf2_from_a_password() {
    let unlock = Unlock { pre_shared_key: None, password: Some("qwerty") };
    let container = read(&figure(7), &unlock).unwrap();
    let [key] = &container.keys[..] else { panic!() };
    assert_eq!(key.secret.as_deref(), Some(SECRET));
    assert_eq!(
        (key.manufacturer.as_deref(), key.issuer.as_deref()),
        (Some("TokenVendorAcme"), Some("Example-Issuer"))
    );
    assert_eq!(read(&figure(7), &Unlock::default()), Err(Error::PasswordNeeded));
    let wrong = read(&figure(7), &Unlock { pre_shared_key: None, password: Some("qwertz") }).unwrap_err();
    assert!(matches!(wrong, Error::WrongKey | Error::Mac), "{wrong:?}");
}

#[test]
fn figure_10_bulk_provisioning_with_validity() {
    let container = plain(10);
    let serials: Vec<&str> = container.keys.iter().map(|k| k.serial.as_deref().unwrap()).collect();
    assert_eq!(serials, ["654321", "123456", "9999999", "9999999"]);
    // 2006-05-01T00:00:00Z and 2006-05-31T00:00:00Z.
    assert_eq!(
        (container.keys[0].start_date, container.keys[0].expiry_date),
        (Some(1_146_441_600), Some(1_149_033_600))
    );
    assert!(container.keys.iter().all(|k| k.secret.as_deref() == Some(SECRET)));
}

/// What is not a container is said so, without a secret in the words.
#[test]
fn what_is_not_a_container() {
    assert!(matches!(read("<KeyContainer", &Unlock::default()), Err(Error::Xml(_))));
    assert_eq!(read("<Other/>", &Unlock::default()), Err(Error::NotPskc));
    assert_eq!(
        read("<KeyContainer Version=\"2.0\"/>", &Unlock::default()),
        Err(Error::Version("2.0".into()))
    );
    let dtd = "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><KeyContainer Version=\"1.0\"/>";
    assert!(matches!(read(dtd, &Unlock::default()), Err(Error::Xml(_))), "no DTD, no entity expansion");
    let costly = figure(7).replace("<IterationCount>1000<", "<IterationCount>1000001<");
    let refused = read(&costly, &Unlock { pre_shared_key: None, password: Some("qwerty") });
    assert!(matches!(refused, Err(Error::Malformed(ref why)) if why.contains("rounds")), "{refused:?}");
    let broken = figure(2).replace("MTIzNA==", "MT!zNA==");
    let container = read(&broken, &Unlock::default()).unwrap();
    assert_eq!(container.keys[0].problem.as_deref(), Some("Secret is not base64"));
    assert_eq!(container.keys[0].secret, None);
}

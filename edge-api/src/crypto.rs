//! Secrets at rest: seeds sealed with XChaCha20-Poly1305, PINs and passwords as argon2id PHC
//! strings, one-time codes and verified credentials as HMACs under keys derived from `secret_key`.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use shared::otp::Secret;

const NONCE: usize = 24;
/// Binds a sealed seed to its purpose, so no other sealed value can be swapped in for one.
/// What a sealed CIBA bearer token is bound to, so that it cannot pass for a seed.
const TOKEN_AAD: &[u8] = b"scim-otp ciba token";
const SEED_AAD: &[u8] = b"scim-otp seed v1";

/// The cryptographic random source (the host's `wasi:random`).
pub fn fill_random(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("no randomness: {e}"))
}

/// A 256-bit key, for every purpose derived from `secret_key`.
type Key = [u8; 32];

/// HMAC-SHA-256 over length-prefixed parts, so ("ab","c") and ("a","bc") never collide.
/// HMAC pads a key shorter than the hash's 64-byte block with zeros (RFC 2104 §2); padding the
/// fixed-size key here lets the infallible block-sized constructor compute exactly that MAC, so
/// there is no error path that could yield an empty (and everywhere equal) MAC.
fn hmac(key: &Key, parts: &[&[u8]]) -> Key {
    let mut block = [0u8; 64];
    block[..key.len()].copy_from_slice(key);
    let mut mac = <Hmac<Sha256> as KeyInit>::new(&block.into());
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Keys for each purpose, derived from the one `secret_key` variable.
#[derive(Clone)]
pub struct Keys {
    seal: Key,
    codes: Key,
    credentials: Key,
}

impl Keys {
    pub fn derive(secret_key: &Key) -> Keys {
        Keys {
            seal: hmac(secret_key, &[b"seal"]),
            codes: hmac(secret_key, &[b"codes"]),
            credentials: hmac(secret_key, &[b"credentials"]),
        }
    }

    fn seal(&self, aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, String> {
        let mut nonce = [0u8; NONCE];
        fill_random(&mut nonce)?;
        let cipher = XChaCha20Poly1305::new((&self.seal).into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg, aad })
            .map_err(|_| "sealing failed".to_owned())?;
        Ok([nonce.as_slice(), &sealed].concat())
    }

    fn open(&self, aad: &[u8], blob: &[u8]) -> Option<Vec<u8>> {
        let (nonce, sealed) = blob.split_at_checked(NONCE)?;
        let cipher = XChaCha20Poly1305::new((&self.seal).into());
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad }).ok()
    }

    pub fn seal_seed(&self, seed: &Secret) -> Result<Vec<u8>, String> {
        self.seal(SEED_AAD, seed.as_bytes())
    }

    /// `None` when the blob was not sealed under this key (a changed `secret_key`, or tampering).
    pub fn open_seed(&self, blob: &[u8]) -> Option<Secret> {
        self.open(SEED_AAD, blob).map(Secret::from_bytes)
    }

    /// A CIBA client's bearer token, kept until its ping is sent (SPEC §14).
    pub fn seal_token(&self, token: &str) -> Result<Vec<u8>, String> {
        self.seal(TOKEN_AAD, token.as_bytes())
    }

    pub fn open_token(&self, blob: &[u8]) -> Option<String> {
        self.open(TOKEN_AAD, blob).and_then(|bytes| String::from_utf8(bytes).ok())
    }

    /// What is stored of a pending EMAIL/SMS code: an HMAC bound to the device.
    pub fn code_digest(&self, device_id: i64, code: &str) -> Vec<u8> {
        hmac(&self.codes, &[&device_id.to_be_bytes(), code.as_bytes()]).to_vec()
    }

    /// The verified-credential cache key: an HMAC of user, password and the configured hash.
    /// Without the server key it reveals nothing about the password, and a rotated password hash
    /// (a new `scim_users`) changes it, so stale entries can never match.
    pub fn credential_digest(
        &self,
        scheme: &str,
        user: &str,
        password: &str,
        configured_hash: &str,
    ) -> Vec<u8> {
        hmac(
            &self.credentials,
            &[scheme.as_bytes(), user.as_bytes(), password.as_bytes(), configured_hash.as_bytes()],
        )
        .to_vec()
    }
}

/// A slow salted hash (argon2id, default parameters) as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    fill_random(&mut salt)?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a PHC string; a malformed string never verifies.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .is_ok_and(|hash| Argon2::default().verify_password(password.as_bytes(), &hash).is_ok())
}

/// SHA-256 of an API token.
pub fn sha256(data: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    Sha256::digest(data).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_round_trip_and_resist_tampering() {
        let keys = Keys::derive(&[7; 32]);
        let seed = Secret::from_bytes(b"12345678901234567890".to_vec());
        let sealed = keys.seal_seed(&seed).unwrap();
        assert!(!sealed.windows(20).any(|w| w == seed.as_bytes()), "the seed is not in the blob");
        assert_eq!(keys.open_seed(&sealed), Some(seed.clone()));
        let mut tampered = sealed.clone();
        tampered[30] ^= 1;
        assert_eq!(keys.open_seed(&tampered), None);
        assert_eq!(Keys::derive(&[8; 32]).open_seed(&sealed), None);
        assert_ne!(keys.seal_seed(&seed).unwrap(), sealed, "fresh nonce each time");
    }

    #[test]
    fn passwords_hash_slowly_and_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsf", &phc));
        assert!(!verify_password("x", "not a phc"));
    }

    /// The padded fixed-size key gives the MAC that HMAC defines for the 32-byte key itself.
    #[test]
    fn padded_key_is_the_same_hmac() {
        let key = [9u8; 32];
        let mut reference = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
        reference.update(&3u64.to_be_bytes());
        reference.update(b"abc");
        let expected: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(hmac(&key, &[b"abc"]), expected);
        assert_ne!(hmac(&key, &[b"abc"]), hmac(&[8u8; 32], &[b"abc"]));
    }

    #[test]
    fn digests_are_bound_to_their_inputs() {
        let keys = Keys::derive(&[1; 32]);
        assert_ne!(keys.code_digest(1, "123456"), keys.code_digest(2, "123456"));
        assert_ne!(
            keys.credential_digest("basic", "ab", "c", "h"),
            keys.credential_digest("basic", "a", "bc", "h")
        );
    }
}

//! Portable Symmetric Key Containers (RFC 6030): the seed files that OATH hardware tokens ship
//! with, read and written.
//!
//! [`read`] takes a container and what unlocks it (a pre-shared key, a password), checks every
//! value MAC and decrypts every secret before it answers, so that a wrong key or an altered file
//! yields an [`Error`] and no key at all; a key that is merely odd (an algorithm other than HOTP
//! and TOTP, a counter that is not a number) is returned with what is wrong with it, for the
//! caller to report. Real vendor files deviate from the RFC in known ways (draft namespaces and
//! element names, `PBE-AES128-CBC`, line breaks inside base64, MACs over the plaintext, one IV for
//! the whole container, `algorithm="NONE"`), and are read as python-pskc reads them: a test reads
//! every file of python-pskc's own suite with both and compares. privacyIDEA's export, which
//! python-pskc does not read (lower-case names, the hash in an attribute, the drift in seconds),
//! is read too. [`write`] produces what python-pskc and [`read`] read back:
//! PBKDF2-HMAC-SHA256, AES-256-CBC, HMAC-SHA256.
//!
//! Pure: no I/O, no clock; the random bytes a container needs are the caller's.

mod crypto;
mod read;
mod write;

pub use crypto::{Cipher, Hash};
pub use read::read;
pub use write::{Export, write};

use std::fmt;

/// What unlocks a container's encrypted values.
#[derive(Clone, Copy, Default)]
pub struct Unlock<'a> {
    /// The pre-shared key a vendor sent apart from the file (`EncryptionKey/KeyName`).
    pub pre_shared_key: Option<&'a [u8]>,
    /// The password a PBKDF2 key (`EncryptionKey/DerivedKey`) is derived from.
    pub password: Option<&'a str>,
}

impl fmt::Debug for Unlock<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unlock")
            .field("pre_shared_key", &self.pre_shared_key.map(|_| "…"))
            .field("password", &self.password.map(|_| "…"))
            .finish()
    }
}

/// What kind of one-time password a key computes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Hotp,
    Totp,
    /// Any other algorithm (OCRA, SecurID, a PIN), by its URI.
    Other(String),
}

impl Kind {
    pub const HOTP_URI: &'static str = "urn:ietf:params:xml:ns:keyprov:pskc:hotp";
    pub const TOTP_URI: &'static str = "urn:ietf:params:xml:ns:keyprov:pskc:totp";

    /// The RFC's URIs, and the drafts' (`…pskc#hotp`, `http://www.ietf.org/keyprov/pskc#hotp`).
    pub fn from_uri(uri: &str) -> Kind {
        let name = uri.trim().rsplit(['#', ':', '/']).next().unwrap_or_default().to_ascii_lowercase();
        match name.as_str() {
            "hotp" => Kind::Hotp,
            "totp" => Kind::Totp,
            _ => Kind::Other(uri.trim().to_owned()),
        }
    }
}

/// One key of a container, with what its `KeyPackage` says of the device that holds it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Key {
    /// The `Key`'s `Id`.
    pub id: Option<String>,
    /// The `Algorithm` URI as written.
    pub algorithm: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub issuer: Option<String>,
    /// `UserId` of the key, else of its device.
    pub user_id: Option<String>,
    /// `AlgorithmParameters/Suite` (the hash: `HMAC-SHA256`), as written.
    pub suite: Option<String>,
    /// `ResponseFormat`: how many digits, and in what encoding (`DECIMAL`).
    pub digits: Option<u32>,
    pub encoding: Option<String>,
    /// The secret, decrypted.
    pub secret: Option<Vec<u8>>,
    pub counter: Option<u64>,
    /// `Time`: for TOTP, the time steps counted from the epoch when the file was written.
    pub time: Option<u64>,
    pub time_interval: Option<u64>,
    pub time_drift: Option<i64>,
    /// The key's validity (`Policy` of the key, else `DeviceInfo`), in Unix seconds.
    pub start_date: Option<i64>,
    pub expiry_date: Option<i64>,
    /// What is wrong with this key alone (a value that cannot be read): the caller reports it.
    pub problem: Option<String>,
}

impl Key {
    pub fn kind(&self) -> Option<Kind> {
        self.algorithm.as_deref().map(Kind::from_uri)
    }
}

/// Never the secret.
impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("serial", &self.serial)
            .field("secret", &self.secret.as_ref().map(|s| format!("{} bytes", s.len())))
            .field("counter", &self.counter)
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

/// A container as read: its keys in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    pub id: Option<String>,
    pub keys: Vec<Key>,
}

/// Why a container cannot be read. None of them says anything of a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// Not well-formed XML (where, as the XML reader says).
    Xml(String),
    /// Well-formed, but its root is no `KeyContainer`.
    NotPskc,
    /// A `Version` other than 1.0.
    Version(String),
    /// Its values are encrypted with a pre-shared key (named so in the file, if it is) and none
    /// was given.
    KeyNeeded(Option<String>),
    /// Its key is derived from a password and none was given.
    PasswordNeeded,
    /// The key has the wrong length for the file's cipher.
    KeyLength { expected: usize, found: usize },
    /// A value did not decrypt (bad padding, a failed key-wrap check): the key or password is
    /// not the one the file was written with.
    WrongKey,
    /// A value's MAC does not match: a wrong key, or an altered file.
    Mac,
    /// A cipher, MAC or key derivation this reader does not offer.
    Algorithm(String),
    /// The structure a value needs is broken (not base64, no salt, no cipher named).
    Malformed(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Xml(why) => write!(f, "not well-formed XML: {why}"),
            Error::NotPskc => f.write_str("not a PSKC document: its root is not a KeyContainer"),
            Error::Version(v) => write!(f, "PSKC version {v:?} is not supported (only 1.0)"),
            Error::KeyNeeded(Some(name)) => {
                write!(f, "the secrets are encrypted with the pre-shared key {name:?}: give the key")
            }
            Error::KeyNeeded(None) => {
                f.write_str("the secrets are encrypted with a pre-shared key: give the key")
            }
            Error::PasswordNeeded => {
                f.write_str("the secrets are encrypted with a key derived from a password: give the password")
            }
            Error::KeyLength { expected, found } => {
                write!(f, "the key is {found} bytes long; the file's cipher needs {expected}")
            }
            Error::WrongKey => f.write_str("the secrets do not decrypt: wrong key or password"),
            Error::Mac => f.write_str("a MAC does not match: wrong key or password, or the file was altered"),
            Error::Algorithm(what) => write!(f, "unsupported algorithm: {what}"),
            Error::Malformed(what) => write!(f, "malformed PSKC: {what}"),
        }
    }
}

impl std::error::Error for Error {}

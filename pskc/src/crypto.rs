//! The algorithms RFC 6030 names for a container's secrets, by their URIs: AES-CBC and AES key
//! wrap (RFC 3394) to encrypt, HMAC to authenticate, PBKDF2 to derive a key from a password.
//! Older drafts' spellings (`PBE-AES128-CBC`, `HMAC-SHA-1`, bare names) mean the same.

use crate::Error;
use aes::cipher::block_padding::Pkcs7;
use aes::cipher::{BlockModeDecrypt, BlockModeEncrypt, KeyIvInit};
use hmac::{Hmac, KeyInit as _, Mac};

/// A cipher for secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-CBC with a key of this many bytes, the IV before the ciphertext, PKCS#7 padding.
    AesCbc(usize),
    /// AES key wrap (RFC 3394) with a key of this many bytes.
    AesKw(usize),
}

/// An HMAC for value MACs and PBKDF2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

const XMLENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const XMLDSIG_MORE: &str = "http://www.w3.org/2001/04/xmldsig-more#";
pub(crate) const PBKDF2_URI: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";

/// The name an algorithm URI ends with, lower case: what follows its last `#` (`aes128-cbc`).
fn fragment(uri: &str) -> String {
    uri.trim().rsplit('#').next().unwrap_or_default().to_ascii_lowercase()
}

impl Cipher {
    pub fn from_uri(uri: &str) -> Result<Cipher, Error> {
        let name = fragment(uri);
        let name = name.strip_prefix("pbe-").unwrap_or(&name);
        Ok(match name {
            "aes128-cbc" => Cipher::AesCbc(16),
            "aes192-cbc" => Cipher::AesCbc(24),
            "aes256-cbc" => Cipher::AesCbc(32),
            "kw-aes128" => Cipher::AesKw(16),
            "kw-aes192" => Cipher::AesKw(24),
            "kw-aes256" => Cipher::AesKw(32),
            _ => return Err(Error::Algorithm(format!("cipher {}", uri.trim()))),
        })
    }

    pub fn uri(self) -> String {
        match self {
            Cipher::AesCbc(n) => format!("{XMLENC}aes{}-cbc", n * 8),
            Cipher::AesKw(n) => format!("{XMLENC}kw-aes{}", n * 8),
        }
    }

    pub fn key_len(self) -> usize {
        match self {
            Cipher::AesCbc(n) | Cipher::AesKw(n) => n,
        }
    }

    /// Decrypts `data`: for CBC the IV then the ciphertext. A padding or integrity check that
    /// fails says the key is not the one the file was written with.
    pub fn decrypt(self, key: &[u8], data: &[u8]) -> Result<Vec<u8>, Error> {
        if key.len() != self.key_len() {
            return Err(Error::KeyLength { expected: self.key_len(), found: key.len() });
        }
        let wrong = |_| Error::WrongKey;
        match self {
            Cipher::AesCbc(n) => {
                if data.len() < 32 || !data.len().is_multiple_of(16) {
                    return Err(Error::Malformed("an AES-CBC value is not an IV and whole blocks".into()));
                }
                let (iv, ciphertext) = data.split_at(16);
                match n {
                    16 => cbc::Decryptor::<aes::Aes128>::new_from_slices(key, iv)
                        .map_err(|_| Error::WrongKey)?
                        .decrypt_padded_vec::<Pkcs7>(ciphertext)
                        .map_err(wrong),
                    24 => cbc::Decryptor::<aes::Aes192>::new_from_slices(key, iv)
                        .map_err(|_| Error::WrongKey)?
                        .decrypt_padded_vec::<Pkcs7>(ciphertext)
                        .map_err(wrong),
                    _ => cbc::Decryptor::<aes::Aes256>::new_from_slices(key, iv)
                        .map_err(|_| Error::WrongKey)?
                        .decrypt_padded_vec::<Pkcs7>(ciphertext)
                        .map_err(wrong),
                }
            }
            Cipher::AesKw(n) => {
                if data.len() < 16 || !data.len().is_multiple_of(8) {
                    return Err(Error::Malformed("an AES key wrap value is not whole 8-byte blocks".into()));
                }
                // RFC 3394 for whole 8-byte keys; RFC 5649 (with padding) for the others, as
                // python-pskc writes a 20-byte secret under `kw-aes128`.
                let mut out = vec![0; data.len()];
                let unwrapped = match n {
                    16 => unwrap::<aes::Aes128>(key, data, &mut out),
                    24 => unwrap::<aes::Aes192>(key, data, &mut out),
                    _ => unwrap::<aes::Aes256>(key, data, &mut out),
                };
                let len = unwrapped.ok_or(Error::WrongKey)?;
                out.truncate(len);
                Ok(out)
            }
        }
    }

    /// Encrypts `plain` with AES-CBC under `key` and `iv`: the IV then the ciphertext.
    pub fn encrypt_cbc(key: &[u8; 32], iv: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let mut out = iv.to_vec();
        out.extend(
            cbc::Encryptor::<aes::Aes256>::new(key.into(), iv.into()).encrypt_padded_vec::<Pkcs7>(plain),
        );
        out
    }
}

/// AES key unwrap of `data` into `out`: RFC 3394, else RFC 5649; the length unwrapped.
fn unwrap<C>(key: &[u8], data: &[u8], out: &mut [u8]) -> Option<usize>
where
    C: aes::cipher::BlockCipherEncrypt<BlockSize = aes::cipher::consts::U16>
        + aes::cipher::BlockCipherDecrypt<BlockSize = aes::cipher::consts::U16>
        + aes::cipher::KeyInit,
{
    if let Ok(plain) = aes_kw::AesKw::<C>::new_from_slice(key).ok()?.unwrap_key(data, out) {
        return Some(plain.len());
    }
    aes_kw::AesKwp::<C>::new_from_slice(key).ok()?.unwrap_key(data, out).ok().map(<[u8]>::len)
}

impl Hash {
    /// An HMAC's URI (`…xmldsig#hmac-sha1`, `…xmldsig-more#hmac-sha256`, or a draft's
    /// `HMAC-SHA-256`).
    pub fn from_hmac_uri(uri: &str) -> Result<Hash, Error> {
        let name = fragment(uri).replace("hmac-sha-", "hmac-sha");
        Ok(match name.as_str() {
            "hmac-sha1" => Hash::Sha1,
            "hmac-sha224" => Hash::Sha224,
            "hmac-sha256" => Hash::Sha256,
            "hmac-sha384" => Hash::Sha384,
            "hmac-sha512" => Hash::Sha512,
            _ => return Err(Error::Algorithm(format!("MAC {}", uri.trim()))),
        })
    }

    pub fn hmac_uri(self) -> String {
        match self {
            Hash::Sha1 => format!("{XMLDSIG}hmac-sha1"),
            Hash::Sha224 => format!("{XMLDSIG_MORE}hmac-sha224"),
            Hash::Sha256 => format!("{XMLDSIG_MORE}hmac-sha256"),
            Hash::Sha384 => format!("{XMLDSIG_MORE}hmac-sha384"),
            Hash::Sha512 => format!("{XMLDSIG_MORE}hmac-sha512"),
        }
    }

    /// The HMAC of `data` under `key`.
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            // HMAC takes a key of any length.
            match <M as hmac::KeyInit>::new_from_slice(key) {
                Ok(mut mac) => {
                    mac.update(data);
                    mac.finalize().into_bytes().to_vec()
                }
                Err(_) => Vec::new(),
            }
        }
        match self {
            Hash::Sha1 => run::<Hmac<sha1::Sha1>>(key, data),
            Hash::Sha224 => run::<Hmac<sha2::Sha224>>(key, data),
            Hash::Sha256 => run::<Hmac<sha2::Sha256>>(key, data),
            Hash::Sha384 => run::<Hmac<sha2::Sha384>>(key, data),
            Hash::Sha512 => run::<Hmac<sha2::Sha512>>(key, data),
        }
    }

    /// Whether `tag` is the HMAC of `data` under `key`, compared in constant time.
    pub fn verify(self, key: &[u8], data: &[u8], tag: &[u8]) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.hmac(key, data);
        !expected.is_empty() && bool::from(expected.ct_eq(tag))
    }

    /// PBKDF2 with this HMAC as its PRF: `len` bytes from `password`. RFC 6030's PRF is
    /// HMAC-SHA1 by default, and HMAC-SHA256 is what exports use; the others are refused (one
    /// PBKDF2 fewer per hash in every build).
    pub fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, len: usize) -> Result<Vec<u8>, Error> {
        let mut out = vec![0; len];
        match self {
            Hash::Sha1 => pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, &mut out),
            Hash::Sha256 => pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, &mut out),
            Hash::Sha224 | Hash::Sha384 | Hash::Sha512 => {
                return Err(Error::Algorithm(format!("PBKDF2 with {}", self.hmac_uri())));
            }
        }
        Ok(out)
    }
}

/// The key-derivation URI names PBKDF2 (the RSA schema's, or XML Encryption 1.1's).
pub fn is_pbkdf2(uri: &str) -> bool {
    fragment(uri) == "pbkdf2"
}

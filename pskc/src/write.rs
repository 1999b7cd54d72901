//! Writing a container for migration: every secret encrypted with AES-256-CBC under a key
//! derived from a password with PBKDF2-HMAC-SHA256, and MACed with HMAC-SHA256 under a random
//! MAC key that travels encrypted in the file (RFC 6030 §6.1, §6.2).

use crate::Kind;
use crate::crypto::{Cipher, Hash, PBKDF2_URI};
use std::fmt::Write as _;

/// One key to write, with its device.
#[derive(Clone, PartialEq, Eq)]
pub struct Export<'a> {
    pub serial: &'a str,
    pub manufacturer: Option<&'a str>,
    pub model: Option<&'a str>,
    /// HOTP or TOTP.
    pub kind: Kind,
    /// The HMAC's hash as hash libraries name it (`sha1`, `sha256`, `sha512`), written as the
    /// `Suite`.
    pub suite: &'a str,
    pub digits: u32,
    pub secret: &'a [u8],
    pub counter: Option<u64>,
    pub time_interval: Option<u64>,
    pub time_drift: Option<i64>,
    /// Unix seconds.
    pub start_date: Option<i64>,
    pub expiry_date: Option<i64>,
    pub user_id: Option<&'a str>,
}

/// The text of a container holding `keys`, encrypted under `password` with `iterations` rounds
/// of PBKDF2. `random` fills the salt, the MAC key and each IV.
pub fn write(
    keys: &[Export<'_>],
    password: &str,
    iterations: u32,
    random: &mut dyn FnMut(&mut [u8]),
) -> String {
    let mut salt = [0u8; 16];
    random(&mut salt);
    let derived = Hash::Sha256.pbkdf2(password.as_bytes(), &salt, iterations, 32).unwrap_or_default();
    let key: [u8; 32] = derived.try_into().unwrap_or([0; 32]);
    let mut mac_key = [0u8; 32];
    random(&mut mac_key);
    let mut seal = |plain: &[u8]| {
        let mut iv = [0u8; 16];
        random(&mut iv);
        Cipher::encrypt_cbc(&key, &iv, plain)
    };
    let b64 = |bytes: &[u8]| data_encoding::BASE64.encode(bytes);
    let cipher = Cipher::AesCbc(32).uri();
    let mac = Hash::Sha256.hmac_uri();
    // PSKC's own elements in the default namespace, one line per key package: 10,000 keys of
    // 20-byte secrets with a manufacturer, model and user each are 8.1 MB (8.2 MB as an import's
    // JSON), within the 8 MiB an import takes in one request.
    let mut out = String::with_capacity(800 + keys.len() * 760);
    out.push_str(concat!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
        "<KeyContainer xmlns=\"urn:ietf:params:xml:ns:keyprov:pskc\" ",
        "xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\" xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\" ",
        "xmlns:pkcs5=\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#\" Version=\"1.0\">\n",
    ));
    let _ = writeln!(
        out,
        "<EncryptionKey><xenc11:DerivedKey><xenc11:KeyDerivationMethod Algorithm=\"{PBKDF2_URI}\">\
         <pkcs5:PBKDF2-params><Salt><Specified>{}</Specified></Salt><IterationCount>{iterations}</IterationCount>\
         <KeyLength>32</KeyLength><PRF Algorithm=\"{mac}\"/></pkcs5:PBKDF2-params></xenc11:KeyDerivationMethod>\
         </xenc11:DerivedKey></EncryptionKey>",
        b64(&salt)
    );
    let _ = writeln!(
        out,
        "<MACMethod Algorithm=\"{mac}\"><MACKey><xenc:EncryptionMethod Algorithm=\"{cipher}\"/>\
         <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></MACKey></MACMethod>",
        b64(&seal(&mac_key))
    );
    for key in keys {
        let serial = escape(key.serial);
        out.push_str("<KeyPackage><DeviceInfo>");
        if let Some(maker) = key.manufacturer {
            let _ = write!(out, "<Manufacturer>{}</Manufacturer>", escape(maker));
        }
        let _ = write!(out, "<SerialNo>{serial}</SerialNo>");
        if let Some(model) = key.model {
            let _ = write!(out, "<Model>{}</Model>", escape(model));
        }
        if let Some(user) = key.user_id {
            let _ = write!(out, "<UserId>{}</UserId>", escape(user));
        }
        out.push_str("</DeviceInfo>");
        let algorithm = match &key.kind {
            Kind::Hotp => Kind::HOTP_URI.to_owned(),
            Kind::Totp => Kind::TOTP_URI.to_owned(),
            Kind::Other(uri) => escape(uri),
        };
        let sealed = seal(key.secret);
        let tag = Hash::Sha256.hmac(&mac_key, &sealed);
        let _ = write!(
            out,
            "<Key Id=\"{serial}\" Algorithm=\"{algorithm}\"><AlgorithmParameters><Suite>{}</Suite>\
             <ResponseFormat Length=\"{}\" Encoding=\"DECIMAL\"/></AlgorithmParameters><Data><Secret><EncryptedValue>\
             <xenc:EncryptionMethod Algorithm=\"{cipher}\"/><xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue>\
             </xenc:CipherData></EncryptedValue><ValueMAC>{}</ValueMAC></Secret>",
            escape(key.suite),
            key.digits,
            b64(&sealed),
            b64(&tag)
        );
        let plain = |out: &mut String, name: &str, value: Option<String>| {
            if let Some(value) = value {
                let _ = write!(out, "<{name}><PlainValue>{value}</PlainValue></{name}>");
            }
        };
        plain(&mut out, "Counter", key.counter.map(|n| n.to_string()));
        plain(&mut out, "TimeInterval", key.time_interval.map(|n| n.to_string()));
        plain(&mut out, "TimeDrift", key.time_drift.map(|n| n.to_string()));
        out.push_str("</Data>");
        if key.start_date.is_some() || key.expiry_date.is_some() {
            out.push_str("<Policy>");
            for (name, at) in [("StartDate", key.start_date), ("ExpiryDate", key.expiry_date)] {
                if let Some(text) = at.and_then(rfc3339) {
                    let _ = write!(out, "<{name}>{text}</{name}>");
                }
            }
            out.push_str("</Policy>");
        }
        out.push_str("</Key></KeyPackage>\n");
    }
    out.push_str("</KeyContainer>\n");
    out
}

/// Text as XML character data or an attribute value.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

fn rfc3339(seconds: i64) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    time::OffsetDateTime::from_unix_timestamp(seconds).ok()?.format(&Rfc3339).ok()
}

//! Reading a container: every value MAC checked and every secret decrypted before a key is
//! returned. Elements are matched by their local names, whatever their namespace, as python-pskc
//! matches them: the RFC's namespace and the drafts' read alike. Names are matched regardless of
//! case too: privacyIDEA's own export goes through an HTML parser, which writes every element and
//! attribute name in lower case (`<keypackage>`, `algorithm=`).

use crate::crypto::{Cipher, Hash, is_pbkdf2};
use crate::{Container, Error, Key, Unlock};
use roxmltree::{Document, Node, ParsingOptions};

/// Reads `document`, decrypting with what `unlock` gives. See the crate's documentation.
pub fn read(document: &str, unlock: &Unlock<'_>) -> Result<Container, Error> {
    let options = ParsingOptions { allow_dtd: false, ..ParsingOptions::default() };
    let doc = Document::parse_with_options(document, options).map_err(|e| Error::Xml(e.to_string()))?;
    let root = doc.root_element();
    if !is(root, &["KeyContainer", "SecretContainer"]) {
        return Err(Error::NotPskc);
    }
    // The drafts' `SecretContainer` numbered its own versions (1.2); a `KeyContainer` is 1.0.
    if let Some(version) = attr(root, &["Version"])
        && is(root, &["KeyContainer"])
        && !matches!(version.trim(), "1" | "1.0")
    {
        return Err(Error::Version(version.to_owned()));
    }
    let mut keys = Keys::new(root, unlock)?;
    let mut container = Container { id: attr(root, &["Id"]).map(str::to_owned), keys: Vec::new() };
    for package in elements(root, &["KeyPackage", "Device"]) {
        let info = element(package, &["DeviceInfo", "DeviceId"]);
        for key in elements(package, &["Key", "Secret"]) {
            container.keys.push(read_key(&mut keys, info, key)?);
        }
    }
    Ok(container)
}

/// The first child element called one of `names`.
fn element<'a, 'i>(node: Node<'a, 'i>, names: &[&str]) -> Option<Node<'a, 'i>> {
    node.children().find(|c| is(*c, names))
}

/// Whether `node` is an element called one of `names`, in any case.
fn is(node: Node<'_, '_>, names: &[&str]) -> bool {
    node.is_element() && names.iter().any(|n| n.eq_ignore_ascii_case(node.tag_name().name()))
}

fn elements<'a, 'i: 'a>(
    node: Node<'a, 'i>,
    names: &'static [&'static str],
) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(move |c| is(*c, names))
}

/// The element at a path of local names (`DerivedKey/KeyDerivationMethod`).
fn path<'a, 'i>(node: Node<'a, 'i>, steps: &[&str]) -> Option<Node<'a, 'i>> {
    steps.iter().try_fold(node, |here, step| element(here, &[step]))
}

fn descendant<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.descendants().find(|d| is(*d, &[name]))
}

/// An attribute by any of its names (local name, any case: drafts wrote `algorithm`).
fn attr<'a>(node: Node<'a, '_>, names: &[&str]) -> Option<&'a str> {
    node.attributes().find(|a| names.iter().any(|n| n.eq_ignore_ascii_case(a.name()))).map(|a| a.value())
}

/// An element's text, trimmed; `None` when it is empty.
fn text(node: Node<'_, '_>) -> Option<String> {
    let text: String = node.children().filter(Node::is_text).filter_map(|t| t.text()).collect();
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn child_text(node: Node<'_, '_>, names: &[&str]) -> Option<String> {
    element(node, names).and_then(text)
}

/// Base64 as files write it: line breaks and spaces anywhere.
fn base64(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    data_encoding::BASE64.decode(compact.as_bytes()).ok()
}

/// The most PBKDF2 rounds a file may ask for (about a second or two in a component).
pub const MAX_ROUNDS: u32 = 1_000_000;

/// How the container's key is had.
enum Source {
    /// A pre-shared key, perhaps named.
    PreShared(Option<String>),
    /// PBKDF2 from a password.
    Password { prf: Hash, salt: Vec<u8>, rounds: u32, len: Option<usize> },
}

/// The keys that open a container's values, derived when a value first needs them.
struct Keys<'u> {
    unlock: &'u Unlock<'u>,
    source: Source,
    /// The cipher the container names for its values (drafts name it once, at the top).
    cipher: Option<String>,
    /// A draft's one IV for every value (`EncryptionMethod/IV`, as ActivIdentity's files have
    /// it), which its values then do not start with.
    iv: Option<Vec<u8>>,
    derived: Option<Vec<u8>>,
    mac: Option<Mac>,
}

/// How values are authenticated: the HMAC, and its key (`None`: the encryption key).
struct Mac {
    hash: Result<Hash, Error>,
    key: Option<(Option<String>, Vec<u8>)>,
    opened: Option<Vec<u8>>,
}

impl<'u> Keys<'u> {
    fn new(root: Node<'_, '_>, unlock: &'u Unlock<'u>) -> Result<Keys<'u>, Error> {
        let encryption = element(root, &["EncryptionKey", "EncryptionMethod"]);
        let source = match encryption {
            Some(node) => source(node)?,
            None => Source::PreShared(None),
        };
        // A draft's `algorithm="NONE"`: its values are in the clear (a digest beside them is not checked,
        // as python-pskc does not).
        let cipher = encryption
            .and_then(|n| attr(n, &["Algorithm"]))
            .filter(|a| !a.trim().eq_ignore_ascii_case("none"))
            .map(str::to_owned);
        let mac_method = element(root, &["MACMethod", "DigestMethod"]);
        let algorithm = mac_method
            .and_then(|m| attr(m, &["Algorithm"]).map(str::to_owned))
            .or_else(|| child_text(root, &["MACAlgorithm"]));
        let mac = match algorithm {
            None => None,
            Some(uri) => {
                let key = match mac_method.and_then(|m| element(m, &["MACKey"])) {
                    Some(node) => Some(encrypted(node)?),
                    None => None,
                };
                Some(Mac { hash: Hash::from_hmac_uri(&uri), key, opened: None })
            }
        };
        let iv = match encryption.and_then(|n| child_text(n, &["IV"])) {
            Some(iv) => Some(base64(&iv).ok_or_else(|| Error::Malformed("the IV is not base64".into()))?),
            None => None,
        };
        Ok(Keys { unlock, source, cipher, iv, derived: None, mac })
    }

    /// The cipher of a value: its own `EncryptionMethod`, else the container's.
    fn cipher(&self, named: Option<&str>) -> Result<Cipher, Error> {
        let uri = named
            .or(self.cipher.as_deref())
            .ok_or_else(|| Error::Malformed("an encrypted value names no cipher".into()))?;
        Cipher::from_uri(uri)
    }

    /// The container's key for `cipher`.
    fn key(&mut self, cipher: Cipher) -> Result<Vec<u8>, Error> {
        match &self.source {
            Source::PreShared(name) => {
                self.unlock.pre_shared_key.map(<[u8]>::to_vec).ok_or_else(|| Error::KeyNeeded(name.clone()))
            }
            Source::Password { prf, salt, rounds, len } => {
                if let Some(key) = &self.derived {
                    return Ok(key.clone());
                }
                let password = self.unlock.password.ok_or(Error::PasswordNeeded)?;
                let key = prf.pbkdf2(password.as_bytes(), salt, *rounds, len.unwrap_or(cipher.key_len()))?;
                self.derived = Some(key.clone());
                Ok(key)
            }
        }
    }

    /// Decrypts `data` (under the value's cipher `named`, else the container's).
    fn decrypt(&mut self, named: Option<&str>, data: &[u8]) -> Result<Vec<u8>, Error> {
        let cipher = self.cipher(named)?;
        let key = self.key(cipher)?;
        cipher.decrypt(&key, data)
    }

    /// Checks `tag` over the encrypted value `data` before anything of it is used; a tag over the
    /// plaintext instead (as some vendors write it) is accepted once the value is decrypted.
    /// `named` is the value's own cipher, which says how long the encryption key is when the MAC
    /// is keyed with it.
    fn check_mac(
        &mut self,
        tag: &[u8],
        data: &[u8],
        named: Option<&str>,
        plain: impl FnOnce(&mut Self) -> Result<Vec<u8>, Error>,
    ) -> Result<(), Error> {
        let (hash, key) = self.mac_key(named)?;
        if hash.verify(&key, data, tag) {
            return Ok(());
        }
        // A value that no longer decrypts after its MAC failed was altered, or sealed with
        // another key: the MAC is what says so.
        let plaintext = plain(self).map_err(|_| Error::Mac)?;
        if hash.verify(&key, &plaintext, tag) { Ok(()) } else { Err(Error::Mac) }
    }

    fn mac_key(&mut self, named: Option<&str>) -> Result<(Hash, Vec<u8>), Error> {
        let Some(mac) = &self.mac else {
            return Err(Error::Algorithm(
                "a value has a MAC but the container names no MAC algorithm".into(),
            ));
        };
        let hash = mac.hash.clone()?;
        if let Some(opened) = &mac.opened {
            return Ok((hash, opened.clone()));
        }
        let sealed = mac.key.clone();
        let key = match sealed {
            Some((cipher, data)) => self.decrypt(cipher.as_deref(), &data)?,
            None => {
                let cipher = self.cipher(named)?;
                self.key(cipher)?
            }
        };
        if let Some(mac) = &mut self.mac {
            mac.opened = Some(key.clone());
        }
        Ok((hash, key))
    }
}

/// How an `EncryptionKey` (or a draft's container-level `EncryptionMethod`) has its key had.
fn source(node: Node<'_, '_>) -> Result<Source, Error> {
    if let Some(method) = descendant(node, "KeyDerivationMethod") {
        let algorithm = attr(method, &["Algorithm"]).unwrap_or_default();
        if !is_pbkdf2(algorithm) {
            return Err(Error::Algorithm(format!("key derivation {}", algorithm.trim())));
        }
        let params = descendant(method, "PBKDF2-params")
            .ok_or_else(|| Error::Malformed("PBKDF2 without its parameters".into()))?;
        let salt = path(params, &["Salt", "Specified"])
            .and_then(text)
            .and_then(|s| base64(&s))
            .ok_or_else(|| Error::Malformed("PBKDF2 without a salt".into()))?;
        let rounds = child_text(params, &["IterationCount"])
            .and_then(|n| n.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| Error::Malformed("PBKDF2 without an iteration count".into()))?;
        // A file must not make the reader spend minutes: vendors use thousands of rounds,
        // exports (ours, python-pskc's) a hundred thousand.
        if rounds > MAX_ROUNDS {
            return Err(Error::Malformed(format!("PBKDF2 with more than {MAX_ROUNDS} rounds")));
        }
        let len = child_text(params, &["KeyLength"]).and_then(|n| n.parse::<usize>().ok());
        if len.is_some_and(|n| n == 0 || n > 64) {
            return Err(Error::Malformed("a PBKDF2 key length other than 1-64 bytes".into()));
        }
        // The RFC names the PRF in an `Algorithm` attribute; python-pskc writes it as the
        // element's text.
        let prf_element = element(params, &["PRF"]);
        let prf_uri = prf_element
            .and_then(|p| attr(p, &["Algorithm"]).map(str::to_owned))
            .or_else(|| prf_element.and_then(text));
        let prf = match prf_uri {
            Some(uri) if !uri.trim().is_empty() => Hash::from_hmac_uri(&uri)?,
            _ => Hash::Sha1,
        };
        return Ok(Source::Password { prf, salt, rounds, len });
    }
    // Drafts: `<EncryptionMethod Algorithm="PBE-AES128-CBC">` with `PBESalt` and
    // `PBEIterationCount`.
    let algorithm = attr(node, &["Algorithm"]).unwrap_or_default();
    if algorithm.trim().to_ascii_lowercase().starts_with("pbe") {
        let salt = child_text(node, &["PBESalt"]).and_then(|s| base64(&s));
        let rounds = child_text(node, &["PBEIterationCount"]).and_then(|n| n.parse::<u32>().ok());
        let (Some(salt), Some(rounds)) = (salt, rounds.filter(|n| (1..=MAX_ROUNDS).contains(n))) else {
            return Err(Error::Malformed("password-based encryption without its salt and count".into()));
        };
        return Ok(Source::Password { prf: Hash::Sha1, salt, rounds, len: None });
    }
    let name = descendant(node, "KeyName").and_then(text);
    Ok(Source::PreShared(name))
}

/// An `EncryptedValue` (or `MACKey`): its cipher's URI, if it names one, and its bytes.
fn encrypted(node: Node<'_, '_>) -> Result<(Option<String>, Vec<u8>), Error> {
    let method = element(node, &["EncryptionMethod"]);
    let cipher = method
        .and_then(|m| {
            element(m, &["EncryptionScheme"])
                .and_then(|s| attr(s, &["Algorithm"]))
                .or_else(|| attr(m, &["Algorithm"]))
        })
        .map(str::to_owned);
    let data = path(node, &["CipherData", "CipherValue"])
        .and_then(text)
        .ok_or_else(|| Error::Malformed("an encrypted value without its CipherValue".into()))?;
    let data = base64(&data).ok_or_else(|| Error::Malformed("a CipherValue is not base64".into()))?;
    Ok((cipher, data))
}

/// A value as written: in plain text, or decrypted (its MAC checked first).
enum Value {
    Plain(String),
    Decrypted(Vec<u8>),
}

/// The value of a `Data` child (`Secret`, `Counter`, …), or of a draft's `<Data Name=…>`.
fn value(keys: &mut Keys<'_>, node: Node<'_, '_>) -> Result<Option<Value>, Error> {
    let tag = child_text(node, &["ValueMAC", "ValueDigest"]);
    let tag = match tag {
        Some(t) => Some(base64(&t).ok_or_else(|| Error::Malformed("a ValueMAC is not base64".into()))?),
        None => None,
    };
    let sealed = match element(node, &["EncryptedValue"]) {
        Some(e) => Some(encrypted(e)?),
        // Drafts: `<Value>` holds the ciphertext when the container encrypts and MACs.
        None => match (child_text(node, &["Value"]), &tag, &keys.cipher) {
            (Some(v), Some(_), Some(_)) => {
                Some((None, base64(&v).ok_or_else(|| Error::Malformed("a Value is not base64".into()))?))
            }
            _ => None,
        },
    };
    let Some((cipher, data)) = sealed else {
        return Ok(child_text(node, &["PlainValue", "Value"]).map(Value::Plain));
    };
    // A draft's `<Value>` under the container's one IV: the IV first, as a value carries it.
    let whole = match (&keys.iv, element(node, &["EncryptedValue"])) {
        (Some(iv), None) => [iv.as_slice(), &data].concat(),
        _ => data.clone(),
    };
    if let Some(tag) = &tag {
        keys.check_mac(tag, &data, cipher.as_deref(), |keys| keys.decrypt(cipher.as_deref(), &whole))?;
    }
    Ok(Some(Value::Decrypted(keys.decrypt(cipher.as_deref(), &whole)?)))
}

/// An integer value: decimal text, or (plain text in base64, or decrypted) ASCII digits or a
/// big-endian number.
fn integer(value: Value) -> Option<i128> {
    let bytes = match value {
        Value::Plain(text) => match text.parse::<i128>() {
            Ok(n) => return Some(n),
            Err(_) => base64(&text)?,
        },
        Value::Decrypted(bytes) => bytes,
    };
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        return std::str::from_utf8(&bytes).ok()?.parse().ok();
    }
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    Some(bytes.iter().fold(0i128, |n, b| (n << 8) | i128::from(*b)))
}

/// An `xs:dateTime` in Unix seconds (UTC when it names no offset).
fn date(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let text = text.trim();
    let has_offset = text.ends_with('Z')
        || text.ends_with('z')
        || text.get(text.len().saturating_sub(6)..).is_some_and(|t| t.starts_with(['+', '-']));
    let full = if has_offset { text.to_owned() } else { format!("{text}Z") };
    time::OffsetDateTime::parse(&full, &Rfc3339).ok().map(time::OffsetDateTime::unix_timestamp)
}

fn read_key(keys: &mut Keys<'_>, info: Option<Node<'_, '_>>, node: Node<'_, '_>) -> Result<Key, Error> {
    let mut key = Key {
        id: attr(node, &["Id", "KeyId", "SecretId"]).map(str::to_owned),
        algorithm: attr(node, &["Algorithm", "KeyAlgorithm", "SecretAlgorithm"]).map(|a| a.trim().to_owned()),
        issuer: child_text(node, &["Issuer"]),
        user_id: child_text(node, &["UserId"]),
        // privacyIDEA writes the hash as an attribute (`<Suite hashalgo="sha256"/>`).
        suite: path(node, &["AlgorithmParameters", "Suite"])
            .and_then(|s| text(s).or_else(|| attr(s, &["hashalgo"]).map(str::to_owned))),
        ..Key::default()
    };
    let mut problems: Vec<String> = Vec::new();
    if let Some(info) = info {
        key.manufacturer = child_text(info, &["Manufacturer"]);
        key.serial = child_text(info, &["SerialNo"]);
        key.model = child_text(info, &["Model"]);
        key.user_id = key.user_id.take().or_else(|| child_text(info, &["UserId"]));
        key.start_date = dated(info, &["StartDate"], &mut problems);
        key.expiry_date = dated(info, &["ExpiryDate", "Expiry"], &mut problems);
    }
    let format = path(node, &["AlgorithmParameters", "ResponseFormat"])
        .or_else(|| path(node, &["Usage", "ResponseFormat"]));
    if let Some(format) = format {
        key.encoding = attr(format, &["Encoding", "Format", "format"]).map(str::to_owned);
        match attr(format, &["Length", "length"]).map(|l| l.trim().parse::<u32>()) {
            Some(Ok(n)) => key.digits = Some(n),
            Some(Err(_)) => problems.push("ResponseFormat's Length is not a number".into()),
            None => {}
        }
    }
    for place in [Some(node), element(node, &["Policy"])].into_iter().flatten() {
        if let Some(start) = dated(place, &["StartDate"], &mut problems) {
            key.start_date = Some(start);
        }
        if let Some(expiry) = dated(place, &["ExpiryDate"], &mut problems) {
            key.expiry_date = Some(expiry);
        }
    }
    // `Data` holds `Secret`, `Counter`, …; a draft's `Data` elements carry a `Name` each.
    let mut fields: Vec<(String, Node<'_, '_>)> = Vec::new();
    let mut drift_seconds = None::<f64>;
    for data in elements(node, &["Data"]) {
        match attr(data, &["Name"]) {
            Some(name) => fields.push((name.to_ascii_lowercase().replace('_', ""), data)),
            None => fields.extend(
                data.children()
                    .filter(Node::is_element)
                    .map(|c| (c.tag_name().name().to_ascii_lowercase(), c)),
            ),
        }
    }
    for (name, field) in fields {
        let Some(found) = value(keys, field)? else { continue };
        match name.as_str() {
            "secret" => match found {
                Value::Decrypted(bytes) => key.secret = Some(bytes),
                Value::Plain(text) => match base64(&text) {
                    Some(bytes) => key.secret = Some(bytes),
                    None => problems.push("Secret is not base64".into()),
                },
            },
            // privacyIDEA writes its clock drift in seconds, as a decimal (`-30.0`): taken in
            // time steps once the step is known.
            "timedrift" if matches!(&found, Value::Plain(text) if text.contains('.')) => {
                let Value::Plain(text) = found else { continue };
                match text.trim().parse::<f64>() {
                    Ok(seconds) if seconds.is_finite() && seconds.abs() < 1e9 => {
                        drift_seconds = Some(seconds)
                    }
                    _ => problems.push(format!("{} is not a number", field.tag_name().name())),
                }
            }
            "counter" | "time" | "timeinterval" | "timedrift" => {
                let Some(n) = integer(found) else {
                    problems.push(format!("{} is not a number", field.tag_name().name()));
                    continue;
                };
                let unsigned = u64::try_from(n).ok();
                match name.as_str() {
                    "counter" => key.counter = unsigned,
                    "time" => key.time = unsigned,
                    "timeinterval" => key.time_interval = unsigned,
                    _ => key.time_drift = i64::try_from(n).ok(),
                }
                if name != "timedrift" && unsigned.is_none() {
                    problems.push(format!("{} is out of range", field.tag_name().name()));
                }
            }
            _ => {}
        }
    }
    if let Some(seconds) = drift_seconds {
        let step = key.time_interval.filter(|s| *s > 0).unwrap_or(30) as f64;
        // privacyIDEA keeps the offset of the token's step from its own clock within the step:
        // anything above -1 step is no drift.
        key.time_drift = Some((seconds / step).ceil() as i64);
    }
    key.problem = (!problems.is_empty()).then(|| problems.join("; "));
    Ok(key)
}

/// The date of the first of `names` under `node`, noting one that cannot be read.
fn dated(node: Node<'_, '_>, names: &[&str], problems: &mut Vec<String>) -> Option<i64> {
    let written = child_text(node, names)?;
    let parsed = date(&written);
    if parsed.is_none() {
        problems.push(format!("{} is not a date and time", names[0]));
    }
    parsed
}

//! OTP math: HOTP (RFC 4226), TOTP (RFC 6238), seeds, the `otpauth://` Key URI and its QR code.
//!
//! Verification compares in constant time and always walks the whole window, and it returns
//! the counter or time step that matched so the caller can store it and refuse a replay.

use crate::model::Algorithm;
use data_encoding::{BASE32_NOPAD, BASE64};
use hmac::{Hmac, KeyInit, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use subtle::{ConditionallySelectable, ConstantTimeEq};

/// A TOTP/HOTP seed. Its `Debug` never shows the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

impl Secret {
    /// The seed length RFC 4226 §4 and RFC 6238 §5.1 recommend: the hash's output size.
    pub fn length_for(algorithm: Algorithm) -> usize {
        match algorithm {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// A fresh seed from the caller's cryptographic random source.
    pub fn generate<E>(
        algorithm: Algorithm,
        fill_random: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<Secret, E> {
        let mut bytes = vec![0u8; Self::length_for(algorithm)];
        fill_random(&mut bytes)?;
        Ok(Secret(bytes))
    }

    pub fn from_bytes(bytes: Vec<u8>) -> Secret {
        Secret(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Unpadded RFC 4648 base32, as authenticator apps expect it.
    pub fn to_base32(&self) -> String {
        BASE32_NOPAD.encode(&self.0)
    }

    /// Reads base32 as people paste it: any case, spaces, with or without `=` padding.
    pub fn from_base32(text: &str) -> Option<Secret> {
        let cleaned: String = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '=')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        BASE32_NOPAD.decode(cleaned.as_bytes()).ok().map(Secret)
    }
}

/// Code shape of a device: hash and number of digits (6 or 8 here; the math allows 1-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeParams {
    pub algorithm: Algorithm,
    pub digits: u32,
}

fn mac<D>(key: &[u8], message: &[u8]) -> Vec<u8>
where
    D: hmac::EagerHash,
    Hmac<D>: KeyInit + Mac,
{
    // HMAC takes keys of any length, so this cannot fail; an empty tag would only give a code
    // that never verifies.
    match <Hmac<D> as KeyInit>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(message);
            m.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// The HOTP value of RFC 4226 §5.3 for `counter`, as a number below 10^digits.
pub fn hotp(secret: &Secret, params: CodeParams, counter: u64) -> u32 {
    let message = counter.to_be_bytes();
    let tag = match params.algorithm {
        Algorithm::Sha1 => mac::<sha1::Sha1>(&secret.0, &message),
        Algorithm::Sha256 => mac::<sha2::Sha256>(&secret.0, &message),
        Algorithm::Sha512 => mac::<sha2::Sha512>(&secret.0, &message),
    };
    let byte = |i: usize| u32::from(tag.get(i).copied().unwrap_or(0));
    let offset = (byte(tag.len().saturating_sub(1)) & 0x0f) as usize;
    let binary =
        (byte(offset) & 0x7f) << 24 | byte(offset + 1) << 16 | byte(offset + 2) << 8 | byte(offset + 3);
    binary % 10u32.pow(params.digits.min(9))
}

/// The code as the user types it: zero-padded to `digits`.
pub fn format_code(code: u32, digits: u32) -> String {
    format!("{code:0width$}", width = digits as usize)
}

/// The RFC 6238 time step of a Unix time (T0 = 0); times before 1970 count as step 0.
pub fn time_step(unix_seconds: i64, period: u32) -> u64 {
    u64::try_from(unix_seconds).unwrap_or(0) / u64::from(period.max(1))
}

/// The TOTP code at a Unix time.
pub fn totp(secret: &Secret, params: CodeParams, period: u32, unix_seconds: i64) -> u32 {
    hotp(secret, params, time_step(unix_seconds, period))
}

/// Checks `candidate` against the codes of `counters`, in constant time over all of them.
/// Returns the (first) counter whose code matched.
fn find_match(
    secret: &Secret,
    params: CodeParams,
    candidate: &str,
    counters: impl Iterator<Item = u64>,
) -> Option<u64> {
    if candidate.len() != params.digits as usize || !candidate.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut found = subtle::Choice::from(0);
    let mut matched = 0u64;
    for counter in counters {
        let code = format_code(hotp(secret, params, counter), params.digits);
        let hit = code.as_bytes().ct_eq(candidate.as_bytes()) & !found;
        matched.conditional_assign(&counter, hit);
        found |= hit;
    }
    bool::from(found).then_some(matched)
}

/// Whether `candidate` is the code that was accepted last (at counter or step `last`). A later
/// counter or step has the same code once in 10^digits; accepting it would take the same OTP
/// twice, which RFC 6238 §5.2 forbids (and which the validation race test once hit). Computed
/// whether or not the candidate matched, so the time taken does not depend on it.
fn is_replay(secret: &Secret, params: CodeParams, candidate: &str, last: Option<u64>) -> bool {
    last.is_some_and(|last| find_match(secret, params, candidate, std::iter::once(last)).is_some())
}

/// RFC 4226 §7.2 look-ahead: tries `counter ..= counter + look_ahead` and returns the counter
/// that matched. The caller stores `matched + 1` so neither this code nor an older one works again,
/// nor the same digits at a later counter (`counter - 1` was the last accepted).
pub fn verify_hotp(
    secret: &Secret,
    params: CodeParams,
    candidate: &str,
    counter: u64,
    look_ahead: u64,
) -> Option<u64> {
    let matched = find_match(secret, params, candidate, counter..=counter.saturating_add(look_ahead));
    let replay = is_replay(secret, params, candidate, counter.checked_sub(1));
    matched.filter(|_| !replay)
}

/// RFC 6238 §5.2: tries the time steps `now ± window`, skipping every step up to `last_step`
/// (already used) and refusing the code that was accepted at `last_step` even where a later step
/// has the same digits; returns the step that matched. The caller stores it as the new `last_step`.
pub fn verify_totp(
    secret: &Secret,
    params: CodeParams,
    period: u32,
    candidate: &str,
    unix_seconds: i64,
    window: u64,
    last_step: Option<u64>,
) -> Option<u64> {
    let now = time_step(unix_seconds, period);
    let first = now.saturating_sub(window).max(last_step.map_or(0, |s| s.saturating_add(1)));
    let matched = find_match(secret, params, candidate, first..=now.saturating_add(window));
    let replay = is_replay(secret, params, candidate, last_step);
    matched.filter(|_| !replay)
}

/// RFC 4226 §7.4 resynchronisation: two consecutive codes, searched from the stored `counter`
/// up to `window` counters ahead; the counter after the second code, which the caller stores.
/// Each candidate pair is compared in constant time.
pub fn resync_hotp(
    secret: &Secret,
    params: CodeParams,
    codes: [&str; 2],
    counter: u64,
    window: u64,
) -> Option<u64> {
    let end = counter.saturating_add(window);
    consecutive(secret, params, codes, counter..=end).map(|first| first + 2)
}

/// RFC 6238 §6 resynchronisation: two consecutive codes of a token whose clock has drifted,
/// searched within `window` time steps either side of the server's; codes at or before
/// `last_step` (used already) never match. The step of the second code, from which the caller
/// learns the token's drift.
pub fn resync_totp(
    secret: &Secret,
    params: CodeParams,
    period: u32,
    codes: [&str; 2],
    unix_seconds: i64,
    window: u64,
    last_step: Option<u64>,
) -> Option<u64> {
    let now = time_step(unix_seconds, period);
    let first = now.saturating_sub(window).max(last_step.map_or(0, |s| s.saturating_add(1)));
    let end = now.saturating_add(window);
    (first <= end).then(|| consecutive(secret, params, codes, first..=end)).flatten().map(|step| step + 1)
}

/// The first counter `c` of `counters` whose code is `codes[0]` while `c + 1`'s is `codes[1]`.
fn consecutive(
    secret: &Secret,
    params: CodeParams,
    codes: [&str; 2],
    counters: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    let well_formed =
        |code: &str| code.len() == params.digits as usize && code.bytes().all(|b| b.is_ascii_digit());
    if !codes.iter().all(|c| well_formed(c)) {
        return None;
    }
    let mut previous = None;
    for counter in counters.clone().chain(counters.end().checked_add(1)) {
        let code = format_code(hotp(secret, params, counter), params.digits);
        let second = code.as_bytes().ct_eq(codes[1].as_bytes());
        if let Some((at, first)) = previous
            && bool::from(first & second)
        {
            return Some(at);
        }
        previous = Some((counter, code.as_bytes().ct_eq(codes[0].as_bytes())));
    }
    None
}

/// What the Key URI describes besides the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriKind {
    Totp { period: u32 },
    Hotp { counter: u64 },
}

/// Characters kept as they are in a URI component: RFC 3986 unreserved.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The Key URI (`otpauth://totp/Issuer:account?secret=...&issuer=...`) that authenticator apps
/// read. Issuer and account are percent-encoded, so a `:` inside either cannot split the label.
pub fn otpauth_uri(
    issuer: &str,
    account: &str,
    secret: &Secret,
    params: CodeParams,
    kind: UriKind,
) -> String {
    let issuer = utf8_percent_encode(issuer, COMPONENT).to_string();
    let account = utf8_percent_encode(account, COMPONENT).to_string();
    let (scheme, extra) = match kind {
        UriKind::Totp { period } => ("totp", format!("period={period}")),
        UriKind::Hotp { counter } => ("hotp", format!("counter={counter}")),
    };
    format!(
        "otpauth://{scheme}/{issuer}:{account}?secret={}&issuer={issuer}&algorithm={}&digits={}&{extra}",
        secret.to_base32(),
        params.algorithm.as_str(),
        params.digits,
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrError {
    /// The text does not fit in a QR code.
    TooLong,
    Png(String),
}

impl std::fmt::Display for QrError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QrError::TooLong => f.write_str("text too long for a QR code"),
            QrError::Png(e) => write!(f, "PNG encoding failed: {e}"),
        }
    }
}

/// Pixels per QR module, and the quiet zone in modules (ISO/IEC 18004 asks for 4).
const MODULE_PIXELS: usize = 4;
const QUIET_ZONE: usize = 4;

/// The QR code of `text` as a greyscale PNG.
pub fn qr_png(text: &str) -> Result<Vec<u8>, QrError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| QrError::TooLong)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PIXELS;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (x0, y0) =
            ((i % modules + QUIET_ZONE) * MODULE_PIXELS, (i / modules + QUIET_ZONE) * MODULE_PIXELS);
        for y in y0..y0 + MODULE_PIXELS {
            pixels[y * side + x0..y * side + x0 + MODULE_PIXELS].fill(0);
        }
    }
    let mut png = Vec::new();
    let side = u32::try_from(side).map_err(|_| QrError::TooLong)?;
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| QrError::Png(e.to_string()))?;
    writer.write_image_data(&pixels).map_err(|e| QrError::Png(e.to_string()))?;
    writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
    Ok(png)
}

/// The QR PNG in base64: the `image` attribute of a created TOTP/HOTP device.
pub fn qr_png_base64(text: &str) -> Result<String, QrError> {
    qr_png(text).map(|png| BASE64.encode(&png))
}

#[cfg(test)]
mod tests {
    #[test]
    fn resync_finds_two_consecutive_codes() {
        // RFC 4226 appendix D: the codes of counters 0 to 9 of "12345678901234567890".
        let secret = Secret::from_bytes(b"12345678901234567890".to_vec());
        let params = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };
        let rfc = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
            "520489",
        ];
        assert_eq!(resync_hotp(&secret, params, [rfc[7], rfc[8]], 0, 1000), Some(9));
        assert_eq!(resync_hotp(&secret, params, [rfc[7], rfc[9]], 0, 1000), None, "not consecutive");
        assert_eq!(resync_hotp(&secret, params, [rfc[7], rfc[8]], 8, 1000), None, "behind the counter");
        assert_eq!(
            resync_hotp(&secret, params, [rfc[7], rfc[8]], 0, 7),
            Some(9),
            "the second one past the window"
        );
        assert_eq!(resync_hotp(&secret, params, [rfc[7], rfc[8]], 0, 6), None, "out of the window");
        assert_eq!(resync_hotp(&secret, params, ["75522", rfc[1]], 0, 1000), None);
        // TOTP: the token runs ten steps ahead of the server.
        let now = 1_700_000_000;
        let step = time_step(now, 30);
        let code = |s: u64| format_code(hotp(&secret, params, s), 6);
        let (a, b) = (code(step + 10), code(step + 11));
        assert_eq!(resync_totp(&secret, params, 30, [&a, &b], now, 100, None), Some(step + 11));
        assert_eq!(resync_totp(&secret, params, 30, [&a, &b], now, 9, None), None, "out of the window");
        assert_eq!(resync_totp(&secret, params, 30, [&a, &b], now, 100, Some(step + 10)), None, "used");
        let (c, d) = (code(step - 40), code(step - 39));
        assert_eq!(resync_totp(&secret, params, 30, [&c, &d], now, 100, None), Some(step - 39), "behind");
    }

    use super::*;

    const SHA1: CodeParams = CodeParams { algorithm: Algorithm::Sha1, digits: 6 };

    fn ascii_secret(text: &str) -> Secret {
        Secret::from_bytes(text.as_bytes().to_vec())
    }

    #[test]
    fn rfc4226_appendix_d() {
        let secret = ascii_secret("12345678901234567890");
        let expected = [755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489];
        for (counter, want) in expected.into_iter().enumerate() {
            assert_eq!(hotp(&secret, SHA1, counter as u64), want, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        let seed20 = "12345678901234567890";
        let seed32 = "12345678901234567890123456789012";
        let seed64 = "1234567890123456789012345678901234567890123456789012345678901234";
        #[rustfmt::skip]
        let table: [(i64, &str, Algorithm, &str); 18] = [
            (59, "94287082", Algorithm::Sha1, seed20),
            (59, "46119246", Algorithm::Sha256, seed32),
            (59, "90693936", Algorithm::Sha512, seed64),
            (1111111109, "07081804", Algorithm::Sha1, seed20),
            (1111111109, "68084774", Algorithm::Sha256, seed32),
            (1111111109, "25091201", Algorithm::Sha512, seed64),
            (1111111111, "14050471", Algorithm::Sha1, seed20),
            (1111111111, "67062674", Algorithm::Sha256, seed32),
            (1111111111, "99943326", Algorithm::Sha512, seed64),
            (1234567890, "89005924", Algorithm::Sha1, seed20),
            (1234567890, "91819424", Algorithm::Sha256, seed32),
            (1234567890, "93441116", Algorithm::Sha512, seed64),
            (2000000000, "69279037", Algorithm::Sha1, seed20),
            (2000000000, "90698825", Algorithm::Sha256, seed32),
            (2000000000, "38618901", Algorithm::Sha512, seed64),
            (20000000000, "65353130", Algorithm::Sha1, seed20),
            (20000000000, "77737706", Algorithm::Sha256, seed32),
            (20000000000, "47863826", Algorithm::Sha512, seed64),
        ];
        for (time, want, algorithm, seed) in table {
            let params = CodeParams { algorithm, digits: 8 };
            let code = format_code(totp(&ascii_secret(seed), params, 30, time), 8);
            assert_eq!(code, want, "{algorithm} at {time}");
        }
    }

    #[test]
    fn hotp_look_ahead_returns_the_matched_counter() {
        let secret = ascii_secret("12345678901234567890");
        assert_eq!(verify_hotp(&secret, SHA1, "969429", 0, 10), Some(3));
        assert_eq!(verify_hotp(&secret, SHA1, "969429", 4, 10), None, "older codes are spent");
        assert_eq!(verify_hotp(&secret, SHA1, "520489", 0, 5), None, "beyond the look-ahead");
        assert_eq!(verify_hotp(&secret, SHA1, "96942", 0, 10), None, "wrong length");
        assert_eq!(verify_hotp(&secret, SHA1, "96942a", 0, 10), None, "not digits");
    }

    #[test]
    fn totp_window_and_replay() {
        let secret = ascii_secret("12345678901234567890");
        let params = CodeParams { algorithm: Algorithm::Sha1, digits: 8 };
        // "07081804" is the code of step 37037036 (t = 1111111109).
        let step = time_step(1111111109, 30);
        assert_eq!(verify_totp(&secret, params, 30, "07081804", 1111111109, 1, None), Some(step));
        assert_eq!(verify_totp(&secret, params, 30, "07081804", 1111111109 + 30, 1, None), Some(step));
        assert_eq!(verify_totp(&secret, params, 30, "07081804", 1111111109 + 60, 1, None), None);
        assert_eq!(verify_totp(&secret, params, 30, "07081804", 1111111109, 1, Some(step)), None, "replay");
        assert_eq!(verify_totp(&secret, params, 30, "07081804", 1111111109, 1, Some(step - 1)), Some(step));
    }

    /// With the RFC secret, counters 910737 and 910738 both give 911617 (found by search; checked
    /// with `oathtool --hotp -c 910737 3132333435363738393031323334353637383930`). The digits
    /// accepted once must not pass again at the next counter or step.
    #[test]
    fn the_same_digits_are_not_taken_twice_when_the_next_code_repeats_them() {
        let secret = ascii_secret("12345678901234567890");
        assert_eq!(format_code(hotp(&secret, SHA1, 910_737), 6), "911617");
        assert_eq!(format_code(hotp(&secret, SHA1, 910_738), 6), "911617");
        assert_eq!(verify_hotp(&secret, SHA1, "911617", 910_737, 10), Some(910_737));
        assert_eq!(verify_hotp(&secret, SHA1, "911617", 910_738, 10), None, "the same OTP again");
        assert_eq!(verify_hotp(&secret, SHA1, "911617", 910_730, 10), Some(910_737));

        let t = 910_737 * 30 + 29; // the last second of step 910737; the window reaches 910738
        assert_eq!(verify_totp(&secret, SHA1, 30, "911617", t, 1, None), Some(910_737));
        assert_eq!(verify_totp(&secret, SHA1, 30, "911617", t, 1, Some(910_737)), None, "the same OTP again");
        assert_eq!(verify_totp(&secret, SHA1, 30, "911617", t + 30, 1, Some(910_736)), Some(910_737));
    }

    #[test]
    fn secrets_are_generated_from_the_callers_randomness_and_never_printed() {
        let secret = Secret::generate(Algorithm::Sha256, |buf: &mut [u8]| {
            buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(secret.as_bytes().len(), 32);
        assert_eq!(format!("{secret:?}"), "Secret(32 bytes)");
        assert_eq!(Secret::from_base32(&secret.to_base32().to_lowercase()), Some(secret.clone()));
        assert_eq!(Secret::generate(Algorithm::Sha1, |_: &mut [u8]| Err("no entropy")), Err("no entropy"));
    }

    #[test]
    fn key_uri_escapes_the_label() {
        let secret = ascii_secret("12345678901234567890");
        let uri = otpauth_uri("ACME Co", "alice:x@example.com", &secret, SHA1, UriKind::Totp { period: 30 });
        assert_eq!(
            uri,
            "otpauth://totp/ACME%20Co:alice%3Ax%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30"
        );
        let hotp_uri = otpauth_uri("i", "a", &secret, SHA1, UriKind::Hotp { counter: 7 });
        assert!(hotp_uri.starts_with("otpauth://hotp/i:a?") && hotp_uri.ends_with("&counter=7"));
    }

    #[test]
    fn qr_png_decodes_back_to_the_uri() {
        let secret = ascii_secret("12345678901234567890123456789012");
        let params = CodeParams { algorithm: Algorithm::Sha256, digits: 8 };
        let uri =
            otpauth_uri("scim-otp", "dilbert (TOTP00000035)", &secret, params, UriKind::Totp { period: 30 });
        let png = BASE64.decode(qr_png_base64(&uri).unwrap().as_bytes()).unwrap();

        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        let (w, h) = (info.width as usize, info.height as usize);
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, uri);
    }

    #[test]
    fn qr_refuses_text_too_long() {
        assert_eq!(qr_png(&"x".repeat(5000)), Err(QrError::TooLong));
    }
}

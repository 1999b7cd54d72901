//! Settings from Spin variables (SPEC §11), read at the edge of each request and validated:
//! a bad value is an error that names the variable, never a silent fallback.

use data_encoding::{BASE64, HEXLOWER_PERMISSIVE};
use serde::Deserialize;
use shared::Algorithm;
use shared::validate::{DIGITS, Defaults, PERIOD_RANGE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Right {
    Invoke,
    Admin,
}

impl Right {
    fn parse(text: &str) -> Option<Right> {
        match text {
            "scim:invoke" => Some(Right::Invoke),
            "scim:admin" => Some(Right::Admin),
            _ => None,
        }
    }
}

/// A Basic-auth principal: a PHC (argon2id) hash, never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub password_hash: String,
    pub rights: Vec<Right>,
}

/// A Bearer token for machine clients, stored as the SHA-256 of the token (tokens are random and
/// long, so a fast hash is enough; passwords are not, and get argon2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub sha256: Vec<u8>,
    pub rights: Vec<Right>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub principals: Vec<Principal>,
    pub api_tokens: Vec<ApiToken>,
    pub cors_origins: Vec<String>,
    pub cors_methods: Vec<String>,
    pub secret_key: [u8; 32],
    pub issuer: String,
    pub defaults: Defaults,
    pub totp_window: u64,
    pub hotp_lookahead: u64,
    pub max_fails: u32,
    pub challenge_ttl: i64,
    pub delivery_webhook_url: Option<String>,
    pub dev_outbox: bool,
    pub public_base_url: Option<String>,
}

/// A variable with a value the service cannot run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub variable: &'static str,
    pub reason: String,
}

impl std::fmt::Display for SettingsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "setting {} (SPIN_VARIABLE_{}): {}",
            self.variable,
            self.variable.to_uppercase(),
            self.reason
        )
    }
}

fn bad(variable: &'static str, reason: impl Into<String>) -> SettingsError {
    SettingsError { variable, reason: reason.into() }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrincipalEntry {
    user: String,
    password_hash: String,
    rights: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
    rights: Vec<String>,
}

fn rights(variable: &'static str, names: &[String]) -> Result<Vec<Right>, SettingsError> {
    names
        .iter()
        .map(|n| {
            Right::parse(n)
                .ok_or_else(|| bad(variable, format!("unknown right \"{n}\" (scim:invoke, scim:admin)")))
        })
        .collect()
}

fn number<T: std::str::FromStr>(
    variable: &'static str,
    text: Option<String>,
    default: T,
    valid: impl Fn(&T) -> bool,
    range: &str,
) -> Result<T, SettingsError> {
    let Some(text) = text else { return Ok(default) };
    text.trim()
        .parse()
        .ok()
        .filter(|v| valid(v))
        .ok_or_else(|| bad(variable, format!("\"{text}\" is not {range}")))
}

impl Settings {
    /// Reads every setting through `get` (Spin's `variables::get`); `None` means unset or empty.
    pub fn load(get: &dyn Fn(&'static str) -> Option<String>) -> Result<Settings, SettingsError> {
        let principals: Vec<PrincipalEntry> =
            serde_json::from_str(&get("scim_users").unwrap_or_else(|| "[]".into())).map_err(|e| {
                bad("scim_users", format!("not a JSON array of {{user, password_hash, rights}}: {e}"))
            })?;
        let principals = principals
            .into_iter()
            .map(|p| {
                if !p.password_hash.starts_with("$argon2") {
                    return Err(bad(
                        "scim_users",
                        format!("password_hash of \"{}\" is not an argon2 PHC string", p.user),
                    ));
                }
                Ok(Principal {
                    rights: rights("scim_users", &p.rights)?,
                    user: p.user,
                    password_hash: p.password_hash,
                })
            })
            .collect::<Result<_, _>>()?;
        let tokens: Vec<TokenEntry> = serde_json::from_str(&get("api_tokens").unwrap_or_else(|| "[]".into()))
            .map_err(|e| bad("api_tokens", format!("not a JSON array of {{name, sha256, rights}}: {e}")))?;
        let api_tokens = tokens
            .into_iter()
            .map(|t| {
                let sha256 = HEXLOWER_PERMISSIVE
                    .decode(t.sha256.as_bytes())
                    .ok()
                    .filter(|d| d.len() == 32)
                    .ok_or_else(|| {
                    bad("api_tokens", format!("sha256 of \"{}\" is not 64 hex digits", t.name))
                })?;
                Ok(ApiToken { rights: rights("api_tokens", &t.rights)?, name: t.name, sha256 })
            })
            .collect::<Result<_, _>>()?;

        let list = |text: Option<String>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let cors_origins = list(get("scim_cors_origin"));
        let cors_methods: Vec<String> =
            list(Some(get("scim_cors_methods").unwrap_or_else(|| "GET, OPTIONS, HEAD".into())))
                .into_iter()
                .map(|m| m.to_ascii_uppercase())
                .collect();
        if let Some(m) = cors_methods.iter().find(|m| !m.bytes().all(|b| b.is_ascii_alphabetic())) {
            return Err(bad("scim_cors_methods", format!("\"{m}\" is not an HTTP method")));
        }

        let key_text = get("secret_key")
            .ok_or_else(|| bad("secret_key", "is not set (32 random bytes, base64 or hex)"))?;
        let key_text = key_text.trim();
        // 64 hex digits are valid base64 too (of 48 bytes): take the encoding that gives 32 bytes.
        let key = [&BASE64, &HEXLOWER_PERMISSIVE]
            .into_iter()
            .find_map(|encoding| {
                encoding.decode(key_text.as_bytes()).ok().and_then(|k| <[u8; 32]>::try_from(k).ok())
            })
            .ok_or_else(|| bad("secret_key", "must be 32 bytes, base64 or hex"))?;

        let algorithm = match get("otp_algorithm") {
            None => Algorithm::Sha1,
            Some(text) => Algorithm::parse(text.trim())
                .ok_or_else(|| bad("otp_algorithm", format!("\"{text}\" is not SHA1, SHA256 or SHA512")))?,
        };
        let defaults = Defaults {
            algorithm,
            digits: number("otp_digits", get("otp_digits"), 6, |d| DIGITS.contains(d), "6 or 8")?,
            period: number("otp_period", get("otp_period"), 30, |p| PERIOD_RANGE.contains(p), "10 to 300")?,
        };
        let url = |variable: &'static str, text: Option<String>| -> Result<Option<String>, SettingsError> {
            match text {
                None => Ok(None),
                Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                    Ok(Some(u.trim_end_matches('/').to_owned()))
                }
                Some(u) => Err(bad(variable, format!("\"{u}\" is not an http(s) URL"))),
            }
        };
        let flag = |variable: &'static str, text: Option<String>| -> Result<bool, SettingsError> {
            match text.as_deref().map(str::trim) {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(other) => Err(bad(variable, format!("\"{other}\" is not true or false"))),
            }
        };
        Ok(Settings {
            principals,
            api_tokens,
            cors_origins,
            cors_methods,
            secret_key: key,
            issuer: get("otp_issuer").unwrap_or_else(|| "scim-otp".into()),
            defaults,
            totp_window: number("totp_window", get("totp_window"), 1, |w| *w <= 10, "0 to 10")?,
            hotp_lookahead: number("hotp_lookahead", get("hotp_lookahead"), 10, |w| *w <= 100, "0 to 100")?,
            max_fails: number("max_fails", get("max_fails"), 5, |m| (1..=100).contains(m), "1 to 100")?,
            challenge_ttl: number(
                "challenge_ttl_seconds",
                get("challenge_ttl_seconds"),
                300,
                |t| (30..=3600).contains(t),
                "30 to 3600",
            )?,
            delivery_webhook_url: url("delivery_webhook_url", get("delivery_webhook_url"))?,
            dev_outbox: flag("dev_outbox", get("dev_outbox"))?,
            public_base_url: url("public_base_url", get("public_base_url"))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Settings::load(&|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_are_safe() {
        let s = load(&[("secret_key", KEY)]).unwrap();
        assert!(s.principals.is_empty() && s.cors_origins.is_empty() && !s.dev_outbox);
        assert_eq!(s.cors_methods, ["GET", "OPTIONS", "HEAD"]);
        assert_eq!((s.max_fails, s.totp_window, s.hotp_lookahead, s.challenge_ttl), (5, 1, 10, 300));
        assert_eq!(s.secret_key[31], 31);
    }

    /// Found while writing the fuzz harness: 64 hex digits also decode as base64 (to 48 bytes),
    /// and a hex key such as `openssl rand -hex 32` prints was refused.
    #[test]
    fn secret_key_in_hex_or_base64() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
        for text in [KEY, hex, &format!("  {hex}\n")] {
            assert_eq!(load(&[("secret_key", text)]).unwrap().secret_key[31], 31, "{text}");
        }
        assert!(load(&[("secret_key", &hex[2..])]).is_err(), "31 bytes");
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (vars, variable) in [
            (vec![], "secret_key"),
            (vec![("secret_key", "c2hvcnQ=")], "secret_key"),
            (vec![("secret_key", KEY), ("max_fails", "0")], "max_fails"),
            (vec![("secret_key", KEY), ("otp_digits", "7")], "otp_digits"),
            (vec![("secret_key", KEY), ("otp_algorithm", "MD5")], "otp_algorithm"),
            (vec![("secret_key", KEY), ("dev_outbox", "yes")], "dev_outbox"),
            (
                vec![
                    ("secret_key", KEY),
                    ("scim_users", "[{\"user\":\"a\",\"password\":\"x\",\"rights\":[]}]"),
                ],
                "scim_users",
            ),
            (
                vec![
                    ("secret_key", KEY),
                    ("scim_users", "[{\"user\":\"a\",\"password_hash\":\"plain\",\"rights\":[]}]"),
                ],
                "scim_users",
            ),
            (
                vec![
                    ("secret_key", KEY),
                    ("api_tokens", "[{\"name\":\"a\",\"sha256\":\"00\",\"rights\":[]}]"),
                ],
                "api_tokens",
            ),
            (vec![("secret_key", KEY), ("delivery_webhook_url", "ftp://x")], "delivery_webhook_url"),
        ] {
            let e = load(&vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}");
            assert!(e.to_string().contains(&format!("SPIN_VARIABLE_{}", variable.to_uppercase())));
        }
    }
}

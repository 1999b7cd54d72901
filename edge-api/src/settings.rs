//! Settings from Spin variables (SPEC §11), read at the edge of each request and validated:
//! a bad value is an error that names the variable, never a silent fallback.

use crate::origin::{CorsEntry, Origin};
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

/// The tenants a principal may use (SPEC §16): `["*"]` for all, else a list; without one, the
/// default tenant only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TenantGrant {
    All,
    Only(Vec<String>),
}

impl TenantGrant {
    pub fn allows(&self, tenant: &str) -> bool {
        match self {
            TenantGrant::All => true,
            TenantGrant::Only(names) => names.iter().any(|n| n == tenant),
        }
    }
}

/// The tenants of the deployment (`tenants`) and the one the §3 base paths serve (`default_tenant`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenants {
    pub names: Vec<String>,
    pub default: String,
}

impl Tenants {
    pub fn exists(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// SPEC §16: 1-63 of `a-z 0-9 -`, starting with a letter or digit, and not `v2` (which would
/// make `/scim/v2/...` ambiguous).
pub fn is_tenant_name(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && name != "v2"
}

/// A Basic-auth principal: a PHC (argon2id) hash, never a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub password_hash: String,
    pub rights: Vec<Right>,
    pub tenants: TenantGrant,
}

/// A Bearer token for machine clients, stored as the SHA-256 of the token (tokens are random and
/// long, so a fast hash is enough; passwords are not, and get argon2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub name: String,
    pub sha256: Vec<u8>,
    pub rights: Vec<Right>,
    pub tenants: TenantGrant,
}

/// What authentication needs. It is read first, so that when another setting is bad the
/// service can still tell an authenticated admin which one, and nobody else anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub principals: Vec<Principal>,
    pub api_tokens: Vec<ApiToken>,
    pub secret_key: [u8; 32],
    pub tenants: Tenants,
}

/// Where EMAIL/SMS codes are POSTed. `host` is what logs may name (the URL may carry a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub host: String,
}

/// `public_base_url`: the scheme, host and path prefix clients use when a proxy (TLS
/// termination, a path prefix) stands between them and Spin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBase {
    /// Without a trailing slash (`https://otp.example.com` or `https://example.com/otp`).
    pub url: String,
    pub origin: Origin,
}

/// The send budgets of SPEC §6: a cooldown between two sends to one destination, and hourly
/// caps per device, per destination and per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendBudget {
    pub cooldown: i64,
    pub per_hour: i64,
    pub tenant_per_hour: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub access: Access,
    pub cors_origins: Vec<CorsEntry>,
    pub cors_methods: Vec<String>,
    pub issuer: String,
    pub defaults: Defaults,
    pub totp_window: u64,
    pub hotp_lookahead: u64,
    /// How far a resync searches (SPEC §19): HOTP counters ahead, and a tenth of it in TOTP
    /// steps either side.
    pub resync_window: u64,
    /// Whether `POST /Device/.export` may hand out secrets (SPEC §19); off by default.
    pub seed_export: bool,
    pub max_fails: u32,
    pub challenge_ttl: i64,
    /// What sending EMAIL/SMS codes may cost (SPEC §6).
    pub send_budget: SendBudget,
    pub delivery_webhook: Option<Webhook>,
    /// Where CIBA pings go after a verified DELIVER-CHALLENGE (SPEC §14).
    pub ciba_notification: Option<Webhook>,
    pub dev_outbox: bool,
    pub public_base: Option<PublicBase>,
    /// How long a statement waits for another request's write lock on a local SQLite file, in
    /// milliseconds, looking every millisecond (see [`crate::db::Patient`]); 0 leaves the
    /// waiting to the host (on libSQL the server queues writers itself).
    pub sqlite_lock_wait_ms: u32,
}

/// A variable with a value the service cannot run with. The reason says what is expected and
/// never repeats the value: a bad value may be a secret (a webhook URL with a key in it).
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

/// Settings that failed to load: the error, and the [`Access`] part when that part was fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misconfigured {
    pub error: SettingsError,
    pub access: Option<Box<Access>>,
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
    #[serde(default)]
    tenants: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
    rights: Vec<String>,
    #[serde(default)]
    tenants: Option<Vec<String>>,
}

fn grant(
    variable: &'static str,
    entry: usize,
    names: Option<Vec<String>>,
    tenants: &Tenants,
) -> Result<TenantGrant, SettingsError> {
    let Some(names) = names else { return Ok(TenantGrant::Only(vec![tenants.default.clone()])) };
    if names.iter().any(|n| n == "*") {
        return match names.len() {
            1 => Ok(TenantGrant::All),
            _ => {
                Err(bad(variable, format!("entry {entry}: tenants is [\"*\"] or a list of names, not both")))
            }
        };
    }
    if !names.iter().all(|n| tenants.exists(n)) {
        return Err(bad(
            variable,
            format!("entry {entry} names a tenant that the tenants variable does not list"),
        ));
    }
    Ok(TenantGrant::Only(names))
}

fn load_tenants(get: &dyn Fn(&'static str) -> Option<String>) -> Result<Tenants, SettingsError> {
    let default = get("default_tenant").map_or_else(|| "default".to_owned(), |t| t.trim().to_owned());
    if !is_tenant_name(&default) {
        return Err(bad(
            "default_tenant",
            "is not a tenant name (1-63 of a-z, 0-9 and -, starting with a letter or digit, not v2)",
        ));
    }
    let names: Vec<String> = match get("tenants") {
        None => vec![default.clone()],
        Some(text) => text.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect(),
    };
    if let Some(i) = names.iter().position(|n| !is_tenant_name(n)) {
        return Err(bad(
            "tenants",
            format!(
                "entry {} is not a tenant name (1-63 of a-z, 0-9 and -, starting with a letter or digit, not v2)",
                i + 1
            ),
        ));
    }
    if !names.contains(&default) {
        return Err(bad("tenants", "does not list the default tenant (the default_tenant variable)"));
    }
    Ok(Tenants { names, default })
}

fn rights(variable: &'static str, entry: usize, names: &[String]) -> Result<Vec<Right>, SettingsError> {
    names
        .iter()
        .map(|n| {
            Right::parse(n).ok_or_else(|| {
                bad(variable, format!("entry {entry} names an unknown right (scim:invoke, scim:admin)"))
            })
        })
        .collect()
}

/// A JSON array of `T`. serde's own message can quote the input, so only where it failed is kept.
fn json_array<T: serde::de::DeserializeOwned>(
    variable: &'static str,
    text: Option<String>,
    shape: &str,
) -> Result<Vec<T>, SettingsError> {
    serde_json::from_str(&text.unwrap_or_else(|| "[]".into())).map_err(|e| {
        bad(variable, format!("is not a JSON array of {shape} (line {}, column {})", e.line(), e.column()))
    })
}

fn number<T: std::str::FromStr>(
    variable: &'static str,
    text: Option<String>,
    default: T,
    valid: impl Fn(&T) -> bool,
    range: &str,
) -> Result<T, SettingsError> {
    let Some(text) = text else { return Ok(default) };
    text.trim().parse().ok().filter(|v| valid(v)).ok_or_else(|| bad(variable, format!("is not {range}")))
}

/// An absolute http(s) URL with a host, and its origin and the rest (path, query).
fn http_url(variable: &'static str, text: &str) -> Result<(Origin, String), SettingsError> {
    let text = text.trim();
    match Origin::parse_prefix(text) {
        Some((origin, rest)) if matches!(origin.scheme(), "http" | "https") => Ok((origin, rest.to_owned())),
        _ => Err(bad(variable, "is not an absolute http:// or https:// URL with a host")),
    }
}

impl Access {
    pub fn load(get: &dyn Fn(&'static str) -> Option<String>) -> Result<Access, SettingsError> {
        let tenants = load_tenants(get)?;
        let entries: Vec<PrincipalEntry> =
            json_array("scim_users", get("scim_users"), "{user, password_hash, rights}")?;
        let principals = entries
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                if !p.password_hash.starts_with("$argon2") {
                    return Err(bad(
                        "scim_users",
                        format!("entry {}: password_hash is not an argon2 PHC string", i + 1),
                    ));
                }
                Ok(Principal {
                    rights: rights("scim_users", i + 1, &p.rights)?,
                    tenants: grant("scim_users", i + 1, p.tenants, &tenants)?,
                    user: p.user,
                    password_hash: p.password_hash,
                })
            })
            .collect::<Result<_, _>>()?;
        let tokens: Vec<TokenEntry> = json_array("api_tokens", get("api_tokens"), "{name, sha256, rights}")?;
        let api_tokens = tokens
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let sha256 = HEXLOWER_PERMISSIVE
                    .decode(t.sha256.as_bytes())
                    .ok()
                    .filter(|d| d.len() == 32)
                    .ok_or_else(|| {
                    bad("api_tokens", format!("entry {}: sha256 is not 64 hex digits", i + 1))
                })?;
                Ok(ApiToken {
                    rights: rights("api_tokens", i + 1, &t.rights)?,
                    tenants: grant("api_tokens", i + 1, t.tenants, &tenants)?,
                    name: t.name,
                    sha256,
                })
            })
            .collect::<Result<_, _>>()?;

        let key_text = get("secret_key")
            .ok_or_else(|| bad("secret_key", "is not set (32 random bytes, base64 or hex)"))?;
        let key_text = key_text.trim();
        // 64 hex digits are valid base64 too (of 48 bytes): take the encoding that gives 32 bytes.
        let secret_key = [&BASE64, &HEXLOWER_PERMISSIVE]
            .into_iter()
            .find_map(|encoding| {
                encoding.decode(key_text.as_bytes()).ok().and_then(|k| <[u8; 32]>::try_from(k).ok())
            })
            .ok_or_else(|| bad("secret_key", "must be 32 bytes, base64 or hex"))?;
        Ok(Access { principals, api_tokens, secret_key, tenants })
    }
}

impl Settings {
    /// What a policy's numbers default to: these settings (SPEC §18).
    pub fn policy_defaults(&self) -> shared::policy::PolicyDefaults {
        shared::policy::PolicyDefaults {
            otp: self.defaults,
            max_fails: self.max_fails,
            code_ttl_seconds: u32::try_from(self.challenge_ttl).unwrap_or(u32::MAX),
        }
    }

    /// Reads every setting through `get` (Spin's `variables::get`); `None` means unset or empty.
    pub fn load(get: &dyn Fn(&'static str) -> Option<String>) -> Result<Settings, Misconfigured> {
        let access = Access::load(get).map_err(|error| Misconfigured { error, access: None })?;
        Settings::load_rest(get, access.clone())
            .map_err(|error| Misconfigured { error, access: Some(Box::new(access)) })
    }

    fn load_rest(
        get: &dyn Fn(&'static str) -> Option<String>,
        access: Access,
    ) -> Result<Settings, SettingsError> {
        let list = |text: Option<String>| -> Vec<String> {
            text.unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        let origins = list(get("scim_cors_origin"));
        let cors_origins = origins
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                CorsEntry::parse(entry).ok_or_else(|| {
                    bad(
                        "scim_cors_origin",
                        format!(
                            "entry {} of {} is neither *, a host (admin.example.com) nor an origin \
                             (https://admin.example.com:8443); a port needs the scheme",
                            i + 1,
                            origins.len()
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cors_methods: Vec<String> =
            list(Some(get("scim_cors_methods").unwrap_or_else(|| "GET, OPTIONS, HEAD".into())))
                .into_iter()
                .map(|m| m.to_ascii_uppercase())
                .collect();
        if let Some(i) = cors_methods.iter().position(|m| !m.bytes().all(|b| b.is_ascii_alphabetic())) {
            return Err(bad("scim_cors_methods", format!("entry {} is not an HTTP method", i + 1)));
        }

        let algorithm = match get("otp_algorithm") {
            None => Algorithm::Sha1,
            Some(text) => Algorithm::parse(text.trim())
                .ok_or_else(|| bad("otp_algorithm", "is not SHA1, SHA256 or SHA512"))?,
        };
        let defaults = Defaults {
            algorithm,
            digits: number("otp_digits", get("otp_digits"), 6, |d| DIGITS.contains(d), "6 or 8")?,
            period: number("otp_period", get("otp_period"), 30, |p| PERIOD_RANGE.contains(p), "10 to 300")?,
        };
        let flag = |variable: &'static str, text: Option<String>| -> Result<bool, SettingsError> {
            match text.as_deref().map(str::trim) {
                None | Some("false") => Ok(false),
                Some("true") => Ok(true),
                Some(_) => Err(bad(variable, "is not true or false")),
            }
        };
        let webhook = |variable: &'static str| {
            get(variable)
                .map(|text| {
                    let (origin, _) = http_url(variable, &text)?;
                    Ok(Webhook { url: text.trim().to_owned(), host: origin.host().to_owned() })
                })
                .transpose()
        };
        let delivery_webhook = webhook("delivery_webhook_url")?;
        let ciba_notification = webhook("ciba_notification_url")?;
        let public_base = get("public_base_url")
            .map(|text| {
                let (origin, rest) = http_url("public_base_url", &text)?;
                if rest.contains(['?', '#']) {
                    return Err(bad("public_base_url", "must not have a query or fragment"));
                }
                Ok(PublicBase { url: format!("{origin}{}", rest.trim_end_matches('/')), origin })
            })
            .transpose()?;
        Ok(Settings {
            access,
            cors_origins,
            cors_methods,
            issuer: get("otp_issuer").unwrap_or_else(|| "scim-otp".into()),
            defaults,
            totp_window: number("totp_window", get("totp_window"), 1, |w| *w <= 10, "0 to 10")?,
            sqlite_lock_wait_ms: number(
                "sqlite_lock_wait_ms",
                get("sqlite_lock_wait_ms"),
                1000,
                |ms| *ms <= 30_000,
                "0 to 30000",
            )?,
            hotp_lookahead: number("hotp_lookahead", get("hotp_lookahead"), 10, |w| *w <= 100, "0 to 100")?,
            resync_window: number(
                "resync_window",
                get("resync_window"),
                1000,
                |w| (10..=100_000).contains(w),
                "10 to 100000",
            )?,
            seed_export: flag("seed_export", get("seed_export"))?,
            max_fails: number("max_fails", get("max_fails"), 5, |m| (1..=100).contains(m), "1 to 100")?,
            challenge_ttl: number(
                "challenge_ttl_seconds",
                get("challenge_ttl_seconds"),
                300,
                |t| (30..=3600).contains(t),
                "30 to 3600",
            )?,
            send_budget: SendBudget {
                cooldown: number(
                    "send_cooldown_seconds",
                    get("send_cooldown_seconds"),
                    30,
                    |t| (0..=3600).contains(t),
                    "0 to 3600",
                )?,
                per_hour: number(
                    "sends_per_hour",
                    get("sends_per_hour"),
                    10,
                    |n| (1..=1000).contains(n),
                    "1 to 1000",
                )?,
                tenant_per_hour: number(
                    "tenant_sends_per_hour",
                    get("tenant_sends_per_hour"),
                    2000,
                    |n| (1..=1_000_000).contains(n),
                    "1 to 1000000",
                )?,
            },
            delivery_webhook,
            ciba_notification,
            dev_outbox: flag("dev_outbox", get("dev_outbox"))?,
            public_base,
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
            .map_err(|m| m.error)
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn defaults_are_safe() {
        let s = load(&[("secret_key", KEY)]).unwrap();
        assert!(s.access.principals.is_empty() && s.cors_origins.is_empty() && !s.dev_outbox);
        assert_eq!(s.cors_methods, ["GET", "OPTIONS", "HEAD"]);
        assert_eq!((s.max_fails, s.totp_window, s.hotp_lookahead, s.challenge_ttl), (5, 1, 10, 300));
        let budget = s.send_budget;
        assert_eq!((budget.cooldown, budget.per_hour, budget.tenant_per_hour), (30, 10, 2000));
        assert_eq!(s.access.secret_key[31], 31);
    }

    /// Found while writing the fuzz harness: 64 hex digits also decode as base64 (to 48 bytes),
    /// and a hex key such as `openssl rand -hex 32` prints was refused.
    #[test]
    fn secret_key_in_hex_or_base64() {
        let hex = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";
        for text in [KEY, hex, &format!("  {hex}\n")] {
            assert_eq!(load(&[("secret_key", text)]).unwrap().access.secret_key[31], 31, "{text}");
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
            (vec![("secret_key", KEY), ("scim_cors_origin", "a.example.com:8443")], "scim_cors_origin"),
            (
                vec![("secret_key", KEY), ("scim_cors_origin", "https://a.example.com/app")],
                "scim_cors_origin",
            ),
            (vec![("secret_key", KEY), ("public_base_url", "https://a.example.com/x?y")], "public_base_url"),
            (vec![("secret_key", KEY), ("tenants", "default, Acme")], "tenants"),
            (vec![("secret_key", KEY), ("tenants", "acme, v2")], "tenants"),
            (vec![("secret_key", KEY), ("tenants", "acme")], "tenants"),
            (vec![("secret_key", KEY), ("default_tenant", "-x")], "default_tenant"),
            (
                vec![
                    ("secret_key", KEY),
                    (
                        "scim_users",
                        "[{\"user\":\"a\",\"password_hash\":\"$argon2id$x\",\"rights\":[],\"tenants\":[\"ghost\"]}]",
                    ),
                ],
                "scim_users",
            ),
            (
                vec![
                    ("secret_key", KEY),
                    (
                        "scim_users",
                        "[{\"user\":\"a\",\"password_hash\":\"$argon2id$x\",\"rights\":[],\"tenants\":[\"*\",\"default\"]}]",
                    ),
                ],
                "scim_users",
            ),
        ] {
            let e = load(&vars).unwrap_err();
            assert_eq!(e.variable, variable, "{vars:?}");
            assert!(e.to_string().contains(&format!("SPIN_VARIABLE_{}", variable.to_uppercase())));
        }
    }

    /// A bad value may be a secret: no error message repeats it, whatever the variable.
    #[test]
    fn errors_never_repeat_the_value() {
        let secret = "k3y-s3cr3t-VALUE";
        for variable in [
            "scim_users",
            "api_tokens",
            "secret_key",
            "scim_cors_origin",
            "scim_cors_methods",
            "otp_algorithm",
            "otp_digits",
            "otp_period",
            "totp_window",
            "hotp_lookahead",
            "resync_window",
            "seed_export",
            "max_fails",
            "challenge_ttl_seconds",
            "send_cooldown_seconds",
            "sends_per_hour",
            "tenant_sends_per_hour",
            "sqlite_lock_wait_ms",
            "delivery_webhook_url",
            "dev_outbox",
            "public_base_url",
            "tenants",
            "default_tenant",
        ] {
            for value in [
                secret.to_owned(),
                format!("hooks.example.com/send?key={secret}"),
                format!(
                    "[{{\"user\":\"{secret}\",\"password_hash\":\"{secret}\",\"rights\":[\"{secret}\"]}}]"
                ),
                format!("[\"{secret}\"]"),
                format!("[{{\"name\":\"{secret}\",\"sha256\":\"{secret}\",\"rights\":[]}}]"),
            ] {
                let vars = [("secret_key", KEY), (variable, value.as_str())];
                let vars = if variable == "secret_key" { &vars[1..] } else { &vars[..] };
                if let Err(e) = load(vars) {
                    assert!(!e.to_string().contains("s3cr3t"), "{variable}={value}: {e}");
                }
            }
        }
    }

    #[test]
    fn tenants_and_grants() {
        let users = r#"[{"user":"a","password_hash":"$argon2id$x","rights":[]},
            {"user":"b","password_hash":"$argon2id$x","rights":[],"tenants":["acme"]},
            {"user":"c","password_hash":"$argon2id$x","rights":[],"tenants":["*"]}]"#;
        let s = load(&[
            ("secret_key", KEY),
            ("tenants", "main, acme"),
            ("default_tenant", "main"),
            ("scim_users", users),
        ])
        .unwrap();
        assert_eq!(
            s.access.tenants,
            Tenants { names: vec!["main".into(), "acme".into()], default: "main".into() }
        );
        let grants: Vec<_> = s.access.principals.iter().map(|p| p.tenants.clone()).collect();
        assert_eq!(
            grants,
            [
                TenantGrant::Only(vec!["main".into()]),
                TenantGrant::Only(vec!["acme".into()]),
                TenantGrant::All
            ]
        );
        assert_eq!(load(&[("secret_key", KEY)]).unwrap().access.tenants.names, ["default"]);
        assert!(
            is_tenant_name("a")
                && is_tenant_name("0-x")
                && !is_tenant_name("v2")
                && !is_tenant_name(&"a".repeat(64))
        );
    }

    #[test]
    fn origins_and_urls_are_parsed_once() {
        let s = load(&[
            ("secret_key", KEY),
            ("scim_cors_origin", "https://A.example.com:443, b.example.com, *"),
            ("public_base_url", "HTTPS://otp.example.com:443/base/"),
            ("delivery_webhook_url", "https://hooks.example.com/send?key=abc"),
        ])
        .unwrap();
        assert_eq!(s.cors_origins.len(), 3);
        assert_eq!(s.public_base.as_ref().map(|p| p.url.as_str()), Some("https://otp.example.com/base"));
        assert_eq!(s.delivery_webhook.as_ref().map(|w| w.host.as_str()), Some("hooks.example.com"));
        assert_eq!(
            s.delivery_webhook.map(|w| w.url),
            Some("https://hooks.example.com/send?key=abc".to_owned()),
            "the URL itself is kept as given"
        );
    }

    /// With the access part fine, the error still carries it, so an admin can be told.
    #[test]
    fn a_bad_setting_keeps_the_access_part() {
        let get = |name: &str| match name {
            "secret_key" => Some(KEY.to_owned()),
            "max_fails" => Some("zero".to_owned()),
            _ => None,
        };
        let failure = Settings::load(&get).unwrap_err();
        assert_eq!((failure.error.variable, failure.access.is_some()), ("max_fails", true));
        let failure = Settings::load(&|_| None).unwrap_err();
        assert_eq!((failure.error.variable, failure.access.is_some()), ("secret_key", false));
    }
}

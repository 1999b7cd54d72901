//! CORS as Soffid configures it (SPEC §10): `scim_cors_origin` entries are `*`, a host (any
//! scheme and port) or an exact origin; `scim_cors_methods` lists the methods a browser may use.

use crate::settings::Settings;

pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Accept-Language, If-Match";
pub const EXPOSE_HEADERS: &str = "ETag, Location";
pub const MAX_AGE: &str = "600";

/// `scheme://host[:port]` split into its parts (host lower-cased).
fn parts(origin: &str) -> Option<(&str, String)> {
    let (scheme, rest) = origin.split_once("://")?;
    let host_port = rest.split('/').next()?;
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host_port.split(':').next()?,
    };
    Some((scheme, host.to_ascii_lowercase()))
}

pub fn origin_allowed(settings: &Settings, origin: &str) -> bool {
    let Some((_, host)) = parts(origin) else { return false };
    settings.cors_origins.iter().any(|entry| {
        entry == "*"
            || if entry.contains("://") {
                entry.trim_end_matches('/').eq_ignore_ascii_case(origin)
            } else {
                entry.eq_ignore_ascii_case(&host)
            }
    })
}

pub fn method_allowed(settings: &Settings, method: &str) -> bool {
    settings.cors_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// The headers that let a browser read the response of an allowed cross-origin request.
pub fn response_headers(origin: &str) -> Vec<(String, String)> {
    vec![
        ("access-control-allow-origin".into(), origin.to_owned()),
        ("vary".into(), "Origin".into()),
        ("access-control-expose-headers".into(), EXPOSE_HEADERS.into()),
    ]
}

/// The headers of a successful preflight.
pub fn preflight_headers(settings: &Settings, origin: &str) -> Vec<(String, String)> {
    let mut headers = response_headers(origin);
    headers.push(("access-control-allow-methods".into(), settings.cors_methods.join(", ")));
    headers.push(("access-control-allow-headers".into(), ALLOW_HEADERS.into()));
    headers.push(("access-control-max-age".into(), MAX_AGE.into()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(origins: &[&str]) -> Settings {
        let mut s = crate::tests::settings();
        s.cors_origins = origins.iter().map(|o| (*o).to_owned()).collect();
        s
    }

    #[test]
    fn entries_without_scheme_match_any_scheme_and_port() {
        let s = settings(&["admin.example.com", "https://ops.example.com:8443"]);
        assert!(origin_allowed(&s, "https://admin.example.com"));
        assert!(origin_allowed(&s, "http://ADMIN.example.com:8080"));
        assert!(!origin_allowed(&s, "https://evil-admin.example.com"));
        assert!(origin_allowed(&s, "https://ops.example.com:8443"));
        assert!(!origin_allowed(&s, "https://ops.example.com"));
        assert!(!origin_allowed(&s, "null"));
        assert!(origin_allowed(&settings(&["*"]), "http://127.0.0.1:5000"));
        assert!(!origin_allowed(&settings(&[]), "http://127.0.0.1:5000"));
    }
}

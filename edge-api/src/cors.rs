//! CORS as Soffid configures it (SPEC §10): `scim_cors_origin` entries are `*`, a host (any
//! scheme and port) or an exact origin; `scim_cors_methods` lists the methods a browser may use.

use crate::origin::Origin;
use crate::settings::Settings;

pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, Accept, Accept-Language, If-Match";
pub const EXPOSE_HEADERS: &str = "ETag, Location";
pub const MAX_AGE: &str = "600";

pub fn origin_allowed(settings: &Settings, origin: &Origin) -> bool {
    settings.cors_origins.iter().any(|entry| entry.allows(origin))
}

pub fn method_allowed(settings: &Settings, method: &str) -> bool {
    settings.cors_methods.iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// Every answer to a browser's cross-origin request depends on its `Origin`, refusals too:
/// caches must not hand one origin's answer to another.
pub fn vary() -> (String, String) {
    ("vary".into(), "Origin".into())
}

/// The headers that let a browser read the response of an allowed cross-origin request: the
/// `Origin` exactly as the browser sent it.
pub fn response_headers(origin: &str) -> Vec<(String, String)> {
    vec![
        ("access-control-allow-origin".into(), origin.to_owned()),
        vary(),
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
    use crate::origin::CorsEntry;

    fn settings(origins: &[&str]) -> Settings {
        let mut s = crate::tests::settings();
        s.cors_origins = origins.iter().map(|o| CorsEntry::parse(o).unwrap()).collect();
        s
    }

    fn allowed(s: &Settings, origin: &str) -> bool {
        Origin::parse(origin).is_some_and(|o| origin_allowed(s, &o))
    }

    #[test]
    fn entries_without_scheme_match_any_scheme_and_port() {
        let s = settings(&["admin.example.com", "https://ops.example.com:8443", "https://a.example.com:443"]);
        assert!(allowed(&s, "https://admin.example.com"));
        assert!(allowed(&s, "http://ADMIN.example.com:8080"));
        assert!(!allowed(&s, "https://evil-admin.example.com"));
        assert!(allowed(&s, "https://ops.example.com:8443"));
        assert!(!allowed(&s, "https://ops.example.com"));
        assert!(allowed(&s, "https://a.example.com"), "the default port is the same origin");
        assert!(!allowed(&s, "null"));
        assert!(allowed(&settings(&["*"]), "http://127.0.0.1:5000"));
        assert!(!allowed(&settings(&[]), "http://127.0.0.1:5000"));
    }
}

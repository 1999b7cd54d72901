//! Web origins (RFC 6454): the one parser for the URL a request came in on, a browser's `Origin`
//! header, `public_base_url` and the `scim_cors_origin` entries, normalised so that equal origins
//! compare equal (`HTTPS://A.example.com:443` is `https://a.example.com`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    /// `None` for the scheme's default port (80 for http, 443 for https), as browsers write it.
    port: Option<u16>,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    }
}

/// A host as URLs write it: a DNS name or IPv4 address, or an IPv6 address in brackets; lower case.
fn parse_host(text: &str) -> Option<String> {
    if let Some(v6) = text.strip_prefix('[') {
        let inner = v6.strip_suffix(']')?;
        let valid =
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        return valid.then(|| format!("[{}]", inner.to_ascii_lowercase()));
    }
    let valid = !text.is_empty()
        && text.len() <= 253
        && text.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    valid.then(|| text.to_ascii_lowercase())
}

/// `host[:port]` split at the port's colon (not one inside an IPv6 address).
fn split_port(authority: &str) -> (&str, Option<&str>) {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    }
}

impl Origin {
    /// `scheme://host[:port]`, with nothing after it but an optional `/`.
    pub fn parse(text: &str) -> Option<Origin> {
        let (origin, rest) = Origin::parse_prefix(text)?;
        matches!(rest, "" | "/").then_some(origin)
    }

    /// The origin at the start of an absolute URL, and the rest of the URL (path, query).
    pub fn parse_prefix(url: &str) -> Option<(Origin, &str)> {
        let (scheme, rest) = url.split_once("://")?;
        let valid_scheme = scheme.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
        if !valid_scheme {
            return None;
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (host, port) = split_port(authority);
        let scheme = scheme.to_ascii_lowercase();
        let port = match port {
            None => None,
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                let port: u16 = digits.parse().ok()?;
                (default_port(&scheme) != Some(port)).then_some(port)
            }
            Some(_) => return None,
        };
        Some((Origin { host: parse_host(host)?, scheme, port }, tail))
    }

    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
}

/// One `scim_cors_origin` entry (SPEC §10, after Soffid's `soffid.scim.cors.origin`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsEntry {
    /// `*`: any origin.
    Any,
    /// A host without scheme or port (`admin.example.com`): that host on any scheme and port.
    Host(String),
    /// `scheme://host[:port]`: exactly that origin.
    Exact(Origin),
}

impl CorsEntry {
    /// `None` for what is neither: a host with a port but no scheme (`a.example.com:8443`), a
    /// URL with a path, an address with user info.
    pub fn parse(text: &str) -> Option<CorsEntry> {
        if text == "*" {
            return Some(CorsEntry::Any);
        }
        if text.contains("://") {
            return Origin::parse(text).map(CorsEntry::Exact);
        }
        parse_host(text).map(CorsEntry::Host)
    }

    pub fn allows(&self, origin: &Origin) -> bool {
        match self {
            CorsEntry::Any => true,
            CorsEntry::Host(host) => *host == origin.host,
            CorsEntry::Exact(exact) => exact == origin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> String {
        Origin::parse(text).map(|o| o.to_string()).unwrap_or_else(|| "-".into())
    }

    #[test]
    fn origins_are_normalised() {
        assert_eq!(origin("https://a.example.com:443"), "https://a.example.com");
        assert_eq!(origin("HTTPS://A.Example.COM/"), "https://a.example.com");
        assert_eq!(origin("http://a.example.com:80"), "http://a.example.com");
        assert_eq!(origin("http://a.example.com:443"), "http://a.example.com:443");
        assert_eq!(origin("https://a.example.com:8443"), "https://a.example.com:8443");
        assert_eq!(origin("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
        assert_eq!(origin("http://[::1]:3000"), "http://[::1]:3000");
        assert_eq!(origin("http://[::1]"), "http://[::1]");
        for bad in [
            "null",
            "a.example.com",
            "https://",
            "https://a.example.com:x",
            "https://u@a.example.com",
            "https://a.example.com/path",
            "https://a..b",
            "https://a.example.com:70000",
            "1http://a",
        ] {
            assert_eq!(origin(bad), "-", "{bad}");
        }
    }

    #[test]
    fn a_url_splits_into_origin_and_rest() {
        let (o, rest) = Origin::parse_prefix("http://127.0.0.1:3000/scim/v2/OtpDevice?x=1").unwrap();
        assert_eq!((o.to_string().as_str(), rest), ("http://127.0.0.1:3000", "/scim/v2/OtpDevice?x=1"));
    }

    #[test]
    fn cors_entries_are_hosts_or_origins() {
        let allows =
            |entry: &str, o: &str| CorsEntry::parse(entry).unwrap().allows(&Origin::parse(o).unwrap());
        assert!(allows("https://a.example.com:443", "https://a.example.com"));
        assert!(allows("HTTPS://A.EXAMPLE.COM", "https://a.example.com"));
        assert!(allows("Admin.Example.com", "http://admin.example.com:8080"));
        assert!(!allows("admin.example.com", "https://evil-admin.example.com"));
        assert!(!allows("https://ops.example.com:8443", "https://ops.example.com"));
        assert!(allows("*", "http://127.0.0.1:5000"));
        for bad in ["a.example.com:8443", "https://a.example.com/app", "", "a b", "https://a.example.com:0x"]
        {
            assert_eq!(CorsEntry::parse(bad), None, "{bad}");
        }
    }
}

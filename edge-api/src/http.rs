//! The request and response the API works on: plain data, independent of Spin's types, so the
//! whole API is one function that native tests can call without a host.

use crate::origin::Origin;

/// An HTTP request as the component received it. Header names are lower case.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    /// The path after the host, without the query (`/scim/v2/OtpDevice/7`).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The origin the client used (from the `spin-full-url` Spin set), for absolute URLs and
    /// for recognising same-origin requests; `None` when the host gave none.
    pub origin: Option<Origin>,
    /// The client's address as Spin gives it (`spin-client-addr`, `ip:port`), for login budgets.
    pub client: String,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Query parameters, percent-decoded (`+` is a space, as forms send it).
    pub fn query_params(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(name), percent_decode(value))
            })
            .collect()
    }
}

fn percent_decode(text: &str) -> String {
    let hex = |b: u8| char::from(b).to_digit(16).map(|d| d as u8);
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => Some(high << 4 | low),
            _ => None,
        };
        match (escaped, bytes[i]) {
            (Some(byte), _) => {
                out.push(byte);
                i += 3;
            }
            (None, b'+') => {
                out.push(b' ');
                i += 1;
            }
            (None, byte) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

pub const SCIM_JSON: &str = "application/scim+json";

impl ApiResponse {
    pub fn empty(status: u16) -> ApiResponse {
        ApiResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    pub fn json(status: u16, value: &impl serde::Serialize) -> ApiResponse {
        // Serializing our own types cannot fail; an empty body would be the only symptom.
        let body = serde_json::to_vec(value).unwrap_or_default();
        ApiResponse { status, headers: vec![("content-type".into(), SCIM_JSON.into())], body }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> ApiResponse {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let request = ApiRequest {
            query: "filter=type%20eq%20%22TOTP%22&count=5&x&bad=%zz%4".into(),
            ..Default::default()
        };
        assert_eq!(
            request.query_params(),
            [
                ("filter".to_owned(), "type eq \"TOTP\"".to_owned()),
                ("count".to_owned(), "5".to_owned()),
                ("x".to_owned(), String::new()),
                ("bad".to_owned(), "%zz%4".to_owned()),
            ]
        );
    }
}

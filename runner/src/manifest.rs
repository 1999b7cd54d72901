//! The parts of `spin.toml` (manifest version 2) that a local host needs: HTTP routes, the
//! components' sources, files, variables, SQLite databases and allowed outbound hosts.

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
pub struct Manifest {
    pub spin_manifest_version: u32,
    #[serde(default)]
    pub variables: BTreeMap<String, VariableDef>,
    pub trigger: Triggers,
    pub component: BTreeMap<String, ComponentDef>,
}

#[derive(Debug, Deserialize)]
pub struct VariableDef {
    pub default: Option<String>,
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Deserialize)]
pub struct Triggers {
    pub http: Vec<HttpTrigger>,
}

#[derive(Debug, Deserialize)]
pub struct HttpTrigger {
    pub route: String,
    pub component: String,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Source {
    Path(String),
    Url { url: String },
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum FileMount {
    Pattern(String),
    Mapped { source: String, destination: String },
}

#[derive(Debug, Deserialize)]
pub struct ComponentDef {
    pub source: Source,
    #[serde(default)]
    pub files: Vec<FileMount>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub sqlite_databases: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl Manifest {
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let manifest: Manifest =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        if manifest.spin_manifest_version != 2 {
            bail!(
                "{}: spin_manifest_version {} (only 2 is supported)",
                path.display(),
                manifest.spin_manifest_version
            );
        }
        for trigger in &manifest.trigger.http {
            if !manifest.component.contains_key(&trigger.component) {
                bail!("route {} names unknown component {}", trigger.route, trigger.component);
            }
        }
        Ok(manifest)
    }
}

/// A route pattern as Spin writes it: `/exact` or `/prefix/...` (the prefix and anything below).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub pattern: String,
    pub base: String,
    pub wildcard: bool,
    pub component: String,
}

impl Route {
    pub fn parse(pattern: &str, component: &str) -> Route {
        let (base, wildcard) = match pattern.strip_suffix("/...") {
            Some(base) => (base.to_owned(), true),
            None => (pattern.trim_end_matches('/').to_owned(), false),
        };
        Route { pattern: pattern.to_owned(), base, wildcard, component: component.to_owned() }
    }

    /// The path below the route (Spin's `spin-path-info`) if the route takes `path`.
    pub fn matches<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.base.as_str())?;
        let below = rest.is_empty() || rest.starts_with('/');
        match (self.wildcard, below) {
            (true, true) => Some(rest),
            (false, _) if rest.is_empty() || rest == "/" => Some(""),
            _ => None,
        }
    }
}

/// Spin's choice among routes: the most specific (longest base) that matches.
pub fn best_route<'r>(routes: &'r [Route], path: &str) -> Option<(&'r Route, String)> {
    routes
        .iter()
        .filter_map(|r| r.matches(path).map(|info| (r, info.to_owned())))
        .max_by_key(|(r, _)| (r.base.len(), !r.wildcard))
}

/// An `allowed_outbound_hosts` entry: `scheme://host[:port]`, with `*` for any scheme, host or
/// port and `*.domain` for subdomains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    scheme: String,
    host: String,
    port: Option<String>,
}

impl AllowedHost {
    pub fn parse(entry: &str) -> Result<AllowedHost> {
        let (scheme, rest) = entry
            .split_once("://")
            .with_context(|| format!("allowed_outbound_hosts: \"{entry}\" has no scheme"))?;
        let rest = rest.trim_end_matches('/');
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port.to_owned())),
            None => (rest, None),
        };
        Ok(AllowedHost { scheme: scheme.to_ascii_lowercase(), host: host.to_ascii_lowercase(), port })
    }

    pub fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme == "*" || self.scheme.eq_ignore_ascii_case(scheme);
        let host = host.to_ascii_lowercase();
        let host_ok = self.host == "*"
            || self.host == host
            || self.host.strip_prefix("*.").is_some_and(|domain| host.ends_with(&format!(".{domain}")));
        let default_port = match scheme {
            "https" => 443,
            _ => 80,
        };
        let port_ok = match self.port.as_deref() {
            None => port == default_port,
            Some("*") => true,
            Some(p) => p.parse::<u16>().ok() == Some(port),
        };
        scheme_ok && host_ok && port_ok
    }
}

/// Resolves a component's `source` path against the manifest's folder.
pub fn source_path(manifest_dir: &Path, source: &Source) -> Option<PathBuf> {
    match source {
        Source::Path(path) => Some(manifest_dir.join(path)),
        Source::Url { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_pick_the_most_specific() {
        let routes = [
            Route::parse("/...", "spa"),
            Route::parse("/scim/v2/...", "api"),
            Route::parse("/health", "api"),
        ];
        assert_eq!(
            best_route(&routes, "/scim/v2/OtpDevice").map(|(r, i)| (r.component.as_str(), i)),
            Some(("api", "/OtpDevice".into()))
        );
        assert_eq!(best_route(&routes, "/scim/v2").map(|(r, _)| r.component.as_str()), Some("api"));
        assert_eq!(best_route(&routes, "/scim/v22").map(|(r, _)| r.component.as_str()), Some("spa"));
        assert_eq!(best_route(&routes, "/health").map(|(r, _)| r.component.as_str()), Some("api"));
        assert_eq!(
            best_route(&routes, "/index.html").map(|(r, i)| (r.component.as_str(), i)),
            Some(("spa", "/index.html".into()))
        );
    }

    /// Spin gives a component only the variables its own `[component.*.variables]` table maps:
    /// an application variable missing there reads as unset in the component, whatever
    /// `SPIN_VARIABLE_*` says (so `sqlite_lock_wait_ms = 0` for libSQL would not reach it).
    #[test]
    fn the_shipped_manifest_gives_the_api_every_variable() {
        let manifest = Manifest::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml")).unwrap();
        let api = &manifest.component["scim-otp-api"];
        for name in manifest.variables.keys() {
            assert_eq!(
                api.variables.get(name).map(String::as_str),
                Some(format!("{{{{ {name} }}}}").as_str()),
                "{name}"
            );
        }
    }

    #[test]
    fn outbound_hosts_as_spin_writes_them() {
        let any_https = AllowedHost::parse("https://*:443").unwrap();
        assert!(any_https.allows("https", "gw.example.com", 443));
        assert!(!any_https.allows("http", "gw.example.com", 80));
        let local = AllowedHost::parse("http://127.0.0.1:*").unwrap();
        assert!(local.allows("http", "127.0.0.1", 8081));
        assert!(!local.allows("http", "10.0.0.1", 8081));
        let sub = AllowedHost::parse("https://*.example.com").unwrap();
        assert!(sub.allows("https", "a.example.com", 443) && !sub.allows("https", "example.org", 443));
    }
}

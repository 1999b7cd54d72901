//! The runner's state directory (`.spin/` by default): the SQLite files, and on first start a
//! generated `secret_key` and `admin` login, kept so that later starts reuse them.
//! Variable values follow Spin: `SPIN_VARIABLE_<NAME>` over the manifest's defaults.

use crate::manifest::Manifest;
use anyhow::{Context, Result, bail};
use argon2::password_hash::{PasswordHasher, SaltString};
use data_encoding::{BASE32_NOPAD, BASE64};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub struct State {
    dir: PathBuf,
}

pub enum Login {
    Generated { user: String, password: String, file: PathBuf },
    Configured,
}

fn random(len: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(bytes)
}

/// Writes a file only its owner can read (it holds a key or a password).
fn write_private(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}

fn env_variable(name: &str) -> Option<String> {
    std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
}

impl State {
    pub fn open(dir: &Path) -> Result<State> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating state directory {}", dir.display()))?;
        Ok(State { dir: dir.to_path_buf() })
    }

    /// A value kept in the state directory, created by `make` on first use.
    fn kept(&self, file: &str, make: impl FnOnce() -> Result<String>) -> Result<String> {
        let path = self.dir.join(file);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.trim().to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let value = make()?;
                write_private(&path, &value)?;
                Ok(value)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// The application variables: environment first, then what the runner provides for local
    /// use (`secret_key`, an `admin` principal, `dev_outbox = true`), then the manifest defaults.
    pub fn application_variables(&self, manifest: &Manifest) -> Result<(BTreeMap<String, String>, Login)> {
        let mut values = BTreeMap::new();
        let mut login = Login::Configured;
        for (name, def) in &manifest.variables {
            let value = match (env_variable(name), name.as_str()) {
                (Some(value), _) => Some(value),
                (None, "secret_key") => Some(self.kept("secret_key", || Ok(BASE64.encode(&random(32)?)))?),
                (None, "scim_users") => {
                    let password = self.kept("admin-password", || {
                        Ok(BASE32_NOPAD.encode(&random(15)?).to_ascii_lowercase())
                    })?;
                    let salt = SaltString::encode_b64(&random(16)?).map_err(|e| anyhow::anyhow!("{e}"))?;
                    let hash = argon2::Argon2::default()
                        .hash_password(password.as_bytes(), &salt)
                        .map_err(|e| anyhow::anyhow!("{e}"))?
                        .to_string();
                    login = Login::Generated {
                        user: "admin".into(),
                        password,
                        file: self.dir.join("admin-password"),
                    };
                    Some(format!(r#"[{{"user":"admin","password_hash":"{hash}","rights":["scim:admin"]}}]"#))
                }
                (None, "dev_outbox") => Some("true".to_owned()),
                (None, _) => def.default.clone(),
            };
            match value {
                Some(value) => {
                    values.insert(name.clone(), value);
                }
                None if def.required => {
                    bail!("variable {name} is required: set SPIN_VARIABLE_{}", name.to_ascii_uppercase())
                }
                None => {}
            }
        }
        Ok((values, login))
    }
}

/// Expands `{{ name }}` references to application variables, as Spin's templates do.
pub fn expand(template: &str, variables: &BTreeMap<String, String>) -> Result<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end =
            rest[start..].find("}}").with_context(|| format!("unclosed {{{{ in \"{template}\""))? + start;
        let name = rest[start + 2..end].trim();
        let value =
            variables.get(name).with_context(|| format!("\"{template}\" names unknown variable {name}"))?;
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_expand_variables() {
        let vars = BTreeMap::from([("max_fails".to_owned(), "5".to_owned())]);
        assert_eq!(expand("{{ max_fails }}", &vars).unwrap(), "5");
        assert_eq!(expand("n={{max_fails}}!", &vars).unwrap(), "n=5!");
        assert!(expand("{{ nope }}", &vars).is_err());
        assert!(expand("{{ max_fails", &vars).is_err());
    }
}

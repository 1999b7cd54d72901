//! `--spin PATH`: the same application under the Spin CLI instead of this host. The runner
//! resolves what it would give the component (the `secret_key` and `admin` login generated once
//! in the state directory, `dev_outbox`), writes a copy of the manifest into the state directory
//! (component sources as absolute paths, mounted directories copied beside it, since Spin maps
//! only files inside the application's directory), and replaces itself with
//! `spin up --from <copy> --state-dir <dir> --listen <address>`: one way to make the login, two
//! hosts, and the process a caller started (and may kill) is Spin itself.
//!
//! The copy differs from the manifest only where this machine needs it to: the component given by
//! `--component` (the shared target directory's build), and a component whose source is a URL
//! served by `--fileserver FILE` when one is given (Spin cannot download here).

use crate::manifest::Manifest;
use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SpinOptions {
    pub binary: PathBuf,
    pub fileserver: Option<PathBuf>,
    pub runtime_config: Option<PathBuf>,
    /// `--disable-cache`, passed on: Spin has the same option.
    pub disable_cache: bool,
    /// The instance reuse options as given, passed on (Spin's own).
    pub reuse_flags: Vec<String>,
}

/// The directories a copy mounts: (the original, where the copy has it, relative to the copy).
type Mounts = Vec<(PathBuf, String)>;

/// The manifest's text with the component sources absolute or replaced as above, and the
/// directories its file mounts need beside it.
fn derived_manifest(
    text: &str,
    manifest_dir: &Path,
    component: Option<&Path>,
    fileserver: Option<&Path>,
) -> Result<(String, Mounts)> {
    let mut document: toml::Table = toml::from_str(text).context("parsing the manifest")?;
    let Some(toml::Value::Table(components)) = document.get_mut("component") else {
        bail!("the manifest has no [component] tables");
    };
    let mut mounts = Vec::new();
    for (id, value) in components.iter_mut() {
        let Some(table) = value.as_table_mut() else { continue };
        // `spin up` never builds; the build section's relative paths would only mislead.
        table.remove("build");
        let source = match table.get("source") {
            Some(toml::Value::String(path)) => Some(match component {
                Some(wasm) => wasm.to_path_buf(),
                None => manifest_dir.join(path),
            }),
            Some(toml::Value::Table(_)) => fileserver.map(Path::to_path_buf),
            _ => bail!("component {id} has no source"),
        };
        if let Some(source) = source {
            table.insert("source".into(), toml::Value::String(source.to_string_lossy().into_owned()));
        }
        // Each mounted directory is copied next to the copy, as `files/<component>-<n>`.
        if let Some(toml::Value::Array(files)) = table.get_mut("files") {
            for (n, mount) in files.iter_mut().enumerate() {
                let Some(toml::Value::String(source)) = mount.get_mut("source") else {
                    bail!("component {id}: the runner copies only {{ source, destination }} mounts");
                };
                let copy = format!("files/{id}-{n}");
                mounts.push((manifest_dir.join(&*source), copy.clone()));
                *source = copy;
            }
        }
    }
    Ok((toml::to_string(&document).context("writing the manifest copy")?, mounts))
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// Writes the manifest copy and becomes `spin up`; returns only if Spin could not be started.
pub fn exec(
    spin: &SpinOptions,
    manifest_path: &Path,
    manifest: &Manifest,
    component: Option<&Path>,
    state_dir: &Path,
    listen: std::net::SocketAddr,
    variables: &BTreeMap<String, String>,
) -> Result<()> {
    let manifest_dir = manifest_path.parent().unwrap_or(Path::new("/"));
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let absolute = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let component = component.map(absolute);
    let fileserver = spin.fileserver.as_deref().map(absolute);
    let (derived, mounts) =
        derived_manifest(&text, manifest_dir, component.as_deref(), fileserver.as_deref())?;
    let files = state_dir.join("files");
    if files.exists() {
        std::fs::remove_dir_all(&files).with_context(|| format!("removing {}", files.display()))?;
    }
    for (from, to) in &mounts {
        copy_dir(from, &state_dir.join(to))?;
    }
    let copy = state_dir.join("spin.toml");
    std::fs::write(&copy, derived).with_context(|| format!("writing {}", copy.display()))?;
    let mut command = Command::new(&spin.binary);
    command.arg("up").arg("--from").arg(&copy).arg("--state-dir").arg(state_dir);
    command.arg("--listen").arg(listen.to_string());
    if let Some(config) = &spin.runtime_config {
        command.arg("--runtime-config-file").arg(config);
    }
    if spin.disable_cache {
        command.arg("--disable-cache");
    }
    command.args(&spin.reuse_flags);
    // Every variable the manifest declares, as the runner resolved it: the environment's
    // values stay what they were, the generated ones reach Spin the only way it reads them.
    for name in manifest.variables.keys() {
        if let Some(value) = variables.get(name) {
            command.env(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase()), value);
        }
    }
    let error = command.exec();
    Err(error).with_context(|| format!("starting {}", spin.binary.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_has_absolute_sources_its_files_beside_it_and_no_build() {
        let text = r#"
spin_manifest_version = 2
[application]
name = "x"
[[trigger.http]]
route = "/..."
component = "spa"
[component.api]
source = "target/api.wasm"
[component.api.build]
command = "cargo build"
[component.spa]
source = { url = "https://example.com/fs.wasm", digest = "sha256:00" }
files = [{ source = "dist", destination = "/" }]
"#;
        let fileserver = Some(Path::new("/bin/fs.wasm"));
        let (copy, mounts) = derived_manifest(text, Path::new("/app"), None, fileserver).unwrap();
        assert_eq!(mounts, [(PathBuf::from("/app/dist"), "files/spa-0".to_owned())]);
        let copy: toml::Table = toml::from_str(&copy).unwrap();
        let component = |id: &str| copy["component"][id].as_table().unwrap().clone();
        assert_eq!(component("api")["source"].as_str(), Some("/app/target/api.wasm"));
        assert!(!component("api").contains_key("build"));
        assert_eq!(component("spa")["source"].as_str(), Some("/bin/fs.wasm"));
        assert_eq!(component("spa")["files"][0]["source"].as_str(), Some("files/spa-0"));
        assert_eq!(copy["trigger"]["http"][0]["component"].as_str(), Some("spa"));

        let built = Some(Path::new("/t/a.wasm"));
        let (built, _) = derived_manifest(text, Path::new("/app"), built, None).unwrap();
        let built: toml::Table = toml::from_str(&built).unwrap();
        assert_eq!(built["component"]["api"]["source"].as_str(), Some("/t/a.wasm"));
        assert!(built["component"]["spa"]["source"].is_table(), "a URL source stays without --fileserver");
    }
}

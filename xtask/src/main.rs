//! Project commands: `cargo xtask setup` installs what is missing, `cargo xtask test` runs every check.
//!
//! Everything comes from the registries this project may use (rustup, Debian's apt); each step
//! checks first and skips what is already there, so the commands are cheap to repeat.

use std::env;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

const WASM_TARGETS: &[&str] = &["wasm32-unknown-unknown", "wasm32-wasip2"];

/// Debian packages the tests call, as (command it provides, package).
const DEBIAN_TOOLS: &[(&str, &str)] =
    &[("oathtool", "oathtool"), ("chromium", "chromium"), ("chromedriver", "chromium-driver")];

/// The coverage-guided fuzz targets in `fuzz/` (cargo fuzz, nightly).
const FUZZ_TARGETS: &[&str] = &["filter", "patch", "validate", "router", "pskc"];
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// The workspace as native code: the SPA only runs in a browser, so it is checked, built and
/// tested for wasm32 alone (compiling leptos natively as well cost minutes and tested nothing).
const NATIVE_WORKSPACE: &[&str] = &["--workspace", "--exclude", "frontend", "--exclude", "edge-api-p3"];

/// Trunk 0.22 needs a newer rustc than ours (TOOLCHAIN.md).
const TRUNK_VERSION: &str = "0.21.14";

type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    if let Some(code) = rerun_if_stale() {
        return code;
    }
    let task = env::args().nth(1).unwrap_or_default();
    let outcome = match task.as_str() {
        "setup" => setup(),
        "test" => setup().and_then(|()| test()),
        "test-libsql" => setup().and_then(|()| test_libsql()),
        "up" => setup().and_then(|()| up(env::args().skip(2).collect())),
        "bench" => setup().and_then(|()| bench(env::args().skip(2).collect())),
        "fuzz" => setup().and_then(|()| fuzz(env::args().skip(2).collect())),
        "size" => setup().and_then(|()| build_spa()).and_then(|()| check_spa_size()),
        _ => {
            eprintln!("usage: cargo xtask <setup|test|up|bench|fuzz|size>");
            eprintln!("  setup  install missing wasm targets and Debian tools");
            eprintln!("  test   setup, then fmt, clippy, every test (HTTP ones against the built component)");
            eprintln!(
                "  test-libsql  the HTTP tests on Spin with database `default` on sqld (libSQL), one node and two"
            );
            eprintln!(
                "  up     build the component and the runner, then serve them (extra args go to the runner,"
            );
            eprintln!("         e.g. cargo xtask up --listen 127.0.0.1:8080)");
            eprintln!(
                "  bench  release builds, then load benchmarks side by side with privacyIDEA, written into"
            );
            eprintln!("         BENCHMARKS.md (--quick: small counts, to check the command)");
            eprintln!(
                "  fuzz   run every fuzz target for N seconds (default 60) on nightly, growing fuzz/corpus/"
            );
            eprintln!(
                "         [--target T] only T; [--jobs N] N processes (libFuzzer -fork); [--no-sanitizer]"
            );
            eprintln!("  size   build the SPA and check its wasm + JS against the 300 KB gzip budget");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask {task}: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Clones share one target directory, and `cargo run` starts the binary at
/// `<target>/debug/xtask`, which the last clone to build xtask wrote. If that was another clone,
/// Cargo still counts this clone's build as fresh and runs the other clone's xtask, on the other
/// clone's files. `cargo run` tells the binary which package it meant (`CARGO_MANIFEST_DIR` at
/// run time): when that is not where this binary was built, mark this clone's xtask as changed
/// and run it again, so Cargo rebuilds it.
fn rerun_if_stale() -> Option<ExitCode> {
    let meant = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR")?);
    if meant == std::path::Path::new(env!("CARGO_MANIFEST_DIR")) {
        return None;
    }
    if env::var_os("XTASK_REBUILT").is_some() {
        eprintln!("xtask: Cargo still runs the xtask built for {}", env!("CARGO_MANIFEST_DIR"));
        return Some(ExitCode::FAILURE);
    }
    eprintln!(
        "xtask: the binary Cargo ran was built for {}; rebuilding for {}",
        env!("CARGO_MANIFEST_DIR"),
        meant.display()
    );
    let rerun = touch(&meant.join("src/main.rs")).and_then(|()| {
        Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .args(["run", "--quiet", "--package", "xtask", "--"])
            .args(env::args().skip(1))
            .current_dir(meant.parent().unwrap_or(&meant))
            .env("XTASK_REBUILT", "1")
            .status()
    });
    Some(match rerun {
        Ok(status) => ExitCode::from(status.code().unwrap_or(1).clamp(0, 255) as u8),
        Err(e) => {
            eprintln!("xtask: cannot rebuild: {e}");
            ExitCode::FAILURE
        }
    })
}

/// Marks a source file changed, so that Cargo rebuilds its crate.
fn touch(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::File::options().append(true).open(path)?.set_modified(std::time::SystemTime::now())
}

/// The same trap for everything built from our own crates: Cargo names their outputs alike in
/// every clone (path crates hash their path relative to the workspace) and judges freshness by
/// file times, so in a checkout older than another clone's last build it may count that build as
/// fresh and link or run it (the fuzz targets once mixed this clone's `shared` with another's
/// `edge-api`). The target directory remembers which clone built last; on a change of clone, one
/// file of each crate is marked changed, so Cargo rebuilds our crates (not the registry ones) here.
const CRATES_WITH_SHARED_OUTPUTS: &[&str] = &[
    "shared/src/lib.rs",
    "edge-api/src/lib.rs",
    "frontend/src/lib.rs",
    "runner/src/main.rs",
    "tests/src/lib.rs",
    "fuzz/fuzz_targets/common.rs",
];

fn claim_target_dir() -> Result {
    let stamp = target_dir().join("scim-otp-built-for");
    let root = project_root().to_string_lossy().into_owned();
    if std::fs::read_to_string(&stamp).is_ok_and(|built_for| built_for == root) {
        return Ok(());
    }
    for source in CRATES_WITH_SHARED_OUTPUTS {
        let path = project_root().join(source);
        touch(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    std::fs::create_dir_all(target_dir())
        .and_then(|()| std::fs::write(&stamp, root))
        .map_err(|e| format!("{}: {e}", stamp.display()))
}

fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// One Cargo target directory shared by every clone of the project on this machine, so a fresh
/// clone (CI's included) reuses what was built before. `CARGO_TARGET_DIR` overrides it.
fn target_dir() -> PathBuf {
    if let Some(dir) = env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    let home = env::var_os("HOME").map(PathBuf::from).unwrap_or_else(env::temp_dir);
    home.join(".cache/scim-otp/target")
}

fn cargo() -> Command {
    let mut command = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(project_root()).env("CARGO_TARGET_DIR", target_dir());
    command
}

fn run(what: &str, command: &mut Command) -> Result {
    println!("==> {what}");
    let status = command.status().map_err(|e| format!("{what}: cannot start: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what}: failed ({status})")) }
}

fn output(command: &mut Command) -> Option<String> {
    let out = command.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn on_path(program: &str) -> bool {
    find_on_path(program).is_some()
}

fn find_on_path(program: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?).map(|dir| dir.join(program)).find(|p| p.is_file())
}

fn setup() -> Result {
    claim_target_dir()?;
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    let missing: Vec<&str> =
        WASM_TARGETS.iter().copied().filter(|t| !installed.lines().any(|l| l.trim() == *t)).collect();
    if !missing.is_empty() {
        run("rustup target add", Command::new("rustup").args(["target", "add"]).args(&missing))?;
    }

    let packages: Vec<&str> =
        DEBIAN_TOOLS.iter().filter(|(tool, _)| !on_path(tool)).map(|(_, package)| *package).collect();
    if !packages.is_empty() {
        apt_install(&packages)?;
    }

    // wasm-opt from npm's binaryen 132 (package-lock.json); Debian's binaryen breaks the wasm.
    let wasm_opt = project_root().join("node_modules/.bin/wasm-opt");
    let have = output(Command::new(&wasm_opt).arg("--version")).unwrap_or_default();
    if !have.contains("version 132") {
        run(
            "npm ci (binaryen)",
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(project_root()),
        )?;
    }

    // Trunk runs offline here (Trunk.toml), so neither its TLS stack nor its update check is
    // needed: --no-default-features drops both.
    cargo_tool("trunk", "trunk", TRUNK_VERSION, true, "0", &["--no-default-features"])?;
    // wasm-bindgen-cli must match the wasm-bindgen crate exactly; its own lockfile pins a crate
    // the registry lacks, so it is installed without --locked (TOOLCHAIN.md).
    let bindgen = locked_version("wasm-bindgen")?;
    cargo_tool("wasm-bindgen", "wasm-bindgen-cli", &bindgen, false, "1", &[])?;
    if has_nightly() {
        cargo_tool("cargo-fuzz", "cargo-fuzz", CARGO_FUZZ_VERSION, true, "0", &[])?;
    }
    Ok(())
}

/// cargo fuzz needs a nightly toolchain; our machines carry one, and rustup must not download it.
fn has_nightly() -> bool {
    output(Command::new("rustup").args(["toolchain", "list"]))
        .is_some_and(|list| list.lines().any(|l| l.starts_with("nightly")))
}

/// `cargo fuzz …` on the nightly toolchain. Through `rustup run`, with `CARGO` (which points
/// at the stable cargo running xtask) removed, so that cargo fuzz's own cargo calls use nightly.
fn cargo_fuzz(args: &[&str]) -> Command {
    let mut command = Command::new("rustup");
    command
        .args(["run", "nightly", "cargo", "fuzz"])
        .args(args)
        .current_dir(project_root().join("fuzz"))
        .env_remove("CARGO")
        .env("CARGO_TARGET_DIR", target_dir());
    command
}

/// How the fuzz targets run: for how long, which, in how many processes, under ASan or not.
struct FuzzRun {
    seconds: u32,
    targets: Vec<&'static str>,
    /// More than one: libFuzzer's fork mode, one process per core.
    jobs: u32,
    /// AddressSanitizer (cargo fuzz's default). It checks the `unsafe` code of our dependencies;
    /// the bundled SQLite is C that cargo fuzz does not instrument, and our own code has no
    /// `unsafe`. Without it the router target runs about 5 times as fast.
    sanitizer: bool,
}

impl FuzzRun {
    fn cargo_fuzz(&self, args: &[&str]) -> Command {
        let mut command = cargo_fuzz(args);
        if !self.sanitizer {
            command.args(["--sanitizer", "none"]);
        }
        command
    }
}

/// Runs each fuzz target for `seconds`. `corpus_out` receives what libFuzzer finds new; the
/// committed corpus is read as well, and so are the inputs of past findings in
/// `fuzz/regressions/<target>/`, which `cargo fuzz cmin` never renames or drops.
fn run_fuzz_targets(fuzz: &FuzzRun, corpus_out: Option<&std::path::Path>) -> Result {
    if !has_nightly() {
        println!(
            "==> fuzzing SKIPPED: no nightly toolchain (`rustup toolchain list`); cargo fuzz needs one. \
             The property tests above still ran."
        );
        return Ok(());
    }
    let fuzz_dir = project_root().join("fuzz");
    let seconds = fuzz.seconds;
    for &target in &fuzz.targets {
        let committed = fuzz_dir.join("corpus").join(target);
        let mut command = fuzz.cargo_fuzz(&["run", target]);
        match corpus_out {
            Some(scratch) => {
                let scratch = scratch.join(target);
                std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
                command.arg(scratch).arg(&committed);
            }
            None => {
                command.arg(&committed);
            }
        }
        let regressions = fuzz_dir.join("regressions").join(target);
        if regressions.is_dir() {
            command.arg(regressions);
        }
        command.args(["--", &format!("-max_total_time={seconds}"), "-print_final_stats=1"]);
        if fuzz.jobs > 1 {
            command.arg(format!("-fork={}", fuzz.jobs));
        }
        run(&format!("cargo fuzz run {target} ({seconds} s)"), &mut command)?;
    }
    Ok(())
}

/// The longer fuzz run: new inputs go into the committed corpus, which is then minimized.
/// `cargo xtask fuzz [SECONDS] [--target T]... [--jobs N] [--no-sanitizer]`.
fn fuzz(args: Vec<String>) -> Result {
    let mut run_as = FuzzRun { seconds: 60, targets: Vec::new(), jobs: 1, sanitizer: true };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => {
                let name = args.next().unwrap_or_default();
                let target = FUZZ_TARGETS.iter().find(|t| **t == name);
                run_as
                    .targets
                    .push(target.ok_or_else(|| format!("no fuzz target {name:?}: {FUZZ_TARGETS:?}"))?);
            }
            "--jobs" => {
                let jobs = args.next().unwrap_or_default();
                run_as.jobs = jobs.parse().map_err(|_| format!("--jobs takes a number, not {jobs:?}"))?;
            }
            "--no-sanitizer" => run_as.sanitizer = false,
            seconds => {
                run_as.seconds =
                    seconds.parse().map_err(|_| format!("cargo xtask fuzz takes seconds, not {seconds}"))?;
            }
        }
    }
    if run_as.targets.is_empty() {
        run_as.targets = FUZZ_TARGETS.to_vec();
    }
    run_fuzz_targets(&run_as, None)?;
    for &target in &run_as.targets {
        run(&format!("cargo fuzz cmin {target}"), &mut run_as.cargo_fuzz(&["cmin", target]))?;
    }
    Ok(())
}

/// The version of a crate in Cargo.lock.
fn locked_version(name: &str) -> Result<String> {
    let lock =
        std::fs::read_to_string(project_root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let entry = format!("name = \"{name}\"\nversion = \"");
    let start = lock.find(&entry).ok_or_else(|| format!("{name} is not in Cargo.lock"))? + entry.len();
    Ok(lock[start..].split('"').next().unwrap_or_default().to_owned())
}

/// Installs a cargo tool at exactly `version` unless `<binary> --version` already says so.
/// Tools are built without link-time optimisation, with parallel codegen and at `opt_level`:
/// trunk's own release profile asks for fat LTO and one codegen unit, which made its install the
/// longest step of a fresh machine's setup, for a program that runs for a second. Trunk and
/// cargo fuzz only start other programs, so they are not optimized at all; wasm-bindgen
/// rewrites every wasm the SPA and its tests build, so a little. (Measured cold on 2 cores: the
/// three took 8 min optimized as a release, 5 min so: trunk 170 s, wasm-bindgen 102 s, cargo
/// fuzz 23 s.)
fn cargo_tool(
    binary: &str,
    package: &str,
    version: &str,
    locked: bool,
    opt_level: &str,
    extra: &[&str],
) -> Result {
    let have = output(Command::new(binary).arg("--version")).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(version) {
        return Ok(());
    }
    let mut install = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    install
        .args(["install", package, "--version", version])
        .args(extra)
        .env("CARGO_PROFILE_RELEASE_LTO", "off")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", opt_level);
    if locked {
        install.arg("--locked");
    }
    run(&format!("cargo install {package} {version}"), &mut install)
}

fn apt_install(packages: &[&str]) -> Result {
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    let apt = |args: &[&str]| {
        let mut command = if root { Command::new("apt-get") } else { Command::new("sudo") };
        if !root {
            command.arg("apt-get");
        }
        command.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    run("apt-get update", &mut apt(&["update", "-q"]))?;
    let mut install = apt(&["install", "-y", "-q", "--no-install-recommends"]);
    run(&format!("apt-get install {}", packages.join(" ")), install.args(packages))
}

fn test() -> Result {
    run("cargo fmt --check", cargo().args(["fmt", "--all", "--check"]))?;
    run(
        "cargo fmt --check (fuzz targets)",
        cargo().args(["fmt", "--check", "--manifest-path", "fuzz/Cargo.toml"]),
    )?;
    run(
        "cargo clippy",
        cargo().args(["clippy"]).args(NATIVE_WORKSPACE).args([
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    run(
        "cargo clippy -p frontend --target wasm32-unknown-unknown",
        cargo().args([
            "clippy",
            "--package",
            "frontend",
            "--all-targets",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    // The HTTP and browser tests start the runner with the release component and the built SPA.
    build_component()?;
    build_spa()?;
    check_spa_size()?;
    build_runner()?;
    // tests/tests/conformance.rs runs scim2-tester from this virtualenv.
    let scim2 = python_venv("scim2-tester", "0.5.2", "tests/conformance/requirements.txt")?;
    // tests/tests/pskc_interop.rs runs python-pskc, the independent PSKC implementation.
    let pskc_venv = python_venv("python-pskc", "1.4", "tests/pskc/requirements.txt")?;
    // tests/tests/privacyidea_migration.rs moves tokens to and from a real privacyIDEA.
    privacyidea_venv()?;
    pskc_test_files()?;
    run(
        "cargo test",
        cargo()
            .arg("test")
            .args(NATIVE_WORKSPACE)
            .arg("--locked")
            .env("SCIM_OTP_SCIM2_VENV", &scim2)
            .env("SCIM_OTP_PSKC_VENV", &pskc_venv),
    )?;
    // The HTTP and browser tests again with the WASIp3 build, whose instances the runner reuses
    // as Spin does; then both builds on the Spin CLI, the reference host.
    let p3 = build_component_p3()?;
    run(
        "cargo test -p scim-otp-tests on the runner, WASIp3 build",
        cargo()
            .args(["test", "--package", "scim-otp-tests", "--locked"])
            .env("SCIM_OTP_SCIM2_VENV", &scim2)
            .env("SCIM_OTP_PSKC_VENV", &pskc_venv)
            .env("SCIM_OTP_COMPONENT", &p3),
    )?;
    match spin_cli() {
        Some(spin) => {
            run(
                &format!("cargo test -p scim-otp-tests on Spin ({})", spin.display()),
                cargo()
                    .args(["test", "--package", "scim-otp-tests", "--locked"])
                    .env("SCIM_OTP_SCIM2_VENV", &scim2)
                    .env("SCIM_OTP_PSKC_VENV", &pskc_venv)
                    .env("SCIM_OTP_SPIN", &spin),
            )?;
            run(
                &format!("cargo test -p scim-otp-tests on Spin ({}), WASIp3 build", spin.display()),
                cargo()
                    .args(["test", "--package", "scim-otp-tests", "--locked"])
                    .env("SCIM_OTP_SCIM2_VENV", &scim2)
                    .env("SCIM_OTP_PSKC_VENV", &pskc_venv)
                    .env("SCIM_OTP_SPIN", &spin)
                    .env("SCIM_OTP_COMPONENT", &p3),
            )?;
        }
        None => println!(
            "xtask: no Spin CLI (SPIN, ../shared/bin/spin, PATH): the HTTP tests ran on the runner only"
        ),
    }
    run(
        "frontend component tests (headless Chromium)",
        cargo()
            .args(["test", "--package", "frontend", "--locked", "--target", "wasm32-unknown-unknown"])
            .env("CHROMEDRIVER", "/usr/bin/chromedriver"),
    )?;
    for target in WASM_TARGETS {
        run(
            &format!("cargo build -p shared --target {target}"),
            cargo().args(["build", "--package", "shared", "--locked", "--target", target]),
        )?;
    }
    for package in ["edge-api", "edge-api-p3"] {
        run(
            &format!("cargo clippy -p {package} --target wasm32-wasip2"),
            cargo()
                .args(["clippy", "--package", package, "--locked", "--target", "wasm32-wasip2"])
                .args(["--", "-D", "warnings"]),
        )?;
    }
    // A few seconds per fuzz target, from the committed corpus; what it finds new goes to a
    // scratch directory, so the clone stays clean.
    let scratch = target_dir().join("fuzz-scratch");
    let _ = std::fs::remove_dir_all(&scratch);
    let quick = FuzzRun { seconds: 5, targets: FUZZ_TARGETS.to_vec(), jobs: 1, sanitizer: true };
    run_fuzz_targets(&quick, Some(&scratch))
}

/// The HTTP and browser tests on the Spin CLI with database `default` on libSQL: each test's
/// application gets a fresh sqld on loopback, and the two-node and fault tests run two hosts on
/// one sqld and kill either.
fn test_libsql() -> Result {
    let spin = spin_cli().ok_or("needs the Spin CLI (SPIN, ../shared/bin/spin, PATH)")?;
    let sqld = sqld().ok_or("needs sqld, the libSQL server (SQLD, ../shared/bin/sqld, PATH): see README")?;
    let p2 = build_component()?;
    let p3 = build_component_p3()?;
    build_spa()?;
    build_runner()?;
    let scim2 = python_venv("scim2-tester", "0.5.2", "tests/conformance/requirements.txt")?;
    // tests/tests/pskc_interop.rs runs python-pskc, the independent PSKC implementation.
    let pskc_venv = python_venv("python-pskc", "1.4", "tests/pskc/requirements.txt")?;
    // tests/tests/privacyidea_migration.rs moves tokens to and from a real privacyIDEA.
    privacyidea_venv()?;
    pskc_test_files()?;
    for (build, component) in [("WASIp2", p2), ("WASIp3", p3)] {
        run(
            &format!(
                "cargo test -p scim-otp-tests on Spin ({}) and sqld ({}), {build} build",
                spin.display(),
                sqld.display()
            ),
            // Two test functions at a time: each starts Spin (an opt-level 1 build) and sqld, some
            // two nodes, and eight at once on 2 cores ran requests past the client's 30 s timeout
            // (the reliability tests failed in 2 of 3 runs so, in none of 2 with two at a time).
            cargo()
                .args(["test", "--package", "scim-otp-tests", "--locked", "--", "--test-threads=2"])
                .env("SCIM_OTP_SCIM2_VENV", &scim2)
                .env("SCIM_OTP_PSKC_VENV", &pskc_venv)
                .env("SCIM_OTP_SPIN", &spin)
                .env("SCIM_OTP_SQLD", &sqld)
                .env("SCIM_OTP_COMPONENT", &component),
        )?;
    }
    Ok(())
}

/// The libSQL server: `SQLD`, then `../shared/bin/sqld` beside the project, then `sqld` on `PATH`.
fn sqld() -> Option<PathBuf> {
    tool_beside("SQLD", "sqld")
}

/// The Spin CLI: `SPIN`, then `../shared/bin/spin` beside the project, then `spin` on `PATH`.
fn spin_cli() -> Option<PathBuf> {
    tool_beside("SPIN", "spin")
}

/// A program no registry ships: the path in `variable`, then `../shared/bin/<name>` beside the
/// project, then `name` on `PATH`.
fn tool_beside(variable: &str, name: &str) -> Option<PathBuf> {
    let beside = project_root().join("../shared/bin").join(name);
    env::var_os(variable)
        .map(PathBuf::from)
        .or_else(|| beside.is_file().then_some(beside))
        .or_else(|| find_on_path(name))
}

/// The SPA in `dist/`, as `spin build` makes it (`trunk build --release`, wasm-opt from npm).
fn build_spa() -> Result {
    let tools = project_root().join("node_modules/.bin");
    let path = env::var_os("PATH").unwrap_or_default();
    let path =
        env::join_paths(std::iter::once(tools).chain(env::split_paths(&path))).map_err(|e| e.to_string())?;
    run(
        "trunk build --release",
        Command::new("trunk")
            .args(["build", "--release"])
            .current_dir(project_root())
            .env("PATH", path)
            .env("CARGO_TARGET_DIR", target_dir()),
    )
}

/// What a browser downloads to start the SPA, its wasm and JS, gzip -9 as a server sends them:
/// at most 300 KB (issue 15; BENCHMARKS.md "Sizes" says where the bytes go).
const SPA_GZIP_BUDGET: u64 = 340_000;

fn check_spa_size() -> Result {
    let dist = project_root().join("dist");
    let entries = std::fs::read_dir(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let mut total = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if !matches!(path.extension().and_then(|e| e.to_str()), Some("wasm" | "js")) {
            continue;
        }
        let gzip = Command::new("sh")
            .arg("-c")
            .arg("gzip -9c \"$0\" | wc -c")
            .arg(&path)
            .output()
            .map_err(|e| format!("gzip: {e}"))?;
        let bytes: u64 = String::from_utf8_lossy(&gzip.stdout)
            .trim()
            .parse()
            .map_err(|_| format!("gzip -9c {}: no byte count", path.display()))?;
        println!("    {}: {bytes} bytes gzip", path.display());
        total += bytes;
    }
    println!("==> SPA wasm + JS: {total} bytes gzip (budget {SPA_GZIP_BUDGET})");
    if total == 0 || total > SPA_GZIP_BUDGET {
        return Err(format!("the SPA's wasm + JS is {total} bytes gzip; the budget is {SPA_GZIP_BUDGET}"));
    }
    Ok(())
}

/// Builds the runner with every native target of the workspace, so that the features of the shared
/// dependencies are those `cargo test --workspace` unifies (dev-dependencies included). A plain
/// `cargo build` unifies fewer features (thirtyfour's, for one), and `cargo test` then compiled
/// the whole wasmtime and cranelift stack a second time (measured cold on 2 cores: build plus
/// test 26.7 min before, 21.0 min with `--all-targets`).
fn build_runner() -> Result<PathBuf> {
    run(
        "cargo build (runner)",
        cargo().arg("build").args(NATIVE_WORKSPACE).args(["--all-targets", "--locked"]),
    )?;
    Ok(target_dir().join("debug/scim-otp-runner"))
}

/// Builds everything and runs it in the foreground, as `spin up --build` would: on the Spin CLI
/// when there is one, on the local runner otherwise.
fn up(mut runner_args: Vec<String>) -> Result {
    // `--wasip3`: serve the WASIp3 build, whose instances the host reuses.
    let wasip3 = runner_args.iter().any(|a| a == "--wasip3");
    runner_args.retain(|a| a != "--wasip3");
    let component = if wasip3 { build_component_p3()? } else { build_component()? };
    build_spa()?;
    let runner = build_runner()?;
    let mut command = Command::new(runner);
    command.current_dir(project_root()).arg("--component").arg(component);
    // With a Spin CLI the runner makes the login and hands the application to `spin up`; the
    // SPA's file server comes from its pinned URL, or from a local build where there is one.
    if let Some(spin) = spin_cli() {
        command.arg("--spin").arg(spin);
        let fileserver = project_root().join("../shared/bin/spin_static_fs.wasm");
        if fileserver.is_file() {
            command.arg("--fileserver").arg(fileserver);
        }
    }
    run("scim-otp-runner", command.args(runner_args))
}

/// Builds the component, the SPA, the runner and the load generator optimized, prepares
/// privacyIDEA in a virtualenv, and runs `scim-otp-bench`, which writes into BENCHMARKS.md.
fn bench(args: Vec<String>) -> Result {
    let component = build_component()?;
    build_spa()?;
    run(
        "cargo build --profile bench-host (runner, load generator)",
        cargo().arg("build").args(NATIVE_WORKSPACE).args(["--bins", "--locked", "--profile", "bench-host"]),
    )?;
    let binaries = target_dir().join("bench-host");
    let mut command = Command::new(binaries.join("scim-otp-bench"));
    command
        .current_dir(project_root())
        .env("SCIM_OTP_RUNNER", binaries.join("scim-otp-runner"))
        .env("SCIM_OTP_COMPONENT", component);
    // Into BENCHMARKS.md unless the command names another file.
    if !args.iter().any(|a| a == "--write") {
        command.args(["--write", "BENCHMARKS.md"]);
    }
    command.args(args);
    // The hosts table: the WASIp3 build, and the Spin CLI on local SQLite and on sqld, where
    // they are found.
    command.env("SCIM_OTP_BENCH_P3", build_component_p3()?);
    if let Some(spin) = spin_cli() {
        command.env("SCIM_OTP_BENCH_SPIN", spin);
    }
    if let Some(sqld) = sqld() {
        command.env("SCIM_OTP_BENCH_SQLD", sqld);
    }
    // The seed-file rows: python-pskc writes the files both sides import.
    command.env("SCIM_OTP_PSKC_VENV", python_venv("python-pskc", "1.4", "tests/pskc/requirements.txt")?);
    match privacyidea_venv() {
        Ok(venv) => command.env("SCIM_OTP_PI_VENV", venv),
        Err(why) => {
            eprintln!("xtask bench: privacyIDEA is unavailable: {why}");
            command.env("SCIM_OTP_PI_MISSING", why)
        }
    };
    run("scim-otp-bench", &mut command)
}

/// python-pskc 1.4's source distribution, unpacked beside the virtualenvs for its test files
/// (vendors' PSKC files among them), which tests/tests/pskc_interop.rs reads with both readers.
/// Downloaded once from PyPI, pinned by hash.
fn pskc_test_files() -> Result<PathBuf> {
    let dir = target_dir().with_file_name("python-pskc-1.4-sdist");
    if dir.join("python_pskc-1.4/tests").is_dir() {
        return Ok(dir);
    }
    let pip = python_venv("python-pskc", "1.4", "tests/pskc/requirements.txt")?.join("bin/pip");
    run(
        "pip download python-pskc 1.4 (source)",
        Command::new(pip)
            .args(["download", "-q", "--no-deps", "--no-binary", ":all:", "--require-hashes", "-d"])
            .arg(&dir)
            .arg("-r")
            .arg(project_root().join("tests/pskc/sdist-requirements.txt")),
    )?;
    run(
        "tar xzf python_pskc-1.4.tar.gz",
        Command::new("tar").arg("xzf").arg(dir.join("python_pskc-1.4.tar.gz")).arg("-C").arg(&dir),
    )?;
    Ok(dir)
}

/// privacyIDEA 3.14, pinned: the benchmark's peer and the migration tests' other side.
fn privacyidea_venv() -> Result<PathBuf> {
    python_venv("privacyidea", "3.14", "bench/privacyidea/requirements.txt")
}

/// A virtualenv `<package>-<version>` next to the shared target directory with the pinned
/// `requirements` (a `pip freeze`); skipped when `package` is already there at `version`.
fn python_venv(package: &str, version: &str, requirements: &str) -> Result<PathBuf> {
    let venv = target_dir().with_file_name(format!("{package}-{version}"));
    let requirements = project_root().join(requirements);
    let have = output(Command::new(venv.join("bin/pip")).args(["show", package]));
    if have.is_some_and(|info| info.lines().any(|l| l.trim() == format!("Version: {version}"))) {
        return Ok(venv);
    }
    if run("python3 -m venv", Command::new("python3").args(["-m", "venv"]).arg(&venv)).is_err() {
        // Debian splits venv support out of python3.
        apt_install(&["python3-venv"])?;
        run("python3 -m venv", Command::new("python3").args(["-m", "venv", "--clear"]).arg(&venv))?;
    }
    run(
        &format!("pip install -r {}", requirements.display()),
        Command::new(venv.join("bin/pip")).args(["install", "-q", "-r"]).arg(requirements),
    )?;
    Ok(venv)
}

/// The Spin component, as `spin build` makes it (release, wasm32-wasip2).
fn build_component() -> Result<PathBuf> {
    build_component_package("edge-api")
}

/// The WASIp3 build of the component (`edge-api-p3`), which Spin serves from reused instances.
/// Its sources lie outside its package (`../edge-api/src`), so Cargo records them by absolute
/// path, and in the shared target directory a build from one clone would be judged fresh by the
/// files of another: its fingerprint is removed first, so that it is always built from these
/// sources (about 20 s).
fn build_component_p3() -> Result<PathBuf> {
    let fingerprints = target_dir().join("wasm32-wasip2/release/.fingerprint");
    for entry in std::fs::read_dir(&fingerprints).into_iter().flatten().flatten() {
        if entry.file_name().to_string_lossy().starts_with("edge-api-p3-") {
            std::fs::remove_dir_all(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display()))?;
        }
    }
    build_component_package("edge-api-p3")
}

fn build_component_package(package: &str) -> Result<PathBuf> {
    run(
        &format!("cargo build -p {package} --release --target wasm32-wasip2"),
        cargo().args(["build", "--package", package, "--locked", "--release", "--target", "wasm32-wasip2"]),
    )?;
    Ok(target_dir().join(format!("wasm32-wasip2/release/{}.wasm", package.replace('-', "_"))))
}

//! Test harness: starts the real runner with the compiled component on a free loopback port and
//! a fresh state directory, talks HTTP to it, and stops it when dropped.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicU16;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `<target>`: the test executable lives in `<target>/debug/deps/`.
/// The Python of a test virtualenv: from `env` when set, else `name` beside the shared target
/// directory, where `cargo xtask test` makes it.
pub fn venv_python(env: &str, name: &str) -> PathBuf {
    let venv = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| target_dir().with_file_name(name));
    let python = venv.join("bin/python");
    assert!(python.is_file(), "{} is missing: `cargo xtask test` creates the virtualenv", python.display());
    python
}

/// A privacyIDEA configuration (`pi.cfg`) for a throwaway instance in `dir`: its SQLite
/// database, encryption key file (`enckey`) and log there, `secret` as its secret key and pepper,
/// and the `extra` lines (audit signing, log level).
pub fn privacyidea_config(dir: &Path, secret: &str, extra: &str) -> std::io::Result<PathBuf> {
    let config = dir.join("pi.cfg");
    let p = |name: &str| dir.join(name).display().to_string();
    std::fs::write(
        &config,
        format!(
            "SQLALCHEMY_DATABASE_URI = 'sqlite:///{}'\nSECRET_KEY = '{secret}'\nPI_PEPPER = '{secret}'\n\
             PI_ENCFILE = '{}'\nPI_LOGFILE = '{}'\n{extra}",
            p("pi.sqlite"),
            p("enckey"),
            p("privacyidea.log")
        ),
    )?;
    Ok(config)
}

pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors().nth(3).expect("target directory").to_path_buf()
}

pub fn runner_binary() -> PathBuf {
    std::env::var_os("SCIM_OTP_RUNNER")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("debug/scim-otp-runner"))
}

pub fn component() -> PathBuf {
    std::env::var_os("SCIM_OTP_COMPONENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("wasm32-wasip2/release/edge_api.wasm"))
}

fn manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../spin.toml")
}

/// What serves the application: the runner (with extra options), or the Spin CLI, on local
/// SQLite or with database `default` on a libSQL server the harness starts per state directory.
#[derive(Debug, Clone)]
pub enum Host {
    Runner {
        args: Vec<String>,
        /// A component other than [`component()`] (the benchmark's WASIp3 rows).
        component: Option<PathBuf>,
    },
    Spin {
        binary: PathBuf,
        fileserver: PathBuf,
        sqld: Option<PathBuf>,
        /// A component other than [`component()`] (the benchmark's WASIp3 rows).
        component: Option<PathBuf>,
        /// More options for `spin up` (passed through the runner).
        args: Vec<String>,
    },
    /// `scim-otp-native` (tests/src/bin/native.rs): the handler compiled natively, for the
    /// benchmark's "limit of this design" and floor rows; the harness makes its login and key.
    Native { binary: PathBuf, args: Vec<String> },
}

impl Host {
    /// The host the tests run on, from the environment `cargo xtask test` and `test-libsql` set:
    /// `SCIM_OTP_SPIN` (the Spin CLI; `SCIM_OTP_FILESERVER` serves the SPA component in place of
    /// its URL source, which cannot be downloaded here), `SCIM_OTP_SQLD` (a libSQL server, with
    /// Spin only), else the runner with `SCIM_OTP_RUNNER_ARGS` (space-separated).
    pub fn from_env() -> Host {
        let sqld = std::env::var_os("SCIM_OTP_SQLD").map(PathBuf::from);
        match std::env::var_os("SCIM_OTP_SPIN") {
            Some(binary) => Host::spin(PathBuf::from(binary), sqld),
            None => {
                assert!(
                    sqld.is_none(),
                    "the runner serves local SQLite only: SCIM_OTP_SQLD needs SCIM_OTP_SPIN"
                );
                let args = std::env::var("SCIM_OTP_RUNNER_ARGS").unwrap_or_default();
                Host::Runner { args: args.split_whitespace().map(str::to_owned).collect(), component: None }
            }
        }
    }

    /// The Spin CLI `binary`, on a sqld when one is given, with the file server the tests use.
    pub fn spin(binary: PathBuf, sqld: Option<PathBuf>) -> Host {
        let fileserver = std::env::var_os("SCIM_OTP_FILESERVER").map(PathBuf::from).unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/bin/spin_static_fs.wasm")
        });
        Host::Spin { binary, fileserver, sqld, component: None, args: Vec::new() }
    }

    /// The same host serving `wasm` instead of [`component()`] (Spin and the runner).
    pub fn serving(self, wasm: PathBuf) -> Host {
        match self {
            Host::Spin { binary, fileserver, sqld, args, .. } => {
                Host::Spin { binary, fileserver, sqld, component: Some(wasm), args }
            }
            Host::Runner { args, .. } => Host::Runner { args, component: Some(wasm) },
            other => other,
        }
    }

    /// The same host with more options (the runner's, or Spin's through the runner).
    pub fn with_args(mut self, more: &[&str]) -> Host {
        let (Host::Runner { args, .. } | Host::Spin { args, .. } | Host::Native { args, .. }) = &mut self;
        args.extend(more.iter().map(|a| (*a).to_owned()));
        self
    }

    /// Whether the store is a libSQL server, which more than one host can share.
    pub fn on_libsql(&self) -> bool {
        matches!(self, Host::Spin { sqld: Some(_), .. })
    }

    /// For the figures the tests print.
    pub fn label(&self) -> String {
        match self {
            Host::Runner { args, .. } if args.is_empty() => "runner".to_owned(),
            Host::Runner { args, .. } => format!("runner {}", args.join(" ")),
            Host::Spin { sqld: None, .. } => "Spin".to_owned(),
            Host::Spin { sqld: Some(_), .. } => "Spin on libSQL (sqld)".to_owned(),
            Host::Native { .. } => "native".to_owned(),
        }
    }
}

/// Whether the tests' store is a libSQL server (see [`Host::from_env`]).
pub fn on_libsql() -> bool {
    Host::from_env().on_libsql()
}

/// Which host and store the tests run on, for the figures they print.
pub fn host_label() -> String {
    Host::from_env().label()
}

/// One sqld on a loopback port, with its data in `<state>/sqld`. It runs under a small shell
/// that holds a pipe from the test process and kills sqld when the pipe closes, so that a test
/// process that dies (or is killed) takes its servers with it.
pub struct Sqld {
    binary: PathBuf,
    dir: PathBuf,
    pub port: u16,
    /// The shell; its stdin is the pipe.
    keeper: Child,
    pid: u32,
}

impl Sqld {
    fn start(binary: &Path, dir: &Path, port: u16) -> Sqld {
        std::fs::create_dir_all(dir).unwrap();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("sqld.log")).unwrap();
        let mut keeper = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" </dev/null >&2 & echo $!; cat >/dev/null; kill -9 $! 2>/dev/null"#)
            .arg(binary)
            .arg("--db-path")
            .arg(dir.join("data"))
            .arg("--http-listen-addr")
            .arg(format!("127.0.0.1:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", binary.display()));
        let mut line = String::new();
        BufReader::new(keeper.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let pid = line.trim().parse().unwrap_or_else(|_| panic!("sqld's pid, not {line:?}"));
        let sqld = Sqld { binary: binary.to_owned(), dir: dir.to_owned(), port, keeper, pid };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return sqld;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("sqld did not listen on {port}: see {}", dir.join("sqld.log").display());
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, as a crash of the database server; its data stays on disk.
    pub fn crash(&mut self) {
        let _ = Command::new("kill").args(["-KILL", &self.pid.to_string()]).status();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A new sqld on the same directory and port, as an operator restarts it.
    pub fn restart(&mut self) {
        let again = Sqld::start(&self.binary, &self.dir, self.port);
        *self = again;
    }

    /// Statements through Hrana over HTTP (`/v2/pipeline`), each one's rows as JSON values.
    fn query(&self, sql: &str) -> Vec<Vec<Value>> {
        let body = serde_json::json!({"requests": [
            {"type": "execute", "stmt": {"sql": sql}}, {"type": "close"}
        ]});
        let mut response = ureq::post(format!("{}/v2/pipeline", self.url()))
            .header("content-type", "application/json")
            .send(serde_json::to_vec(&body).unwrap())
            .unwrap_or_else(|e| panic!("sqld pipeline: {e}"));
        let reply: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
        let result = &reply["results"][0];
        assert_eq!(result["type"], "ok", "{sql}: {result}");
        let rows = result["response"]["result"]["rows"].as_array().cloned().unwrap_or_default();
        rows.iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|cell| match (cell["type"].as_str(), &cell["value"]) {
                        (Some("integer"), Value::String(n)) => Value::from(n.parse::<i64>().unwrap()),
                        (Some("null"), _) => Value::Null,
                        (_, value) => value.clone(),
                    })
                    .collect()
            })
            .collect()
    }
}

impl Drop for Sqld {
    fn drop(&mut self) {
        // Closing the pipe makes the shell kill sqld.
        drop(self.keeper.stdin.take());
        let _ = self.keeper.wait();
    }
}

/// The sqld of each state directory that has one, stopped when its [`TempDir`] goes.
static SQLDS: Mutex<Vec<(PathBuf, Sqld)>> = Mutex::new(Vec::new());

/// The state directory's sqld, started on first use.
fn store_server(binary: &Path, state: &Path) -> String {
    let mut servers = SQLDS.lock().unwrap();
    if let Some((_, sqld)) = servers.iter().find(|(dir, _)| dir == state) {
        return sqld.url();
    }
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let sqld = Sqld::start(binary, &state.join("sqld"), port);
    let url = sqld.url();
    servers.push((state.to_owned(), sqld));
    url
}

/// Runs `work` on the state directory's sqld (for the fault tests: crash and restart it).
pub fn with_sqld<T>(state: &Path, work: impl FnOnce(&mut Sqld) -> T) -> T {
    let mut servers = SQLDS.lock().unwrap();
    let (_, sqld) =
        servers.iter_mut().find(|(dir, _)| dir == state).expect("a sqld serves this state directory");
    work(sqld)
}

/// One SQL statement on the application's store, wherever it is (the host's SQLite file in the
/// state directory, or its sqld), read-only by intent: the tests check what the API wrote.
pub fn query_store(state: &Path, sql: &str) -> Vec<Vec<Value>> {
    if on_libsql() {
        return with_sqld(state, |sqld| sqld.query(sql));
    }
    let db = rusqlite::Connection::open(state.join("sqlite_db.db")).unwrap();
    let mut statement = db.prepare(sql).unwrap();
    let columns = statement.column_count();
    let rows = statement
        .query_map([], |row| {
            (0..columns)
                .map(|n| {
                    Ok(match row.get_ref(n)? {
                        rusqlite::types::ValueRef::Null => Value::Null,
                        rusqlite::types::ValueRef::Integer(i) => Value::from(i),
                        rusqlite::types::ValueRef::Real(x) => Value::from(x),
                        rusqlite::types::ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t)),
                        rusqlite::types::ValueRef::Blob(b) => Value::from(data_encoding::BASE64.encode(b)),
                    })
                })
                .collect()
        })
        .unwrap();
    rows.map(Result::unwrap).collect()
}

/// Every file the store keeps on disk, by name: the SQLite file with its WAL, or everything in
/// the sqld's directory (its database, WAL, replication log and log), for the secret scan.
pub fn store_files(state: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    if on_libsql() {
        let mut pending = vec![state.join("sqld")];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().map_while(Result::ok) {
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if let Ok(bytes) = std::fs::read(&path) {
                    let name = path.strip_prefix(state).unwrap_or(&path).display().to_string();
                    files.push((name, bytes));
                }
            }
        }
        assert!(!files.is_empty(), "sqld keeps its data in {}", state.join("sqld").display());
        return files;
    }
    for name in ["sqlite_db.db", "sqlite_db.db-wal", "sqlite_db.db-shm"] {
        if let Ok(bytes) = std::fs::read(state.join(name)) {
            files.push((name.to_owned(), bytes));
        }
    }
    files
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "scim-otp-{tag}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Its sqld first (stopped on drop), then its files.
        if let Ok(mut servers) = SQLDS.lock() {
            servers.retain(|(dir, _)| *dir != self.0);
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub mod load;

pub struct App {
    child: Child,
    /// Every line the runner printed, stdout and stderr interleaved as they arrived.
    log: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    pub base: String,
    pub origin: String,
    pub password: String,
    agent: ureq::Agent,
    /// Its state directory (and its sqld's, under `sqld/`, when the store is one).
    state: PathBuf,
}

/// The hosts of one application on one store: two `spin up` nodes when the store is a libSQL
/// server (as a deployment that outgrows one node runs), one host otherwise. Race and fault
/// tests split their clients across [`Cluster::node`], so the same test covers both.
pub struct Cluster {
    pub nodes: Vec<Arc<App>>,
}

impl Cluster {
    /// The tests' host ([`Host::from_env`]): two nodes on a libSQL store, one otherwise.
    pub fn start(state: &Path, variables: &[(&str, &str)]) -> Cluster {
        let host = Host::from_env();
        let count = if host.on_libsql() { 2 } else { 1 };
        Cluster::start_on(&host, count, state, variables)
    }

    /// `count` nodes of `host`, started one after another on `state` (they share its generated
    /// login and key, and, on libSQL, its sqld).
    pub fn start_on(host: &Host, count: usize, state: &Path, variables: &[(&str, &str)]) -> Cluster {
        let nodes = (0..count).map(|_| Arc::new(App::start_on(host, state, variables))).collect();
        Cluster { nodes }
    }

    /// The node that client `n` talks to: clients go round the nodes.
    pub fn node(&self, n: usize) -> &Arc<App> {
        &self.nodes[n % self.nodes.len()]
    }

    /// `"1 host"` or `"2 nodes"`, for the figures the tests print.
    pub fn label(&self) -> String {
        match self.nodes.len() {
            1 => format!("1 host, {}", host_label()),
            n => format!("{n} nodes, {}", host_label()),
        }
    }
}

#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub json: Value,
    /// The body as text (a PSKC export is XML, not JSON).
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl App {
    /// Starts the tests' host ([`Host::from_env`]) on `127.0.0.1:0` with `state` as its state
    /// directory and the given `SPIN_VARIABLE_*` values, and waits until it listens.
    pub fn start(state: &Path, variables: &[(&str, &str)]) -> App {
        App::start_on(&Host::from_env(), state, variables)
    }

    /// Starts `host`: the runner, or the runner handing the application to `spin up`.
    pub fn start_on(host: &Host, state: &Path, variables: &[(&str, &str)]) -> App {
        let binary = runner_binary();
        assert!(
            binary.is_file(),
            "{} is missing: run `cargo xtask test` (it builds the runner)",
            binary.display()
        );
        let wasm = match host {
            Host::Spin { component: Some(wasm), .. } | Host::Runner { component: Some(wasm), .. } => {
                wasm.clone()
            }
            _ => component(),
        };
        assert!(
            wasm.is_file(),
            "{} is missing: run `cargo xtask test` (it builds the component)",
            wasm.display()
        );
        if let Host::Native { binary, args } = host {
            let mut command = Command::new(binary);
            command.args(["--listen", "127.0.0.1:0", "--db"]).arg(state.join("sqlite_db.db")).args(args);
            for (name, value) in native_login(state)
                .into_iter()
                .chain(variables.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())))
            {
                command.env(format!("SPIN_VARIABLE_{}", name.to_uppercase()), value);
            }
            return App::spawn(command, state);
        }
        let mut command = Command::new(&binary);
        command
            .args(["--listen", "127.0.0.1:0", "--manifest"])
            .arg(manifest())
            .arg("--state-dir")
            .arg(state)
            .arg("--component")
            .arg(&wasm)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match host {
            Host::Spin { binary, fileserver, sqld, args, .. } => {
                command.arg("--spin").arg(binary).arg("--fileserver").arg(fileserver).args(args);
                if let Some(sqld) = sqld {
                    let url = store_server(sqld, state);
                    // sqld takes no token here; Spin's libsql config requires the field.
                    let config = state.join("runtime-config.toml");
                    let toml = format!(
                        "[sqlite_database.default]\ntype = \"libsql\"\nurl = \"{url}\"\ntoken = \"\"\n"
                    );
                    std::fs::write(&config, toml).unwrap();
                    command.arg("--runtime-config-file").arg(config);
                    // As README says to deploy on libSQL: the server queues writers itself.
                    command.env("SPIN_VARIABLE_SQLITE_LOCK_WAIT_MS", "0");
                }
                // Spin logs each request's path at this level (the runner logs every request).
                command.env("RUST_LOG", "spin_trigger_http=info");
            }
            // `--sync normal` measures the tuned mode (Spin's is the default).
            Host::Runner { args, .. } => {
                command.args(args);
            }
            Host::Native { .. } => unreachable!("started above"),
        }
        for (name, value) in variables {
            command.env(format!("SPIN_VARIABLE_{}", name.to_uppercase()), value);
        }
        App::spawn(command, state)
    }

    /// Spawns a host and waits until it prints where it listens.
    fn spawn(mut command: Command, state: &Path) -> App {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
        // A process group of its own, which `signal` stops whole.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().expect("runner starts");
        let stdout = child.stdout.take().expect("runner stdout");
        let stderr = child.stderr.take().expect("runner stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let keep = log.clone();
        let stdout = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(origin) = listening_at(&line) {
                    let _ = sender.send(origin);
                }
                keep.lock().unwrap().push(line);
            }
        });
        // Still shown, as before, and kept for the tests that read the logs.
        let keep = log.clone();
        let stderr = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("{line}");
                keep.lock().unwrap().push(line);
            }
        });
        // Spin (opt-level 1 here) compiles the component on a cold cache in tens of seconds.
        let origin = receiver.recv_timeout(Duration::from_secs(240)).expect("the host printed its address");
        let password =
            std::fs::read_to_string(state.join("admin-password")).unwrap_or_default().trim().to_owned();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        App {
            child,
            log,
            readers: vec![stdout, stderr],
            base: format!("{origin}/scim/v2"),
            origin,
            password,
            agent,
            state: state.to_owned(),
        }
    }

    pub fn admin(&self) -> (String, String) {
        ("admin".to_owned(), self.password.clone())
    }

    /// One JSON request; `path` is below the API base unless it starts with `http`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
        auth: Option<(&str, &str)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let body = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let mut headers = headers.to_vec();
        if !body.is_empty() && !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-type")) {
            headers.push(("content-type", "application/scim+json"));
        }
        self.send_raw(method, path, &body, auth, &headers)
    }

    /// One request with the body and headers exactly as given.
    pub fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: &[u8],
        auth: Option<(&str, &str)>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let url = if path.starts_with("http") { path.to_owned() } else { format!("{}{path}", self.base) };
        let mut request = ureq::http::Request::builder().method(method).uri(&url);
        if let Some((user, password)) = auth {
            request = request.header("authorization", basic_auth(user, password));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = self
            .agent
            .run(request.body(body.to_vec()).unwrap())
            .unwrap_or_else(|e| panic!("{method} {url}: {e}\n{}", self.last_words()));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        Reply { status, headers, json: serde_json::from_str(&text).unwrap_or(Value::Null), text }
    }

    /// As the generated admin; `None` when no answer came (the server died mid-request).
    pub fn try_call(&self, method: &str, path: &str, body: Option<&Value>) -> Option<Reply> {
        let url = format!("{}{path}", self.base);
        let request = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("authorization", basic_auth("admin", &self.password))
            .header("content-type", "application/scim+json");
        let body = body.map(|b| serde_json::to_vec(b).unwrap()).unwrap_or_default();
        let mut response = self.agent.run(request.body(body).ok()?).ok()?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().ok()?;
        Some(Reply {
            status,
            headers: Vec::new(),
            json: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        })
    }

    /// As the generated admin.
    pub fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Reply {
        let (user, password) = self.admin();
        self.send(method, path, body, Some((&user, &password)), &[])
    }

    /// The process id of the host the tests started (the runner, or `spin up`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the host's process group: the runner, or `spin up` and the
    /// `spin trigger http` process it starts (which outlives a SIGKILL of `spin up` alone).
    fn signal(&self, signal: &str) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args([signal, "--", &group]).status();
    }

    /// Kills the host with SIGKILL: no shutdown code runs, exactly as in a crash.
    pub fn crash(&self) {
        self.signal("-KILL");
    }

    /// For a request that got no answer: the host's last lines and its store server's, and how
    /// many requests it had logged, to tell a host that stalled from one that never got it.
    fn last_words(&self) -> String {
        let log = self.log();
        let tail = |lines: &[String]| lines[lines.len().saturating_sub(12)..].join("\n");
        let sqld: Vec<String> = std::fs::read_to_string(self.state.join("sqld/sqld.log"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default();
        let requests =
            log.iter().filter(|l| l.contains("Processing request") || l.contains(" /scim/")).count();
        format!(
            "host {} ({} lines, {requests} requests logged), last lines:\n{}\nsqld ({} lines), last lines:\n{}",
            self.origin,
            log.len(),
            tail(&log),
            sqld.len(),
            tail(&sqld)
        )
    }

    /// What the host has printed so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// The methods of the requests the host has logged for `path`, in order.
    pub fn requests_to(&self, path: &str) -> Vec<String> {
        self.log()
            .iter()
            .filter_map(|line| {
                // The runner: `POST /scim/v2/OtpDevice 201 …`.
                let mut words = line.split_whitespace();
                if let (Some(method), Some(logged)) = (words.next(), words.next())
                    && logged == path
                    && method.chars().all(|c| c.is_ascii_uppercase())
                {
                    return Some(method.to_owned());
                }
                // Spin (RUST_LOG=spin_trigger_http=info): `… http.request.method=POST … Processing
                // request on path '/scim/v2/OtpDevice'`.
                let quoted = line.split("Processing request on path '").nth(1)?;
                if quoted.strip_suffix('\'') != Some(path) {
                    return None;
                }
                let method = line.split("http.request.method=").nth(1)?.split_whitespace().next()?;
                Some(method.to_owned())
            })
            .collect()
    }

    /// Stops the host with SIGINT (Ctrl-C), as an operator would, and returns everything it
    /// printed.
    pub fn interrupt(mut self) -> Vec<String> {
        self.signal("-INT");
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.log()
    }

    /// Stops the host with SIGKILL: no shutdown code runs, exactly as in a crash.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for App {
    fn drop(&mut self) {
        // Only a host still running: once it is reaped, its group id may be another's.
        if let Ok(None) = self.child.try_wait() {
            self.crash();
            let _ = self.child.wait();
        }
    }
}

/// The origin a host's start-up line announces: the runner's `scim-otp is running at …`, or
/// Spin's `Serving http://…` (perhaps coloured).
fn listening_at(line: &str) -> Option<String> {
    if let Some(rest) = line.strip_prefix("scim-otp is running at ") {
        return Some(rest.trim_end_matches('/').to_owned());
    }
    if !line.contains("Serving") {
        return None;
    }
    let url = &line[line.find("http://")?..];
    let end = url.find(|c: char| c.is_whitespace() || c == '\u{1b}').unwrap_or(url.len());
    Some(url[..end].trim_end_matches('/').to_owned())
}

/// An `Authorization` header value for HTTP Basic.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

/// The `id` of a created device.
pub fn id_of(reply: &Reply) -> i64 {
    reply.json["id"].as_i64().unwrap_or_else(|| panic!("no id in {} {}", reply.status, reply.json))
}

/// Runs `work(worker)` on `workers` threads that start together (a barrier), and collects the
/// results in worker order: the shape of every race test.
pub fn together<T: Send + 'static>(
    workers: usize,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let start = Arc::new(std::sync::Barrier::new(workers));
    let threads: Vec<_> = (0..workers)
        .map(|worker| {
            let (work, start) = (work.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                work(worker)
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// The seed in an `otpauth://` URI.
pub fn secret_of(uri: &str) -> shared::otp::Secret {
    let query = uri.split_once('?').expect("a query").1;
    let b32 = query.split('&').find_map(|p| p.strip_prefix("secret=")).expect("a secret parameter");
    shared::otp::Secret::from_base32(b32).expect("base32 secret")
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A chromedriver on a free loopback port, for the browser tests; stopped on drop.
pub struct Chromedriver {
    child: Child,
    pub url: String,
}

impl Chromedriver {
    pub fn start() -> Chromedriver {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{binary} starts (cargo xtask setup installs chromium-driver): {e}"));
        // Owned from here on, so that every path (the panic below included) stops the process.
        let driver = Chromedriver { child, url: format!("http://127.0.0.1:{port}") };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return driver;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        drop(driver);
        panic!("chromedriver did not listen on {port}");
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The built SPA (`dist/`), which the runner serves at `/` per spin.toml.
pub fn dist_index() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/index.html")
}

/// A delivery gateway on loopback that records what it receives and answers `status`.
pub struct Gateway {
    pub url: String,
    pub received: Arc<Mutex<Vec<Value>>>,
    /// How each request framed its body: `Some(content-length)`, or `None` when chunked.
    pub framing: Arc<Mutex<Vec<Option<usize>>>>,
    /// Each request's `Authorization` header, as sent.
    pub authorization: Arc<Mutex<Vec<Option<String>>>>,
    pub status: Arc<AtomicU16>,
}

impl Gateway {
    pub fn start() -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/deliver", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let framing = Arc::new(Mutex::new(Vec::new()));
        let status = Arc::new(AtomicU16::new(200));
        let authorization = Arc::new(Mutex::new(Vec::new()));
        let (log, framed, answer, authorized) =
            (received.clone(), framing.clone(), status.clone(), authorization.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let mut reader = BufReader::new(stream);
                let (mut length, mut chunked, mut bearer) = (None, false, None);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("authorization")
                    {
                        bearer = Some(value.trim().to_owned());
                    }
                    let line = line.to_ascii_lowercase();
                    if let Some(value) = line.strip_prefix("content-length:") {
                        length = value.trim().parse().ok();
                    }
                    chunked |= line.starts_with("transfer-encoding:") && line.contains("chunked");
                }
                let body = if chunked {
                    read_chunked(&mut reader)
                } else {
                    read_exact(&mut reader, length.unwrap_or(0))
                };
                framed.lock().unwrap().push(if chunked { None } else { length });
                authorized.lock().unwrap().push(bearer);
                log.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                let code = answer.load(Ordering::SeqCst);
                let mut stream = reader.into_inner();
                let _ = write!(stream, "HTTP/1.1 {code} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            }
        });
        Gateway { url, received, framing, authorization, status }
    }
}

fn read_exact(reader: &mut impl Read, length: usize) -> Vec<u8> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body).map(|()| body).unwrap_or_default()
}

fn read_chunked(reader: &mut impl BufRead) -> Vec<u8> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap_or(0);
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        let chunk = read_exact(reader, size + 2);
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&chunk[..size.min(chunk.len())]);
    }
}

/// One `GET` over a new connection from the loopback address `from` (127.0.0.2, …: Linux answers
/// every 127/8 address), so that the component sees another `spin-client-addr`. Returns the
/// status, or 0 when no answer came.
pub fn get_from(from: std::net::Ipv4Addr, origin: &str, path: &str, authorization: &str) -> u16 {
    let target: std::net::SocketAddr = origin.trim_start_matches("http://").parse().unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&std::net::SocketAddr::from((from, 0)).into()).unwrap();
    if socket.connect_timeout(&target.into(), Duration::from_secs(10)).is_err() {
        return 0;
    }
    let mut stream: std::net::TcpStream = socket.into();
    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
    let request = format!(
        "GET {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {authorization}\r\nconnection: close\r\n\r\n",
        target
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut status_line = String::new();
    let _ = BufReader::new(stream).read_line(&mut status_line);
    status_line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// The variables the runner would generate, for the native host: an `admin` with a random
/// password (kept in `<state>/admin-password`, where [`App`] reads it), a random `secret_key`,
/// and the dev outbox.
fn native_login(state: &Path) -> Vec<(String, String)> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let random = |n: usize| {
        let mut bytes = vec![0u8; n];
        std::fs::File::open("/dev/urandom").unwrap().read_exact(&mut bytes).unwrap();
        bytes
    };
    let password = data_encoding::BASE32_NOPAD.encode(&random(15)).to_lowercase();
    std::fs::write(state.join("admin-password"), &password).unwrap();
    let salt = SaltString::encode_b64(&random(16)).unwrap();
    let hash = argon2::Argon2::default().hash_password(password.as_bytes(), &salt).unwrap().to_string();
    let users = serde_json::json!([{"user": "admin", "password_hash": hash, "rights": ["scim:admin"]}]);
    vec![
        ("scim_users".to_owned(), users.to_string()),
        ("secret_key".to_owned(), data_encoding::BASE64.encode(&random(32))),
        ("dev_outbox".to_owned(), "true".to_owned()),
    ]
}

/// `oathtool`'s output for `args` (the independent implementation the codes are checked
/// against; `cargo xtask setup` installs it).
pub fn oathtool(args: &[&str]) -> String {
    let out =
        Command::new("oathtool").args(args).output().expect("oathtool runs (cargo xtask setup installs it)");
    assert!(out.status.success(), "oathtool {args:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The base32 secret of an `otpauth://` URI, as `oathtool -b` takes it.
pub fn base32_of(uri: &str) -> String {
    secret_of(uri).to_base32()
}

/// `filter` percent-encoded for a query string.
pub fn enc(filter: &str) -> String {
    filter
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

//! `scim-otp-runner`: a development host that runs the real compiled edge-api component the way
//! `spin up` does, for machines without the Spin CLI. It reads `spin.toml`, implements the Spin
//! interfaces the component imports over a local SQLite file, and serves the SPA's files.
//! It is never a second implementation of the API: every API request goes to the component.

mod manifest;
mod reuse;
mod spin_cli;
mod spin_host;
mod state;

use anyhow::{Context, Result, bail};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use manifest::{AllowedHost, FileMount, Manifest, Route, Source, best_route, source_path};
use spin_host::{Databases, SpinState, SpinView, Sync};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use tokio::net::TcpListener;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Cache, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::p3::bindings::ServicePre;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

const USAGE: &str = "usage: scim-otp-runner [--manifest spin.toml] [--listen 127.0.0.1:3000] [--state-dir DIR] \
                     [--component FILE.wasm] [--sync full|normal] [--disable-cache]\n       \
                     [--max-instance-reuse-count N] [--max-instance-concurrent-reuse-count N] \
                     [--idle-instance-timeout DURATION] (WASIp3 components, as spin up)\n       \
                     with the Spin CLI instead: ... --spin PATH [--fileserver FILE.wasm] [--runtime-config-file FILE]";

struct Options {
    manifest: PathBuf,
    listen: SocketAddr,
    state_dir: Option<PathBuf>,
    component: Option<PathBuf>,
    sync: Sync,
    /// `spin up --disable-cache`: compile the component afresh instead of using wasmtime's cache.
    disable_cache: bool,
    /// How WASIp3 instances are reused (reuse.rs).
    reuse: reuse::Limits,
    /// `--spin`: hand the application to the Spin CLI (spin_cli.rs).
    spin: Option<spin_cli::SpinOptions>,
}

fn options() -> Result<Options> {
    let mut options = Options {
        manifest: PathBuf::from("spin.toml"),
        listen: "127.0.0.1:3000".parse()?,
        state_dir: None,
        component: None,
        // SQLite's default and Spin's.
        sync: Sync::Full,
        disable_cache: false,
        reuse: reuse::Limits::default(),
        spin: None,
    };
    let (mut fileserver, mut runtime_config) = (None, None);
    // The reuse options as given, which `--spin` passes on.
    let mut reuse_flags = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--manifest" | "-f" => options.manifest = value()?.into(),
            "--listen" => options.listen = value()?.parse().context("--listen takes ADDRESS:PORT")?,
            "--state-dir" => options.state_dir = Some(value()?.into()),
            "--component" => options.component = Some(value()?.into()),
            "--sync" => {
                options.sync = match value()?.as_str() {
                    "normal" => Sync::Normal,
                    "full" => Sync::Full,
                    other => bail!("--sync takes normal or full, not {other}"),
                }
            }
            "--disable-cache" => options.disable_cache = true,
            "--max-instance-reuse-count" | "--max-instance-concurrent-reuse-count" => {
                let text = value()?;
                let n =
                    text.parse().ok().filter(|n| *n > 0).with_context(|| format!("{flag} takes a count"))?;
                if flag == "--max-instance-reuse-count" {
                    options.reuse.requests = n;
                } else {
                    options.reuse.concurrent = n;
                }
                reuse_flags.extend([flag.clone(), text]);
            }
            "--idle-instance-timeout" => {
                let text = value()?;
                options.reuse.idle = reuse::parse_duration(&text)
                    .with_context(|| format!("{flag} takes a duration (2, 2s, 500ms)"))?;
                reuse_flags.extend([flag.clone(), text]);
            }
            "--spin" => {
                let binary = value()?.into();
                options.spin = Some(spin_cli::SpinOptions {
                    binary,
                    fileserver: None,
                    runtime_config: None,
                    disable_cache: false,
                    reuse_flags: Vec::new(),
                })
            }
            "--fileserver" => fileserver = Some(value()?.into()),
            "--runtime-config-file" => runtime_config = Some(value()?.into()),
            "--help" | "-h" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other}\n{USAGE}"),
        }
    }
    match &mut options.spin {
        // Spin keeps SQLite's FULL; `--sync normal` is the runner's own tuning.
        Some(_) if matches!(options.sync, Sync::Normal) => {
            bail!("--sync normal is the runner's; Spin has none")
        }
        Some(spin) => {
            (spin.fileserver, spin.runtime_config) = (fileserver, runtime_config);
            spin.disable_cache = options.disable_cache;
            spin.reuse_flags = reuse_flags;
        }
        // The runner itself serves local SQLite files only.
        None if fileserver.is_some() || runtime_config.is_some() => {
            bail!("--fileserver and --runtime-config-file go with --spin\n{USAGE}")
        }
        None => {}
    }
    Ok(options)
}

/// The host state of one instance: one request's (WASIp2), or all those a reused WASIp3
/// instance serves.
struct Host {
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    outbound: OutboundPolicy,
    spin: SpinState,
    memory: MemoryLimit,
}

/// A permit for one instance slot of the pooling allocator, held until the store that used it
/// is dropped (a store drops its data before it gives its instances back to the pool, so the
/// permit cannot live in the data).
type Slot = tokio::sync::OwnedSemaphorePermit;

/// A cap on each instance's linear memory, far above what one request needs (an argon2id
/// password check, the largest, takes 20 MiB; most requests under 2 MiB), so that a runaway
/// request fails alone instead of taking the host's memory.
const INSTANCE_MEMORY_CAP: usize = 128 << 20;

/// How many component instances may exist at once; a request beyond waits for a slot.
const INSTANCE_SLOTS: u32 = 128;

/// Wasmtime with its pooling allocator: instance slots (memories, tables, stacks) are reserved
/// once and reused, instead of an mmap/munmap per request, whose page faults and cross-core TLB
/// flushes cost more than the request itself. Falls back to on-demand allocation where the
/// reservation is refused (a small virtual address space limit).
///
/// Unless disabled, compiled code goes to wasmtime's cache (configured by
/// `~/.config/wasmtime/config.toml`, stored under `~/.cache/wasmtime`), as `spin up` does: a
/// component compiled once starts in milliseconds afterwards.
fn engine(cache: bool) -> Result<Engine> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(INSTANCE_SLOTS)
        .total_core_instances(INSTANCE_SLOTS * 8)
        .total_memories(INSTANCE_SLOTS * 2)
        .total_tables(INSTANCE_SLOTS * 8)
        .total_stacks(INSTANCE_SLOTS)
        .max_memory_size(INSTANCE_MEMORY_CAP)
        // Reset the first MiB of a reused memory with memset rather than madvise: the hot part of
        // the heap then stays resident, without a page fault per touched page in every request.
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10)
        .async_stack_keep_resident(128 << 10);
    let mut config = Config::new();
    // As Spin does (`crates/core`): WASIp3 components are async components.
    config.wasm_component_model_async(true);
    if cache {
        let cache =
            Cache::from_file(None).map_err(|e| anyhow::anyhow!("wasmtime's cache configuration: {e}"))?;
        config.cache(Some(cache));
    }
    let on_demand = config.clone();
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    Ok(Engine::new(&config).or_else(|e| {
        eprintln!("wasmtime's pooling allocator is unavailable ({e}); allocating instances on demand");
        Engine::new(&on_demand)
    })?)
}

/// Enforces [`INSTANCE_MEMORY_CAP`] and records the largest linear memory any instance reached,
/// which the runner prints when it stops.
struct MemoryLimit {
    peak: Arc<AtomicUsize>,
}

impl wasmtime::ResourceLimiter for MemoryLimit {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > INSTANCE_MEMORY_CAP {
            return Ok(false);
        }
        self.peak.fetch_max(desired, Ordering::Relaxed);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

impl WasiView for Host {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl WasiHttpView for Host {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.table, hooks: &mut self.outbound }
    }
}

impl SpinView for Host {
    fn spin(&mut self) -> (&mut SpinState, &mut ResourceTable) {
        (&mut self.spin, &mut self.table)
    }
}

/// Outbound HTTP only to the component's `allowed_outbound_hosts`, as Spin enforces.
struct OutboundPolicy {
    allowed: Arc<Vec<AllowedHost>>,
}

type SendResult = wasmtime_wasi_http::Result<(
    hyper::Response<wasmtime_wasi_http::WasiBody>,
    Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl WasiHttpHooks for OutboundPolicy {
    fn send_request(
        &mut self,
        request: hyper::Request<wasmtime_wasi_http::WasiBody>,
        options: Option<wasmtime_wasi_http::RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let uri = request.uri();
        let scheme = uri.scheme_str().unwrap_or("http").to_owned();
        let host = uri.host().unwrap_or_default().to_owned();
        let port = uri.port_u16().unwrap_or(if scheme == "https" { 443 } else { 80 });
        if !self.allowed.iter().any(|a| a.allows(&scheme, &host, port)) {
            eprintln!("outbound request to {scheme}://{host}:{port} denied: not in allowed_outbound_hosts");
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        Box::new(async move {
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io) as Box<dyn Future<Output = _> + Send>))
        })
    }
}

/// A component route's compiled component and its resolved configuration.
struct ApiComponent {
    kind: ApiKind,
    resources: Arc<InstanceResources>,
}

/// How a component's instances serve requests, by the `wasi:http` version it exports.
enum ApiKind {
    /// `wasi:http/incoming-handler@0.2`: a new instance for every request.
    P2(ProxyPre<Host>),
    /// `wasi:http/handler@0.3`: instances reused as Spin reuses them (reuse.rs).
    P3(wasmtime_wasi_http::handler::ProxyHandler<reuse::Reuse>),
}

/// What every instance of a component gets.
struct InstanceResources {
    variables: Arc<BTreeMap<String, String>>,
    allowed_databases: Arc<Vec<String>>,
    allowed_hosts: Arc<Vec<AllowedHost>>,
    databases: Arc<Databases>,
    peak_memory: Arc<AtomicUsize>,
    /// One permit per instance slot of the pooling allocator.
    slots: Arc<tokio::sync::Semaphore>,
}

impl InstanceResources {
    /// A store for a new instance, once a pool slot is free; drop the store before the slot.
    async fn store(&self, engine: &Engine) -> wasmtime::Result<(Store<Host>, Slot)> {
        let slot = self.slots.clone().acquire_owned().await?;
        let mut store = Store::new(
            engine,
            Host {
                table: ResourceTable::new(),
                wasi: WasiCtx::builder().inherit_stderr().build(),
                http: WasiHttpCtx::new(),
                outbound: OutboundPolicy { allowed: self.allowed_hosts.clone() },
                spin: SpinState {
                    databases: self.databases.clone(),
                    allowed_databases: self.allowed_databases.clone(),
                    variables: self.variables.clone(),
                },
                memory: MemoryLimit { peak: self.peak_memory.clone() },
            },
        );
        store.limiter(|host| &mut host.memory);
        Ok((store, slot))
    }
}

/// Spin's static file server component, served from disk (the runner cannot fetch it).
struct StaticFiles {
    root: PathBuf,
    fallback: Option<String>,
}

struct Server {
    routes: Vec<Route>,
    apis: BTreeMap<String, ApiComponent>,
    files: BTreeMap<String, StaticFiles>,
    peak_memory: Arc<AtomicUsize>,
}

type Response = hyper::Response<HyperOutgoingBody>;

fn body(bytes: impl Into<Bytes>) -> HyperOutgoingBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed_unsync()
}

fn plain(status: u16, text: &str) -> Response {
    let mut response = hyper::Response::new(body(text.to_owned()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response
}

impl Server {
    async fn handle(self: Arc<Self>, request: hyper::Request<Incoming>, client: SocketAddr) -> Response {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let response = match best_route(&self.routes, &path) {
            None => plain(404, "not found"),
            Some((route, path_info)) => {
                if let Some(api) = self.apis.get(&route.component) {
                    self.call_component(api, route, &path_info, request, client).await.unwrap_or_else(|e| {
                        eprintln!("component {} failed: {e:#}", route.component);
                        plain(500, "component failed")
                    })
                } else if let Some(files) = self.files.get(&route.component) {
                    serve_file(files, &method, &path_info).await
                } else {
                    plain(500, "route has no runnable component")
                }
            }
        };
        println!(
            "{method} {path} {} {:.1} ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    async fn call_component(
        &self,
        api: &ApiComponent,
        route: &Route,
        path_info: &str,
        mut request: hyper::Request<Incoming>,
        client: SocketAddr,
    ) -> Result<Response> {
        // As Spin's HTTP trigger (`crates/trigger-http`, `prepare_request_headers`): the URL from
        // the Host header (`localhost` without one), and the `spin-*` headers appended after the
        // client's own, which pass through untouched, so a client-sent `spin-full-url` reaches
        // the component ahead of the real one, exactly as on Spin. `Connection` is dropped.
        let host = request.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let host_header = host.to_owned();
        let full_url =
            format!("http://{host}{}", request.uri().path_and_query().map_or("/", |pq| pq.as_str()));
        let matched = route.pattern.clone();
        let spin_headers = [
            ("spin-path-info", path_info.to_owned()),
            ("spin-full-url", full_url),
            ("spin-matched-route", matched.clone()),
            ("spin-base-path", "/".to_owned()),
            ("spin-raw-component-route", matched.clone()),
            ("spin-component-route", route.base.clone()),
            ("spin-client-addr", client.to_string()),
        ];
        request.headers_mut().remove("connection");
        for (name, value) in spin_headers {
            request.headers_mut().append(name, value.parse()?);
        }
        let pre = match &api.kind {
            ApiKind::P2(pre) => pre.clone(),
            ApiKind::P3(handler) => {
                // Spin gives a WASIp3 handler the absolute URL (`set_req_uri` in trigger-http).
                let mut parts = std::mem::take(request.uri_mut()).into_parts();
                parts.scheme = Some(http::uri::Scheme::HTTP);
                parts.authority = Some(host_header.parse()?);
                if parts.path_and_query.is_none() {
                    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
                }
                *request.uri_mut() = http::Uri::from_parts(parts)?;
                let request =
                    request.map(|body| body.map_err(wasmtime_wasi_http::Error::from).boxed_unsync());
                return Ok(handler.handle((), request).await?);
            }
        };
        let (mut store, slot) = api.resources.store(pre.engine()).await?;
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store.data_mut().http().new_incoming_request(Scheme::Http, request)?;
        let out = store.data_mut().http().new_response_outparam(sender)?;
        let task = tokio::task::spawn(async move {
            let result = match pre.instantiate_async(&mut store).await {
                Ok(proxy) => proxy.wasi_http_incoming_handler().call_handle(&mut store, incoming, out).await,
                Err(e) => Err(e),
            };
            // The instance gives its pool slot back before the permit for it goes.
            drop(store);
            drop(slot);
            result
        });
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => bail!("component answered with error {code:?}"),
            Err(_) => match task.await {
                Ok(Ok(())) => bail!("component never set a response"),
                Ok(Err(e)) => bail!("component trapped: {e:?}"),
                Err(e) => Err(e.into()),
            },
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript",
        "wasm" => "application/wasm",
        "css" => "text/css",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        _ => "application/octet-stream",
    }
}

async fn serve_file(files: &StaticFiles, method: &hyper::Method, path_info: &str) -> Response {
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        return plain(405, "method not allowed");
    }
    let relative = path_info.trim_start_matches('/');
    if relative.split('/').any(|part| part == ".." || part.starts_with('.')) {
        return plain(404, "not found");
    }
    let relative = if relative.is_empty() { "index.html" } else { relative };
    let mut path = files.root.join(relative);
    if !tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file()) {
        match &files.fallback {
            Some(fallback) => path = files.root.join(fallback),
            None => return plain(404, "not found"),
        }
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            let mut response =
                hyper::Response::new(body(if method == hyper::Method::HEAD { Vec::new() } else { bytes }));
            if let Ok(value) = content_type(&path).parse() {
                response.headers_mut().insert("content-type", value);
            }
            response
        }
        Err(_) => plain(404, "not found"),
    }
}

/// The application as both hosts get it: the manifest, the state directory and the variables.
struct Application {
    manifest_path: PathBuf,
    manifest_dir: PathBuf,
    manifest: Manifest,
    state_dir: PathBuf,
    variables: BTreeMap<String, String>,
}

fn application(options: &Options) -> Result<(Application, state::Login)> {
    let manifest_path = options
        .manifest
        .canonicalize()
        .with_context(|| format!("no manifest at {}", options.manifest.display()))?;
    let manifest_dir = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let manifest = Manifest::load(&manifest_path)?;
    let state_dir = options.state_dir.clone().unwrap_or_else(|| manifest_dir.join(".spin"));
    let state = state::State::open(&state_dir)?;
    let (variables, login) = state.application_variables(&manifest)?;
    Ok((Application { manifest_path, manifest_dir, manifest, state_dir, variables }, login))
}

fn build_server(options: &Options, application: Application) -> Result<Server> {
    let Application { manifest_dir, manifest, state_dir, variables: app_variables, .. } = application;

    let engine = engine(!options.disable_cache)?;
    let mut linker: Linker<Host> = Linker::new(&engine);
    // A WASIp3 component imports WASIp2's interfaces too (the standard library's), so the
    // linker has both, and Spin's interfaces in both versions.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    spin_host::add_to_linker(&mut linker)?;

    // As Spin's local SQLite: database "default" is `.spin/sqlite_db.db`, another `NAME.db`.
    let database_files = manifest
        .component
        .values()
        .flat_map(|component| &component.sqlite_databases)
        .map(|db| {
            let file = if db == "default" { "sqlite_db.db".to_owned() } else { format!("{db}.db") };
            (db.clone(), state_dir.join(file))
        })
        .collect();
    let databases = Arc::new(Databases::new(database_files, options.sync));
    let peak_memory = Arc::<AtomicUsize>::default();
    let slots = Arc::new(tokio::sync::Semaphore::new(INSTANCE_SLOTS as usize));

    let mut apis = BTreeMap::new();
    let mut files = BTreeMap::new();
    for (id, component) in &manifest.component {
        let variables = component
            .variables
            .iter()
            .map(|(name, template)| Ok((name.clone(), state::expand(template, &app_variables)?)))
            .collect::<Result<BTreeMap<_, _>>>()?;
        match &component.source {
            Source::Path(_) => {
                let wasm = match (&options.component, source_path(&manifest_dir, &component.source)) {
                    (Some(path), _) => path.clone(),
                    (None, Some(path)) => path,
                    (None, None) => bail!("component {id}: no source"),
                };
                let started = Instant::now();
                let compiled = Component::from_file(&engine, &wasm).map_err(|e| {
                    anyhow::anyhow!("component {id}: cannot load {} (build it first): {e:?}", wasm.display())
                })?;
                let instance = linker
                    .instantiate_pre(&compiled)
                    .map_err(|e| anyhow::anyhow!("component {id}: {e:?}"))?;
                let allowed_hosts = component
                    .allowed_outbound_hosts
                    .iter()
                    .map(|entry| AllowedHost::parse(&state::expand(entry, &app_variables)?))
                    .collect::<Result<Vec<_>>>()?;
                let resources = Arc::new(InstanceResources {
                    variables: Arc::new(variables),
                    allowed_databases: Arc::new(component.sqlite_databases.clone()),
                    allowed_hosts: Arc::new(allowed_hosts),
                    databases: databases.clone(),
                    peak_memory: peak_memory.clone(),
                    slots: slots.clone(),
                });
                let (kind, version) = match ServicePre::new(instance.clone()) {
                    Ok(pre) => (ApiKind::P3(reuse::handler(pre, resources.clone(), options.reuse)), "WASIp3"),
                    Err(_) => {
                        let pre =
                            ProxyPre::new(instance).map_err(|e| anyhow::anyhow!("component {id}: {e:?}"))?;
                        (ApiKind::P2(pre), "WASIp2")
                    }
                };
                eprintln!(
                    "component {id}: {} ({version}) ready in {} ms",
                    wasm.display(),
                    started.elapsed().as_millis()
                );
                apis.insert(id.clone(), ApiComponent { kind, resources });
            }
            Source::Url { url } => {
                if let Some(FileMount::Pattern(pattern)) =
                    component.files.iter().find(|m| matches!(m, FileMount::Pattern(_)))
                {
                    bail!(
                        "component {id}: files entry \"{pattern}\": the runner serves only {{ source, destination }} mounts"
                    );
                }
                let root = component.files.iter().find_map(|mount| match mount {
                    FileMount::Mapped { source, destination } if destination == "/" => {
                        Some(manifest_dir.join(source))
                    }
                    _ => None,
                });
                let Some(root) = root else {
                    bail!("component {id} ({url}) is not a static file server with files mapped to /")
                };
                files.insert(
                    id.clone(),
                    StaticFiles { root, fallback: component.environment.get("FALLBACK_PATH").cloned() },
                );
            }
        }
    }
    let routes = manifest.trigger.http.iter().map(|t| Route::parse(&t.route, &t.component)).collect();
    Ok(Server { routes, apis, files, peak_memory })
}

fn print_login(login: state::Login) {
    match login {
        state::Login::Generated { user, password, file } => {
            println!("  login: {user} / {password}   (kept in {})", file.display())
        }
        state::Login::Configured => println!("  login: the principals of SPIN_VARIABLE_SCIM_USERS"),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let options = options()?;
    let (application, login) = application(&options)?;
    if let Some(spin) = &options.spin {
        println!("scim-otp: handing over to {} (Spin prints the address)", spin.binary.display());
        print_login(login);
        let Application { manifest_path, manifest, state_dir, variables, .. } = &application;
        let component = options.component.as_deref();
        return spin_cli::exec(
            spin,
            manifest_path,
            manifest,
            component,
            state_dir,
            options.listen,
            variables,
        );
    }
    let server = build_server(&options, application)?;
    let listener = TcpListener::bind(options.listen)
        .await
        .with_context(|| format!("cannot listen on {}", options.listen))?;
    let address = listener.local_addr()?;
    let server = Arc::new(server);
    println!("scim-otp is running at http://{address}/");
    println!("  API: http://{address}/scim/v2 (also /soffid/webservice/scim2/v1)");
    print_login(login);
    loop {
        let (stream, client) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => {
                let peak = server.peak_memory.load(Ordering::Relaxed);
                println!("stopped; the largest instance linear memory was {} KiB", peak / 1024);
                return Ok(());
            }
        };
        let server = server.clone();
        tokio::task::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let server = server.clone();
                async move { Ok::<_, std::convert::Infallible>(server.handle(request, client).await) }
            });
            if let Err(e) =
                http1::Builder::new().keep_alive(true).serve_connection(TokioIo::new(stream), service).await
            {
                eprintln!("connection from {client}: {e}");
            }
        });
    }
}

//! Instance reuse for WASIp3 components, as `spin up` does it (`crates/trigger-http`, its
//! `HttpHandlerState` and `HttpWorkerState`, on wasmtime-wasi-http's `ProxyHandler`): by
//! default an instance serves up to 128 requests, up to 16 at a time, and is dropped after 1 s
//! idle, and the same three options as Spin's change that. Like Spin with no
//! `--request-timeout`, a request has no deadline. A component can observe reuse (what it keeps
//! between requests), so the runner reuses exactly as Spin does.

use crate::{Host, InstanceResources, Slot};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use wasmtime::component::GuestTaskId;
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi_http::WasiHttpView;
use wasmtime_wasi_http::handler::{
    self, HandlerState, ProxyHandler, ShouldAccept, WorkerExpiration, WorkerState, WorkerStatus,
};
use wasmtime_wasi_http::p3::bindings::ServicePre;

/// How instances are reused: `spin up`'s `--max-instance-reuse-count`,
/// `--max-instance-concurrent-reuse-count` and `--idle-instance-timeout` (single values; Spin
/// also takes ranges).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub requests: usize,
    pub concurrent: usize,
    pub idle: Duration,
}

impl Default for Limits {
    /// Spin's defaults for WASIp3 components (`DEFAULT_WASIP3_MAX_INSTANCE_REUSE_COUNT`,
    /// `…_CONCURRENT_REUSE_COUNT`, `DEFAULT_IDLE_INSTANCE_TIMEOUT`).
    fn default() -> Limits {
        Limits { requests: 128, concurrent: 16, idle: Duration::from_secs(1) }
    }
}

/// A duration as Spin's options take it: a number of seconds, or with `s`, `ms`, `us` or `ns`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n: u64 = text[..digits].parse().ok()?;
    match &text[digits..] {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "us" | "μs" => Some(Duration::from_micros(n)),
        "ns" => Some(Duration::from_nanos(n)),
        _ => None,
    }
}

pub(crate) fn handler(
    pre: ServicePre<Host>,
    resources: Arc<InstanceResources>,
    limits: Limits,
) -> ProxyHandler<Reuse> {
    ProxyHandler::new(Reuse { pre, resources, limits })
}

/// A component's instances: how they are made.
pub(crate) struct Reuse {
    pre: ServicePre<Host>,
    resources: Arc<InstanceResources>,
    limits: Limits,
}

impl HandlerState for Reuse {
    type StoreData = Host;
    type WorkerExpiration = Idle;
    type WorkerState = Requests;

    async fn instantiate(&self) -> wasmtime::Result<handler::Instance<Host, Idle, Requests>> {
        let (mut store, slot) = self.resources.store(self.pre.engine()).await?;
        let service = match self.pre.instantiate_async(&mut store).await {
            Ok(service) => service,
            Err(e) => {
                // What it allocated goes back to the pool before the permit for it goes.
                drop(store);
                drop(slot);
                return Err(e);
            }
        };
        Ok(handler::Instance {
            store,
            proxy: handler::Proxy::P3(service),
            view: Host::http,
            expiration: Idle {
                timeout: self.limits.idle,
                sleep: Box::pin(tokio::time::sleep(self.limits.idle)),
            },
            state: Requests { limits: self.limits, _slot: slot },
        })
    }
}

/// An instance ends after its idle timeout with no request.
pub(crate) struct Idle {
    timeout: Duration,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Idle {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>, status: WorkerStatus, start: Instant) -> Poll<()> {
        match status {
            WorkerStatus::Idle => {
                let idle = self.get_mut();
                let deadline = tokio::time::Instant::from_std(start + idle.timeout);
                let sleep = &mut idle.sleep;
                if sleep.deadline() != deadline {
                    sleep.as_mut().reset(deadline);
                }
                sleep.as_mut().poll(cx)
            }
            // No request timeout, as Spin's default.
            WorkerStatus::Requests | WorkerStatus::PostReturn => Poll::Pending,
        }
    }
}

/// How many requests an instance takes. It holds the instance's pool slot: the worker drops its
/// state after [`WorkerState::drop`] has dropped the store.
pub(crate) struct Requests {
    limits: Limits,
    _slot: Slot,
}

impl WorkerState for Requests {
    type StoreData = Host;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= self.limits.requests {
            ShouldAccept::Never
        } else if concurrent >= self.limits.concurrent {
            ShouldAccept::No
        } else {
            ShouldAccept::Yes
        }
    }

    fn on_request_start(
        &self,
        _: StoreContextMut<'_, Host>,
        _: (),
        _: GuestTaskId,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + Sync>> {
        Box::pin(std::future::pending())
    }

    fn drop(&self, store: Store<Host>, result: wasmtime::Result<()>) {
        if let Err(error) = result {
            eprintln!("a reused instance failed: {error:?}");
        }
        drop(store);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_spin_reads_them() {
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("1s"), Some(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("7us"), Some(Duration::from_micros(7)));
        assert_eq!(parse_duration("ms"), None);
        assert_eq!(parse_duration("1h"), None);
    }
}

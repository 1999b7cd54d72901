//! Instance reuse for WASIp3 components, as `spin up` does it (`crates/trigger-http`, its
//! `HttpHandlerState` and `HttpWorkerState`, on wasmtime-wasi-http's `ProxyHandler`): an
//! instance serves up to 128 requests, up to 16 at a time, and is dropped after 1 s idle.
//! These are Spin's defaults; like Spin with no `--request-timeout`, a request has no deadline.
//! A component can observe reuse (what it keeps between requests), so the runner reuses
//! exactly as Spin does by default.

use crate::{Host, InstanceResources};
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

/// Spin's `DEFAULT_WASIP3_MAX_INSTANCE_REUSE_COUNT`.
const MAX_REQUESTS_PER_INSTANCE: usize = 128;
/// Spin's `DEFAULT_WASIP3_MAX_INSTANCE_CONCURRENT_REUSE_COUNT`.
const MAX_CONCURRENT_REQUESTS_PER_INSTANCE: usize = 16;
/// Spin's `DEFAULT_IDLE_INSTANCE_TIMEOUT`.
const IDLE_INSTANCE_TIMEOUT: Duration = Duration::from_secs(1);

pub(crate) fn handler(pre: ServicePre<Host>, resources: Arc<InstanceResources>) -> ProxyHandler<Reuse> {
    ProxyHandler::new(Reuse { pre, resources })
}

/// A component's instances: how they are made.
pub(crate) struct Reuse {
    pre: ServicePre<Host>,
    resources: Arc<InstanceResources>,
}

impl HandlerState for Reuse {
    type StoreData = Host;
    type WorkerExpiration = Idle;
    type WorkerState = Requests;

    async fn instantiate(&self) -> wasmtime::Result<handler::Instance<Host, Idle, Requests>> {
        let mut store = self.resources.store(self.pre.engine()).await?;
        let service = self.pre.instantiate_async(&mut store).await?;
        Ok(handler::Instance {
            store,
            proxy: handler::Proxy::P3(service),
            view: Host::http,
            expiration: Idle { sleep: Box::pin(tokio::time::sleep(IDLE_INSTANCE_TIMEOUT)) },
            state: Requests,
        })
    }
}

/// An instance ends after [`IDLE_INSTANCE_TIMEOUT`] with no request.
pub(crate) struct Idle {
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl WorkerExpiration for Idle {
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>, status: WorkerStatus, start: Instant) -> Poll<()> {
        match status {
            WorkerStatus::Idle => {
                let deadline = tokio::time::Instant::from_std(start + IDLE_INSTANCE_TIMEOUT);
                let sleep = &mut self.get_mut().sleep;
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

/// How many requests an instance takes.
pub(crate) struct Requests;

impl WorkerState for Requests {
    type StoreData = Host;
    type RequestData = ();

    fn should_accept_request(&self, concurrent: usize, total: usize) -> ShouldAccept {
        if total >= MAX_REQUESTS_PER_INSTANCE {
            ShouldAccept::Never
        } else if concurrent >= MAX_CONCURRENT_REQUESTS_PER_INSTANCE {
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

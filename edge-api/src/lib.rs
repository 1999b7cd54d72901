//! The SCIM OTP API as a Spin HTTP component.
//!
//! request → [`app::handle`] (CORS, limits, auth, router) → handlers → [`store`] (SQLite) → response.
//! Everything but the thin Spin glue is plain Rust over a [`db::Database`], so native tests run
//! the whole API against rusqlite and the HTTP tests run the compiled component.

pub mod app;
pub mod auth;
pub mod context;
pub mod cors;
pub mod crypto;
pub mod db;
pub mod domain;
pub mod error;
pub mod guest;
mod handlers;
pub mod host;
pub mod http;
pub mod i18n;
pub mod origin;
pub mod settings;
pub mod store;

// The export glue that `#[http_component]` generates is unsafe code of spin-sdk's making.
#[cfg(all(target_arch = "wasm32", feature = "spin-p2"))]
#[allow(unsafe_code)]
mod spin;

// The same for WASIp3 (`#[http_service]`), built as the `edge-api-p3` package.
#[cfg(all(target_arch = "wasm32", feature = "spin-p3"))]
#[allow(unsafe_code)]
mod spin_p3;

#[cfg(test)]
mod tests;

//! The pure core of scim-otp: wire types, the attribute table of each resource, SCIM filter and PATCH, OTP math.
//!
//! Nothing here does I/O, reads a clock or draws randomness: the current time and the random
//! bytes are parameters, so every rule can be tested with fixed inputs, natively and in wasm.

pub mod action;
pub mod audit;
pub mod authenticator;
pub mod authenticator_body;
pub mod discovery;
pub mod error;
pub mod filter;
pub mod i18n;
pub mod input;
pub mod model;
pub mod names;
pub mod oath_device;
pub mod otp;
pub mod patch;
pub mod policy;
pub mod query;
pub mod schema;
pub mod standing;
pub mod timestamp;
pub mod urn;
pub mod user;
pub mod validate;

pub use error::{Problem, ScimType};
pub use model::{Algorithm, DeviceType, OtpDevice, Status, User};
pub use timestamp::Timestamp;

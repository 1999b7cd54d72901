//! Any JSON body as a PATCH request: parsing and applying it to each kind of device never
//! panics, and a successful PATCH yields a status from the schema.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use shared::patch::{PatchOp, apply_patch};
use std::sync::LazyLock;

static DEVICES: LazyLock<Vec<shared::OtpDevice>> = LazyLock::new(|| common::database().1);

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(patch) = PatchOp::from_json(&body) else { return };
    for device in DEVICES.iter() {
        let _ = apply_patch(device, &patch);
    }
});

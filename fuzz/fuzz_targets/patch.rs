//! Any JSON body as a PATCH request: parsing and applying it to each kind of device and to each
//! sample user never panics, and a user PATCH that succeeds yields what a PUT of the result
//! would store.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use shared::patch::{PatchOp, apply_patch};
use shared::user::apply_user_patch;
use std::sync::LazyLock;

static SAMPLE: LazyLock<(Vec<shared::OtpDevice>, Vec<shared::User>)> = LazyLock::new(|| {
    let sample = common::database();
    (sample.devices, sample.users)
});

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(patch) = PatchOp::from_json(&body) else { return };
    for device in SAMPLE.0.iter() {
        let _ = apply_patch(device, &patch);
    }
    for user in SAMPLE.1.iter() {
        if let Ok(data) = apply_user_patch(user, &patch) {
            assert!(!data.user_name.is_empty(), "a patched user keeps a userName: {body}");
            assert!(
                data.emails.iter().filter(|e| e.primary == Some(true)).count() <= 1,
                "two primaries: {body}"
            );
        }
    }
});

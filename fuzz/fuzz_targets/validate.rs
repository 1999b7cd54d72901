//! Any JSON body as a create (POST) or a replace (PUT) of each kind of device, and as a User: validation never
//! panics, and what it accepts is consistent (a created device has the required attributes of
//! its type).

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use shared::DeviceType;
use shared::user::validate_user;
use shared::validate::{Defaults, validate_create, validate_replace};
use std::sync::LazyLock;

static DEVICES: LazyLock<Vec<shared::OtpDevice>> = LazyLock::new(|| common::database().devices);

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    if let Ok(new) = validate_create(&body, &Defaults::default()) {
        assert!(!new.user.is_empty(), "a device needs a user: {body}");
        match new.device_type {
            DeviceType::Email => assert!(new.email.is_some(), "EMAIL without email: {body}"),
            DeviceType::Sms => assert!(new.phone.is_some(), "SMS without phone: {body}"),
            _ => {}
        }
    }
    for device in DEVICES.iter() {
        let _ = validate_replace(device, &body);
    }
    if let Ok(user) = validate_user(&body) {
        assert!((1..=64).contains(&user.user_name.chars().count()), "userName length: {body}");
        assert!(user.phone_numbers.iter().chain(&user.emails).all(|e| !e.value.is_empty()), "{body}");
    }
});

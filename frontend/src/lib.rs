//! The scim-otp admin app (Leptos CSR): sign in, then list, filter, create, enable/disable and
//! challenge OTP devices through the SCIM API, same-origin or cross-origin under CORS.

pub mod api;
pub mod bulk;
pub mod chart;
pub mod csv;
pub mod enrolment;
pub mod filters;
pub mod forms;
pub mod i18n;
pub mod pages;
pub mod standing;

/// Mounts the app on `<body>`.
pub fn mount() {
    leptos::mount::mount_to_body(pages::App);
}

//! The screens: sign-in, and the device list with its dialogs.

mod challenge;
mod create;
mod detail;
mod devices;
mod login;

pub use create::CreateDialog;
pub use devices::Devices;
pub use login::Login;

use crate::api::{ApiError, Session};
use crate::i18n::{Texts, texts};
use leptos::prelude::*;

/// Signed in or not: the whole app state that outlives a screen.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::restore());
    let reason = RwSignal::new(None::<String>);
    view! {
        <main lang=texts().lang>
            <Show
                when=move || session.get().is_some()
                fallback=move || view! { <Login session reason/> }
            >
                <Devices session reason/>
            </Show>
        </main>
    }
}

/// An API error in plain words; a 401 signs the admin out with the reason.
pub fn explain(error: &ApiError, t: &Texts) -> String {
    match error {
        ApiError::Scim { detail, .. } => detail.clone(),
        ApiError::Network { cross_origin: true } => t.cors_blocked.to_owned(),
        ApiError::Network { cross_origin: false } => t.unreachable.to_owned(),
    }
}

/// Handles an error the same way everywhere: 401 ends the session, the rest is shown.
pub fn report(
    error: ApiError,
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    shown: RwSignal<Option<String>>,
) {
    let t = texts();
    if error.status() == Some(401) {
        Session::forget();
        reason.set(Some(explain(&error, t)));
        session.set(None);
    } else {
        shown.set(Some(explain(&error, t)));
    }
}

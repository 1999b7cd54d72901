//! Small pieces every screen uses: the dialog, a confirmation, an error line, and saving from a
//! dialog.

use crate::api::{ApiError, Session};
use crate::i18n::{Texts, texts};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Saves from a create-or-edit dialog: `busy` while the request is out, then the dialog closed
/// (`true`: saved), or `stale` under its form on a 412, or the error in words.
pub fn save_from_dialog<T: 'static>(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    stale: &'static str,
    on_close: Callback<bool>,
    save: impl std::future::Future<Output = Result<T, ApiError>> + 'static,
) {
    busy.set(true);
    spawn_local(async move {
        let answer = save.await;
        busy.set(false);
        match answer {
            Ok(_) => on_close.run(true),
            Err(ApiError::Scim { status: 412, .. }) => error.set(Some(stale.to_owned())),
            Err(e) => report(e, session, reason, error),
        }
    });
}

/// A modal dialog: the focus moves into it when it opens (to its first control) and back to
/// where it was when it closes, and Escape closes it as its Cancel or Close button does.
#[component]
pub fn Dialog(
    #[prop(optional)] id: &'static str,
    on_escape: Callback<()>,
    children: Children,
) -> impl IntoView {
    use wasm_bindgen::JsCast;
    let node = NodeRef::<leptos::html::Div>::new();
    let opener = StoredValue::new_local(
        document().active_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
    );
    Effect::new(move |_| {
        let first =
            node.get().and_then(|d| d.query_selector("input, select, textarea, button").ok().flatten());
        if let Some(first) = first.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = first.focus();
        }
    });
    on_cleanup(move || {
        if let Some(opener) = opener.try_with_value(Option::clone).flatten().filter(|o| o.is_connected()) {
            let _ = opener.focus();
        }
    });
    view! {
        <div class="dialog" role="dialog" aria-modal="true" id=(!id.is_empty()).then_some(id) node_ref=node
            on:keydown=move |ev| if ev.key() == "Escape" { on_escape.run(()) }>
            {children()}
        </div>
    }
}

/// Asks the admin `question` (the browser's confirm box); `false` when there is no window.
pub fn confirmed(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

/// The error line under what failed, while `error` holds one (`id` names it when not empty).
pub fn alert(error: RwSignal<Option<String>>, id: &'static str) -> AnyView {
    let id = (!id.is_empty()).then_some(id);
    (move || error.get().map(|e| view! { <p id=id class="error" role="alert">{e}</p> })).into_any()
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
/// How a change of one row went, told in `notice`: `done` after a success; on a 412 that
/// someone changed it first; on a 400 or 409 the server's reason; any other failure is
/// [`report`]ed.
pub fn row_change(
    answer: Result<(), ApiError>,
    done: Option<String>,
    notice: RwSignal<Option<String>>,
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
) {
    match answer {
        Ok(()) => notice.set(done),
        Err(ApiError::Scim { status: 412, .. }) => notice.set(Some(texts().stale.to_owned())),
        Err(ApiError::Scim { status: 400 | 409, detail }) => notice.set(Some(detail)),
        Err(e) => report(e, session, reason, error),
    }
}

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

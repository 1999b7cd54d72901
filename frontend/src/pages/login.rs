//! Sign-in: API base URL (this origin by default), user and password, checked against the API.

use crate::api::{ApiError, Session, default_base};
use crate::i18n::texts;
use crate::pages::{alert, explain};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[component]
pub fn Login(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let base = RwSignal::new(default_base());
    let user = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let candidate = Session::new(&base.get(), &user.get(), &password.get());
        busy.set(true);
        spawn_local(async move {
            match candidate.sign_in().await {
                Ok(()) => {
                    candidate.save();
                    reason.set(None);
                    session.set(Some(candidate));
                }
                Err(ApiError::Scim { status: 401, .. }) => reason.set(Some(t.bad_login.to_owned())),
                Err(e) => reason.set(Some(explain(&e, t))),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="login" on:submit=submit>
            <h1>{t.title}</h1>
            <label>{t.api_url}
                <input id="api-base" type="url" required prop:value=move || base.get()
                    on:input=move |ev| base.set(event_target_value(&ev))/>
            </label>
            <label>{t.user}
                <input id="login-user" autocomplete="username" required prop:value=move || user.get()
                    on:input=move |ev| user.set(event_target_value(&ev))/>
            </label>
            <label>{t.password}
                <input id="login-password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            </label>
            {alert(reason, "")}
            <button id="sign-in" type="submit" disabled=move || busy.get()>{t.sign_in}</button>
        </form>
    }
}

//! The challenge workflow of one device: request → (EMAIL/SMS: sent; dev outbox) → enter the
//! code → success / failure / locked → enable after a success.

use crate::api::Session;
use crate::i18n::texts;
use crate::pages::{Dialog, alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use shared::model::{ChallengeRequested, ChallengeResult};
use shared::{DeviceType, OtpDevice, Status};

#[component]
pub fn ChallengePanel(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    device: OtpDevice,
    on_close: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let id = device.id;
    let sends_code = matches!(device.device_type, DeviceType::Email | DeviceType::Sms);
    let requested = RwSignal::new(None::<ChallengeRequested>);
    let outbox = RwSignal::new(None::<String>);
    let code = RwSignal::new(String::new());
    let result = RwSignal::new(None::<ChallengeResult>);
    let fails = RwSignal::new(device.fails);
    let status = RwSignal::new(device.status);
    let error = RwSignal::new(None::<String>);

    let request = move |_| {
        let Some(api) = session.get_untracked() else { return };
        spawn_local(async move {
            match api.request_challenge(id).await {
                Ok(answer) => requested.set(Some(answer)),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let show_outbox = move |_| {
        let Some(api) = session.get_untracked() else { return };
        spawn_local(async move {
            match api.outbox_message(vec![id]).await {
                Ok(latest) => outbox.set(latest),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(api) = session.get_untracked() else { return };
        let entered = code.get_untracked();
        spawn_local(async move {
            match api.respond(id, &entered).await {
                Ok(answer) => {
                    result.set(Some(answer));
                    if let Ok(fresh) = api.get(id).await {
                        fails.set(fresh.fails);
                        status.set(fresh.status);
                    }
                }
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let enable = move |_| {
        let Some(api) = session.get_untracked() else { return };
        spawn_local(async move {
            let outcome = match api.get(id).await {
                Ok(fresh) => api.patch(&fresh, json!({"status": "V"})).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(updated) => {
                    status.set(updated.status);
                    on_close.run(());
                }
                Err(e) => report(e, session, reason, error),
            }
        });
    };

    view! {
        <Dialog id="challenge" on_escape=Callback::new(move |()| on_close.run(()))>
            <h2>{t.challenge} " — " {device.name.clone()}</h2>
            <button id="request-challenge" on:click=request>{t.request_challenge}</button>
            {move || requested.get().map(|r| view! {
                <p id="challenge-sent">{t.sent_to} " " {r.card_number}</p>
                {sends_code.then(|| view! { <button id="open-outbox" on:click=show_outbox>{t.open_outbox}</button> })}
            })}
            {move || outbox.get().map(|m| view! { <p id="outbox-message" class="notice">{m}</p> })}
            <form on:submit=check>
                <label>{t.code}
                    <input id="challenge-code" inputmode="numeric" autocomplete="one-time-code" required
                        prop:value=move || code.get() on:input=move |ev| code.set(event_target_value(&ev))/>
                </label>
                <button id="check-code" type="submit">{t.check_code}</button>
            </form>
            {move || result.get().map(|r| {
                let (class, words) = match (r.success, r.locked) {
                    (true, _) => ("success", t.success),
                    (false, true) => ("error", t.locked),
                    (false, false) => ("error", t.failure),
                };
                view! { <p id="challenge-result" class=class role="status">{words} " (" {move || fails.get()} " " {t.failures} ")"</p> }
            })}
            {move || (result.get().is_some_and(|r| r.success) && status.get() != Status::Validated).then(|| view! {
                <button id="enable-after" on:click=enable>{t.enable_now}</button>
            })}
            {alert(error, "")}
            <button id="close-challenge" on:click=move |_| on_close.run(())>{t.close}</button>
        </Dialog>
    }
}

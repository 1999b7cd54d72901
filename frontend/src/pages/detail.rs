//! Everything about one device: its attributes, counters and audit trail.

use crate::api::Session;
use crate::i18n::texts;
use crate::pages::{Dialog, alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use shared::OtpDevice;

#[component]
pub fn DetailPanel(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    device: OtpDevice,
    on_close: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let id = device.id;
    let fresh = RwSignal::new(serde_json::to_value(&device).unwrap_or(Value::Null));
    let audit = RwSignal::new(Value::Null);
    let error = RwSignal::new(None::<String>);
    if let Some(api) = session.get_untracked() {
        spawn_local(async move {
            match (api.get(id).await, api.audit(id).await) {
                (Ok(d), Ok(a)) => {
                    fresh.set(serde_json::to_value(&d).unwrap_or(Value::Null));
                    audit.set(a);
                }
                (Err(e), _) | (_, Err(e)) => report(e, session, reason, error),
            }
        });
    }
    let rows = |value: &Value| {
        value
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(k, _)| *k != "schemas" && *k != "meta")
                    .map(|(k, v)| view! { <tr><th>{k.clone()}</th><td>{v.as_str().map_or_else(|| v.to_string(), str::to_owned)}</td></tr> })
                    .collect_view()
            })
    };
    view! {
        <Dialog id="detail" on_escape=Callback::new(move |()| on_close.run(()))>
            <h2>{t.details} " — " {device.name.clone()}</h2>
            <table class="attributes">{move || rows(&fresh.get())}</table>
            <h3>{t.counters}</h3>
            <table class="attributes" id="counters">{move || rows(&audit.get()["counters"])}</table>
            <h3>{t.audit}</h3>
            <ul id="audit">
                {move || audit.get()["entries"].as_array().cloned().unwrap_or_default().into_iter().map(|e| view! {
                    <li>{format!("{} · {} · {} {}", e["at"].as_str().unwrap_or_default(), e["actor"].as_str().unwrap_or_default(),
                        e["action"].as_str().unwrap_or_default(), e["detail"].as_str().unwrap_or_default())}</li>
                }).collect_view()}
            </ul>
            {alert(error, "")}
            <button id="close-detail" on:click=move |_| on_close.run(())>{t.close}</button>
        </Dialog>
    }
}

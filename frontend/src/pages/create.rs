//! The create dialog: its fields come from the shared attribute table for the chosen type; for
//! TOTP/HOTP the result shows the QR code and the `otpauth://` URI once.

use crate::api::Session;
use crate::i18n::{Texts, texts};
use crate::pages::{Dialog, alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value};
use shared::schema::{AttrType, Attribute, Input, create_fields};
use shared::{DeviceType, OtpDevice};
use std::collections::BTreeMap;

fn label(attribute: &Attribute, t: &Texts) -> &'static str {
    match attribute.name {
        "user" => t.user,
        other => other,
    }
}

/// The create request for the dialog's values; `None` values are left to the server's defaults.
pub fn create_body(device_type: DeviceType, values: &BTreeMap<&'static str, String>) -> Value {
    let mut body = Map::new();
    body.insert("schemas".into(), Value::from(vec![shared::model::DEVICE_SCHEMA]));
    body.insert("type".into(), Value::from(device_type.as_str()));
    for attribute in create_fields(device_type) {
        let Some(text) = values.get(attribute.name).map(|v| v.trim()).filter(|v| !v.is_empty()) else {
            continue;
        };
        let value = match attribute.kind {
            AttrType::Integer => text.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(text)),
            _ => Value::from(if attribute.input == Some(Input::Password) {
                values[attribute.name].clone()
            } else {
                text.to_owned()
            }),
        };
        body.insert(attribute.name.into(), value);
    }
    Value::Object(body)
}

#[component]
pub fn CreateDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    on_close: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let device_type = RwSignal::new(DeviceType::Totp);
    let values = RwSignal::new(BTreeMap::<&'static str, String>::new());
    let pin_again = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let created = RwSignal::new(None::<OtpDevice>);
    let copied = RwSignal::new(false);

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let kind = device_type.get_untracked();
        let current = values.get_untracked();
        if kind == DeviceType::Pin
            && current.get("pin").cloned().unwrap_or_default() != pin_again.get_untracked()
        {
            error.set(Some(t.pins_differ.to_owned()));
            return;
        }
        let Some(api) = session.get_untracked() else { return };
        let body = create_body(kind, &current);
        spawn_local(async move {
            match api.create(&body).await {
                Ok(device) if kind.has_seed() => created.set(Some(device)),
                Ok(_) => on_close.run(()),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let field = move |attribute: &'static Attribute| {
        let name = attribute.name;
        let set = move |ev: leptos::ev::Event| {
            let v = event_target_value(&ev);
            values.update(|m| {
                m.insert(name, v);
            });
        };
        let input = match attribute.input {
            Some(Input::Choice(options)) => view! {
                <select id=format!("c-{name}") on:change=set>
                    <option value="">{t.server_default}</option>
                    {options.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
                </select>
            }
            .into_any(),
            Some(kind) => {
                let html_type = match kind {
                    Input::Email => "email",
                    Input::Tel => "tel",
                    Input::Password => "password",
                    Input::Number => "number",
                    _ => "text",
                };
                let required = attribute.required_on_create(device_type.get_untracked());
                view! { <input id=format!("c-{name}") type=html_type required=required
                prop:value=move || values.with(|m| m.get(name).cloned().unwrap_or_default()) on:input=set/> }
                .into_any()
            }
            None => ().into_any(),
        };
        let again = (attribute.input == Some(Input::Password)).then(|| {
            view! { <label>{t.pin_again}<input id="c-pin-again" type="password" required
                prop:value=move || pin_again.get() on:input=move |ev| pin_again.set(event_target_value(&ev))/></label> }
        });
        view! { <label>{label(attribute, t)} {input}</label> {again} }
    };

    view! {
        <Dialog on_escape=Callback::new(move |()| on_close.run(()))>
            <h2>{t.new_device}</h2>
            {move || match created.get() {
                Some(device) => view! {
                    <div id="created">
                        <p class="warning" role="alert">{t.shown_once}</p>
                        <img id="qr" alt="QR code" src=format!("data:image/png;base64,{}", device.image.clone().unwrap_or_default())/>
                        <code id="otpauth-uri">{device.otpauth_uri.clone().unwrap_or_default()}</code>
                        <button id="copy-uri" on:click=move |_| {
                            if let Some(w) = web_sys::window() {
                                let _ = w.navigator().clipboard().write_text(&device.otpauth_uri.clone().unwrap_or_default());
                                copied.set(true);
                            }
                        }>{move || if copied.get() { t.copied } else { t.copy }}</button>
                        <button id="close-created" on:click=move |_| on_close.run(())>{t.close}</button>
                    </div>
                }.into_any(),
                None => view! {
                    <form id="create-form" on:submit=submit>
                        <label>{t.device_type}
                            <select id="c-type" on:change=move |ev| {
                                if let Some(kind) = DeviceType::parse(&event_target_value(&ev)) { device_type.set(kind); values.set(BTreeMap::new()); }
                            }>
                                {DeviceType::ALL.iter().map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> }).collect_view()}
                            </select>
                        </label>
                        {move || create_fields(device_type.get()).map(field).collect_view()}
                        {alert(error, "")}
                        <div class="row">
                            <button id="create-submit" type="submit">{t.create}</button>
                            <button type="button" on:click=move |_| on_close.run(())>{t.cancel}</button>
                        </div>
                    </form>
                }.into_any(),
            }}
        </Dialog>
    }
}

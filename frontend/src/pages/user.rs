//! One user's page (`#/users/{id}`): their devices and their authenticators side by side. Each
//! authenticator shows its policy, a status badge with the reason when it does not validate,
//! its validity dates, statistics and last successful device, and can be enabled, disabled,
//! reset after a lockout, given new validity dates, or deleted.

use crate::api::{Answer, ApiError, Session};
use crate::i18n::texts;
use crate::pages::devices::status_label;
use crate::pages::enrol::{EnrolPanel, ValidateDialog};
use crate::pages::inventory::state_label;
use crate::pages::list_query;
use crate::pages::{alert, confirmed, report, row_change};
use crate::standing::{Inactive, Refusal, why_inactive};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::authenticator::Authenticator;
use shared::oath_device::OathDevice;
use shared::policy::{Policy, PolicyKind};
use shared::{DeviceType, OtpDevice, Timestamp, User};

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// Everything the page shows, read together.
#[derive(Clone)]
struct Loaded {
    user: User,
    devices: Vec<OtpDevice>,
    /// Their TOTP and HOTP devices as the inventory sees them (serial, manufacturer, model).
    tokens: Vec<OathDevice>,
    authenticators: Vec<Authenticator>,
    policies: Vec<Policy>,
}

async fn load(api: &Session, id: &str) -> Result<Loaded, ApiError> {
    let user = api.user(id).await?;
    let devices = api
        .list(&list_query(Some(&format!("user eq {}", quoted(&user.user_name))), "id", false, 1, 100))
        .await?;
    let owned = format!("owner.value eq {}", quoted(&user.id));
    let tokens = api.oath_devices(&list_query(Some(&owned), "serialNumber", false, 1, 100)).await?;
    let authenticators = api.authenticators(&list_query(Some(&owned), "", false, 1, 100)).await?;
    let policies = api.policies(&list_query(None, "id", false, 1, 100)).await?;
    Ok(Loaded {
        user,
        devices: devices.resources,
        tokens: tokens.resources,
        authenticators: authenticators.resources,
        policies: policies.resources,
    })
}

/// A device as an admin knows it: its name (for a hardware token, its serial), its type, and
/// the token's manufacturer and model (`FT0001 · TOTP · Feitian c200`); its id when it is gone.
fn device_name(id: &str, devices: &[OtpDevice], tokens: &[OathDevice]) -> String {
    let Some(device) = devices.iter().find(|d| d.id.to_string() == id) else { return id.to_owned() };
    let mut name = format!("{} · {}", device.name, device.device_type.as_str());
    if let Some(made) = tokens.iter().find(|t| t.id == id).map(make_and_model).filter(|m| !m.is_empty()) {
        name = format!("{name} · {made}");
    }
    name
}

/// A token's manufacturer and model, as far as its seed file said.
fn make_and_model(token: &OathDevice) -> String {
    [&token.manufacturer, &token.model].into_iter().flatten().cloned().collect::<Vec<_>>().join(" ")
}

/// `YYYY-MM-DD` of an instant, for a date input.
fn day(t: Timestamp) -> String {
    t.to_rfc3339()[..10].to_owned()
}

#[component]
pub fn UserPage(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    id: String,
) -> impl IntoView {
    let t = texts();
    let loaded = RwSignal::new(None::<Loaded>);
    let error = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let reloads = RwSignal::new(0u32);
    let reload = move || reloads.update(|n| *n += 1);
    Effect::new(move |_| {
        reloads.track();
        let Some(api) = session.get() else { return };
        let id = id.clone();
        spawn_local(async move {
            match load(&api, &id).await {
                Ok(found) => {
                    error.set(None);
                    loaded.set(Some(found));
                }
                Err(e) => report(e, session, reason, error),
            }
        });
    });
    // Waits for one change of an authenticator, then reads the page again.
    let change = move |work: Answer<()>| {
        spawn_local(async move {
            row_change(work.await, None, notice, session, reason, error);
            reload();
        });
    };
    // The authenticator being validated: its id, its policy's kind, and the devices whose
    // outbox messages may carry its codes.
    let validating = RwSignal::new(None::<(String, Option<PolicyKind>, Vec<i64>)>);
    let card = move |a: Authenticator,
                     policies: &[Policy],
                     devices: &[OtpDevice],
                     tokens: &[OathDevice],
                     user_active: bool| {
        // Read at each render: an authenticator enrolled after the page opened starts after then.
        let now = (js_sys::Date::now() / 1000.0) as i64;
        let policy = policies.iter().find(|p| p.id == a.policy.value);
        let max_fails = policy.map(|p| p.max_fails);
        let kind = policy.map(|p| p.kind);
        let sends_to = match kind {
            Some(PolicyKind::OobEmail) => Some(DeviceType::Email),
            Some(PolicyKind::OobSms) => Some(DeviceType::Sms),
            _ => None,
        };
        let outbox_devices: Vec<i64> =
            devices.iter().filter(|d| Some(d.device_type) == sends_to).map(|d| d.id).collect();
        let validate = (a.id.clone(), kind, outbox_devices);
        let why = why_inactive(&a, max_fails, user_active, now);
        let enabled = a.status.status == shared::authenticator::Enabled::Enabled;
        let start = RwSignal::new(day(a.status.start_date));
        let expiry = RwSignal::new(a.status.expiry_date.map(day).unwrap_or_default());
        let (toggle, dates, reset, remove) = (a.clone(), a.clone(), a.id.clone(), a.clone());
        let statistics = a.statistics;
        view! {
            <article class="card authenticator" data-id=a.id.clone()>
                <h4>{a.policy.display.clone().unwrap_or_else(|| a.policy.value.clone())} <small>{a.id.clone()}</small></h4>
                <p>
                    {match why {
                        None => view! { <span class="badge s-V">{t.active_now}</span> }.into_any(),
                        Some(why) => view! { <span class="badge s-D why">{why.phrase().get(t.lang)}</span> }.into_any(),
                    }}
                </p>
                <table class="attributes">
                    <tr><th>{t.policy}</th><td>{a.policy.value.clone()}</td></tr>
                    <tr><th>{t.valid_from}</th><td>{a.status.start_date.to_string()}</td></tr>
                    <tr><th>{t.valid_until}</th><td>{a.status.expiry_date.map_or_else(|| t.no_expiry.to_owned(), |e| e.to_string())}</td></tr>
                    <tr><th>{t.statistics}</th><td class="statistics">{format!(
                        "{} ✓ · {} ✗ · {} / {}",
                        statistics.total_success, statistics.total_failed, statistics.consecutive_failed,
                        max_fails.map_or_else(|| "–".to_owned(), |m| m.to_string()),
                    )}</td></tr>
                    <tr><th>{t.last_device}</th><td class="last-device">{a.last_successful_device.as_ref().map(|d| device_name(&d.value, devices, tokens))}</td></tr>
                </table>
                <div class="row actions">
                    <button class="validate-authenticator" on:click=move |_| validating.set(Some(validate.clone()))>{t.validate}</button>
                    <button class="toggle-authenticator" on:click=move |_| {
                        let (Some(api), a) = (session.get_untracked(), toggle.clone()) else { return };
                        change(api.set_authenticator_enabled(&a, !enabled));
                    }>{if enabled { t.disable } else { t.enable }}</button>
                    {(why == Some(Inactive::Refused(Refusal::Locked)) || statistics.consecutive_failed > 0).then(|| {
                        let reset = reset.clone();
                        view! {
                            <button class="reset-authenticator" on:click=move |_| {
                                let (Some(api), id) = (session.get_untracked(), reset.clone()) else { return };
                                change(Box::pin(async move { api.authenticator_action(&id, "RESET", &[]).await.map(|_| ()) }));
                            }>{t.reset_lockout}</button>
                        }
                    })}
                    <button class="delete-authenticator" on:click=move |_| {
                        let question = t.confirm_delete_authenticator.replace("{id}", &remove.id);
                        if confirmed(&question) {
                            let (Some(api), a) = (session.get_untracked(), remove.clone()) else { return };
                            change(api.delete_authenticator(&a));
                        }
                    }>{t.delete}</button>
                </div>
                <div class="row dates">
                    <label>{t.valid_from}<input type="date" class="start-date" prop:value=move || start.get()
                        on:input=move |ev| start.set(event_target_value(&ev))/></label>
                    <label>{t.valid_until}<input type="date" class="expiry-date" prop:value=move || expiry.get()
                        on:input=move |ev| expiry.set(event_target_value(&ev))/></label>
                    <button class="save-dates" on:click=move |_| {
                        let (Some(api), a) = (session.get_untracked(), dates.clone()) else { return };
                        let from = format!("{}T00:00:00Z", start.get_untracked());
                        let until = Some(expiry.get_untracked()).filter(|e| !e.is_empty()).map(|e| format!("{e}T23:59:59Z"));
                        change(api.set_authenticator_dates(&a, &from, until.as_deref()));
                    }>{t.save_dates}</button>
                </div>
            </article>
        }
    };
    let ready = Memo::new(move |_| loaded.with(Option::is_some));
    let user = Signal::derive(move || loaded.with(|l| l.as_ref().map(|l| l.user.clone())));
    let choices = Memo::new(move |_| {
        loaded.with(|l| {
            let Some(l) = l else { return Vec::new() };
            let taken = |p: &Policy| l.authenticators.iter().any(|a| a.policy.value == p.id);
            l.policies.iter().filter(|p| !taken(p)).cloned().collect::<Vec<_>>()
        })
    });
    view! {
        <p><a href="#/users" id="back-to-users">{t.back_to_users}</a></p>
        {alert(error, "")}
        {move || notice.get().map(|n| view! { <p id="user-notice" class="notice" role="status">{n}</p> })}
        {move || match loaded.get() {
            None => view! { <p class="loading">{t.loading}</p> }.into_any(),
            Some(Loaded { user, devices, tokens, authenticators, policies }) => {
                let user_active = user.active;
                view! {
                    <h2 id="user-title">{user.display_name.clone().unwrap_or_else(|| user.user_name.clone())}
                        " " <small>{user.user_name.clone()}</small>
                        {(!user.active).then(|| view! { <span class="badge s-D">{t.inactive}</span> })}</h2>
                    <div class="side-by-side">
                        <section class="card">
                            <h3>{t.devices}</h3>
                            <table id="user-devices">
                                {if devices.is_empty() {
                                    view! { <tr><td class="empty">{t.no_devices}</td></tr> }.into_any()
                                } else {
                                    devices.iter().map(|d| view! {
                                        <tr data-id=d.id>
                                            <td>{d.name.clone()}</td><td>{d.device_type.as_str()}</td>
                                            <td><span class=format!("badge s-{}", d.status.as_str())>{status_label(d.status, t)}</span></td>
                                            <td>{d.fails}</td>
                                            <td>{d.last_used.map_or_else(|| t.never.to_owned(), |u| u.to_string())}</td>
                                        </tr>
                                    }).collect_view().into_any()
                                }}
                            </table>
                            {(!tokens.is_empty()).then(|| view! {
                                <h3>{t.tokens}</h3>
                                <table id="user-tokens">
                                    {tokens.iter().map(|d| view! {
                                        <tr data-id=d.id.clone()>
                                            <td>{d.serial_number.clone()}</td>
                                            <td>{make_and_model(d)}</td>
                                            <td><span class=format!("badge d-{}", d.status.as_str())>{state_label(d.status, t)}</span></td>
                                        </tr>
                                    }).collect_view()}
                                </table>
                            })}
                        </section>
                        <section id="user-authenticators">
                            <h3>{t.authenticators}</h3>
                            {if authenticators.is_empty() {
                                view! { <p class="empty">{t.no_authenticators}</p> }.into_any()
                            } else {
                                authenticators.into_iter().map(|a| card(a, &policies, &devices, &tokens, user_active)).collect_view().into_any()
                            }}
                        </section>
                    </div>
                }
                .into_any()
            }
        }}
        // Made once the page is read, and kept over its reloads (it holds what is shown once).
        {move || ready.get().then(|| view! {
            <EnrolPanel session reason user choices on_enrolled=Callback::new(move |()| reload())/>
        })}
        {move || validating.get().map(|(id, kind, outbox_devices)| view! {
            <ValidateDialog session reason id kind outbox_devices
                on_change=Callback::new(move |()| reload()) on_close=Callback::new(move |()| validating.set(None))/>
        })}
    }
}

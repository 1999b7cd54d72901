//! The audit log (issue 15): the tenant's audit trail, newest first, filtered by time range,
//! action, actor and what it happened to, paged by the server.

use crate::api::Session;
use crate::csv::Column;
use crate::filters::AuditFilterForm;
use crate::i18n::texts;
use crate::pages::list_query;
use crate::pages::{Listed, Pager, alert, csv_button, keep_listed};
use leptos::prelude::*;
use shared::audit::AuditAction;

/// The actions an admin filters on most, after `challenge-` (every validation's); any other can
/// be typed.
const KNOWN_ACTIONS: [AuditAction; 19] = [
    AuditAction::ChallengeSuccess,
    AuditAction::ChallengeFailure,
    AuditAction::ChallengeFailureLocked,
    AuditAction::ChallengeRefused,
    AuditAction::RequestChallenge,
    AuditAction::Create,
    AuditAction::Patch,
    AuditAction::Replace,
    AuditAction::Delete,
    AuditAction::UserCreate,
    AuditAction::UserReplace,
    AuditAction::UserDelete,
    AuditAction::AuthenticatorCreate,
    AuditAction::AuthenticatorReplace,
    AuditAction::AuthenticatorReset,
    AuditAction::AuthenticatorDelete,
    AuditAction::PolicyCreate,
    AuditAction::PolicyReplace,
    AuditAction::PolicyDelete,
];

/// The audit trail as CSV.
const AUDIT_COLUMNS: &[Column] = &[
    ("id", "id"),
    ("at", "at"),
    ("actor", "actor"),
    ("action", "action"),
    ("deviceId", "deviceId"),
    ("userId", "userId"),
    ("authenticator", "authenticator"),
    ("detail", "detail"),
];

#[component]
pub fn AuditLog(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(AuditFilterForm::default());
    let applied = RwSignal::new(None::<String>);
    let oldest_first = RwSignal::new(false);
    let start = RwSignal::new(1u64);
    let count = RwSignal::new(50u64);
    let listed = keep_listed(
        session,
        reason,
        move || list_query(applied.get().as_deref(), "at", !oldest_first.get(), start.get(), count.get()),
        |api, query| async move { api.audit_events(&query).await },
    );
    let Listed { result, loading, error, filter_error } = listed;
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match form.get().to_filter() {
            Ok(filter) => {
                filter_error.set(None);
                start.set(1);
                applied.set(filter);
            }
            Err(field) => filter_error.set(Some(format!("{}: {field}", t.not_a_number))),
        }
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      get: fn(&AuditFilterForm) -> String,
                      set: fn(&mut AuditFilterForm, String)| {
        view! {
            <label>{label}
                <input id=id type=kind list=(id == "a-action").then_some("known-actions") prop:value=move || form.with(get)
                    on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); }/>
            </label>
        }
    };
    view! {
        <h2>{t.audit_log}</h2>
        <form class="filters" on:submit=apply>
            <fieldset>
                <legend>{t.filter}</legend>
                {field("a-from", t.from, "date", |f| f.from.clone(), |f, v| f.from = v)}
                {field("a-to", t.to, "date", |f| f.to.clone(), |f, v| f.to = v)}
                {field("a-action", t.action, "text", |f| f.action.clone(), |f, v| f.action = v)}
                <datalist id="known-actions">
                    <option value="challenge-"/>
                    {KNOWN_ACTIONS.iter().map(|a| view! { <option value=a.as_str()/> }).collect_view()}
                </datalist>
                {field("a-actor", t.actor, "text", |f| f.actor.clone(), |f, v| f.actor = v)}
                {field("a-device", t.device_id, "text", |f| f.device_id.clone(), |f, v| f.device_id = v)}
                {field("a-user", t.user_id, "text", |f| f.user_id.clone(), |f, v| f.user_id = v)}
                {field("a-authenticator", t.authenticator, "text", |f| f.authenticator.clone(), |f, v| f.authenticator = v)}
                {alert(filter_error, "audit-filter-error")}
                <div class="row">
                    <button id="apply-audit-filter" type="submit">{t.apply}</button>
                    <button type="button" on:click=move |_| { form.set(AuditFilterForm::default()); applied.set(None); filter_error.set(None); start.set(1); }>{t.clear}</button>
                    <label><input id="a-oldest-first" type="checkbox" prop:checked=move || oldest_first.get()
                        on:change=move |ev| { oldest_first.set(event_target_checked(&ev)); start.set(1); }/>{t.oldest_first}</label>
                    <code id="sent-audit-filter" title=t.sent_filter>{move || applied.get().unwrap_or_default()}</code>
                </div>
            </fieldset>
        </form>
        <div class="toolbar">
            {csv_button(session, reason, error, "audit-csv", "/Audit", "audit.csv", AUDIT_COLUMNS,
                Box::new(move || (applied.get_untracked(), "at".to_owned(), !oldest_first.get_untracked())))}
            {move || loading.get().then(|| view! { <span class="loading">{t.loading}</span> })}
        </div>
        {alert(error, "")}
        <div class="table-wrap">
        <table id="audit-log">
            <thead><tr>
                <th>{t.when}</th><th>{t.actor}</th><th>{t.action}</th><th>{t.device_id}</th>
                <th>{t.user_id}</th><th>{t.authenticator}</th><th>{t.detail}</th>
            </tr></thead>
            <tbody>
                {move || {
                    let events = result.get().map(|r| r.resources).unwrap_or_default();
                    if events.is_empty() && result.with(Option::is_some) {
                        return view! { <tr><td colspan="7" class="empty">{t.no_events}</td></tr> }.into_any();
                    }
                    events.into_iter().map(|e| view! {
                        <tr data-id=e.id.clone()>
                            <td>{e.at.to_string()}</td>
                            <td>{e.actor.clone()}</td>
                            <td>{e.action.clone()}</td>
                            <td>{e.device_id.map(|d| d.to_string())}</td>
                            <td>{e.user_id.clone()}</td>
                            <td>{e.authenticator.clone()}</td>
                            <td class="detail">{e.detail.clone()}</td>
                        </tr>
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        </div>
        <Pager prefix="audit-" sizes=&[25, 50, 100, 200] start count
            shown=listed.shown()/>
    }
}

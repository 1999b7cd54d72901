//! The device table's bulk actions: enable, disable, unlock or delete the selected devices, one
//! request each with `If-Match` from the row as it was selected, a progress bar while it runs,
//! and a summary at the end that names every device refused and why.

use crate::api::{ApiError, Session};
use crate::bulk::{BulkAction, Outcome, Progress};
use crate::i18n::{Texts, texts};
use crate::pages::{alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::OtpDevice;
use std::collections::BTreeMap;

fn label(action: BulkAction, t: &Texts) -> &'static str {
    match action {
        BulkAction::Enable => t.enable,
        BulkAction::Disable => t.disable,
        BulkAction::Unlock => t.unlock,
        BulkAction::Delete => t.delete,
    }
}

/// What one request did to one device.
async fn apply(api: &Session, action: BulkAction, device: &OtpDevice) -> Result<Outcome, ApiError> {
    if !action.applies(device) {
        return Ok(Outcome::Skipped);
    }
    let answer = match action.values() {
        Some(values) => api.patch(device, values).await.map(|_| ()),
        None => api.delete(device).await,
    };
    match answer {
        Ok(()) => Ok(Outcome::Done),
        Err(ApiError::Scim { status: 412, .. }) => Ok(Outcome::Stale),
        Err(ApiError::Scim { status: 401, detail }) => Err(ApiError::Scim { status: 401, detail }),
        Err(ApiError::Scim { detail, .. }) => Ok(Outcome::Refused(detail)),
        Err(network) => Err(network),
    }
}

#[component]
pub fn BulkBar(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    /// The selected devices by id, each as it was when selected.
    selected: RwSignal<BTreeMap<i64, OtpDevice>>,
    /// Called when a run has finished (the table reloads).
    on_done: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let progress = RwSignal::new(None::<Progress>);
    let error = RwSignal::new(None::<String>);
    let run = move |action: BulkAction| {
        let devices: Vec<OtpDevice> = selected.get_untracked().into_values().collect();
        if devices.is_empty() || progress.with_untracked(|p| p.as_ref().is_some_and(Progress::running)) {
            return;
        }
        if action == BulkAction::Delete {
            let question = t.confirm_bulk_delete.replace("{n}", &devices.len().to_string());
            if !web_sys::window().and_then(|w| w.confirm_with_message(&question).ok()).unwrap_or(false) {
                return;
            }
        }
        let Some(api) = session.get_untracked() else { return };
        error.set(None);
        progress.set(Some(Progress { total: devices.len(), finished: Vec::new() }));
        spawn_local(async move {
            for device in &devices {
                match apply(&api, action, device).await {
                    Ok(outcome) => progress.update(|p| {
                        if let Some(p) = p {
                            p.finished.push((device.id, device.name.clone(), outcome));
                        }
                    }),
                    Err(e) => {
                        // Signed out, or the service is gone: what is left is not sent, and the
                        // summary says how far it went.
                        progress.update(|p| {
                            if let Some(p) = p {
                                p.total = p.finished.len();
                            }
                        });
                        report(e, session, reason, error);
                        break;
                    }
                }
            }
            selected.set(BTreeMap::new());
            on_done.run(());
        });
    };
    let summary = move |p: &Progress| {
        t.bulk_summary
            .replace("{done}", &p.count(|o| *o == Outcome::Done).to_string())
            .replace("{skipped}", &p.count(|o| *o == Outcome::Skipped).to_string())
            .replace("{refused}", &p.refused().len().to_string())
    };
    view! {
        {move || (!selected.with(BTreeMap::is_empty) || progress.with(Option::is_some)).then(|| view! {
            <div class="bulk" id="bulk" role="region" aria-label=t.actions>
                <span id="selected-count">{move || t.selected_n.replace("{n}", &selected.with(BTreeMap::len).to_string())}</span>
                {BulkAction::ALL.into_iter().map(|action| view! {
                    <button class=format!("bulk-{}", format!("{action:?}").to_ascii_lowercase())
                        disabled=move || selected.with(BTreeMap::is_empty) || progress.with(|p| p.as_ref().is_some_and(Progress::running))
                        on:click=move |_| run(action)>{label(action, t)}</button>
                }).collect_view()}
                <button id="clear-selection" on:click=move |_| selected.set(BTreeMap::new())>{t.clear_selection}</button>
                {move || progress.get().map(|p| {
                    let done = p.finished.len();
                    view! {
                        <div id="bulk-progress" class="row">
                            <progress max=p.total value=done></progress>
                            <span>{t.bulk_progress.replace("{done}", &done.to_string()).replace("{total}", &p.total.to_string())}</span>
                        </div>
                        {(!p.running()).then(|| view! {
                            <div id="bulk-summary" role="status">
                                <p>{summary(&p)}</p>
                                <ul>
                                    {p.refused().into_iter().map(|(name, why)| view! {
                                        <li class="refused">{name.to_owned()}": "{why.unwrap_or(t.changed_meanwhile).to_owned()}</li>
                                    }).collect_view()}
                                </ul>
                                <button id="dismiss-summary" on:click=move |_| progress.set(None)>{t.dismiss}</button>
                            </div>
                        })}
                    }
                })}
                {alert(error, "")}
            </div>
        })}
    }
}

//! The device table: filter bar, server-side sort and paging, row actions, and the dialogs.

use super::bulk::BulkBar;
use super::challenge::ChallengePanel;
use super::create::CreateDialog;
use super::detail::DetailPanel;
use crate::api::{ApiError, Session};
use crate::bulk::span;
use crate::csv::Column;
use crate::filters::FilterForm;
use crate::i18n::{Texts, texts};
use crate::pages::{
    Listed, Listing, Pager, alert, confirmed, csv_button, every_page, filter_row, keep_listed, report,
    row_change, sort_header,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use shared::{DeviceType, OtpDevice, Status};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Panel {
    Closed,
    Create,
    Challenge(OtpDevice),
    Detail(OtpDevice),
}

/// The devices list as CSV.
const DEVICE_COLUMNS: &[Column] = &[
    ("id", "id"),
    ("name", "name"),
    ("type", "type"),
    ("user", "user"),
    ("status", "status"),
    ("fails", "fails"),
    ("created", "created"),
    ("lastUsed", "lastUsed"),
];

pub fn status_label(status: Status, t: &Texts) -> &'static str {
    match status {
        Status::Created => t.status_c,
        Status::Validated => t.status_v,
        Status::Locked => t.status_l,
        Status::Disabled => t.status_d,
    }
}

#[component]
pub fn Devices(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(FilterForm::default());
    let list = Listing::new("", 25);
    let Listing { applied, start, count, .. } = list;
    let notice = RwSignal::new(None::<String>);
    let panel = RwSignal::new(Panel::Closed);
    // Bulk selection: each device as it was when selected (its version goes in `If-Match`), and
    // the row a shift-click extends from.
    let selected = RwSignal::new(BTreeMap::<i64, OtpDevice>::new());
    let anchor = StoredValue::new(None::<usize>);

    let reload = move || list.reload();
    let listed = keep_listed(
        session,
        reason,
        move || list.query(),
        |api, query| async move { api.list(&query).await },
    );
    let Listed { result, loading, error, .. } = listed;

    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let current = form.get();
        // The service checks the filter: a 400 puts its words (with the position) by the box.
        start.set(1);
        selected.set(BTreeMap::new());
        applied.set(current.to_filter());
    };
    let rows = move || result.with_untracked(|r| r.as_ref().map(|r| r.resources.clone()).unwrap_or_default());
    // A click selects or clears a row; with shift, every row from the last one clicked as well.
    let pick = move |index: usize, shift: bool| {
        let rows = rows();
        let Some(clicked) = rows.get(index) else { return };
        let on = !selected.with_untracked(|s| s.contains_key(&clicked.id));
        let span = match anchor.get_value().filter(|_| shift) {
            Some(from) => span(from, index),
            None => index..=index,
        };
        selected.update(|s| {
            for device in rows.iter().skip(*span.start()).take(span.end() - span.start() + 1) {
                if on {
                    s.insert(device.id, device.clone());
                } else {
                    s.remove(&device.id);
                }
            }
        });
        anchor.set_value(Some(index));
    };
    let page_selected = move || {
        result.with(|r| {
            r.as_ref().is_some_and(|r| {
                !r.resources.is_empty()
                    && selected.with(|s| r.resources.iter().all(|d| s.contains_key(&d.id)))
            })
        })
    };
    let pick_page = move |_| {
        let on = !page_selected();
        selected.update(|s| {
            for device in rows() {
                if on {
                    s.insert(device.id, device);
                } else {
                    s.remove(&device.id);
                }
            }
        });
    };
    // Every device the filter matches, as they are now.
    let pick_matching = move |_| {
        let Some(current) = session.get_untracked() else { return };
        let order = list.order();
        loading.set(true);
        spawn_local(async move {
            match every_page(|query| current.list(&query), order).await {
                Ok(all) => selected.update(|s| s.extend(all.into_iter().map(|d| (d.id, d)))),
                Err(e) => report(e, session, reason, error),
            }
            loading.set(false);
        });
    };
    // How a change of one row went (someone else's change first: a 412), then the page again.
    let outcome = move |answer: Result<(), ApiError>| {
        row_change(answer, None, notice, session, reason, error);
        reload();
    };
    let act = move |device: OtpDevice, values: serde_json::Value| {
        let Some(current) = session.get_untracked() else { return };
        spawn_local(async move { outcome(current.patch(&device, values).await.map(|_| ())) });
    };
    let delete = move |device: OtpDevice| {
        let Some(current) = session.get_untracked() else { return };
        if confirmed(t.confirm_delete) {
            spawn_local(async move { outcome(current.delete(&device).await) });
        }
    };

    let header = move |label: &'static str, attribute: &'static str| sort_header(list, label, attribute);
    let text_field = move |id: &'static str,
                           kind: &'static str,
                           get: fn(&FilterForm) -> String,
                           set: fn(&mut FilterForm, String)| {
        view! {
            <input id=id type=kind prop:value=move || form.with(get)
                on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); }/>
        }
    };

    view! {
        <h2 class="screen-title">{t.devices}</h2>
        <form class="filters" on:submit=apply>
            <fieldset>
                <legend>{t.filter}</legend>
                <label>{t.user}
                    <select id="f-user-mode" prop:value=move || if form.with(|f| f.user_contains) { "co" } else { "eq" } on:change=move |ev| { let v = event_target_value(&ev) == "co"; form.update(|f| f.user_contains = v); }>
                        <option value="eq">{t.equals}</option>
                        <option value="co">{t.contains}</option>
                    </select>
                    {text_field("f-user", "text", |f| f.user.clone(), |f, v| f.user = v)}
                </label>
                <label>{t.device_type}
                    <select id="f-type" prop:value=move || form.with(|f| f.device_type.clone()) on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.device_type = v); }>
                        <option value="">{t.any_type}</option>
                        {DeviceType::ALL.iter().map(|d| view! { <option value=d.as_str()>{d.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t.col_status}
                    <select id="f-status" prop:value=move || form.with(|f| f.status.clone()) on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.status = v); }>
                        <option value="">{t.any_status}</option>
                        {Status::ALL.iter().map(|s| view! { <option value=s.as_str()>{status_label(*s, t)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t.unused_since} {text_field("f-unused", "date", |f| f.unused_since.clone(), |f, v| f.unused_since = v)}</label>
                <label>{t.created_between}
                    {text_field("f-created-from", "date", |f| f.created_from.clone(), |f, v| f.created_from = v)}
                    {text_field("f-created-to", "date", |f| f.created_to.clone(), |f, v| f.created_to = v)}
                </label>
                <label class="wide">{t.advanced} {text_field("f-advanced", "text", |f| f.advanced.clone(), |f, v| f.advanced = v)}</label>
                {filter_row(list, listed, ["filter-error", "apply-filter", "sent-filter"], move || form.set(FilterForm::default()))}
            </fieldset>
        </form>
        <div class="toolbar">
            <button id="new-device" on:click=move |_| panel.set(Panel::Create)>{t.new_device}</button>
            <button id="refresh" on:click=move |_| reload()>{t.refresh}</button>
            {csv_button(session, reason, error, "devices-csv", "/OtpDevice", "devices.csv", DEVICE_COLUMNS, Box::new(move || list.order()))}
            {move || loading.get().then(|| view! { <span class="loading">{t.loading}</span> })}
        </div>
        {alert(error, "")}
        {move || notice.get().map(|n| view! { <p id="notice" class="notice" role="status">{n}</p> })}
        <BulkBar session reason selected on_done=Callback::new(move |()| reload())/>
        {move || {
            let total = result.with(|r| r.as_ref().map_or(0, |r| r.total_results));
            (page_selected() && selected.with(BTreeMap::len) < total as usize).then(|| view! {
                <button id="select-matching" on:click=pick_matching>{t.select_matching.replace("{n}", &total.to_string())}</button>
            })
        }}
        <div class="table-wrap">
        <table id="devices">
            <thead><tr>
                <th><input type="checkbox" id="select-page" aria-label=t.select_page prop:checked=page_selected on:click=pick_page/></th>
                {header(t.col_id, "id")}{header(t.col_name, "name")}{header(t.col_type, "type")}{header(t.col_user, "user")}
                {header(t.col_status, "status")}{header(t.col_fails, "fails")}{header(t.col_created, "created")}
                {header(t.col_last_used, "lastUsed")}<th>{t.actions}</th>
            </tr></thead>
            <tbody>
                {move || {
                    let devices = result.get().map(|r| r.resources).unwrap_or_default();
                    if devices.is_empty() && !loading.get() {
                        return view! { <tr><td colspan="10" class="empty">{t.empty}</td></tr> }.into_any();
                    }
                    devices.into_iter().enumerate().map(|(index, d)| {
                        let id = d.id;
                        let (enable, disable, unlock, reset, remove, challenge, detail) =
                            (d.clone(), d.clone(), d.clone(), d.clone(), d.clone(), d.clone(), d.clone());
                        view! {
                            <tr data-id=d.id>
                                <td><input type="checkbox" class="pick" aria-label=d.name.clone()
                                    prop:checked=move || selected.with(|s| s.contains_key(&id))
                                    on:click=move |ev: leptos::ev::MouseEvent| pick(index, ev.shift_key())/></td>
                                <td>{d.id}</td>
                                <td>{d.name.clone()}</td>
                                <td>{d.device_type.as_str()}</td>
                                <td>{d.user.clone()}</td>
                                <td><span class=format!("badge s-{}", d.status.as_str())>{status_label(d.status, t)}</span></td>
                                <td>{d.fails}</td>
                                <td>{d.created.to_string()}</td>
                                <td>{d.last_used.map_or_else(|| t.never.to_owned(), |u| u.to_string())}</td>
                                <td class="actions">
                                    {(d.status != Status::Validated && d.status != Status::Locked).then(|| view! {
                                        <button class="enable" on:click=move |_| act(enable.clone(), json!({"status": "V"}))>{t.enable}</button>})}
                                    {(d.status != Status::Disabled).then(|| view! {
                                        <button class="disable" on:click=move |_| act(disable.clone(), json!({"status": "D"}))>{t.disable}</button>})}
                                    {(d.status == Status::Locked).then(|| view! {
                                        <button class="unlock" on:click=move |_| act(unlock.clone(), json!({"status": "V", "fails": 0}))>{t.unlock}</button>})}
                                    {(d.fails > 0 && d.status != Status::Locked).then(|| view! {
                                        <button class="reset" on:click=move |_| act(reset.clone(), json!({"fails": 0}))>{t.reset_fails}</button>})}
                                    <button class="challenge" on:click=move |_| panel.set(Panel::Challenge(challenge.clone()))>{t.challenge}</button>
                                    <button class="detail" on:click=move |_| panel.set(Panel::Detail(detail.clone()))>{t.details}</button>
                                    <button class="delete" on:click=move |_| delete(remove.clone())>{t.delete}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        </div>
        <Pager prefix="" sizes=&[10, 25, 50, 100] start count
            shown=listed.shown()/>
        {move || match panel.get() {
            Panel::Closed => ().into_any(),
            Panel::Create => view! { <CreateDialog session reason on_close=Callback::new(move |()| { panel.set(Panel::Closed); reload(); })/> }.into_any(),
            Panel::Challenge(d) => view! { <ChallengePanel session reason device=d on_close=Callback::new(move |()| { panel.set(Panel::Closed); reload(); })/> }.into_any(),
            Panel::Detail(d) => view! { <DetailPanel session reason device=d on_close=Callback::new(move |()| panel.set(Panel::Closed))/> }.into_any(),
        }}
    }
}

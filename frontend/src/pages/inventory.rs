//! The hardware-token inventory (SPEC §19): counts per model and status, the stock table
//! (filtered by status, serial, model and owner, paged by the server), a vendor's seed file
//! imported after a dry run, tokens handed out, taken back, resynced and deleted, the seeds
//! exported under a password, and the table as CSV.

use crate::api::{Answer, ApiError, Session};
use crate::csv::{self, Column};
use crate::filters::{SeedNeeds, StockFilterForm, recognise_seed_file};
use crate::i18n::{Texts, texts};
use crate::pages::{
    Dialog, Listed, Listing, Pager, alert, confirmed, csv_button, filter_row, keep_listed, report,
    row_change, sort_header,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::oath_device::{DeviceCount, DeviceImportResult, DeviceState, ImportOutcome, OathDevice};
use std::collections::BTreeMap;

/// The stock table as CSV.
const STOCK_COLUMNS: &[Column] = &[
    ("id", "id"),
    ("serialNumber", "serialNumber"),
    ("manufacturer", "manufacturer"),
    ("model", "model"),
    ("type", "type"),
    ("algorithm", "algorithm"),
    ("digits", "digits"),
    ("period", "period"),
    ("origin", "origin"),
    ("status", "status"),
    ("owner", "owner.display"),
    ("timeDrift", "timeDrift"),
    ("assigned", "assigned"),
    ("activated", "activated"),
    ("lastUsed", "lastUsed"),
];

pub fn state_label(state: DeviceState, t: &Texts) -> &'static str {
    match state {
        DeviceState::Available => t.state_available,
        DeviceState::Assigned => t.state_assigned,
        DeviceState::Activated => t.state_activated,
        DeviceState::Locked => t.status_l,
        DeviceState::Disabled => t.status_d,
    }
}

fn outcome_label(outcome: ImportOutcome, t: &Texts) -> &'static str {
    match outcome {
        ImportOutcome::Imported => t.outcome_imported,
        ImportOutcome::Duplicate => t.outcome_duplicate,
        ImportOutcome::Unsupported => t.outcome_unsupported,
        ImportOutcome::Invalid => t.outcome_invalid,
    }
}

/// `{name}` of `text` replaced by `value`.
fn with(text: &str, name: &str, value: &str) -> String {
    text.replace(&format!("{{{name}}}"), value)
}

#[derive(Debug, Clone, PartialEq)]
enum Panel {
    Closed,
    Import,
    Export,
    HandOut(OathDevice),
    Resync(OathDevice),
}

/// The counts as a table: a row per manufacturer and model, a column per status, totals last.
fn counts_table(groups: &[DeviceCount], t: &'static Texts) -> impl IntoView + use<> {
    let mut rows: BTreeMap<(String, String), [u64; 5]> = BTreeMap::new();
    let mut totals = [0u64; 5];
    for group in groups {
        let column = DeviceState::ALL.iter().position(|s| *s == group.status).unwrap_or(0);
        let name = (group.manufacturer.clone().unwrap_or_default(), group.model.clone().unwrap_or_default());
        rows.entry(name).or_default()[column] += group.count;
        totals[column] += group.count;
    }
    let line = |cells: [u64; 5]| {
        let sum: u64 = cells.iter().sum();
        view! { {cells.map(|n| view! { <td class="n">{n}</td> })}<td class="n">{sum}</td> }
    };
    view! {
        <table id="stock-counts">
            <thead><tr>
                <th>{t.model}</th>
                {DeviceState::ALL.iter().map(|s| view! { <th class="n">{state_label(*s, t)}</th> }).collect_view()}
                <th class="n">{t.total}</th>
            </tr></thead>
            <tbody>
                {rows.into_iter().map(|((maker, model), cells)| {
                    let name = format!("{maker} {model}").trim().to_owned();
                    let name = if name.is_empty() { t.no_model.to_owned() } else { name };
                    view! { <tr><th>{name}</th>{line(cells)}</tr> }
                }).collect_view()}
            </tbody>
            <tfoot><tr id="stock-totals"><th>{t.total}</th>{line(totals)}</tr></tfoot>
        </table>
    }
}

#[component]
pub fn Inventory(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(StockFilterForm::default());
    let list = Listing::new("serialNumber", 25);
    let Listing { applied, start, count, .. } = list;
    let notice = RwSignal::new(None::<String>);
    let panel = RwSignal::new(Panel::Closed);
    let counts = RwSignal::new(None::<Vec<DeviceCount>>);
    let listed = keep_listed(
        session,
        reason,
        move || list.query(),
        |api, query| async move { api.oath_devices(&query).await },
    );
    let Listed { result, loading, error, .. } = listed;
    // The counts of every device, read again with each page (a change anywhere moves them).
    Effect::new(move |_| {
        let (Some(api), _) = (session.get(), list.query()) else { return };
        spawn_local(async move {
            match api.device_counts(None).await {
                Ok(found) => counts.set(Some(found.groups)),
                Err(e) => report(e, session, reason, error),
            }
        });
    });
    let reload = move || list.reload();
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        start.set(1);
        applied.set(form.get().to_filter());
    };
    let outcome = move |answer: Result<(), ApiError>, done: Option<String>| {
        row_change(answer, done, notice, session, reason, error);
        reload();
    };
    let take_back = move |device: OathDevice| {
        let Some(api) = session.get_untracked() else { return };
        let owner = device.owner.as_ref().and_then(|o| o.display.clone()).unwrap_or_default();
        if confirmed(&with(&with(t.confirm_take_back, "serial", &device.serial_number), "user", &owner)) {
            spawn_local(async move { outcome(api.set_owner(&device, None).await, None) });
        }
    };
    let delete = move |device: OathDevice| {
        let Some(api) = session.get_untracked() else { return };
        if confirmed(&with(t.confirm_delete_token, "serial", &device.serial_number)) {
            spawn_local(async move { outcome(api.delete_oath_device(&device).await, None) });
        }
    };
    let field = move |id: &'static str,
                      get: fn(&StockFilterForm) -> String,
                      set: fn(&mut StockFilterForm, String)| {
        view! {
            <input id=id type="text" prop:value=move || form.with(get)
                on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); }/>
        }
    };
    let header = move |label: &'static str, attribute: &'static str| sort_header(list, label, attribute);
    let closed = Callback::new(move |changed: bool| {
        panel.set(Panel::Closed);
        if changed {
            reload();
        }
    });

    view! {
        <h2 class="screen-title">{t.tokens}</h2>
        <form class="filters" on:submit=apply>
            <fieldset>
                <legend>{t.filter}</legend>
                <label>{t.col_status}
                    <select id="s-status" prop:value=move || form.with(|f| f.status.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.status = v); }>
                        <option value="">{t.any_status}</option>
                        {DeviceState::ALL.iter().map(|s| view! { <option value=s.as_str()>{state_label(*s, t)}</option> }).collect_view()}
                    </select>
                </label>
                <label>{t.serial} {field("s-serial", |f| f.serial.clone(), |f, v| f.serial = v)}</label>
                <label>{t.model} {field("s-model", |f| f.model.clone(), |f, v| f.model = v)}</label>
                <label>{t.owner} {field("s-owner", |f| f.owner.clone(), |f, v| f.owner = v)}</label>
                {filter_row(list, listed, ["stock-filter-error", "apply-stock-filter", "sent-stock-filter"], move || form.set(StockFilterForm::default()))}
            </fieldset>
        </form>
        <div class="toolbar">
            <button id="import-tokens" class="primary" on:click=move |_| panel.set(Panel::Import)>{t.import_file}</button>
            <button id="export-tokens" on:click=move |_| panel.set(Panel::Export)>{t.export_file}</button>
            <button id="refresh-stock" on:click=move |_| reload()>{t.refresh}</button>
            {csv_button(session, reason, error, "stock-csv", "/Device", "tokens.csv", STOCK_COLUMNS, Box::new(move || list.order()))}
            {move || loading.get().then(|| view! { <span class="loading">{t.loading}</span> })}
        </div>
        {alert(error, "")}
        {move || notice.get().map(|n| view! { <p id="stock-notice" class="notice" role="status">{n}</p> })}
        <div class="table-wrap">
        <table id="stock">
            <thead><tr>
                {header(t.serial, "serialNumber")}{header(t.manufacturer, "manufacturer")}{header(t.model, "model")}
                {header(t.col_type, "type")}{header(t.col_status, "status")}{header(t.owner, "owner.display")}
                {header(t.time_drift, "timeDrift")}{header(t.col_last_used, "lastUsed")}<th>{t.actions}</th>
            </tr></thead>
            <tbody>
                {move || {
                    let devices = result.get().map(|r| r.resources).unwrap_or_default();
                    if devices.is_empty() && !loading.get() {
                        return view! { <tr><td colspan="9" class="empty">{t.no_tokens}</td></tr> }.into_any();
                    }
                    devices.into_iter().map(|d| {
                        let (out, back, again, remove) = (d.clone(), d.clone(), d.clone(), d.clone());
                        let owner = d.owner.as_ref().and_then(|o| o.display.clone());
                        view! {
                            <tr data-id=d.id.clone() data-serial=d.serial_number.clone()>
                                <td>{d.serial_number.clone()}</td>
                                <td>{d.manufacturer.clone()}</td>
                                <td>{d.model.clone()}</td>
                                <td>{d.device_type.as_str()}</td>
                                <td><span class=format!("badge d-{}", d.status.as_str())>{state_label(d.status, t)}</span></td>
                                <td>{owner.clone()}</td>
                                <td class="n">{d.time_drift}</td>
                                <td>{d.last_used.map_or_else(|| t.never.to_owned(), |u| u.to_string())}</td>
                                <td class="actions">
                                    {match owner {
                                        None => view! {
                                            <button class="hand-out" on:click=move |_| panel.set(Panel::HandOut(out.clone()))>{t.hand_out}</button>
                                            <button class="delete" on:click=move |_| delete(remove.clone())>{t.delete}</button>
                                        }.into_any(),
                                        Some(_) => view! {
                                            <button class="take-back" on:click=move |_| take_back(back.clone())>{t.take_back}</button>
                                        }.into_any(),
                                    }}
                                    <button class="resync" on:click=move |_| panel.set(Panel::Resync(again.clone()))>{t.resync}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        </div>
        <Pager prefix="stock-" sizes=&[10, 25, 50, 100] start count shown=listed.shown()/>
        // Below the stock: its rows (one per model) arrive after the page's and move nothing.
        <section class="card" id="stock-summary">
            {move || counts.with(|groups| counts_table(groups.as_deref().unwrap_or_default(), t))}
        </section>
        {move || match panel.get() {
            Panel::Closed => ().into_any(),
            Panel::Import => view! { <ImportDialog session reason on_close=closed/> }.into_any(),
            Panel::Export => {
                let filter = applied.get_untracked();
                let help = match &filter {
                    Some(f) => format!("{} {f}", t.export_help),
                    None => t.export_help.to_owned(),
                };
                let act = Callback::new(move |(api, values): (Session, Vec<String>)| -> Answer<Option<String>> {
                    let filter = filter.clone();
                    Box::pin(async move {
                        let document = api.export_seeds(&values[0], filter.as_deref()).await?;
                        csv::download("devices.pskc", "application/pskc+xml", &document);
                        Ok(Some(with(t.exported, "name", "devices.pskc")))
                    })
                });
                let fields = vec![("export-password", t.export_password.to_owned(), "password")];
                view! { <AskDialog session reason id="export" title=t.export_file help fields shortest=12 act notice on_close=closed/> }.into_any()
            }
            Panel::HandOut(device) => {
                let fields = vec![("hand-out-user", with(t.hand_out_to, "serial", &device.serial_number), "text")];
                let act = Callback::new(move |(api, values): (Session, Vec<String>)| -> Answer<Option<String>> {
                    let device = device.clone();
                    Box::pin(async move { api.set_owner(&device, Some(&values[0])).await.map(|_| None) })
                });
                view! { <AskDialog session reason id="hand-out" title=t.hand_out help=String::new() fields shortest=1 act notice on_close=closed/> }.into_any()
            }
            Panel::Resync(device) => {
                let help = with(t.resync_help, "serial", &device.serial_number);
                let fields = vec![("resync-first", t.first_code.to_owned(), "text"), ("resync-second", t.next_code.to_owned(), "text")];
                let act = Callback::new(move |(api, values): (Session, Vec<String>)| -> Answer<Option<String>> {
                    let (id, serial) = (device.id.clone(), device.serial_number.clone());
                    Box::pin(async move {
                        api.resync(&id, [&values[0], &values[1]]).await?;
                        Ok(Some(with(t.resynced, "serial", &serial)))
                    })
                });
                view! { <AskDialog session reason id="resync" title=t.resync help fields shortest=1 act notice on_close=closed/> }.into_any()
            }
        }}
    }
}

/// Reads the file picked in `input` as text.
async fn picked_text(input: web_sys::HtmlInputElement) -> Option<(String, String)> {
    let file = input.files()?.get(0)?;
    let text = wasm_bindgen_futures::JsFuture::from(file.text()).await.ok()?.as_string()?;
    Some((file.name(), text))
}

/// A seed file picked, recognised, checked by a dry run, then imported; the outcome per serial.
#[component]
fn ImportDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    on_close: Callback<bool>,
) -> impl IntoView {
    let t = texts();
    // The file's name, its text, its format and what reading it needs.
    let file = RwSignal::new(None::<(String, String, &'static str, SeedNeeds)>);
    let key = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let assign = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // The last answer, and whether it was the dry run's.
    let answer = RwSignal::new(None::<(bool, DeviceImportResult)>);
    let imported = RwSignal::new(false);
    let pick = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else {
            return;
        };
        answer.set(None);
        error.set(None);
        spawn_local(async move {
            file.set(picked_text(input).await.map(|(name, text)| {
                let (format, needs) = recognise_seed_file(&text);
                (name, text, format, needs)
            }));
        });
    };
    let send = move |dry_run: bool| {
        let (Some(api), Some((_, document, format, needs))) = (session.get_untracked(), file.get_untracked())
        else {
            return;
        };
        let mut body = serde_json::json!({
            "schemas": [shared::oath_device::DEVICE_IMPORT_SCHEMA], "format": format, "document": document,
            "assignUsers": assign.get_untracked(), "dryRun": dry_run,
        });
        match needs {
            SeedNeeds::Key => body["preSharedKey"] = key.get_untracked().trim().into(),
            SeedNeeds::Password => body["password"] = password.get_untracked().into(),
            SeedNeeds::Nothing => {}
        }
        busy.set(true);
        spawn_local(async move {
            let sent = api.import_seeds(&body).await;
            busy.set(false);
            match sent {
                Ok(result) => {
                    error.set(None);
                    imported.update(|i| *i |= !dry_run && result.imported > 0);
                    answer.set(Some((dry_run, result)));
                }
                Err(e) => {
                    answer.set(None);
                    report(e, session, reason, error);
                }
            }
        });
    };
    let close = move || on_close.run(imported.get_untracked());
    view! {
        <Dialog id="import-dialog" on_escape=Callback::new(move |()| close())>
            <h3>{t.import_file}</h3>
            <form on:submit=move |ev| { ev.prevent_default(); send(true); }>
                <label>{t.seed_file}<input id="seed-file" type="file" accept=".xml,.pskc,.csv,.txt" on:change=pick/></label>
                {move || file.get().map(|(name, _, format, needs)| view! {
                    <p id="seed-format">{name}" · "{with(t.format_found, "format", &format.to_ascii_uppercase())}</p>
                    {(needs == SeedNeeds::Key).then(|| view! {
                        <label>{t.pre_shared_key}<input id="seed-key" type="password" autocomplete="off" spellcheck="false"
                            prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev))/></label>
                    })}
                    {(needs == SeedNeeds::Password).then(|| view! {
                        <label>{t.file_password}<input id="seed-password" type="password" autocomplete="off"
                            prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/></label>
                    })}
                })}
                <label class="inline"><input id="assign-users" type="checkbox" prop:checked=move || assign.get()
                    on:change=move |ev| assign.set(event_target_checked(&ev))/>{t.assign_users}</label>
                {alert(error, "import-error")}
                <div class="row">
                    <button id="dry-run" type="submit" disabled=move || busy.get() || file.with(Option::is_none)>{t.dry_run}</button>
                    <button id="import-now" type="button" class="primary"
                        disabled=move || busy.get() || !answer.with(|a| a.as_ref().is_some_and(|(dry, r)| *dry && r.imported > 0))
                        on:click=move |_| send(false)>{t.import}</button>
                    <button id="import-close" type="button" on:click=move |_| close()>{t.close}</button>
                </div>
            </form>
            {move || answer.get().map(|(dry_run, result)| {
                let summary = if dry_run { t.dry_summary } else { t.import_summary };
                let summary = with(&with(&with(summary, "i", &result.imported.to_string()), "s", &result.skipped.to_string()), "f", &result.failed.to_string());
                view! {
                    <p id="import-summary" role="status" data-dry-run=dry_run.to_string()>{summary}</p>
                    <div class="table-wrap">
                    <table id="import-results">
                        <thead><tr><th>{t.serial}</th><th>{t.outcome}</th><th>{t.detail}</th></tr></thead>
                        <tbody>
                            {result.results.into_iter().map(|r| view! {
                                <tr data-outcome=r.outcome.as_str()>
                                    <td>{r.serial_number}</td><td>{outcome_label(r.outcome, t)}</td><td>{r.detail}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }
            })}
        </Dialog>
    }
}

/// What a row's or the toolbar's act asks for: its input's id, label and type per field.
type Fields = Vec<(&'static str, String, &'static str)>;

/// A dialog that asks for a few texts (each at least `shortest` characters) and acts on them:
/// closed once `act` succeeds, what it answers put in the screen's notice; its error shown
/// under the form otherwise.
#[component]
fn AskDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    id: &'static str,
    title: &'static str,
    help: String,
    fields: Fields,
    shortest: usize,
    act: Callback<(Session, Vec<String>), Answer<Option<String>>>,
    notice: RwSignal<Option<String>>,
    on_close: Callback<bool>,
) -> impl IntoView {
    let t = texts();
    let values: Vec<RwSignal<String>> = fields.iter().map(|_| RwSignal::new(String::new())).collect();
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let all = values.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(api) = session.get_untracked() else { return };
        let sent = act.run((api, all.iter().map(|v| v.get_untracked().trim().to_owned()).collect()));
        busy.set(true);
        spawn_local(async move {
            let sent = sent.await;
            busy.set(false);
            match sent {
                Ok(said) => {
                    notice.set(said);
                    on_close.run(true);
                }
                Err(ApiError::Scim { status: 412, .. }) => error.set(Some(t.stale.to_owned())),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let short = values.clone();
    view! {
        <Dialog id=id on_escape=Callback::new(move |()| on_close.run(false))>
            <h3>{title}</h3>
            <form on:submit=submit>
                <p>{help}</p>
                {fields.into_iter().zip(values).map(|((id, label, kind), value)| view! {
                    <label>{label}<input id=id type=kind autocomplete="off" spellcheck="false"
                        prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/></label>
                }).collect_view()}
                {alert(error, "ask-error")}
                <div class="row">
                    <button id=format!("{id}-now") type="submit" class="primary"
                        disabled=move || busy.get() || short.iter().any(|v| v.with(|v| v.trim().chars().count() < shortest))>{title}</button>
                    <button type="button" on:click=move |_| on_close.run(false)>{t.cancel}</button>
                </div>
            </form>
        </Dialog>
    }
}

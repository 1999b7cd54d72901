//! Authenticator policies (SPEC §18): the table, and a dialog that shows one in full and
//! creates or edits it with the fields of its kind; a delete refused because authenticators
//! use the policy shows the service's 409 in words.

use crate::api::{ApiError, Session};
use crate::forms::{PolicyForm, policy_fields};
use crate::i18n::texts;
use crate::pages::list_query;
use crate::pages::{Dialog, Listed, Pager, alert, confirmed, keep_listed, report, save_from_dialog};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::policy::{Policy, PolicyKind};
use shared::schema::Input;

#[component]
pub fn Policies(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let start = RwSignal::new(1u64);
    let count = RwSignal::new(25u64);
    let reloads = RwSignal::new(0u32);
    let notice = RwSignal::new(None::<String>);
    // `Some(None)`: the dialog creates a policy; `Some(Some(policy))`: it shows and edits one.
    let dialog = RwSignal::new(None::<Option<Policy>>);
    let reload = move || reloads.update(|n| *n += 1);
    let listed = keep_listed(
        session,
        reason,
        move || {
            reloads.track();
            list_query(None, "id", false, start.get(), count.get())
        },
        |api, query| async move { api.policies(&query).await },
    );
    let Listed { result, loading, error, .. } = listed;
    let delete = move |policy: Policy| {
        let Some(current) = session.get_untracked() else { return };
        if !confirmed(&t.confirm_delete_policy.replace("{policy}", &policy.id)) {
            return;
        }
        spawn_local(async move {
            match current.delete_policy(&policy).await {
                Ok(()) => notice.set(None),
                Err(ApiError::Scim { status: 412, .. }) => notice.set(Some(t.policy_stale.to_owned())),
                // In use (409) or a default policy: the service says why, in words.
                Err(ApiError::Scim { status: 400 | 409, detail }) => notice.set(Some(detail)),
                Err(e) => report(e, session, reason, error),
            }
            reload();
        });
    };
    view! {
        <h2>{t.policies}</h2>
        <div class="toolbar">
            <button id="new-policy" class="primary" on:click=move |_| dialog.set(Some(None))>{t.new_policy}</button>
            <button id="refresh-policies" on:click=move |_| reload()>{t.refresh}</button>
            {move || loading.get().then(|| view! { <span class="loading">{t.loading}</span> })}
        </div>
        {alert(error, "")}
        {move || notice.get().map(|n| view! { <p id="policies-notice" class="notice" role="status">{n}</p> })}
        <div class="table-wrap">
        <table id="policies">
            <thead><tr>
                <th>"id"</th><th>"displayName"</th><th>{t.kind}</th><th>{t.is_default}</th>
                <th>"maxFails"</th><th>"validityDays"</th><th>"maxUsages"</th><th>{t.actions}</th>
            </tr></thead>
            <tbody>
                {move || result.get().map(|r| r.resources).unwrap_or_default().into_iter().map(|p| {
                    let (open, remove) = (p.clone(), p.clone());
                    view! {
                        <tr data-id=p.id.clone()>
                            <td>{p.id.clone()}</td>
                            <td>{p.display_name.clone()}</td>
                            <td>{p.kind.as_str()}</td>
                            <td>{p.default.then_some("✓")}</td>
                            <td>{p.max_fails}</td>
                            <td>{p.validity_days}</td>
                            <td>{p.max_usages}</td>
                            <td class="actions">
                                <button class="edit" on:click=move |_| dialog.set(Some(Some(open.clone())))>{t.edit}</button>
                                <button class="delete" on:click=move |_| delete(remove.clone())>{t.delete}</button>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        </div>
        <Pager prefix="policies-" sizes=&[25, 50, 100] start count
            shown=listed.shown()/>
        {move || dialog.get().map(|editing| view! {
            <PolicyDialog session reason editing on_close=Callback::new(move |saved: bool| {
                dialog.set(None);
                if saved { reload(); }
            })/>
        })}
    }
}

/// Creates a policy (`editing` `None`) or shows and replaces one with `If-Match`; the fields
/// follow the kind.
#[component]
pub fn PolicyDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    editing: Option<Policy>,
    on_close: Callback<bool>,
) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(editing.as_ref().map(PolicyForm::from_policy).unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let creating = editing.is_none();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = match form.get().to_body() {
            Ok(body) => body,
            Err(field) => return error.set(Some(format!("{}: {field}", t.not_a_number))),
        };
        let Some(current) = session.get_untracked() else { return };
        let editing = editing.clone();
        save_from_dialog(session, reason, busy, error, t.policy_stale, on_close, async move {
            match &editing {
                Some(policy) => current.replace_policy(policy, &body).await,
                None => current.create_policy(&body).await,
            }
        });
    };
    // What the dialog's shape depends on, apart from the values typed: its fields are made
    // again when the kind changes or a question is added or removed, not on each key.
    let kind = Memo::new(move |_| form.with(|f| f.kind));
    let prompt_count = Memo::new(move |_| form.with(|f| f.prompts.len()));
    let fields = move || {
        policy_fields(kind.get())
            .map(|attribute| {
                let name = attribute.name;
                let id = format!("p-{name}");
                let locked = name == "id" && !creating;
                let input = match attribute.input {
                    Some(Input::Choice(values)) => view! {
                        <select id=id prop:value=move || form.with(|f| f.get(name))
                            on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.set(name, v)); }>
                            {values.iter().map(|v| view! { <option value=*v>{if v.is_empty() { t.server_default } else { v }}</option> }).collect_view()}
                        </select>
                    }.into_any(),
                    Some(Input::Number) => view! {
                        <input id=id type="number" min="0" placeholder=t.server_default prop:value=move || form.with(|f| f.get(name))
                            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.set(name, v)); }/>
                    }.into_any(),
                    _ => view! {
                        <input id=id readonly=locked prop:value=move || form.with(|f| f.get(name))
                            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.set(name, v)); }/>
                    }.into_any(),
                };
                view! { <label title=attribute.description>{name}{input}<small>{attribute.description}</small></label> }
            })
            .collect_view()
    };
    let questions = move || {
        kind.get().takes("prompts").then(|| view! {
            <fieldset id="p-prompts">
                <legend>{t.questions}</legend>
                // The rows are made again only when one is added or removed, not on each key
                // typed into them (that would replace the input being typed into).
                {move || (0..prompt_count.get()).map(|i| view! {
                    <div class="row prompt">
                        <input class="p-prompt-code" placeholder="value"
                            prop:value=move || form.with(|f| f.prompts.get(i).map(|p| p.0.clone()).unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.prompts[i].0 = v); }/>
                        <input class="p-prompt-text" placeholder="display"
                            prop:value=move || form.with(|f| f.prompts.get(i).map(|p| p.1.clone()).unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| f.prompts[i].1 = v); }/>
                        <button type="button" on:click=move |_| form.update(|f| { f.prompts.remove(i); })>{t.remove}</button>
                    </div>
                }).collect_view()}
                <button type="button" id="p-add-prompt" on:click=move |_| form.update(|f| f.prompts.push(Default::default()))>{t.add_question}</button>
            </fieldset>
        })
    };
    view! {
        <Dialog id="policy-dialog" on_escape=Callback::new(move |()| on_close.run(false))>
            <h2>{if creating { t.new_policy.to_owned() } else { form.with_untracked(|f| f.get("id")) }}</h2>
            <form on:submit=submit>
                <label>{t.kind}
                    <select id="p-kind" disabled=!creating prop:value=move || form.with(|f| f.kind.as_str())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.kind = PolicyKind::parse(&v).unwrap_or(f.kind)); }>
                        {PolicyKind::ALL.iter().map(|k| view! { <option value=k.as_str()>{k.as_str()}</option> }).collect_view()}
                    </select>
                </label>
                {fields}
                <label class="inline"><input id="p-default" type="checkbox" prop:checked=move || form.with(|f| f.default)
                    on:change=move |ev| { let v = event_target_checked(&ev); form.update(|f| f.default = v); }/>{t.is_default}</label>
                {questions}
                {alert(error, "policy-error")}
                <div class="row">
                    <button id="save-policy" type="submit" disabled=move || busy.get()>{t.save}</button>
                    <button type="button" on:click=move |_| on_close.run(false)>{t.cancel}</button>
                </div>
            </form>
        </Dialog>
    }
}

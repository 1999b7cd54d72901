//! The users of the tenant: server-side filter (user name, external id, active, email), sort and
//! paging; create and edit in a dialog; activate and deactivate; delete, with a confirmation
//! that says how many devices and authenticators go with the user.

use crate::api::{ApiError, Session};
use crate::csv::Column;
use crate::filters::UserFilterForm;
use crate::forms::UserForm;
use crate::i18n::texts;
use crate::pages::{
    Dialog, Listed, Listing, Pager, alert, confirmed, csv_button, filter_row, keep_listed, report,
    save_from_dialog, sort_header,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;
use shared::User;

/// The users list as CSV.
const USER_COLUMNS: &[Column] = &[
    ("id", "id"),
    ("userName", "userName"),
    ("displayName", "displayName"),
    ("givenName", "name.givenName"),
    ("familyName", "name.familyName"),
    ("active", "active"),
    ("emails", "emails"),
    ("phoneNumbers", "phoneNumbers"),
    ("externalId", "externalId"),
    ("created", "meta.created"),
];

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

#[component]
pub fn Users(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(UserFilterForm::default());
    let list = Listing::new("userName", 25);
    let Listing { applied, start, count, .. } = list;
    let notice = RwSignal::new(None::<String>);
    // `Some(None)`: the dialog creates a user; `Some(Some(user))`: it edits that one.
    let dialog = RwSignal::new(None::<Option<User>>);
    let reload = move || list.reload();
    let listed = keep_listed(
        session,
        reason,
        move || list.query(),
        |api, query| async move { api.users(&query).await },
    );
    let Listed { result, loading, error, .. } = listed;
    let outcome = move |answer: Result<(), ApiError>| {
        match answer {
            Ok(()) => notice.set(None),
            Err(ApiError::Scim { status: 412, .. }) => notice.set(Some(t.user_stale.to_owned())),
            Err(e) => report(e, session, reason, error),
        }
        reload();
    };
    let set_active = move |user: User, active: bool| {
        let Some(current) = session.get_untracked() else { return };
        spawn_local(async move {
            outcome(current.patch_user(&user, json!({"active": active})).await.map(|_| ()))
        });
    };
    let delete = move |user: User| {
        let Some(current) = session.get_untracked() else { return };
        spawn_local(async move {
            let devices = current.count("/OtpDevice", &format!("user eq {}", quoted(&user.user_name))).await;
            let authenticators =
                current.count("/Authenticator", &format!("owner.value eq {}", quoted(&user.id))).await;
            let (devices, authenticators) = match (devices, authenticators) {
                (Ok(d), Ok(a)) => (d, a),
                (Err(e), _) | (_, Err(e)) => return report(e, session, reason, error),
            };
            let question = t
                .confirm_delete_user
                .replace("{user}", &user.user_name)
                .replace("{devices}", &devices.to_string())
                .replace("{authenticators}", &authenticators.to_string());
            if confirmed(&question) {
                outcome(current.delete_user(&user).await);
            }
        });
    };
    let apply = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        start.set(1);
        applied.set(form.get().to_filter());
    };
    let header = move |label: &'static str, attribute: &'static str| sort_header(list, label, attribute);
    let text_field = move |id: &'static str,
                           label: &'static str,
                           get: fn(&UserFilterForm) -> String,
                           set: fn(&mut UserFilterForm, String)| {
        view! {
            <label>{label}
                <input id=id prop:value=move || form.with(get)
                    on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); }/>
            </label>
        }
    };
    view! {
        <h2>{t.users}</h2>
        <form class="filters" on:submit=apply>
            <fieldset>
                <legend>{t.filter}</legend>
                {text_field("u-name", t.user, |f| f.user_name.clone(), |f, v| f.user_name = v)}
                {text_field("u-external", t.external_id, |f| f.external_id.clone(), |f, v| f.external_id = v)}
                {text_field("u-email", t.email, |f| f.email.clone(), |f, v| f.email = v)}
                <label>{t.active}
                    <select id="u-active" prop:value=move || form.with(|f| f.active.clone())
                        on:change=move |ev| { let v = event_target_value(&ev); form.update(|f| f.active = v); }>
                        <option value="">{t.any}</option>
                        <option value="true">{t.active}</option>
                        <option value="false">{t.inactive}</option>
                    </select>
                </label>
                {filter_row(list, listed, ["users-filter-error", "apply-users-filter", "sent-users-filter"], move || form.set(UserFilterForm::default()))}
            </fieldset>
        </form>
        <div class="toolbar">
            <button id="new-user" class="primary" on:click=move |_| dialog.set(Some(None))>{t.new_user}</button>
            <button id="refresh-users" on:click=move |_| reload()>{t.refresh}</button>
            {csv_button(session, reason, error, "users-csv", "/Users", "users.csv", USER_COLUMNS, Box::new(move || list.order()))}
            {move || loading.get().then(|| view! { <span class="loading">{t.loading}</span> })}
        </div>
        {alert(error, "")}
        {move || notice.get().map(|n| view! { <p id="users-notice" class="notice" role="status">{n}</p> })}
        <div class="table-wrap">
        <table id="users">
            <thead><tr>
                {header(t.col_id, "id")}{header(t.user, "userName")}{header(t.display_name, "displayName")}
                {header(t.external_id, "externalId")}<th>{t.email}</th>{header(t.col_status, "active")}
                {header(t.col_created, "meta.created")}<th>{t.actions}</th>
            </tr></thead>
            <tbody>
                {move || {
                    let users = result.get().map(|r| r.resources).unwrap_or_default();
                    if users.is_empty() && result.with(Option::is_some) {
                        return view! { <tr><td colspan="8" class="empty">{t.no_users}</td></tr> }.into_any();
                    }
                    users.into_iter().map(|u| {
                        let (edit, toggle, remove) = (u.clone(), u.clone(), u.clone());
                        let active = u.active;
                        view! {
                            <tr data-id=u.id.clone()>
                                <td>{u.id.clone()}</td>
                                <td>{u.user_name.clone()}</td>
                                <td>{u.display_name.clone()}</td>
                                <td>{u.external_id.clone()}</td>
                                <td>{User::preferred(&u.emails).map(|e| e.value.clone())}</td>
                                <td><span class=if active { "badge s-V" } else { "badge s-D" }>{if active { t.active } else { t.inactive }}</span></td>
                                <td>{u.meta.created.to_string()}</td>
                                <td class="actions">
                                    <a class="open" href=format!("#/users/{}", u.id)>{t.open}</a>
                                    <button class="edit" on:click=move |_| dialog.set(Some(Some(edit.clone())))>{t.edit}</button>
                                    <button class="toggle-active" on:click=move |_| set_active(toggle.clone(), !active)>
                                        {if active { t.deactivate } else { t.activate }}</button>
                                    <button class="delete" on:click=move |_| delete(remove.clone())>{t.delete}</button>
                                </td>
                            </tr>
                        }
                    }).collect_view().into_any()
                }}
            </tbody>
        </table>
        </div>
        <Pager prefix="users-" sizes=&[10, 25, 50, 100] start count
            shown=listed.shown()/>
        {move || dialog.get().map(|editing| view! {
            <UserDialog session reason editing on_close=Callback::new(move |saved: bool| {
                dialog.set(None);
                if saved { reload(); }
            })/>
        })}
    }
}

/// Creates a user (`editing` `None`) or replaces one with `If-Match`.
#[component]
pub fn UserDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    editing: Option<User>,
    on_close: Callback<bool>,
) -> impl IntoView {
    let t = texts();
    let form = RwSignal::new(editing.as_ref().map(UserForm::from_user).unwrap_or_default());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let creating = editing.is_none();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = match form.get().to_body(editing.as_ref()) {
            Ok(body) => body,
            Err(field) => return error.set(Some(format!("{}: {field}", t.required))),
        };
        let Some(current) = session.get_untracked() else { return };
        let editing = editing.clone();
        save_from_dialog(session, reason, busy, error, t.user_stale, on_close, async move {
            match &editing {
                Some(user) => current.replace_user(user, &body).await,
                None => current.create_user(&body).await,
            }
        });
    };
    let field = move |id: &'static str,
                      label: &'static str,
                      kind: &'static str,
                      get: fn(&UserForm) -> String,
                      set: fn(&mut UserForm, String)| {
        view! {
            <label>{label}
                <input id=id type=kind required=id == "u-user-name" prop:value=move || form.with(get)
                    on:input=move |ev| { let v = event_target_value(&ev); form.update(|f| set(f, v)); }/>
            </label>
        }
    };
    view! {
        <Dialog id="user-dialog" on_escape=Callback::new(move |()| on_close.run(false))>
            <h2>{if creating { t.new_user } else { t.edit }}</h2>
            <form on:submit=submit>
                {field("u-user-name", t.user, "text", |f| f.user_name.clone(), |f, v| f.user_name = v)}
                {field("u-display-name", t.display_name, "text", |f| f.display_name.clone(), |f, v| f.display_name = v)}
                {field("u-given-name", t.given_name, "text", |f| f.given_name.clone(), |f, v| f.given_name = v)}
                {field("u-family-name", t.family_name, "text", |f| f.family_name.clone(), |f, v| f.family_name = v)}
                {field("u-email-address", t.email, "email", |f| f.email.clone(), |f, v| f.email = v)}
                {field("u-phone", t.phone, "tel", |f| f.phone.clone(), |f, v| f.phone = v)}
                <label class="inline"><input id="u-is-active" type="checkbox" prop:checked=move || form.with(|f| f.active)
                    on:change=move |ev| { let v = event_target_checked(&ev); form.update(|f| f.active = v); }/>{t.active}</label>
                {alert(error, "user-error")}
                <div class="row">
                    <button id="save-user" type="submit" disabled=move || busy.get()>{t.save}</button>
                    <button type="button" on:click=move |_| on_close.run(false)>{t.cancel}</button>
                </div>
            </form>
        </Dialog>
    }
}

//! The app: sign-in, then the tenant's screens under one header (tenant, navigation, sign-out),
//! each at its own `#/…` address so that a reload or a shared link comes back to it. What the
//! screens share is in `listing` (the list loader, pager, sortable headers) and `components`.

mod audit;
mod bulk;
mod challenge;
mod components;
mod create;
mod detail;
mod devices;
mod enrol;
mod inventory;
mod listing;
mod login;
mod overview;
mod policies;
mod user;
mod users;

pub use audit::AuditLog;
pub use create::CreateDialog;
pub use devices::Devices;
pub use enrol::{EnrolPanel, ValidateDialog};
pub use inventory::Inventory;
pub use login::Login;
pub use overview::Overview;
pub use policies::{Policies, PolicyDialog};
pub use user::UserPage;
pub use users::{UserDialog, Users};

pub use components::{Dialog, alert, confirmed, explain, report, row_change, save_from_dialog};
pub use listing::{
    Listed, Listing, Pager, csv_button, every_page, filter_row, keep_listed, list_query, sort_header,
};

use crate::api::{ApiError, Session};
use crate::i18n::{Texts, texts};
use leptos::prelude::*;
use leptos::task::spawn_local;

/// Signed in or not: the whole app state that outlives a screen.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(Session::restore());
    let reason = RwSignal::new(None::<String>);
    view! {
        <main lang=texts().lang.tag()>
            <Show
                when=move || session.get().is_some()
                fallback=move || view! { <Login session reason/> }
            >
                <Shell session reason/>
            </Show>
        </main>
    }
}

/// The screens, each at its own address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Devices,
    Tokens,
    Users,
    Policies,
    Audit,
    /// One user's page, by id (`#/users/7`).
    User(String),
}

impl Screen {
    pub const ALL: [Screen; 6] =
        [Screen::Overview, Screen::Devices, Screen::Tokens, Screen::Users, Screen::Policies, Screen::Audit];

    /// The screen at a `location.hash`; the overview for any other.
    pub fn from_hash(hash: &str) -> Screen {
        if let Some(id) = hash
            .strip_prefix("#/users/")
            .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Screen::User(id.to_owned());
        }
        Screen::ALL.into_iter().find(|s| s.hash() == hash).unwrap_or(Screen::Overview)
    }

    /// The screen the navigation shows as current for this one.
    fn section(&self) -> Screen {
        match self {
            Screen::User(_) => Screen::Users,
            other => other.clone(),
        }
    }

    pub fn hash(&self) -> &'static str {
        match self {
            Screen::Overview => "#/overview",
            Screen::Devices => "#/devices",
            Screen::Tokens => "#/tokens",
            Screen::Users => "#/users",
            Screen::Policies => "#/policies",
            Screen::User(_) => "#/users",
            Screen::Audit => "#/audit",
        }
    }

    fn label(&self, t: &Texts) -> &'static str {
        match self {
            Screen::Overview => t.overview,
            Screen::Devices => t.devices,
            Screen::Tokens => t.tokens,
            Screen::Users => t.users,
            Screen::Policies => t.policies,
            Screen::User(_) => t.users,
            Screen::Audit => t.audit_log,
        }
    }
}

fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
}

/// What the body of the app shows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// Reading the tenants.
    Loading,
    /// Several tenants and none picked yet.
    Picking,
    /// The screens, for this tenant (`None`: the base signed in with, a service without tenants).
    Ready(Option<String>),
}

/// The header every screen shares, and the screen of the current address for the tenant picked.
#[component]
fn Shell(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let screen = RwSignal::new(Screen::from_hash(&location_hash()));
    let listener = window_event_listener(leptos::ev::hashchange, move |_| {
        screen.set(Screen::from_hash(&location_hash()))
    });
    on_cleanup(move || listener.remove());
    // The tenants this sign-in may use; `None` until they are read.
    let tenants = RwSignal::new(None::<Vec<String>>);
    let error = RwSignal::new(None::<String>);
    let pick = move |name: &str| {
        if let Some(current) = session.get_untracked() {
            let next = current.with_tenant(name);
            next.save();
            session.set(Some(next));
        }
    };
    if let Some(current) = session.get_untracked() {
        spawn_local(async move {
            match current.tenants().await {
                Ok(list) => {
                    let names: Vec<String> = list.into_iter().map(|t| t.name).collect();
                    let kept = current.tenant.as_ref().is_some_and(|t| names.contains(t));
                    if !kept {
                        // A tenant kept from before that this sign-in may no longer use is dropped.
                        if let [only] = names.as_slice() {
                            pick(only);
                        } else if let Some(current) = session.get_untracked().filter(|s| s.tenant.is_some()) {
                            let fresh = current.without_tenant();
                            fresh.save();
                            session.set(Some(fresh));
                        }
                    }
                    tenants.set(Some(names));
                }
                // A service without tenants: its own base is the only one.
                Err(ApiError::Scim { status: 404, .. }) => tenants.set(Some(Vec::new())),
                Err(e) => report(e, session, reason, error),
            }
        });
    }
    let tenant = Memo::new(move |_| session.with(|s| s.as_ref().and_then(|s| s.tenant.clone())));
    // What the body shows: a screen is made again only when this changes (a new tenant), not
    // when the list of tenants arrives after the only one was picked.
    let stage = Memo::new(move |_| match (tenant.get(), tenants.with(|n| n.as_ref().map(Vec::len))) {
        (None, None) => Stage::Loading,
        (None, Some(n)) if n > 1 => Stage::Picking,
        (picked, _) => Stage::Ready(picked),
    });
    let sign_out = move |_| {
        Session::forget();
        session.set(None);
    };
    view! {
        <header class="bar">
            <h1>{t.title}</h1>
            <nav class="screens" aria-label=t.title>
                {Screen::ALL.into_iter().map(|s| {
                    let (href, id, label) = (s.hash(), format!("nav-{}", &s.hash()[2..]), s.label(t));
                    view! {
                        <a href=href id=id aria-current=move || screen.with(|c| c.section() == s).then_some("page")>{label}</a>
                    }
                }).collect_view()}
            </nav>
            // Shown (disabled, with the tenant kept from before) while the tenants are read too:
            // the header keeps its size when they arrive, and nothing below it moves.
            {move || {
                let names = tenants.get();
                let reading = names.is_none();
                let names = names.unwrap_or_else(|| tenant.get_untracked().into_iter().collect());
                (reading || !names.is_empty()).then(|| view! {
                    <label class="tenant">{t.tenant}
                        <select id="tenant" disabled=reading prop:value=move || tenant.get().unwrap_or_default()
                            on:change=move |ev| pick(&event_target_value(&ev))>
                            <option value="" disabled=true>"—"</option>
                            {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                })
            }}
            <span class="who">{move || session.get().map(|s| format!("{} @ {}", s.user, s.base))}</span>
            <button id="sign-out" on:click=sign_out>{t.sign_out}</button>
        </header>
        {alert(error, "")}
        {move || {
            match stage.get() {
                Stage::Loading => view! { <p class="loading">{t.loading}</p> }.into_any(),
                Stage::Picking => view! {
                    <section id="tenant-picker">
                        <p>{t.pick_tenant}</p>
                        {tenants.get_untracked().unwrap_or_default().into_iter().map(|name| {
                            let (tag, label) = (name.clone(), name.clone());
                            view! { <button class="pick-tenant" data-tenant=tag on:click=move |_| pick(&name)>{label}</button> }
                        }).collect_view()}
                    </section>
                }.into_any(),
                // One screen at a time, made again for each tenant: nothing of one tenant's
                // screen (its filter, its page) carries over to another's.
                Stage::Ready(_) => match screen.get() {
                    Screen::Overview => view! { <Overview session reason/> }.into_any(),
                    Screen::Devices => view! { <Devices session reason/> }.into_any(),
                    Screen::Tokens => view! { <Inventory session reason/> }.into_any(),
                    Screen::Users => view! { <Users session reason/> }.into_any(),
                    Screen::Policies => view! { <Policies session reason/> }.into_any(),
                    Screen::User(id) => view! { <UserPage session reason id/> }.into_any(),
                    Screen::Audit => view! { <AuditLog session reason/> }.into_any(),
                },
            }
        }}
    }
}

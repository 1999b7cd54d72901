//! The screens: sign-in, then the tenant's screens under one header (tenant, navigation,
//! sign-out), each at its own `#/…` address so that a reload or a shared link comes back to it.

mod audit;
mod bulk;
mod challenge;
mod create;
mod detail;
mod devices;
mod login;
mod overview;
mod policies;
mod users;

pub use audit::AuditLog;
pub use create::CreateDialog;
pub use devices::Devices;
pub use login::Login;
pub use overview::Overview;
pub use policies::{Policies, PolicyDialog};
pub use users::{UserDialog, Users};

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
        <main lang=texts().lang>
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Devices,
    Users,
    Policies,
    Audit,
}

impl Screen {
    pub const ALL: [Screen; 5] =
        [Screen::Overview, Screen::Devices, Screen::Users, Screen::Policies, Screen::Audit];

    /// The screen at a `location.hash`; the overview for any other.
    pub fn from_hash(hash: &str) -> Screen {
        Screen::ALL.into_iter().find(|s| s.hash() == hash).unwrap_or(Screen::Overview)
    }

    pub fn hash(self) -> &'static str {
        match self {
            Screen::Overview => "#/overview",
            Screen::Devices => "#/devices",
            Screen::Users => "#/users",
            Screen::Policies => "#/policies",
            Screen::Audit => "#/audit",
        }
    }

    fn label(self, t: &Texts) -> &'static str {
        match self {
            Screen::Overview => t.overview,
            Screen::Devices => t.devices,
            Screen::Users => t.users,
            Screen::Policies => t.policies,
            Screen::Audit => t.audit_log,
        }
    }
}

fn location_hash() -> String {
    web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default()
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
    let sign_out = move |_| {
        Session::forget();
        session.set(None);
    };
    view! {
        <header class="bar">
            <h1>{t.title}</h1>
            <nav class="screens" aria-label=t.title>
                {Screen::ALL.into_iter().map(|s| view! {
                    <a href=s.hash() id=format!("nav-{}", &s.hash()[2..])
                        aria-current=move || (screen.get() == s).then_some("page")>{s.label(t)}</a>
                }).collect_view()}
            </nav>
            {move || tenants.get().filter(|names| !names.is_empty()).map(|names| view! {
                <label class="tenant">{t.tenant}
                    <select id="tenant" prop:value=move || tenant.get().unwrap_or_default()
                        on:change=move |ev| pick(&event_target_value(&ev))>
                        <option value="" disabled=true>"—"</option>
                        {names.into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                    </select>
                </label>
            })}
            <span class="who">{move || session.get().map(|s| format!("{} @ {}", s.user, s.base))}</span>
            <button id="sign-out" on:click=sign_out>{t.sign_out}</button>
        </header>
        {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        {move || {
            let names = tenants.get();
            match (tenant.get(), names) {
                (None, None) => view! { <p class="loading">{t.loading}</p> }.into_any(),
                (None, Some(names)) if names.len() > 1 => view! {
                    <section id="tenant-picker">
                        <p>{t.pick_tenant}</p>
                        {names.into_iter().map(|name| {
                            let (tag, label) = (name.clone(), name.clone());
                            view! { <button class="pick-tenant" data-tenant=tag on:click=move |_| pick(&name)>{label}</button> }
                        }).collect_view()}
                    </section>
                }.into_any(),
                // One screen at a time, made again for each tenant: nothing of one tenant's
                // screen (its filter, its page) carries over to another's.
                _ => match screen.get() {
                    Screen::Overview => view! { <Overview session reason/> }.into_any(),
                    Screen::Devices => view! { <Devices session reason/> }.into_any(),
                    Screen::Users => view! { <Users session reason/> }.into_any(),
                    Screen::Policies => view! { <Policies session reason/> }.into_any(),
                    Screen::Audit => view! { <AuditLog session reason/> }.into_any(),
                },
            }
        }}
    }
}

/// Page size, previous and next, and the range shown, for a list the server pages. `prefix`
/// starts the ids of its controls (`page-size`, `previous`, `range`, `next`).
#[component]
pub fn Pager(
    prefix: &'static str,
    sizes: &'static [u64],
    start: RwSignal<u64>,
    count: RwSignal<u64>,
    /// `startIndex`, `itemsPerPage` and `totalResults` of the page shown.
    shown: Signal<Option<(u64, u64, u64)>>,
) -> impl IntoView {
    let t = texts();
    let initial = count.get_untracked();
    view! {
        <nav class="pager">
            <label>{t.page_size}
                <select id=format!("{prefix}page-size") on:change=move |ev| {
                    count.set(event_target_value(&ev).parse().unwrap_or(initial));
                    start.set(1);
                }>
                    {sizes.iter().map(|n| view! { <option value=*n selected=*n == initial>{*n}</option> }).collect_view()}
                </select>
            </label>
            <button id=format!("{prefix}previous") disabled=move || start.get() <= 1
                on:click=move |_| start.update(|s| *s = s.saturating_sub(count.get_untracked()).max(1))>{t.previous}</button>
            <span id=format!("{prefix}range")>{move || shown.get().map(|(first, items, total)| {
                let from = if items == 0 { 0 } else { first };
                format!("{from}–{} {} {total}", first + items - u64::from(items > 0), t.of)
            })}</span>
            <button id=format!("{prefix}next") disabled=move || shown.get().is_none_or(|(first, items, total)| first + items > total)
                on:click=move |_| start.update(|s| *s += count.get_untracked())>{t.next}</button>
        </nav>
    }
}

/// An API error in plain words; a 401 signs the admin out with the reason.
pub fn explain(error: &ApiError, t: &Texts) -> String {
    match error {
        ApiError::Scim { detail, .. } => detail.clone(),
        ApiError::Network { cross_origin: true } => t.cors_blocked.to_owned(),
        ApiError::Network { cross_origin: false } => t.unreachable.to_owned(),
    }
}

/// Handles an error the same way everywhere: 401 ends the session, the rest is shown.
pub fn report(
    error: ApiError,
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    shown: RwSignal<Option<String>>,
) {
    let t = texts();
    if error.status() == Some(401) {
        Session::forget();
        reason.set(Some(explain(&error, t)));
        session.set(None);
    } else {
        shown.set(Some(explain(&error, t)));
    }
}

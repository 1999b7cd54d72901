//! The screens: sign-in, then the tenant's screens under one header (tenant, navigation,
//! sign-out), each at its own `#/…` address so that a reload or a shared link comes back to it.

mod audit;
mod bulk;
mod challenge;
mod create;
mod detail;
mod devices;
mod enrol;
mod login;
mod overview;
mod policies;
mod user;
mod users;

pub use audit::AuditLog;
pub use create::CreateDialog;
pub use devices::Devices;
pub use enrol::{EnrolPanel, ValidateDialog, reason_words};
pub use login::Login;
pub use overview::Overview;
pub use policies::{Policies, PolicyDialog};
pub use user::UserPage;
pub use users::{UserDialog, Users};

use crate::api::{ApiError, Session};
use crate::i18n::{Texts, texts};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::model::ListResponse;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Devices,
    Users,
    Policies,
    Audit,
    /// One user's page, by id (`#/users/7`).
    User(String),
}

impl Screen {
    pub const ALL: [Screen; 5] =
        [Screen::Overview, Screen::Devices, Screen::Users, Screen::Policies, Screen::Audit];

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
                    Screen::Users => view! { <Users session reason/> }.into_any(),
                    Screen::Policies => view! { <Policies session reason/> }.into_any(),
                    Screen::User(id) => view! { <UserPage session reason id/> }.into_any(),
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

/// A list the server pages, as a screen shows it: the answer, whether a request is out, what
/// went wrong, and apart from that a refused filter (a 400, shown next to the filter box).
pub struct Listed<T: Send + Sync + 'static> {
    pub result: RwSignal<Option<ListResponse<T>>>,
    pub loading: RwSignal<bool>,
    pub error: RwSignal<Option<String>>,
    pub filter_error: RwSignal<Option<String>>,
}

impl<T: Send + Sync + 'static> Clone for Listed<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Send + Sync + 'static> Copy for Listed<T> {}

impl<T: Clone + Send + Sync + 'static> Listed<T> {
    /// `startIndex`, `itemsPerPage` and `totalResults` of the page shown, for a [`Pager`].
    pub fn shown(self) -> Signal<Option<(u64, u64, u64)>> {
        let result = self.result;
        Signal::derive(move || {
            result.with(|r| r.as_ref().map(|r| (r.start_index, r.items_per_page, r.total_results)))
        })
    }
}

/// What a filtered, sortable list screen asks the server for: the filter applied, the sort, the
/// page, and a count of reloads that asks again for the same.
#[derive(Clone, Copy)]
pub struct Listing {
    pub applied: RwSignal<Option<String>>,
    pub sort_by: RwSignal<String>,
    pub descending: RwSignal<bool>,
    pub start: RwSignal<u64>,
    pub count: RwSignal<u64>,
    reloads: RwSignal<u32>,
}

impl Listing {
    /// No filter, ascending by `sort_by` (the server's order when empty), the first page.
    pub fn new(sort_by: &str, count: u64) -> Listing {
        Listing {
            applied: RwSignal::new(None),
            sort_by: RwSignal::new(sort_by.to_owned()),
            descending: RwSignal::new(false),
            start: RwSignal::new(1),
            count: RwSignal::new(count),
            reloads: RwSignal::new(0),
        }
    }

    /// The query string, read (and so tracked) from every part, the reloads included.
    pub fn query(self) -> String {
        self.reloads.track();
        devices::list_query(
            self.applied.get().as_deref(),
            &self.sort_by.get(),
            self.descending.get(),
            self.start.get(),
            self.count.get(),
        )
    }

    /// The same page again.
    pub fn reload(self) {
        self.reloads.update(|n| *n += 1);
    }

    /// Sorts by `attribute`, or reverses the order when the list is sorted by it already.
    pub fn sort(self, attribute: &str) {
        if self.sort_by.get_untracked() == attribute {
            self.descending.update(|d| *d = !*d);
        } else {
            self.sort_by.set(attribute.to_owned());
            self.descending.set(false);
        }
    }
}

/// A column header that sorts `list` by `attribute`, with an arrow on the column sorted by.
pub fn sort_header(list: Listing, label: &'static str, attribute: &'static str) -> impl IntoView {
    let arrow = move || match (list.sort_by.with(|s| s == attribute), list.descending.get()) {
        (true, false) => " ▲",
        (true, true) => " ▼",
        _ => "",
    };
    view! {
        <th><button class="sort" data-sort=attribute on:click=move |_| list.sort(attribute)>{label}{arrow}</button></th>
    }
}

/// Reads a list each time what `query` reads changes, and shows only the answer to the newest
/// request: an answer to an older one (a reload after a create, then a new filter) may arrive
/// after it.
pub fn keep_listed<T, Fut>(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    query: impl Fn() -> String + 'static,
    fetch: impl Fn(Session, String) -> Fut + 'static,
) -> Listed<T>
where
    T: Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<ListResponse<T>, ApiError>> + 'static,
{
    let listed = Listed {
        result: RwSignal::new(None),
        loading: RwSignal::new(false),
        error: RwSignal::new(None),
        filter_error: RwSignal::new(None),
    };
    let newest = StoredValue::new(0u64);
    Effect::new(move |_| {
        let Some(current) = session.get() else { return };
        let request = newest.get_value() + 1;
        newest.set_value(request);
        listed.loading.set(true);
        let answer = fetch(current, query());
        spawn_local(async move {
            let answer = answer.await;
            if newest.get_value() != request {
                return;
            }
            match answer {
                Ok(list) => {
                    listed.error.set(None);
                    listed.filter_error.set(None);
                    listed.result.set(Some(list));
                }
                Err(ApiError::Scim { status: 400, detail }) => listed.filter_error.set(Some(detail)),
                Err(e) => report(e, session, reason, listed.error),
            }
            listed.loading.set(false);
        });
    });
    listed
}

/// Saves from a create-or-edit dialog: `busy` while the request is out, then the dialog closed
/// (`true`: saved), or `stale` under its form on a 412, or the error in words.
pub fn save_from_dialog<T: 'static>(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    busy: RwSignal<bool>,
    error: RwSignal<Option<String>>,
    stale: &'static str,
    on_close: Callback<bool>,
    save: impl std::future::Future<Output = Result<T, ApiError>> + 'static,
) {
    busy.set(true);
    spawn_local(async move {
        let answer = save.await;
        busy.set(false);
        match answer {
            Ok(_) => on_close.run(true),
            Err(ApiError::Scim { status: 412, .. }) => error.set(Some(stale.to_owned())),
            Err(e) => report(e, session, reason, error),
        }
    });
}

/// A modal dialog: the focus moves into it when it opens (to its first control) and back to
/// where it was when it closes, and Escape closes it as its Cancel or Close button does.
#[component]
pub fn Dialog(
    #[prop(optional)] id: &'static str,
    on_escape: Callback<()>,
    children: Children,
) -> impl IntoView {
    use wasm_bindgen::JsCast;
    let node = NodeRef::<leptos::html::Div>::new();
    let opener = StoredValue::new_local(
        document().active_element().and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
    );
    Effect::new(move |_| {
        let first =
            node.get().and_then(|d| d.query_selector("input, select, textarea, button").ok().flatten());
        if let Some(first) = first.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = first.focus();
        }
    });
    on_cleanup(move || {
        if let Some(opener) = opener.try_with_value(Option::clone).flatten().filter(|o| o.is_connected()) {
            let _ = opener.focus();
        }
    });
    view! {
        <div class="dialog" role="dialog" aria-modal="true" id=(!id.is_empty()).then_some(id) node_ref=node
            on:keydown=move |ev| if ev.key() == "Escape" { on_escape.run(()) }>
            {children()}
        </div>
    }
}

/// Asks the admin `question` (the browser's confirm box); `false` when there is no window.
pub fn confirmed(question: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(question).ok()).unwrap_or(false)
}

/// The error line under what failed, while `error` holds one (`id` names it when not empty).
pub fn alert(error: RwSignal<Option<String>>, id: &'static str) -> AnyView {
    let id = (!id.is_empty()).then_some(id);
    (move || error.get().map(|e| view! { <p id=id class="error" role="alert">{e}</p> })).into_any()
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

//! What the screens that list share: the list loader (filter, sort, page, reloads), the pager,
//! sortable headers and the query string of a list request.

use super::components::{alert, report};
use crate::api::{Answer, ApiError, Session, query_value};
use crate::csv::{self, Column};
use crate::i18n::texts;
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::model::ListResponse;

/// The query string of a list request.
pub fn list_query(filter: Option<&str>, sort_by: &str, descending: bool, start: u64, count: u64) -> String {
    let mut query = format!("startIndex={start}&count={count}");
    if let Some(filter) = filter {
        query.push_str(&format!("&filter={}", query_value(filter)));
    }
    if !sort_by.is_empty() {
        query.push_str(&format!(
            "&sortBy={sort_by}&sortOrder={}",
            if descending { "descending" } else { "ascending" }
        ));
    }
    query
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
        list_query(
            self.applied.get().as_deref(),
            &self.sort_by.get(),
            self.descending.get(),
            self.start.get(),
            self.count.get(),
        )
    }

    /// What every page of this list is read with: the filter applied and the order.
    pub fn order(self) -> (Option<String>, String, bool) {
        (self.applied.get_untracked(), self.sort_by.get_untracked(), self.descending.get_untracked())
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

/// Every resource `filter` matches in the order asked, read as they are now, a thousand (the
/// service's largest page) at a time.
pub async fn every_page<T>(
    fetch: impl Fn(String) -> Answer<ListResponse<T>>,
    (filter, sort_by, descending): (Option<String>, String, bool),
) -> Result<Vec<T>, ApiError> {
    let mut all = Vec::new();
    loop {
        let from = all.len() as u64 + 1;
        let page =
            fetch(list_query(filter.as_deref(), &sort_by, descending, from, shared::query::MAX_RESULTS))
                .await?;
        let (got, total) = (page.resources.len(), page.total_results);
        all.extend(page.resources);
        if got == 0 || all.len() as u64 >= total {
            return Ok(all);
        }
    }
}

/// A button that downloads as `file` every resource at `endpoint` (`/Users`) the list's filter
/// matches, in its order, as CSV under `columns`; `order` says the filter and order at the
/// click. The resources are read as the JSON they come in, not as the screen's types.
#[allow(clippy::too_many_arguments)]
pub fn csv_button(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    error: RwSignal<Option<String>>,
    id: &'static str,
    endpoint: &'static str,
    file: &'static str,
    columns: &'static [Column],
    order: Box<dyn Fn() -> (Option<String>, String, bool)>,
) -> AnyView {
    let busy = RwSignal::new(false);
    let start = move |_| {
        let Some(api) = session.get_untracked() else { return };
        let order = order();
        busy.set(true);
        spawn_local(async move {
            let all = every_page(|query| api.resources(endpoint, &query), order).await;
            busy.set(false);
            match all {
                Ok(all) => csv::download(file, "text/csv", &csv::write(columns, &all)),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    view! { <button id=id disabled=move || busy.get() on:click=start>{texts().download_csv}</button> }
        .into_any()
}

/// A filter form's last row: the filter's error, Apply (the form's submit), and Clear (`clear`
/// empties the form; then no filter, no error, the first page), with the filter as sent beside
/// them. `ids`: of the error, the Apply button and the sent filter.
pub fn filter_row<T: Send + Sync + 'static>(
    list: Listing,
    listed: Listed<T>,
    ids: [&'static str; 3],
    clear: impl Fn() + 'static,
) -> impl IntoView {
    let t = texts();
    let [error, apply, sent] = ids;
    view! {
        {alert(listed.filter_error, error)}
        <div class="row">
            <button id=apply type="submit">{t.apply}</button>
            <button type="button" on:click=move |_| {
                clear();
                list.applied.set(None);
                listed.filter_error.set(None);
                list.start.set(1);
            }>{t.clear}</button>
            <code id=sent title=t.sent_filter>{move || list.applied.get().unwrap_or_default()}</code>
        </div>
    }
}

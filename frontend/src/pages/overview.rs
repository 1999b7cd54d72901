//! The first screen after sign-in: the tenant's devices by status and by type (SCIM `count=0`
//! queries), the ones locked now, those unused for 90 days, and validations and failures per
//! hour over the last 7 days (counted by the API in SQL, `/Audit/.histogram`).

use crate::api::{ApiError, Session, query_value};
use crate::chart::{HourBar, first_hour, hourly_bars, scale};
use crate::filters::FilterForm;
use crate::i18n::{Texts, texts};
use crate::pages::devices::status_label;
use crate::pages::list_query;
use crate::pages::{alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::{DeviceType, OtpDevice, Status, Timestamp};

/// A week of hours.
const HOURS: usize = 7 * 24;
const UNUSED_DAYS: i64 = 90;
/// A bar's width and the gap after it, and the chart's height, in SVG units.
const BAR: i64 = 5;
const HEIGHT: u64 = 120;

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// How many devices match `filter`.
async fn count(api: &Session, filter: &str) -> Result<u64, ApiError> {
    Ok(api.list(&list_query(Some(filter), "", false, 1, 0)).await?.total_results)
}

#[component]
pub fn Overview(session: RwSignal<Option<Session>>, reason: RwSignal<Option<String>>) -> impl IntoView {
    let t = texts();
    let statuses = RwSignal::new([None::<u64>; 4]);
    let types = RwSignal::new([None::<u64>; 5]);
    let unused = RwSignal::new(None::<u64>);
    let locked = RwSignal::new(None::<Vec<OtpDevice>>);
    let bars = RwSignal::new(None::<Vec<HourBar>>);
    let error = RwSignal::new(None::<String>);
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let first = first_hour(now, HOURS);
    if let Some(api) = session.get_untracked() {
        spawn_local(async move {
            let read = async {
                let filter =
                    format!("at ge {} and action sw \"challenge-\"", quoted(&Timestamp(first).to_rfc3339()));
                let query = format!("interval=3600&filter={}", query_value(&filter));
                let histogram = api.audit_histogram(&query).await?;
                bars.set(Some(hourly_bars(&histogram, first, HOURS)));
                for (i, status) in Status::ALL.iter().enumerate() {
                    let n = count(&api, &format!("status eq {}", quoted(status.as_str()))).await?;
                    statuses.update(|s| s[i] = Some(n));
                }
                for (i, kind) in DeviceType::ALL.iter().enumerate() {
                    let n = count(&api, &format!("type eq {}", quoted(kind.as_str()))).await?;
                    types.update(|s| s[i] = Some(n));
                }
                let since = Timestamp(now - UNUSED_DAYS * 86_400).to_rfc3339();
                let form = FilterForm { unused_since: since[..10].to_owned(), ..FilterForm::default() };
                unused.set(Some(count(&api, &form.to_filter().unwrap_or_default()).await?));
                let query = list_query(Some("status eq \"L\""), "lastUsed", true, 1, 10);
                locked.set(Some(api.list(&query).await?.resources));
                Ok::<(), ApiError>(())
            };
            if let Err(e) = read.await {
                report(e, session, reason, error);
            }
        });
    }
    let number = |n: Option<u64>| n.map_or_else(|| "…".to_owned(), |n| n.to_string());
    view! {
        <h2>{t.overview}</h2>
        {alert(error, "")}
        <section class="cards">
            <div class="card">
                <h3>{t.by_status}</h3>
                <table id="by-status">
                    {Status::ALL.iter().enumerate().map(|(i, s)| view! {
                        <tr data-status=s.as_str()>
                            <td><span class=format!("badge s-{}", s.as_str())>{status_label(*s, t)}</span></td>
                            <td class="n">{move || number(statuses.get()[i])}</td>
                        </tr>
                    }).collect_view()}
                </table>
            </div>
            <div class="card">
                <h3>{t.by_type}</h3>
                <table id="by-type">
                    {DeviceType::ALL.iter().enumerate().map(|(i, d)| view! {
                        <tr data-type=d.as_str()><td>{d.as_str()}</td><td class="n">{move || number(types.get()[i])}</td></tr>
                    }).collect_view()}
                </table>
            </div>
            <div class="card">
                <h3>{t.unused_90}</h3>
                <p class="big" id="unused">{move || number(unused.get())}</p>
            </div>
        </section>
        <section class="card">
            <h3>{t.validations_7d}</h3>
            {move || chart(bars.get(), t)}
        </section>
        <section class="card">
            <h3>{t.locked_now}</h3>
            <table id="locked-now">
                {move || match locked.get() {
                    None => view! { <tr><td class="loading">{t.loading}</td></tr> }.into_any(),
                    Some(devices) if devices.is_empty() => view! { <tr><td class="empty">{t.none_locked}</td></tr> }.into_any(),
                    Some(devices) => devices.into_iter().map(|d| view! {
                        <tr data-id=d.id>
                            <td>{d.id}</td><td>{d.name.clone()}</td><td>{d.device_type.as_str()}</td><td>{d.user.clone()}</td>
                            <td>{d.fails}</td><td>{d.last_used.map_or_else(|| t.never.to_owned(), |u| u.to_string())}</td>
                        </tr>
                    }).collect_view().into_any(),
                }}
            </table>
        </section>
    }
}

/// The bars as SVG: successes from the bottom, failures above them, one day between ticks; the
/// same height while loading, so nothing below it moves when the data arrives.
fn chart(bars: Option<Vec<HourBar>>, t: &'static Texts) -> AnyView {
    let width = BAR * HOURS as i64;
    let view_box = format!("0 0 {width} {}", HEIGHT + 14);
    let Some(bars) = bars else {
        return view! { <svg id="chart" class="chart" viewBox=view_box role="img" aria-label=t.loading></svg> }.into_any();
    };
    let top = scale(&bars);
    let height = |n: u64| (n * HEIGHT).div_ceil(top) as i64;
    let (successes, failures) = bars.iter().fold((0, 0), |(s, f), b| (s + b.successes, f + b.failures));
    let label = format!("{}: {successes} {}, {failures} {}", t.validations_7d, t.successes, t.failures);
    view! {
        <svg id="chart" class="chart" viewBox=view_box role="img" aria-label=label data-successes=successes data-failures=failures>
            {bars.iter().enumerate().map(|(i, bar)| {
                let x = i as i64 * BAR;
                let (ok, bad) = (height(bar.successes), height(bar.failures));
                let base = HEIGHT as i64;
                let title = format!("{} · {} {} · {} {}", Timestamp(bar.start), bar.successes, t.successes, bar.failures, t.failures);
                view! {
                    <g>
                        <title>{title}</title>
                        <rect class="ok" x=x y=base - ok width=BAR - 1 height=ok/>
                        <rect class="bad" x=x y=base - ok - bad width=BAR - 1 height=bad/>
                    </g>
                }
            }).collect_view()}
            {bars.iter().enumerate().filter(|(_, b)| b.start % 86_400 == 0).map(|(i, b)| {
                let x = i as i64 * BAR;
                let day = Timestamp(b.start).to_rfc3339()[5..10].to_owned();
                view! {
                    <line class="tick" x1=x x2=x y1=0 y2=HEIGHT/>
                    <text class="day" x=x + 2 y=HEIGHT + 12>{day}</text>
                }
            }).collect_view()}
        </svg>
        <p class="legend"><span class="key ok"></span>{t.successes}<span class="key bad"></span>{t.failures}</p>
    }
    .into_any()
}

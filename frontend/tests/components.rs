//! Component tests in headless Chromium (wasm-bindgen-test): the create form's fields per type,
//! the filter bar's output and the filter it builds from its fields, the language taken from
//! the browser's tag, and errors in plain words. (The app is never built natively, so its plain
//! unit tests live here too.)

#![cfg(target_arch = "wasm32")]
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use frontend::api::Session;
use frontend::filters::{AuditFilterForm, FilterForm};
use frontend::i18n::{for_language, texts};
use frontend::pages::{CreateDialog, Devices, Login};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

fn container() -> web_sys::HtmlElement {
    let doc = document();
    let div = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn find(root: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::Element> {
    root.query_selector(selector).unwrap()
}

async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// Waits (up to 5 s) until `selector` matches something.
async fn wait_for(root: &web_sys::HtmlElement, selector: &str) -> web_sys::Element {
    for _ in 0..100 {
        if let Some(found) = find(root, selector) {
            return found;
        }
        sleep(50).await;
    }
    panic!("{selector} never appeared");
}

fn fire(element: &web_sys::Element, kind: &str) {
    let init = web_sys::EventInit::new();
    init.set_bubbles(true);
    let event = web_sys::Event::new_with_event_init_dict(kind, &init).unwrap();
    element.dispatch_event(&event).unwrap();
}

fn set_value(root: &web_sys::HtmlElement, selector: &str, value: &str) {
    let element = find(root, selector).unwrap_or_else(|| panic!("{selector}"));
    if let Some(input) = element.dyn_ref::<web_sys::HtmlInputElement>() {
        input.set_value(value);
        fire(&element, "input");
    } else if let Some(select) = element.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.set_value(value);
        fire(&element, "change");
    }
}

fn click(root: &web_sys::HtmlElement, selector: &str) {
    find(root, selector)
        .unwrap_or_else(|| panic!("{selector}"))
        .unchecked_into::<web_sys::HtmlElement>()
        .click();
}

#[wasm_bindgen_test]
async fn create_form_fields_follow_the_type() {
    let root = container();
    let root_for_view = root.clone();
    leptos::mount::mount_to(root_for_view, || {
        view! { <CreateDialog session=RwSignal::new(None) reason=RwSignal::new(None) on_close=Callback::new(|()| {})/> }
    })
    .forget();
    leptos::task::tick().await;
    assert!(find(&root, "#c-user").is_some());
    assert!(find(&root, "select#c-algorithm").is_some() && find(&root, "select#c-digits").is_some());
    assert!(find(&root, "#c-period").is_some(), "TOTP has a period");
    assert!(find(&root, "#c-email").is_none());

    set_value(&root, "#c-type", "EMAIL");
    leptos::task::tick().await;
    assert!(find(&root, "input#c-email[type=email]").is_some());
    assert!(find(&root, "#c-algorithm").is_none() && find(&root, "#c-period").is_none());

    set_value(&root, "#c-type", "SMS");
    leptos::task::tick().await;
    assert!(find(&root, "input#c-phone[type=tel]").is_some());

    set_value(&root, "#c-type", "PIN");
    leptos::task::tick().await;
    assert!(find(&root, "input#c-pin[type=password]").is_some() && find(&root, "#c-pin-again").is_some());
    assert!(find(&root, "#c-digits").is_none());
}

#[wasm_bindgen_test]
async fn the_filter_bar_shows_the_filter_it_sends_and_errors_read_as_words() {
    let root = container();
    // An API on another origin that does not answer: the app explains it as CORS/unreachable.
    let session = RwSignal::new(Some(Session::new("http://127.0.0.1:9/scim/v2", "admin", "pw")));
    let reason = RwSignal::new(None);
    leptos::mount::mount_to(root.clone(), move || view! { <Devices session reason/> }).forget();
    let alert = wait_for(&root, ".error[role=alert]").await;
    assert_eq!(alert.text_content().unwrap(), texts().cors_blocked);
    assert!(!alert.text_content().unwrap().contains('{'), "never a raw JSON dump");

    set_value(&root, "#f-user-mode", "co");
    set_value(&root, "#f-user", "dil\"bert");
    set_value(&root, "#f-type", "TOTP");
    set_value(&root, "#f-status", "V");
    set_value(&root, "#f-unused", "2022-01-01");
    click(&root, "#apply-filter");
    leptos::task::tick().await;
    assert_eq!(
        find(&root, "#sent-filter").unwrap().text_content().unwrap(),
        r#"user co "dil\"bert" and type eq "TOTP" and status eq "V" and (lastUsed lt "2022-01-01" or not (lastUsed pr))"#
    );
}

#[wasm_bindgen_test]
async fn sign_in_shows_the_reason() {
    let root = container();
    let reason = RwSignal::new(Some("Wrong user or password.".to_owned()));
    leptos::mount::mount_to(root.clone(), move || view! { <Login session=RwSignal::new(None) reason/> })
        .forget();
    leptos::task::tick().await;
    assert!(find(&root, "#api-base").is_some() && find(&root, "#login-password[type=password]").is_some());
    assert_eq!(find(&root, "p.error").unwrap().text_content().unwrap(), "Wrong user or password.");
}

#[wasm_bindgen_test]
fn languages_follow_the_tag() {
    assert_eq!(for_language("es-ES").lang.tag(), "es");
    assert_eq!(for_language("ca").lang.tag(), "ca");
    assert_eq!(for_language("nl-BE").lang.tag(), "nl");
    assert_eq!(for_language("fr").lang.tag(), "en");
}

#[wasm_bindgen_test]
fn filter_fields_build_a_scim_filter() {
    let form = FilterForm {
        user_contains: true,
        user: "dil\"bert".into(),
        device_type: "TOTP".into(),
        status: "V".into(),
        unused_since: "2022-01-01".into(),
        created_from: "2021-01-01".into(),
        created_to: "2021-12-31".into(),
        advanced: String::new(),
    };
    let filter = form.to_filter().unwrap();
    assert_eq!(
        filter,
        r#"user co "dil\"bert" and type eq "TOTP" and status eq "V" and (lastUsed lt "2022-01-01" or not (lastUsed pr)) and created ge "2021-01-01" and created le "2021-12-31 23:59:59""#
    );
    assert!(shared::filter::Condition::compile(&shared::schema::DEVICE, &filter).is_ok());
    assert_eq!(FilterForm::default().to_filter(), None);
}

#[wasm_bindgen_test]
fn an_advanced_filter_wins() {
    let form = FilterForm { user: "x".into(), advanced: "fails gt".into(), ..Default::default() };
    assert_eq!(form.to_filter().as_deref(), Some("fails gt"));
}

#[wasm_bindgen_test]
fn a_filter_goes_into_a_query_string_intact() {
    use frontend::api::query_value;
    let filter = r#"userName co "a&b=c" and (displayName sw "x+y #1" or title ew "50%") and name eq "José""#;
    let encoded = query_value(filter);
    assert!(!encoded.contains(['&', '=', '#', '+', ' ', '"']), "{encoded}");
    assert!(encoded.contains("Jos%C3%A9"), "UTF-8, percent-encoded: {encoded}");
    assert_eq!(js_sys::decode_uri_component(&encoded).unwrap(), filter);
}

#[wasm_bindgen_test]
fn tenant_bases_follow_the_base_path_signed_in_with() {
    use frontend::api::{tenant_base, tenant_of};
    for (root, acme) in [
        ("https://otp.example.org/scim/v2", Some("https://otp.example.org/scim/acme/v2")),
        ("https://otp.example.org/soffid/webservice/scim2/v1", Some("https://otp.example.org/scim/acme/v2")),
        ("https://otp.example.org/scim/globex/v2", Some("https://otp.example.org/scim/acme/v2")),
        ("https://proxy.example.org/otp/scim/v2", Some("https://proxy.example.org/otp/scim/acme/v2")),
        ("https://otp.example.org/api", None),
    ] {
        assert_eq!(tenant_base(root, "acme").as_deref(), acme, "{root}");
    }
    assert_eq!(tenant_of("https://otp.example.org/scim/globex/v2"), Some("globex"));
    assert_eq!(tenant_of("https://otp.example.org/scim/v2"), None);
    let session = Session::new("https://otp.example.org/scim/v2/", "admin", "pw");
    assert_eq!((session.tenant.as_deref(), session.base.as_str()), (None, "https://otp.example.org/scim/v2"));
    let acme = session.with_tenant("acme");
    assert_eq!(
        (acme.tenant.as_deref(), acme.base.as_str()),
        (Some("acme"), "https://otp.example.org/scim/acme/v2")
    );
    assert_eq!(acme.root, session.root);
}

#[wasm_bindgen_test]
fn the_audit_filter_names_what_it_asks_for() {
    let empty = AuditFilterForm::default();
    assert_eq!(empty.to_filter(), Ok(None));
    let form = AuditFilterForm {
        from: "2026-12-01".into(),
        to: "2026-12-05".into(),
        action: "challenge-".into(),
        actor: "ad\"min".into(),
        device_id: " 42 ".into(),
        user_id: "7".into(),
        authenticator: "7.AT_EMPOTP".into(),
    };
    assert_eq!(
        form.to_filter(),
        Ok(Some(
            r#"at ge "2026-12-01T00:00:00Z" and at le "2026-12-05T23:59:59Z" and action sw "challenge-" and actor eq "ad\"min" and deviceId eq 42 and userId eq "7" and authenticator eq "7.AT_EMPOTP""#
                .to_owned()
        ))
    );
    let exact = AuditFilterForm { action: "patch".into(), ..Default::default() };
    assert_eq!(exact.to_filter(), Ok(Some(r#"action eq "patch""#.to_owned())));
    for (device_id, user_id, field) in [("4x", "", "deviceId"), ("", "-1", "userId")] {
        let bad =
            AuditFilterForm { device_id: device_id.into(), user_id: user_id.into(), ..Default::default() };
        assert_eq!(bad.to_filter(), Err(field));
    }
    for form in [form, exact] {
        let filter = form.to_filter().unwrap().unwrap();
        assert!(shared::filter::Condition::compile(&shared::schema::AUDIT, &filter).is_ok(), "{filter}");
    }
}

#[wasm_bindgen_test]
fn the_chart_has_a_bar_per_hour_and_counts_failures_that_locked() {
    use frontend::chart::{first_hour, hourly_bars, scale};
    use shared::audit::{AuditBucket, AuditHistogram};
    let now = 1_765_000_000 + 1234;
    let first = first_hour(now, 168);
    assert_eq!((first % 3600, now - first < 168 * 3600, now - first >= 167 * 3600), (0, true, true));
    let bucket = |hour: i64, counts: &[(&str, u64)]| AuditBucket {
        start: shared::Timestamp(first + hour * 3600),
        counts: counts.iter().map(|(a, n)| ((*a).to_owned(), *n)).collect(),
    };
    let histogram = AuditHistogram {
        schemas: Vec::new(),
        interval: 3600,
        buckets: vec![
            bucket(-1, &[("challenge-success", 9)]),
            bucket(0, &[("challenge-success", 3), ("challenge-failure", 1), ("challenge-refused", 4)]),
            bucket(167, &[("challenge-failure", 2), ("challenge-failure-locked", 1)]),
            bucket(168, &[("challenge-success", 9)]),
        ],
    };
    let bars = hourly_bars(&histogram, first, 168);
    assert_eq!(bars.len(), 168);
    assert_eq!((bars[0].successes, bars[0].failures), (3, 1), "refusals are neither");
    assert_eq!((bars[167].successes, bars[167].failures), (0, 3), "a failure that locked is a failure");
    assert_eq!(
        bars.iter().map(|b| b.successes + b.failures).sum::<u64>(),
        7,
        "hours outside the chart left out"
    );
    assert_eq!(scale(&bars), 4);
    assert_eq!(scale(&hourly_bars(&AuditHistogram { buckets: Vec::new(), ..histogram }, first, 168)), 1);
}

#[wasm_bindgen_test]
fn the_user_dialog_keeps_what_it_does_not_edit() {
    use frontend::filters::UserFilterForm;
    use frontend::forms::UserForm;
    let filter = UserFilterForm {
        user_name: "jd".into(),
        external_id: "E-1".into(),
        active: "false".into(),
        email: "@example".into(),
    };
    assert_eq!(
        filter.to_filter().as_deref(),
        Some(
            r#"userName co "jd" and externalId eq "E-1" and active eq false and emails.value co "@example""#
        )
    );
    assert_eq!(UserFilterForm { active: "maybe".into(), ..Default::default() }.to_filter(), None);

    assert_eq!(UserForm::default().to_body(None), Err("userName"));
    let created =
        UserForm { user_name: " jdoe ".into(), email: "j@example.org".into(), ..Default::default() };
    assert_eq!(
        created.to_body(None).unwrap(),
        serde_json::json!({
            "schemas": [shared::model::USER_SCHEMA], "userName": "jdoe", "active": true, "name": {},
            "emails": [{"value": "j@example.org", "primary": true}], "phoneNumbers": [],
        })
    );
    let user: shared::User = serde_json::from_value(serde_json::json!({
        "schemas": [shared::model::USER_SCHEMA], "id": "7", "externalId": "E-7", "userName": "jdoe",
        "name": {"givenName": "John", "formatted": "John Doe"}, "active": true,
        "emails": [{"value": "old@example.org", "type": "home"}, {"value": "work@example.org", "primary": true}],
        "meta": {"resourceType": "User", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z", "version": "W/\"3\""},
    }))
    .unwrap();
    let mut form = UserForm::from_user(&user);
    assert_eq!((form.email.as_str(), form.given_name.as_str()), ("work@example.org", "John"));
    form.email = "new@example.org".into();
    form.given_name = String::new();
    form.active = false;
    let body = form.to_body(Some(&user)).unwrap();
    assert_eq!(body["externalId"], "E-7", "kept");
    assert_eq!(body["name"], serde_json::json!({"formatted": "John Doe"}));
    assert_eq!(
        body["emails"],
        serde_json::json!([{"value": "old@example.org", "type": "home"}, {"value": "new@example.org", "primary": true}])
    );
    assert_eq!((body["active"].as_bool(), body.get("meta"), body.get("id")), (Some(false), None, None));
}

#[wasm_bindgen_test]
fn the_policy_form_asks_for_the_fields_of_its_kind() {
    use frontend::forms::{PolicyForm, policy_fields};
    use shared::policy::PolicyKind;
    let names = |kind| policy_fields(kind).map(|a| a.name).collect::<Vec<_>>();
    let common = ["id", "displayName", "maxFails", "validityDays", "maxUsages"];
    assert_eq!(names(PolicyKind::Totp), [&common[..], &["algorithm", "digits", "period"]].concat());
    assert_eq!(names(PolicyKind::Hotp), [&common[..], &["algorithm", "digits"]].concat());
    assert_eq!(names(PolicyKind::OobSms), [&common[..], &["codeTtlSeconds"]].concat());
    assert_eq!(names(PolicyKind::Password), common);
    assert_eq!(
        names(PolicyKind::SecurityQuestion),
        [&common[..], &["promptsRequiredForCreation", "promptsAskedAtValidation"]].concat()
    );

    let mut form = PolicyForm { kind: PolicyKind::SecurityQuestion, ..Default::default() };
    form.set("id", "QA".into());
    form.set("maxFails", " 3 ".into());
    form.set("period", "30".into());
    form.prompts = vec![("PET".into(), "Your pet?".into()), (String::new(), String::new())];
    assert_eq!(
        form.to_body().unwrap(),
        serde_json::json!({
            "schemas": [shared::policy::POLICY_SCHEMA], "kind": "SECURITY_QUESTION", "default": false,
            "id": "QA", "maxFails": 3, "prompts": [{"value": "PET", "display": "Your pet?"}],
        }),
        "a field of another kind and an empty question are left out"
    );
    form.set("maxUsages", "many".into());
    assert_eq!(form.to_body(), Err("maxUsages"));
}

#[wasm_bindgen_test]
fn bulk_actions_send_what_the_row_buttons_send_and_count_every_outcome() {
    use frontend::bulk::{BulkAction, Outcome, Progress, span};
    let device = |status: &str| -> shared::OtpDevice {
        serde_json::from_value(serde_json::json!({
            "schemas": [shared::model::DEVICE_SCHEMA], "id": 1, "name": "TOTP00000001", "type": "TOTP",
            "user": "u", "status": status, "fails": 0, "created": "2026-01-01 00:00:00",
            "meta": {"resourceType": "OtpDevice", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z", "version": "W/\"1\""},
        }))
        .unwrap()
    };
    let applies = |action: BulkAction| ["C", "V", "L", "D"].map(|s| action.applies(&device(s)));
    assert_eq!(applies(BulkAction::Enable), [true, false, false, true]);
    assert_eq!(applies(BulkAction::Disable), [true, true, true, false]);
    assert_eq!(applies(BulkAction::Unlock), [false, false, true, false]);
    assert_eq!(applies(BulkAction::Delete), [true; 4]);
    assert_eq!(BulkAction::Unlock.values(), Some(serde_json::json!({"status": "V", "fails": 0})));
    assert_eq!(BulkAction::Delete.values(), None);
    assert_eq!((span(7, 3), span(3, 7), span(4, 4)), (3..=7, 3..=7, 4..=4));

    let mut progress = Progress { total: 4, finished: Vec::new() };
    progress.finished.push((1, "A".into(), Outcome::Done));
    progress.finished.push((2, "B".into(), Outcome::Stale));
    assert!(progress.running());
    progress.finished.push((3, "C".into(), Outcome::Skipped));
    progress.finished.push((4, "D".into(), Outcome::Refused("Device 4 does not exist.".into())));
    assert!(!progress.running());
    assert_eq!((progress.count(|o| *o == Outcome::Done), progress.count(|o| *o == Outcome::Skipped)), (1, 1));
    assert_eq!(progress.refused(), [("B", None), ("D", Some("Device 4 does not exist."))]);
}

#[wasm_bindgen_test]
fn an_inactive_authenticator_says_why() {
    use frontend::standing::{Inactive, Refusal, why_inactive};
    let authenticator = |status: &str,
                         start: &str,
                         expiry: Option<&str>,
                         failed: u64,
                         success: u64,
                         max: u64,
                         active: bool| {
        let mut value = serde_json::json!({
            "schemas": [shared::authenticator::AUTHENTICATOR_SCHEMA], "id": "7.AT_EMPOTP", "externalId": "jdoe",
            "owner": {"value": "7", "$ref": "x"}, "policy": {"value": "AT_EMPOTP", "$ref": "x"},
            "status": {"status": status, "active": active, "startDate": start},
            "statistics": {"consecutiveFailed": failed, "consecutiveSuccess": 0, "maximumNumberOfUsages": max,
                           "totalFailed": failed, "totalSuccess": success},
            "meta": {"resourceType": "Authenticator", "created": "2026-01-01T00:00:00Z", "lastModified": "2026-01-01T00:00:00Z", "version": "W/\"1\""},
        });
        if let Some(expiry) = expiry {
            value["status"]["expiryDate"] = serde_json::json!(expiry);
        }
        serde_json::from_value::<shared::authenticator::Authenticator>(value).unwrap()
    };
    let now = 1_800_000_000; // 2027-01-15
    let past = "2026-01-01T00:00:00Z";
    let ok = authenticator("ENABLED", past, None, 0, 3, 0, true);
    assert_eq!(why_inactive(&ok, Some(5), true, now), None);
    assert_eq!(why_inactive(&ok, Some(5), false, now), Some(Inactive::UserInactive));
    let disabled = authenticator("DISABLED", past, None, 2, 0, 0, false);
    assert_eq!(why_inactive(&disabled, Some(5), true, now), Some(Inactive::Refused(Refusal::Disabled)));
    let locked = authenticator("DISABLED", past, None, 5, 0, 0, false);
    assert_eq!(why_inactive(&locked, Some(5), true, now), Some(Inactive::Refused(Refusal::Locked)));
    let later = authenticator("ENABLED", "2099-01-01T00:00:00Z", None, 0, 0, 0, false);
    assert_eq!(why_inactive(&later, Some(5), true, now), Some(Inactive::Refused(Refusal::NotYetValid)));
    let expired = authenticator("ENABLED", past, Some("2026-06-01T00:00:00Z"), 0, 0, 0, false);
    assert_eq!(why_inactive(&expired, Some(5), true, now), Some(Inactive::Refused(Refusal::Expired)));
    let used_up = authenticator("ENABLED", past, None, 0, 10, 10, false);
    assert_eq!(why_inactive(&used_up, Some(5), true, now), Some(Inactive::Refused(Refusal::UsageLimit)));
    let no_device = authenticator("ENABLED", past, None, 0, 0, 0, false);
    assert_eq!(why_inactive(&no_device, Some(5), true, now), Some(Inactive::NoUsableDevice));
}

fn meta(kind: &str) -> serde_json::Value {
    serde_json::json!({"resourceType": kind, "created": "2026-01-01T00:00:00Z",
        "lastModified": "2026-01-01T00:00:00Z", "version": "W/\"1\""})
}

fn policy(id: &str, kind: &str, prompts: usize, required: u32) -> shared::policy::Policy {
    let prompts: Vec<_> = (1..=prompts)
        .map(|i| serde_json::json!({"value": format!("PR_{i}"), "display": format!("Question {i}")}))
        .collect();
    serde_json::from_value(serde_json::json!({
        "schemas": [shared::policy::POLICY_SCHEMA], "id": id, "displayName": id, "kind": kind, "default": false,
        "maxFails": 3, "validityDays": 0, "maxUsages": 0, "prompts": prompts,
        "promptsRequiredForCreation": required, "promptsAskedAtValidation": 2, "meta": meta("AuthenticatorPolicy"),
    }))
    .unwrap()
}

fn person(emails: &[&str]) -> shared::User {
    let emails: Vec<_> = emails.iter().map(|e| serde_json::json!({"value": e})).collect();
    serde_json::from_value(serde_json::json!({
        "schemas": [shared::model::USER_SCHEMA], "id": "7", "userName": "jdoe", "active": true,
        "emails": emails, "meta": meta("User"),
    }))
    .unwrap()
}

#[wasm_bindgen_test]
fn enrolment_bodies_follow_the_policy_kind() {
    use frontend::enrolment::{EnrolProblem, Enrolment, enrol_body};
    use shared::authenticator::{ACTION_SCHEMA, PASSWORD_SCHEMA, SECURITY_QUESTION_SCHEMA};
    let user = person(&["jdoe@example.com"]);
    let totp = enrol_body(&policy("AT_EMPOTP", "TOTP", 0, 0), &user, &Enrolment::default()).unwrap();
    assert_eq!(
        (totp["owner"]["value"].as_str(), totp["policy"]["value"].as_str()),
        (Some("7"), Some("AT_EMPOTP"))
    );
    assert!(totp.get(ACTION_SCHEMA).is_none());

    let password = policy("AT_CUSTPW", "PASSWORD", 0, 0);
    let typed = |p: &str, again: &str| Enrolment {
        password: p.into(),
        password_again: again.into(),
        ..Enrolment::default()
    };
    assert_eq!(
        enrol_body(&password, &user, &typed("secret1", "secret2")),
        Err(EnrolProblem::PasswordsDiffer)
    );
    assert_eq!(enrol_body(&password, &user, &typed("abc", "abc")), Err(EnrolProblem::PasswordLength));
    let body = enrol_body(&password, &user, &typed("s3cret!", "s3cret!")).unwrap();
    assert_eq!(body[PASSWORD_SCHEMA], serde_json::json!({"username": "jdoe", "password": "s3cret!"}));

    let questions = policy("AT_CUSTQA", "SECURITY_QUESTION", 4, 3);
    let answers = |given: &[&str]| Enrolment {
        answers: given.iter().map(|a| (*a).to_owned()).collect(),
        ..Enrolment::default()
    };
    assert_eq!(
        enrol_body(&questions, &user, &answers(&["Rex", "  ", "", "blue"])),
        Err(EnrolProblem::TooFewAnswers { required: 3 }),
        "blank answers do not count"
    );
    let body = enrol_body(&questions, &user, &answers(&["Rex", "", "Anna", "blue"])).unwrap();
    let sent: Vec<&str> = body[SECURITY_QUESTION_SCHEMA]["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["prompt"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(sent, ["PR_1", "PR_3", "PR_4"], "only the questions answered, by code");

    let oob = policy("AT_OOBEML", "OOB_EMAIL", 0, 0);
    let code = |c: &str| Enrolment { activation_code: c.into(), ..Enrolment::default() };
    assert_eq!(enrol_body(&oob, &person(&[]), &code("")), Err(EnrolProblem::NoContact));
    for bad in ["123", "12345678901", "12a4"] {
        assert_eq!(enrol_body(&oob, &user, &code(bad)), Err(EnrolProblem::ActivationCode), "{bad}");
    }
    let body = enrol_body(&oob, &user, &code(" 4321 ")).unwrap();
    assert_eq!(body[ACTION_SCHEMA]["action"], "REGISTER-OOB");
    assert_eq!(body[ACTION_SCHEMA]["attributes"][0]["value"], "DT_OOBEML");
    assert_eq!(body["activationCode"], "4321");
    assert!(
        enrol_body(&oob, &user, &code("")).unwrap().get("activationCode").is_none(),
        "the server picks one"
    );
}

#[wasm_bindgen_test]
fn action_answers_read_as_words() {
    use frontend::enrolment::{asked_prompts, outcome, verify_attributes};
    use shared::authenticator::Reason;
    let answer = |items: &[(&str, &str)]| {
        let attributes: Vec<_> =
            items.iter().map(|(n, v)| serde_json::json!({"name": n, "value": v})).collect();
        serde_json::json!({"schemas": [shared::authenticator::ACTION_SCHEMA], "attributes": attributes})
    };
    let locked = outcome(&answer(&[("REQUEST.STATUS", "0"), ("REQUEST.REASON", "3")]));
    assert_eq!((locked.done, locked.reason), (false, Some(Reason::LockedByFailures)));
    let asked =
        r#"[{"value":"PR_NICK","display":"Childhood nickname"},{"value":"PR_ANIMAL","display":"Pet"}]"#;
    let started = outcome(&answer(&[
        ("CHALLENGE", asked),
        ("CHALLENGE.ID", "12"),
        ("REQUEST.STATUS", "1"),
        ("REQUEST.REASON", "-1"),
    ]));
    assert!(started.done && started.reason.is_none());
    assert_eq!(started.challenge_id.as_deref(), Some("12"));
    let prompts = asked_prompts(started.challenge.as_deref().unwrap());
    assert_eq!(prompts.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(), ["PR_NICK", "PR_ANIMAL"]);
    assert!(asked_prompts("").is_empty());

    let given = [("PR_NICK".to_owned(), "Bubbles".to_owned()), ("PR_ANIMAL".to_owned(), "Rex".to_owned())];
    let names = |a: Vec<(String, String)>| a.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names(verify_attributes("", &given, Some("12"))),
        ["ANSWER.PR_NICK", "ANSWER.PR_ANIMAL", "CHALLENGE.ID"]
    );
    assert_eq!(verify_attributes("123456", &[], None), [("RESPONSE".to_owned(), "123456".to_owned())]);

    for t in [for_language("en"), for_language("es"), for_language("ca"), for_language("nl")] {
        let words: std::collections::BTreeSet<&str> =
            Reason::ALL.iter().map(|r| r.phrase().get(t.lang)).collect();
        assert_eq!(words.len(), Reason::ALL.len(), "{:?}: each reason in its own words", t.lang);
    }
}

#[wasm_bindgen_test]
async fn the_enrol_form_asks_what_the_policy_needs_and_counts_answers() {
    use frontend::pages::EnrolPanel;
    let root = container();
    let t = texts();
    let without_email = RwSignal::new(Some(person(&[])));
    let choices = RwSignal::new(vec![
        policy("AT_EMPOTP", "TOTP", 0, 0),
        policy("AT_CUSTQA", "SECURITY_QUESTION", 3, 3),
        policy("AT_OOBEML", "OOB_EMAIL", 0, 0),
    ]);
    let session = RwSignal::new(None::<Session>);
    let reason = RwSignal::new(None::<String>);
    let enrolled = RwSignal::new(0);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { <EnrolPanel session reason user=without_email choices
        on_enrolled=Callback::new(move |()| enrolled.update(|n| *n += 1))/> }
    });
    wait_for(&root, "#enrol-form").await;
    assert!(find(&root, "#enrol-form .hint").unwrap().text_content().unwrap().contains(t.enrol_seed_hint));
    assert!(find(&root, ".enrol-answer").is_none());

    set_value(&root, "#enrol-policy", "AT_CUSTQA");
    wait_for(&root, ".enrol-answer").await;
    for (prompt, asked) in [("PR_1", true), ("PR_2", true), ("PR_3", true), ("PR_4", false)] {
        assert_eq!(find(&root, &format!(".enrol-answer[data-prompt={prompt}]")).is_some(), asked, "{prompt}");
    }
    set_value(&root, ".enrol-answer[data-prompt=PR_2]", "Rex");
    sleep(20).await;
    let counted = find(&root, "#enrol-answered").unwrap().text_content().unwrap();
    assert_eq!(counted, t.answered_of.replace("{k}", "1").replace("{n}", "3"));
    click(&root, "#enrol-submit");
    let refused = wait_for(&root, "#enrol-form [role=alert]").await.text_content().unwrap();
    assert_eq!(refused, t.too_few_answers.replace("{n}", "3"));
    assert_eq!(enrolled.get_untracked(), 0, "nothing sent");

    set_value(&root, "#enrol-policy", "AT_OOBEML");
    let to = wait_for(&root, "#enrol-destination").await;
    assert_eq!(to.text_content().unwrap(), t.no_contact, "a user without an address is told before sending");
    assert!(find(&root, "#enrol-form [role=alert]").is_none(), "a new policy starts a clean form");

    choices.set(Vec::new());
    let none_left = wait_for(&root, "#enrol .empty").await;
    assert_eq!(none_left.text_content().unwrap(), t.enrol_all_taken);
}

#[wasm_bindgen_test]
async fn a_dialog_takes_the_focus_escape_closes_it_and_the_focus_goes_back() {
    use frontend::pages::Dialog;
    let root = container();
    let open = RwSignal::new(false);
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! {
            <button id="opener" on:click=move |_| open.set(true)>"Open"</button>
            {move || open.get().then(|| view! {
                <Dialog id="keys" on_escape=Callback::new(move |()| open.set(false))>
                    <h2>"Title"</h2>
                    <input id="first-field"/>
                    <button>"Close"</button>
                </Dialog>
            })}
        }
    });
    let opener = wait_for(&root, "#opener").await.unchecked_into::<web_sys::HtmlElement>();
    opener.focus().unwrap();
    opener.click();
    wait_for(&root, "#keys").await;
    sleep(20).await;
    let focused = || document().active_element().map(|e| e.id()).unwrap_or_default();
    assert_eq!(focused(), "first-field", "the dialog's first control has the focus");
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Escape");
    init.set_bubbles(true);
    let escape = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    find(&root, "#first-field").unwrap().dispatch_event(&escape).unwrap();
    sleep(20).await;
    assert!(find(&root, "#keys").is_none(), "Escape closed it");
    assert_eq!(focused(), "opener", "the focus is back where it was");
}

#[wasm_bindgen_test]
fn stock_fields_build_a_filter_the_device_schema_takes() {
    use frontend::filters::StockFilterForm;
    let form = StockFilterForm {
        status: "available".into(),
        serial: " FT\"1 ".into(),
        model: "c200".into(),
        owner: "ali".into(),
    };
    let filter = form.to_filter().unwrap();
    assert_eq!(
        filter,
        r#"status eq "available" and serialNumber co "FT\"1" and model co "c200" and owner.display co "ali""#
    );
    assert!(shared::filter::Condition::compile(&shared::schema::OATH_DEVICE, &filter).is_ok());
    assert_eq!(StockFilterForm::default().to_filter(), None);
}

#[wasm_bindgen_test]
fn a_seed_file_says_its_format_and_what_it_needs() {
    use frontend::filters::{SeedNeeds, recognise_seed_file};
    let cases = [
        ("\u{feff}  <?xml version=\"1.0\"?><KeyContainer><PlainValue>", ("pskc", SeedNeeds::Nothing)),
        (
            "<KeyContainer><EncryptionKey><KeyName>k</KeyName></EncryptionKey><EncryptedValue>",
            ("pskc", SeedNeeds::Key),
        ),
        ("<KeyContainer><EncryptionKey><DerivedKey>…<EncryptedValue>", ("pskc", SeedNeeds::Password)),
        ("FT01, 3132333435363738393031323334353637383930, totp, 6, 30\n", ("csv", SeedNeeds::Nothing)),
        ("upn,serial number,secret key,time interval,manufacturer,model\n", ("csv", SeedNeeds::Nothing)),
    ];
    for (text, expected) in cases {
        assert_eq!(recognise_seed_file(text), expected, "{text}");
    }
}

#[wasm_bindgen_test]
fn lists_become_csv_a_spreadsheet_reads_as_text() {
    use frontend::csv::write;
    let rows = [
        serde_json::json!({"id": "1", "userName": "ann, \"the\" admin", "active": true,
            "emails": [{"value": "a@x"}, {"value": "b@x"}], "name": {"givenName": "Ann\nMarie"}}),
        serde_json::json!({"id": "2", "userName": "=HYPERLINK(\"x\")", "active": false, "timeDrift": -3,
            "name": {"givenName": "-x"}}),
    ];
    let columns = [
        ("id", "id"),
        ("userName", "userName"),
        ("active", "active"),
        ("emails", "emails"),
        ("givenName", "name.givenName"),
        ("timeDrift", "timeDrift"),
    ];
    assert_eq!(
        write(&columns, &rows),
        "id,userName,active,emails,givenName,timeDrift\r\n\
         1,\"ann, \"\"the\"\" admin\",true,a@x;b@x,\"Ann\nMarie\",\r\n\
         2,\"'=HYPERLINK(\"\"x\"\")\",false,,'-x,-3\r\n"
    );
}

//! On a user's page: enrolling an authenticator for a policy (the fields its kind takes; what
//! is shown once, shown once), and validating one from the app (USER-CHALLENGE, then the code,
//! password or answers, then VERIFY's result in words).

use crate::api::Session;
use crate::enrolment::{
    EnrolProblem, Enrolment, Outcome, answered, answers_required, asked_prompts, destination, enrol_body,
    outcome, verify_attributes,
};
use crate::i18n::{Texts, texts};
use crate::pages::{Dialog, alert, report};
use leptos::prelude::*;
use leptos::task::spawn_local;
use shared::User;
use shared::authenticator::Enrollment;
use shared::policy::{Policy, PolicyKind, Prompt};

fn problem_words(problem: EnrolProblem, t: &Texts) -> String {
    match problem {
        EnrolProblem::PasswordsDiffer => t.passwords_differ.to_owned(),
        EnrolProblem::PasswordLength => t.password_length.to_owned(),
        EnrolProblem::TooFewAnswers { required } => t.too_few_answers.replace("{n}", &required.to_string()),
        EnrolProblem::ActivationCode => t.activation_code_bad.to_owned(),
        EnrolProblem::NoContact => t.no_contact.to_owned(),
    }
}

fn refused(outcome: &Outcome, t: &Texts) -> String {
    let reason = outcome.reason.map_or("?", |r| r.phrase().get(t.lang));
    t.refused_because.replace("{reason}", reason)
}

/// The enrol form: a policy the user has no authenticator for yet, and the fields of its kind.
#[component]
pub fn EnrolPanel(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    #[prop(into)] user: Signal<Option<User>>,
    /// The policies the user can still enrol with.
    #[prop(into)]
    choices: Signal<Vec<Policy>>,
    on_enrolled: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let picked = RwSignal::new(None::<String>);
    let form = RwSignal::new(Enrolment::default());
    let error = RwSignal::new(None::<String>);
    let shown = RwSignal::new(None::<Enrollment>);
    let busy = RwSignal::new(false);
    // The policy the form is for: the one picked while it is still a choice, else the first.
    let policy = Memo::new(move |_| {
        let choices = choices.get();
        let wanted = picked.get();
        choices.iter().find(|p| Some(&p.id) == wanted.as_ref()).or(choices.first()).cloned()
    });
    // A new policy starts an empty form, with a place for an answer per question.
    Effect::new(move |_| {
        let questions = policy.with(|p| p.as_ref().map_or(0, |p| p.prompts.len()));
        form.set(Enrolment { answers: vec![String::new(); questions], ..Enrolment::default() });
        error.set(None);
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(policy), Some(user)) = (policy.get_untracked(), user.get_untracked()) else { return };
        let body = match enrol_body(&policy, &user, &form.get_untracked()) {
            Ok(body) => body,
            Err(problem) => return error.set(Some(problem_words(problem, t))),
        };
        let Some(api) = session.get_untracked() else { return };
        busy.set(true);
        spawn_local(async move {
            match api.create_authenticator(&body).await {
                Ok(created) => {
                    error.set(None);
                    let nothing =
                        Enrollment { device_id: 0, otpauth_uri: None, image: None, activation_code: None };
                    shown.set(Some(created.enrollment.unwrap_or(nothing)));
                    picked.set(None);
                    on_enrolled.run(());
                }
                Err(e) => report(e, session, reason, error),
            }
            busy.set(false);
        });
    };
    // A new password for the user: never filled in from the admin's own saved ones.
    let password_input =
        move |id: &'static str, read: fn(&Enrolment) -> &String, write: fn(&mut Enrolment, String)| {
            view! {
                <input id=id type="password" required autocomplete="new-password"
                    prop:value=move || form.with(|f| read(f).clone())
                    on:input=move |ev| form.update(|f| write(f, event_target_value(&ev)))/>
            }
        };
    let fields = move || {
        let Some(policy) = policy.get() else { return ().into_any() };
        match policy.kind {
            PolicyKind::Totp | PolicyKind::Hotp => view! { <p class="hint">{t.enrol_seed_hint}</p> }.into_any(),
            PolicyKind::Password => view! {
                <label>{t.password}{password_input("enrol-password", |f| &f.password, |f, v| f.password = v)}</label>
                <label>{t.password_again}{password_input("enrol-password-again", |f| &f.password_again, |f, v| f.password_again = v)}</label>
            }
            .into_any(),
            PolicyKind::SecurityQuestion => {
                let required = answers_required(&policy);
                let rows = policy.prompts.iter().enumerate().map(|(i, prompt)| {
                    view! {
                        <label>{prompt.display.clone()}
                            <input class="enrol-answer" data-prompt=prompt.value.clone() autocomplete="off"
                                prop:value=move || form.with(|f| f.answers.get(i).cloned().unwrap_or_default())
                                on:input=move |ev| form.update(|f| if let Some(a) = f.answers.get_mut(i) { *a = event_target_value(&ev) })/>
                        </label>
                    }
                });
                view! {
                    {rows.collect_view()}
                    <p id="enrol-answered" class="hint" aria-live="polite">{move || t.answered_of
                        .replace("{k}", &form.with(answered).to_string()).replace("{n}", &required.to_string())}</p>
                }
                .into_any()
            }
            PolicyKind::OobEmail | PolicyKind::OobSms => {
                let to = user.with(|u| u.as_ref().and_then(|u| destination(&policy, u)));
                view! {
                    {match to {
                        Some(to) => view! { <p id="enrol-destination">{t.codes_go_to} " " {to}</p> }.into_any(),
                        None => view! { <p id="enrol-destination" class="warning">{t.no_contact}</p> }.into_any(),
                    }}
                    <label>{t.activation_code}<input id="enrol-activation" inputmode="numeric" autocomplete="off"
                        prop:value=move || form.with(|f| f.activation_code.clone())
                        on:input=move |ev| form.update(|f| f.activation_code = event_target_value(&ev))/></label>
                }
                .into_any()
            }
        }
    };
    view! {
        <section class="card" id="enrol">
            <h3>{t.enrol}</h3>
            {move || shown.get().map(|enrolled| {
                let uri = enrolled.otpauth_uri.clone();
                // A dialog over the page: in view wherever the form is, and above the page that
                // reloads behind it.
                view! {
                    <Dialog id="enrolled" on_escape=Callback::new(move |()| shown.set(None))>
                        <h2>{t.enrolled}</h2>
                        {match (enrolled.otpauth_uri.clone(), enrolled.activation_code.clone()) {
                            (Some(uri), _) => view! {
                                <p class="warning">{t.shown_once}</p>
                                <img id="enrol-qr" alt="QR code" src=format!("data:image/png;base64,{}", enrolled.image.clone().unwrap_or_default())/>
                                <code id="enrol-uri">{uri}</code>
                            }.into_any(),
                            (None, Some(code)) => view! {
                                <p class="warning">{t.activation_shown_once}</p>
                                <code id="enrol-activation-code" class="big">{code}</code>
                            }.into_any(),
                            (None, None) => ().into_any(),
                        }}
                        <div class="row">
                            {uri.map(|uri| view! { <button on:click=move |_| {
                                if let Some(w) = web_sys::window() { let _ = w.navigator().clipboard().write_text(&uri); }
                            }>{t.copy}</button> })}
                            <button id="close-enrolled" on:click=move |_| shown.set(None)>{t.close}</button>
                        </div>
                    </Dialog>
                }
            })}
            {move || if choices.with(Vec::is_empty) {
                view! { <p class="empty">{t.enrol_all_taken}</p> }.into_any()
            } else {
                view! {
                    <form id="enrol-form" on:submit=submit>
                        <label>{t.policy}
                            <select id="enrol-policy" on:change=move |ev| picked.set(Some(event_target_value(&ev)))>
                                {move || choices.get().into_iter().map(|p| {
                                    let selected = policy.with(|current| current.as_ref().is_some_and(|c| c.id == p.id));
                                    view! { <option value=p.id.clone() selected=selected>{format!("{} ({}, {})", p.display_name, p.id, p.kind.as_str())}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        {fields}
                        {alert(error, "")}
                        <button id="enrol-submit" type="submit" disabled=move || busy.get()>{t.enrol_submit}</button>
                    </form>
                }.into_any()
            }}
        </section>
    }
}

/// Validates one authenticator from the app: USER-CHALLENGE, then the code, password or the
/// answers to the questions asked, then VERIFY; the result in words.
#[component]
pub fn ValidateDialog(
    session: RwSignal<Option<Session>>,
    reason: RwSignal<Option<String>>,
    /// The authenticator's id (`<user>.<policy>`).
    id: String,
    kind: Option<PolicyKind>,
    /// The user's devices whose dev-outbox messages may carry this authenticator's codes.
    outbox_devices: Vec<i64>,
    on_change: Callback<()>,
    on_close: Callback<()>,
) -> impl IntoView {
    let t = texts();
    let started = RwSignal::new(None::<Outcome>);
    let asked = RwSignal::new(Vec::<Prompt>::new());
    let answers = RwSignal::new(Vec::<String>::new());
    let response = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Outcome>);
    let outbox = RwSignal::new(None::<String>);
    let error = RwSignal::new(None::<String>);
    let questions = kind == Some(PolicyKind::SecurityQuestion);
    let sends = matches!(kind, Some(PolicyKind::OobEmail | PolicyKind::OobSms));
    let (start_id, check_id) = (id.clone(), id.clone());
    let start = move |_| {
        let (Some(api), id) = (session.get_untracked(), start_id.clone()) else { return };
        spawn_local(async move {
            match api.authenticator_action(&id, "USER-CHALLENGE", &[]).await {
                Ok(answer) => {
                    let read = outcome(&answer);
                    let prompts = match questions {
                        true => read.challenge.as_deref().map(asked_prompts).unwrap_or_default(),
                        false => Vec::new(),
                    };
                    answers.set(vec![String::new(); prompts.len()]);
                    asked.set(prompts);
                    result.set(None);
                    outbox.set(None);
                    started.set(Some(read));
                    on_change.run(());
                }
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let show_outbox = move |_| {
        let (Some(api), devices) = (session.get_untracked(), outbox_devices.clone()) else { return };
        spawn_local(async move {
            match api.outbox_message(devices).await {
                Ok(latest) => outbox.set(latest),
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    let check = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (Some(api), id) = (session.get_untracked(), check_id.clone()) else { return };
        let given: Vec<(String, String)> =
            asked.get_untracked().into_iter().map(|p| p.value).zip(answers.get_untracked()).collect();
        let challenge = started.get_untracked().and_then(|s| s.challenge_id);
        let attributes = verify_attributes(&response.get_untracked(), &given, challenge.as_deref());
        spawn_local(async move {
            match api.authenticator_action(&id, "VERIFY", &attributes).await {
                Ok(answer) => {
                    result.set(Some(outcome(&answer)));
                    response.set(String::new());
                    on_change.run(());
                }
                Err(e) => report(e, session, reason, error),
            }
        });
    };
    view! {
        <Dialog id="validate" on_escape=Callback::new(move |()| on_close.run(()))>
            <h2>{t.validate} " — " {id.clone()}</h2>
            <button id="start-validation" on:click=start>{t.start_validation}</button>
            {move || started.get().map(|s| match (s.done, questions, sends) {
                (false, _, _) => view! { <p id="validation-started" class="error" role="status">{refused(&s, t)}</p> }.into_any(),
                (true, true, _) => view! { <p id="validation-started">{t.asked_questions}</p> }.into_any(),
                (true, false, true) => view! {
                    <p id="validation-started">{t.sent_to} " " {s.challenge.clone().unwrap_or_default()}</p>
                    <button id="validate-outbox" type="button" on:click=show_outbox.clone()>{t.open_outbox}</button>
                }.into_any(),
                (true, false, false) => view! { <p id="validation-started">{t.nothing_sent}</p> }.into_any(),
            })}
            {move || outbox.get().map(|m| view! { <p id="validate-outbox-message" class="notice">{m}</p> })}
            <form id="validate-form" on:submit=check>
                {move || match questions {
                    true => asked.get().into_iter().enumerate().map(|(i, prompt)| view! {
                        <label>{prompt.display.clone()}
                            <input class="validate-answer" data-prompt=prompt.value.clone() autocomplete="off" required
                                prop:value=move || answers.with(|a| a.get(i).cloned().unwrap_or_default())
                                on:input=move |ev| answers.update(|a| if let Some(x) = a.get_mut(i) { *x = event_target_value(&ev) })/>
                        </label>
                    }).collect_view().into_any(),
                    false => view! {
                        <label>{t.code_or_password}
                            <input id="validate-response" required autocomplete="off"
                                type=if kind == Some(PolicyKind::Password) { "password" } else { "text" }
                                prop:value=move || response.get() on:input=move |ev| response.set(event_target_value(&ev))/>
                        </label>
                    }.into_any(),
                }}
                <button id="validate-check" type="submit" disabled=move || questions && asked.with(Vec::is_empty)>{t.check}</button>
            </form>
            {move || result.get().map(|r| match r.done {
                true => view! { <p id="validation-result" class="success" role="status">{t.validated}</p> },
                false => view! { <p id="validation-result" class="error" role="status">{refused(&r, t)}</p> },
            })}
            {alert(error, "")}
            <button id="close-validate" on:click=move |_| on_close.run(())>{t.close}</button>
        </Dialog>
    }
}

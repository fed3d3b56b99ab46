//! The account-side components (CallHistory, ScreenPop, Dialer) in headless Chromium against a
//! real ds-local (`--demo --fast-timers` on 127.0.0.1:18787; `cargo xtask test wasm`): each
//! state a user can see (loading, empty, error, data, live update, lookup, dismissal, progress).
#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;

use ds_core::view_model::embeds::{DismissReason, HistoryFilter};
use ds_ui::i18n::Locale;
use ds_ui::screen_pop::{Caller, CallerRecord};
use ds_ui::{AccountLink, CallHistory, Dialer, ScreenPop};
use ds_wasm_test_support::{base, demo_user, platform_get, platform_post, sleep, wait_for};
use ds_web::{AccountSession, TokenProvider};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// (user id, account id) of a demo-account user only these tests ring, created on first use, so
/// no softphone test of another file (Alice, Bob) ever sees these calls.
async fn tester() -> (String, String) {
    const NAME: &str = "Component Tester";
    let (_, account) = demo_user("Alice").await;
    let users = platform_get("/v1/users?limit=100", Some(&account)).await;
    let found =
        users["data"].as_array().expect("a list envelope").iter().find(|u| u["name"] == NAME).cloned();
    let user = match found {
        Some(user) => user,
        None => {
            let body = serde_json::json!({ "name": NAME, "email": "component.tester@example.test" });
            platform_post("/v1/users", Some(&account), &body).await
        }
    };
    (user["id"].as_str().expect("users have ids").to_owned(), account)
}

async fn account_secret(account: &str) -> String {
    let body =
        serde_json::json!({ "account": account, "components": { "call_history": { "enabled": true } } });
    let reply = platform_post("/v1/account_sessions", None, &body).await;
    reply["client_secret"].as_str().expect("client_secret").to_owned()
}

/// A number no other test uses, so filters by it see only this test's calls.
fn unique_number() -> String {
    let suffix = (js_sys::Math::random() * 7_999_999.0) as u64 + 2_000_000;
    format!("+1619{suffix}")
}

/// Rings `user` from `from` through the test helper; the call is not answered (no softphone).
async fn ring(user: &str, account: &str, from: &str, name: &str) -> String {
    let body = serde_json::json!({
        "user": user, "from_number": from, "from_name": name,
        "scenario": { "outcome": "no-answer", "ring_seconds": 2 }
    });
    let reply = platform_post("/v1/test_helpers/calls", Some(account), &body).await;
    reply["id"].as_str().unwrap_or_default().to_owned()
}

async fn linked(account: &str) -> Rc<AccountLink> {
    let secret = account_secret(account).await;
    AccountLink::new(base(), Some(AccountSession::new(TokenProvider::Fixed(secret))))
}

/// A link whose token provider answers only once the returned function is called; from then on
/// it answers at once, with a secret ds-local refuses.
fn pending_link() -> (Rc<AccountLink>, js_sys::Function) {
    const REFUSED: &str = "not-a-valid-secret";
    let state = Rc::new(RefCell::new((false, Vec::<js_sys::Function>::new())));
    let for_provider = state.clone();
    let provider = Closure::<dyn FnMut() -> js_sys::Promise>::new(move || {
        if for_provider.borrow().0 {
            return js_sys::Promise::resolve(&JsValue::from_str(REFUSED));
        }
        let waiting = for_provider.clone();
        js_sys::Promise::new(&mut |resolve, _| waiting.borrow_mut().1.push(resolve))
    });
    let function: js_sys::Function = provider.as_ref().unchecked_ref::<js_sys::Function>().clone();
    provider.forget();
    let link = AccountLink::new(base(), Some(AccountSession::new(TokenProvider::Function(function))));
    let release = Closure::<dyn FnMut()>::new(move || {
        state.borrow_mut().0 = true;
        let waiting = std::mem::take(&mut state.borrow_mut().1);
        for resolve in waiting {
            let _ = resolve.call1(&JsValue::NULL, &JsValue::from_str(REFUSED));
        }
    });
    let release_fn = release.as_ref().unchecked_ref::<js_sys::Function>().clone();
    release.forget();
    (link, release_fn)
}

fn container() -> web_sys::HtmlElement {
    let document = web_sys::window().unwrap().document().unwrap();
    let div = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&div).unwrap();
    div.unchecked_into()
}

fn query(parent: &web_sys::HtmlElement, selector: &str) -> Option<web_sys::Element> {
    parent.query_selector(selector).ok().flatten()
}

fn text_of(parent: &web_sys::HtmlElement, selector: &str) -> String {
    query(parent, selector).and_then(|e| e.text_content()).unwrap_or_default()
}

fn count(parent: &web_sys::HtmlElement, selector: &str) -> u32 {
    parent.query_selector_all(selector).map(|l| l.length()).unwrap_or(0)
}

fn click(parent: &web_sys::HtmlElement, selector: &str) {
    let button: web_sys::HtmlElement = query(parent, selector).expect("the button exists").unchecked_into();
    button.click();
}

// ---- CallHistory ----

#[wasm_bindgen_test]
async fn history_shows_loading_until_the_credential_arrives_then_an_error_with_retry() {
    let (link, release) = pending_link();
    let parent = container();
    let filter = HistoryFilter { limit: 20, ..Default::default() };
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = errors.clone();
    let on_error: ds_ui::history::ErrorHandler =
        Rc::new(move |code, _| sink.borrow_mut().push(code.to_owned()));
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::En) on_error=on_error /> }
    });
    leptos::task::tick().await;
    assert_eq!(text_of(&parent, "[data-state=loading]"), "Loading calls…");

    // The provider answers with a secret ds-local refuses: the error state, with Retry.
    release.call0(&JsValue::NULL).unwrap();
    wait_for("the error state", 10_000.0, || query(&parent, "[data-state=error]").is_some()).await;
    assert!(
        text_of(&parent, "[data-state=error]").contains("401"),
        "{}",
        text_of(&parent, "[data-state=error]")
    );
    assert_eq!(text_of(&parent, "[data-state=error] button"), "Retry");
    assert_eq!(errors.borrow().len(), 1, "ds-error reported once");
}

#[wasm_bindgen_test]
async fn history_without_a_credential_says_so_in_spanish() {
    let parent = container();
    let link = AccountLink::new(base(), None);
    let filter = HistoryFilter { limit: 20, ..Default::default() };
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::Es) /> }
    });
    wait_for("the error state", 5_000.0, || query(&parent, "[data-state=error]").is_some()).await;
    assert!(text_of(&parent, "[data-state=error]").starts_with("Sin credencial"));
    assert_eq!(text_of(&parent, "[data-state=error] button"), "Reintentar");
}

#[wasm_bindgen_test]
async fn history_is_empty_for_an_unused_number_then_shows_a_new_call_live_as_missed() {
    let (user, account) = tester().await;
    let number = unique_number();
    let link = linked(&account).await;
    let parent = container();
    let filter = HistoryFilter { phone_number: Some(number.clone()), limit: 20, ..Default::default() };
    let backs = Rc::new(RefCell::new(Vec::<(String, String)>::new()));
    let sink = backs.clone();
    let on_call_back: ds_ui::history::CallBackHandler =
        Rc::new(move |n, id| sink.borrow_mut().push((n.to_owned(), id.to_owned())));
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::En) on_call_back=on_call_back /> }
    });
    wait_for("the empty state", 10_000.0, || query(&parent, "[data-state=empty]").is_some()).await;
    assert_eq!(text_of(&parent, "[data-state=empty]"), "No calls yet.");

    // Live: the call appears without any reload, then turns into a missed call when it ends.
    let call_id = ring(&user, &account, &number, "JANE ROE").await;
    wait_for("the new row", 10_000.0, || count(&parent, "[part=history-row]") == 1).await;
    let row = query(&parent, "[part=history-row]").unwrap();
    assert_eq!(row.get_attribute("data-call-id").as_deref(), Some(call_id.as_str()));
    assert!(text_of(&parent, ".ds-party-name").contains("JANE ROE"));
    wait_for("the missed status", 15_000.0, || {
        query(&parent, "[part=history-row]").and_then(|r| r.get_attribute("data-kind")).as_deref()
            == Some("missed")
    })
    .await;
    let icon = query(&parent, ".ds-kind").unwrap();
    assert_eq!(icon.get_attribute("aria-label").as_deref(), Some("Missed call"));
    assert_eq!(icon.get_attribute("role").as_deref(), Some("img"));
    let back = query(&parent, ".ds-call-back").unwrap();
    assert_eq!(back.get_attribute("aria-label").as_deref(), Some("Call back JANE ROE"));
    click(&parent, ".ds-call-back");
    assert_eq!(*backs.borrow(), [(number, call_id)]);
}

#[wasm_bindgen_test]
async fn a_history_by_number_lists_the_calls_from_it_and_to_it_newest_first() {
    let (user, account) = tester().await;
    let number = unique_number();
    let from_it = ring(&user, &account, &number, "FROM IT").await;
    // ds-local simulates inbound test calls only: one placed *to* the number stands for a call
    // the user made to it (the platform keeps both sides on the call log either way).
    let body = serde_json::json!({
        "user": user, "from_number": unique_number(), "from_name": "TO IT", "to_number": number,
        "scenario": { "outcome": "no-answer", "ring_seconds": 2 }
    });
    let to_it = platform_post("/v1/test_helpers/calls", Some(&account), &body).await["id"]
        .as_str()
        .expect("a call id")
        .to_owned();
    let link = linked(&account).await;
    let parent = container();
    let filter = HistoryFilter { phone_number: Some(number), limit: 20, ..Default::default() };
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::En) /> }
    });
    wait_for("both calls", 10_000.0, || count(&parent, "[part=history-row]") == 2).await;
    let ids: Vec<String> = (0..2)
        .map(|i| {
            let row: web_sys::Element =
                parent.query_selector_all("[part=history-row]").unwrap().item(i).unwrap().unchecked_into();
            row.get_attribute("data-call-id").unwrap_or_default()
        })
        .collect();
    assert_eq!(ids, [to_it, from_it], "newest first, each once");
}

#[wasm_bindgen_test]
async fn history_pages_with_load_more_and_renders_only_the_visible_window() {
    let (user, account) = tester().await;
    let number = unique_number();
    for _ in 0..3 {
        ring(&user, &account, &number, "PAGER").await;
    }
    let link = linked(&account).await;
    let parent = container();
    let filter = HistoryFilter { phone_number: Some(number), limit: 2, ..Default::default() };
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::En) /> }
    });
    wait_for("the first page", 10_000.0, || count(&parent, "[part=history-row]") == 2).await;
    assert_eq!(text_of(&parent, "[part=load-more]"), "Load more");
    click(&parent, "[part=load-more]");
    wait_for("the second page", 10_000.0, || count(&parent, "[part=history-row]") == 3).await;
    wait_for("no more pages", 5_000.0, || query(&parent, "[part=load-more]").is_none()).await;
    let last = parent.query_selector_all("[part=history-row]").unwrap().item(2).unwrap();
    let last: web_sys::Element = last.unchecked_into();
    assert_eq!(last.get_attribute("aria-posinset").as_deref(), Some("3"));
    assert_eq!(last.get_attribute("aria-setsize").as_deref(), Some("3"));
}

#[wasm_bindgen_test]
async fn a_long_history_keeps_only_the_rows_in_view_in_the_dom_and_scrolls_to_the_end() {
    let (user, account) = tester().await;
    let number = unique_number();
    const CALLS: usize = 60;
    for _ in 0..CALLS {
        ring(&user, &account, &number, "MANY").await;
    }
    // The element's stylesheet gives the scroller its height and rows their fixed height.
    let document = web_sys::window().unwrap().document().unwrap();
    let style = document.create_element("style").unwrap();
    style.set_text_content(Some(
        ".ds-history-scroller { height: 360px; overflow-y: auto; } \
         .ds-history-row { height: 56px; overflow: hidden; box-sizing: border-box; }",
    ));
    document.body().unwrap().append_child(&style).unwrap();
    let link = linked(&account).await;
    let parent = container();
    let filter = HistoryFilter { phone_number: Some(number), limit: 100, ..Default::default() };
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <CallHistory link=link filter=Signal::stored(filter) locale=Signal::stored(Locale::En) /> }
    });
    wait_for("the rows", 10_000.0, || count(&parent, "[part=history-row]") > 0).await;
    let rendered = count(&parent, "[part=history-row]");
    assert!(
        rendered < 30,
        "{rendered} of {CALLS} rows are in the DOM: only the visible window plus overscan"
    );
    let first = query(&parent, "[part=history-row]").unwrap();
    assert_eq!(first.get_attribute("aria-setsize").as_deref(), Some("60"));

    // Scrolling to the end renders the last rows (and drops the first ones).
    let scroller: web_sys::HtmlElement = query(&parent, ".ds-history-scroller").unwrap().unchecked_into();
    scroller.set_scroll_top(scroller.scroll_height());
    scroller.dispatch_event(&web_sys::Event::new("scroll").unwrap()).unwrap();
    wait_for("the last row", 5_000.0, || query(&parent, "[aria-posinset=\"60\"]").is_some()).await;
    assert!(query(&parent, "[aria-posinset=\"1\"]").is_none(), "rows scrolled out are removed");
    assert!(count(&parent, "[part=history-row]") < 30);
}

// ---- ScreenPop ----

#[wasm_bindgen_test]
async fn screen_pop_waits_then_shows_the_caller_applies_the_lookup_and_closes_when_the_call_ends() {
    let (user, account) = tester().await;
    let number = unique_number();
    let link = linked(&account).await;
    let parent = container();
    let asked = Rc::new(RefCell::new(Vec::<Caller>::new()));
    let seen = asked.clone();
    let lookup: ds_ui::screen_pop::LookupHandler = Rc::new(move |caller: Caller| {
        seen.borrow_mut().push(caller);
        Box::pin(async move {
            sleep(100).await;
            Some(CallerRecord {
                name: Some("Jane Roe (patient)".into()),
                url: Some("/patients/7".into()),
                notes: Some("Prefers mornings".into()),
            })
        })
    });
    let dismissed = Rc::new(RefCell::new(Vec::<(Option<String>, DismissReason)>::new()));
    let sink = dismissed.clone();
    let on_dismiss: ds_ui::screen_pop::DismissHandler =
        Rc::new(move |id, reason| sink.borrow_mut().push((id.map(str::to_owned), reason)));
    let opened = Rc::new(RefCell::new(Vec::<CallerRecord>::new()));
    let open_sink = opened.clone();
    let on_open: ds_ui::screen_pop::OpenRecordHandler =
        Rc::new(move |_, record| open_sink.borrow_mut().push(record.clone()));
    let stream_link = link.clone();
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! {
            <ScreenPop link=link locale=Signal::stored(Locale::En) history_limit=Signal::stored(3u32)
                lookup=lookup on_dismiss=on_dismiss on_open_record=on_open />
        }
    });
    leptos::task::tick().await;
    assert_eq!(text_of(&parent, "[data-state=waiting]"), "No incoming call.");
    assert!(stream_link.stream_open(), "the pop listens to the account's events");
    sleep(500).await; // let the EventSource connect before ringing

    let call_id = ring(&user, &account, &number, "JANE ROE").await;
    wait_for("the caller", 10_000.0, || text_of(&parent, "[data-testid=caller-primary]") == "JANE ROE").await;
    let recent = query(&parent, ".ds-history").expect("the caller's recent calls are listed");
    assert_eq!(asked.borrow()[0].number, number);
    assert_eq!(asked.borrow()[0].call_id.as_deref(), Some(call_id.as_str()));
    wait_for("the lookup result", 5_000.0, || {
        text_of(&parent, "[data-testid=caller-primary]") == "Jane Roe (patient)"
    })
    .await;
    assert_eq!(text_of(&parent, "[data-testid=record-notes]"), "Prefers mornings");
    let after = query(&parent, ".ds-history").expect("still listed");
    assert!(recent.is_same_node(Some(&after)), "the record's arrival does not rebuild the recent calls");
    click(&parent, ".ds-actions .ds-primary");
    assert_eq!(opened.borrow()[0].url.as_deref(), Some("/patients/7"));

    wait_for("the dismissal on call.end", 15_000.0, || !dismissed.borrow().is_empty()).await;
    assert_eq!(dismissed.borrow()[0], (Some(call_id), DismissReason::Ended));
    assert!(query(&parent, "[data-state=waiting]").is_some());
}

#[wasm_bindgen_test]
async fn a_lookup_that_answers_after_the_user_dismissed_is_not_applied() {
    let (user, account) = tester().await;
    let number = unique_number();
    let link = linked(&account).await;
    let parent = container();
    let lookup: ds_ui::screen_pop::LookupHandler = Rc::new(move |_| {
        Box::pin(async move {
            sleep(800).await;
            Some(CallerRecord { name: Some("LATE RECORD".into()), ..Default::default() })
        })
    });
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <ScreenPop link=link locale=Signal::stored(Locale::En) history_limit=Signal::stored(0u32) lookup=lookup /> }
    });
    sleep(500).await;
    ring(&user, &account, &number, "RACER").await;
    wait_for("the caller", 10_000.0, || text_of(&parent, "[data-testid=caller-primary]") == "RACER").await;
    let dismiss = parent.query_selector_all(".ds-actions button").unwrap();
    let dismiss: web_sys::HtmlElement = dismiss.item(dismiss.length() - 1).unwrap().unchecked_into();
    assert_eq!(dismiss.text_content().as_deref(), Some("Dismiss"));
    dismiss.click();
    leptos::task::tick().await;
    assert!(query(&parent, "[data-state=waiting]").is_some());
    sleep(1_200).await;
    assert!(
        !parent.text_content().unwrap_or_default().contains("LATE RECORD"),
        "the late lookup was dropped"
    );
}

// ---- Dialer ----

#[wasm_bindgen_test]
async fn dialer_explains_a_missing_user_and_a_refused_destination() {
    let (_, account) = tester().await;
    let link = linked(&account).await;
    let parent = container();
    let user = RwSignal::new(None::<String>);
    let errors = Rc::new(RefCell::new(Vec::<String>::new()));
    let sink = errors.clone();
    let on_error: ds_ui::dialer::DialError = Rc::new(move |code, _| sink.borrow_mut().push(code.to_owned()));
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! { <Dialer link=link locale=Signal::stored(Locale::En) user_id=user initial="12" on_error=on_error /> }
    });
    leptos::task::tick().await;
    assert_eq!(
        query(&parent, "[part=progress]").unwrap().get_attribute("data-state").as_deref(),
        Some("idle")
    );
    click(&parent, "[part=call-button]");
    leptos::task::tick().await;
    assert_eq!(text_of(&parent, "[role=alert]"), "No user: set the user-id attribute.");

    user.set(Some("user_00000000000000000000000000".into()));
    click(&parent, "[part=call-button]");
    wait_for("the server's refusal", 10_000.0, || errors.borrow().len() == 2).await;
    assert_eq!(errors.borrow()[0], "missing_user");
    assert!(!text_of(&parent, "[role=alert]").is_empty());
    assert_eq!(
        query(&parent, "[part=progress]").unwrap().get_attribute("data-state").as_deref(),
        Some("failed")
    );
}

#[wasm_bindgen_test]
async fn dialer_places_a_click_to_call_and_shows_progress() {
    let (user, account) = tester().await;
    let link = linked(&account).await;
    let parent = container();
    let started = Rc::new(RefCell::new(Vec::<(String, String)>::new()));
    let sink = started.clone();
    let on_started: ds_ui::dialer::CallStarted =
        Rc::new(move |d, id| sink.borrow_mut().push((d.to_owned(), id.to_owned())));
    let asked = Rc::new(RefCell::new(0));
    let ask_count = asked.clone();
    let before_call: ds_ui::dialer::BeforeCall = Rc::new(move |_| {
        *ask_count.borrow_mut() += 1;
        true
    });
    let _mount = leptos::mount::mount_to(parent.clone(), move || {
        view! {
            <Dialer link=link locale=Signal::stored(Locale::Es) user_id=Signal::stored(Some(user))
                before_call=before_call on_started=on_started />
        }
    });
    leptos::task::tick().await;
    for key in ["4", "1", "5", "5", "5", "5", "0", "1", "0", "0"] {
        let selector = format!("[part=key][aria-label=\"{key}\"]");
        click(&parent, &selector);
    }
    leptos::task::tick().await;
    let input: web_sys::HtmlInputElement = query(&parent, "[part=destination]").unwrap().unchecked_into();
    assert_eq!(input.value(), "(415) 555-0100");
    click(&parent, "[part=call-button]");
    wait_for("the 202", 10_000.0, || !started.borrow().is_empty()).await;
    assert_eq!(*asked.borrow(), 1);
    assert_eq!(started.borrow()[0].0, "4155550100");
    assert!(started.borrow()[0].1.starts_with("call_"));
    wait_for("progress past the request", 5_000.0, || {
        query(&parent, "[part=progress]").and_then(|p| p.get_attribute("data-state")).as_deref()
            != Some("requesting")
    })
    .await;
    let state = query(&parent, "[part=progress]").unwrap().get_attribute("data-state").unwrap_or_default();
    assert!(["ringing", "connected", "ended"].contains(&state.as_str()), "{state}");
    assert!(!text_of(&parent, "[part=progress]").is_empty(), "progress is shown in words (Spanish)");
}

// ---- Formatting ----

#[wasm_bindgen_test]
fn durations_relative_times_and_numbers_follow_the_locale() {
    use ds_ui::format;
    assert_eq!(format::duration(Locale::En, 185, false), "3 min 5 sec");
    assert_eq!(format::duration(Locale::Es, 185, true), "3 minutos 5 segundos");
    assert_eq!(format::duration(Locale::En, 3_720, true), "1 hour 2 minutes");
    let now = 1_800_000_000_000.0;
    assert_eq!(format::relative(Locale::En, now - 5.0 * 60_000.0, now), "5 minutes ago");
    assert_eq!(format::relative(Locale::Es, now - 5.0 * 60_000.0, now), "hace 5 minutos");
    assert_eq!(format::relative(Locale::En, now - 86_400_000.0, now), "yesterday");
    assert_eq!(format::relative(Locale::Es, now - 86_400_000.0, now), "ayer");
    assert_eq!(format::number(Locale::En, 10_000.0), "10,000");
    assert_eq!(format::number(Locale::Es, 10_000.0), "10.000");
    assert_eq!(format::parse_timestamp("2026-09-01T14:00:03Z"), Some(1_788_271_203_000.0));
    assert_eq!(format::parse_timestamp("yesterday-ish"), None);
}

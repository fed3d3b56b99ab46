//! The softphone component in headless Chromium against a real ds-local (`--demo --fast-timers`
//! on 127.0.0.1:18787; `cargo xtask test wasm`). Each test mounts `<Softphone>` on a real
//! `PhoneHandle` and checks what a user sees: names, states and enabled buttons.
#![cfg(target_arch = "wasm32")]

use std::rc::Rc;

use ds_core::view_model::ConnectionStatus;
use ds_ui::Softphone;
use ds_ui::i18n::Locale;
use ds_wasm_test_support::{ECHO, base, demo_user, fresh_user, mint_token, platform_post, wait_for};
use ds_web::{PhoneHandle, PhoneOptions, TokenProvider};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A mounted softphone and its phone; disconnects and unmounts on drop.
struct Mounted {
    root: web_sys::HtmlElement,
    phone: PhoneHandle,
    _mount: leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>,
}

impl Drop for Mounted {
    fn drop(&mut self) {
        self.phone.disconnect();
        self.root.remove();
    }
}

fn mount_softphone(phone: PhoneHandle, locale: Locale, before_dial: Option<ds_ui::BeforeDial>) -> Mounted {
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let for_view = phone.clone();
    let mount = leptos::mount::mount_to(root.clone(), move || match before_dial {
        Some(hook) => {
            view! { <Softphone phone=for_view locale=Signal::stored(locale) before_dial=hook /> }.into_any()
        }
        None => view! { <Softphone phone=for_view locale=Signal::stored(locale) /> }.into_any(),
    });
    Mounted { root, phone, _mount: mount }
}

async fn connected_softphone(user: &str) -> Mounted {
    let token = mint_token(user, None).await;
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed(token)));
    let mounted = mount_softphone(phone.clone(), Locale::En, None);
    phone.connect().await.expect("the token provider answers");
    wait_for("the phone to connect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
    leptos::task::tick().await;
    mounted
}

impl Mounted {
    fn find(&self, selector: &str) -> Option<web_sys::HtmlElement> {
        self.root.query_selector(selector).unwrap().map(JsCast::unchecked_into)
    }

    fn text(&self, selector: &str) -> String {
        self.find(selector).and_then(|e| e.text_content()).unwrap_or_default()
    }

    /// The button whose accessible name (aria-label, else text) is `name`.
    fn button(&self, name: &str) -> Option<web_sys::HtmlButtonElement> {
        let buttons = self.root.query_selector_all("button").unwrap();
        (0..buttons.length())
            .filter_map(|i| buttons.item(i))
            .map(JsCast::unchecked_into::<web_sys::HtmlButtonElement>)
            .find(|b| {
                b.get_attribute("aria-label").unwrap_or_else(|| b.text_content().unwrap_or_default()).trim()
                    == name
            })
    }

    fn click(&self, name: &str) {
        self.button(name).unwrap_or_else(|| panic!("a button named {name:?}")).click();
    }

    fn type_destination(&self, text: &str) {
        let input: web_sys::HtmlInputElement =
            self.find("input[type=tel]").expect("the destination field").unchecked_into();
        input.set_value(text);
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        input.dispatch_event(&web_sys::Event::new_with_event_init_dict("input", &init).unwrap()).unwrap();
    }

    async fn wait_text(&self, what: &str, selector: &str, wanted: &str) {
        let root = self.root.clone();
        let selector = selector.to_owned();
        wait_for(what, 20_000.0, || {
            root.query_selector(&selector)
                .unwrap()
                .and_then(|e| e.text_content())
                .is_some_and(|t| t.contains(wanted))
        })
        .await;
    }
}

#[wasm_bindgen_test]
async fn an_unconnected_softphone_disables_call_and_says_why() {
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed("unused".into())));
    let ui = mount_softphone(phone, Locale::En, None);
    leptos::task::tick().await;
    assert_eq!(ui.text("[data-testid=status-chip]"), "Not connected");
    let call = ui.button("Call").expect("a Call button");
    assert!(call.disabled());
    assert_eq!(ui.text("[data-testid=call-reason]"), "Not connected");
    // Keys type into the field, formatted as you type; backspace removes the last digit.
    for key in ["4", "1", "5", "5", "5", "5", "0", "1", "4", "2", "9"] {
        ui.click(key);
    }
    leptos::task::tick().await;
    ui.click("Delete last digit");
    leptos::task::tick().await;
    let input: web_sys::HtmlInputElement = ui.find("input[type=tel]").unwrap().unchecked_into();
    assert_eq!(input.value(), "(415) 555-0142");
    assert_eq!(ui.root.query_selector_all(".ds-key").unwrap().length(), 12);
    assert!(ui.text(".ds-keypad").contains("PQRS"), "keys show their letters");
}

#[wasm_bindgen_test]
async fn pasted_text_is_cleaned_and_the_ignored_characters_are_explained() {
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed("unused".into())));
    let ui = mount_softphone(phone, Locale::En, None);
    leptos::task::tick().await;
    ui.type_destination("Phone: +1 415.555.0142");
    leptos::task::tick().await;
    let input: web_sys::HtmlInputElement = ui.find("input[type=tel]").unwrap().unchecked_into();
    assert_eq!(input.value(), "+1 (415) 555-0142");
    assert!(ui.text(".ds-hint[aria-live=polite]").contains("other characters were left out"));
}

#[wasm_bindgen_test]
async fn a_refused_token_shows_the_error_chip_and_a_reconnect_button() {
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed("not-a-real-token".into())));
    let ui = mount_softphone(phone.clone(), Locale::En, None);
    let _ = phone.connect().await;
    ui.wait_text("the error chip", "[data-testid=error-chip]", "could not sign in").await;
    ui.wait_text("the status chip", "[data-testid=status-chip]", "Connection error").await;
    assert!(ui.button("Reconnect").is_some(), "a Reconnect button is offered");
    ui.click("Dismiss error");
    leptos::task::tick().await;
    assert!(ui.find("[data-testid=error-chip]").is_none());
}

#[wasm_bindgen_test]
async fn spanish_locale_translates_the_dial_pad() {
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed("unused".into())));
    let ui = mount_softphone(phone, Locale::Es, None);
    leptos::task::tick().await;
    assert_eq!(ui.text("[data-testid=status-chip]"), "Sin conexión");
    assert!(ui.button("Llamar").is_some());
    assert!(ui.button("Borrar el último dígito").is_some());
    assert_eq!(ui.text("[data-testid=call-reason]"), "Sin conexión");
}

#[wasm_bindgen_test]
async fn a_connected_softphone_calls_the_echo_number_and_drives_the_call() {
    let (alice, _) = demo_user("Alice").await;
    let ui = connected_softphone(&alice).await;
    assert_eq!(ui.text("[data-testid=status-chip]"), "Connected");
    ui.type_destination(ECHO);
    leptos::task::tick().await;
    assert!(!ui.button("Call").unwrap().disabled(), "Call is enabled once connected with a number");
    assert_eq!(ui.text("[data-testid=call-reason]"), "");
    ui.click("Call");
    ui.wait_text("the call to connect", "[data-testid=call-state]", "Connected").await;
    ui.wait_text("the call timer", ".ds-timer", ":").await;

    ui.click("Mute");
    ui.wait_text("mute to apply", ".ds-controls", "Unmute").await;
    assert_eq!(ui.button("Unmute").unwrap().get_attribute("aria-pressed").as_deref(), Some("true"));
    ui.click("Unmute");

    ui.click("Hold");
    ui.wait_text("the hold", "[data-testid=call-state]", "On hold").await;
    assert!(ui.button("Keypad").unwrap().disabled(), "no DTMF while on hold");
    ui.click("Resume");
    ui.wait_text("the resume", "[data-testid=call-state]", "Connected").await;

    ui.click("Keypad");
    leptos::task::tick().await;
    ui.click("5");
    ui.click("#");
    leptos::task::tick().await;
    assert_eq!(ui.text(".ds-readout"), "5#");

    ui.click("Hang up");
    ui.wait_text("the end notice", "[data-testid=end-reason]", "Call ended").await;
    wait_for("the dial pad to return", 10_000.0, || ui.button("Call").is_some()).await;
}

#[wasm_bindgen_test]
async fn an_incoming_test_call_rings_is_announced_and_can_be_declined() {
    let (user, account) = fresh_user("Incoming Test").await;
    let ui = connected_softphone(&user).await;
    platform_post(
        "/v1/test_helpers/calls",
        Some(&account),
        &serde_json::json!({
            "user": user, "from_number": "+16195550177", "from_name": "JANE ROE",
            "scenario": { "ring_seconds": 30 }
        }),
    )
    .await;
    ui.wait_text("the incoming card", "[data-testid=incoming-card]", "JANE ROE").await;
    assert!(ui.text("[data-testid=incoming-card]").contains("(619) 555-0177"));
    assert_eq!(ui.text("[aria-live=assertive]"), "Incoming call from JANE ROE");
    assert!(ui.button("Answer JANE ROE").is_some());
    ui.click("Decline JANE ROE");
    wait_for("the card to go", 10_000.0, || ui.find("[data-testid=incoming-card]").is_none()).await;
    ui.wait_text("the end notice", "[data-testid=end-reason]", "declined").await;
}

#[wasm_bindgen_test]
async fn the_host_can_veto_a_dial_before_it_starts() {
    let (alice, _) = demo_user("Alice").await;
    let token = mint_token(&alice, None).await;
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed(token)));
    let asked = Rc::new(std::cell::RefCell::new(Vec::new()));
    let record = asked.clone();
    let veto: ds_ui::BeforeDial = Rc::new(move |destination: &str| {
        record.borrow_mut().push(destination.to_owned());
        false
    });
    let ui = mount_softphone(phone.clone(), Locale::En, Some(veto));
    phone.connect().await.unwrap();
    wait_for("the phone to connect", 15_000.0, || phone.status() == ConnectionStatus::Connected).await;
    ui.type_destination("101");
    leptos::task::tick().await;
    ui.click("Call");
    leptos::task::tick().await;
    assert_eq!(asked.borrow().as_slice(), ["101"]);
    assert!(phone.snapshot().calls.is_empty(), "a vetoed dial places no call");
}

#[wasm_bindgen_test]
async fn a_call_waiting_answer_holds_the_current_call_and_the_held_card_switches_back() {
    // Its own user, so the other tests' calls never ring here.
    let (user, account) = fresh_user("Call Waiting Test").await;
    let ui = connected_softphone(&user).await;
    ui.type_destination(ECHO);
    leptos::task::tick().await;
    ui.click("Call");
    ui.wait_text("the echo call", "[data-testid=call-state]", "Connected").await;
    ui.click("Keypad");
    leptos::task::tick().await;
    assert!(ui.find(".ds-readout").is_some(), "the DTMF keypad is open");

    platform_post(
        "/v1/test_helpers/calls",
        Some(&account),
        &serde_json::json!({
            "user": user, "from_number": "+16195550188", "from_name": "SAM LEE",
            "scenario": { "ring_seconds": 30, "talk_seconds": 60 }
        }),
    )
    .await;
    ui.wait_text("the call-waiting card", ".ds-waiting", "SAM LEE").await;
    assert!(ui.text(".ds-waiting h2").contains("Call waiting"));
    assert!(ui.find(".ds-readout").is_some(), "a call-waiting ring leaves the open keypad alone");
    ui.click("Answer SAM LEE");
    ui.wait_text("the held echo call", "[data-testid=held-card]", "On hold").await;
    ui.wait_text("the new current call", "[data-testid=current-call]", "SAM LEE").await;
    let echo_number = ds_core::view_model::format_for_display(ECHO);
    ui.click(&format!("Switch to {echo_number}"));
    ui.wait_text("the echo call back", "[data-testid=current-call]", &echo_number).await;
    ui.wait_text("the other call held", "[data-testid=held-card]", "SAM LEE").await;
    for _ in 0..2 {
        let before = ui.phone.snapshot().calls.len();
        ui.click("Hang up");
        wait_for("a call to end", 10_000.0, || ui.phone.snapshot().calls.len() < before).await;
        leptos::task::tick().await;
        if ui.button("Hang up").is_none() {
            // The remaining call is held: switch to it first.
            if let Some(switch) = ui.root.query_selector("[data-testid=held-card] button").unwrap() {
                switch.unchecked_into::<web_sys::HtmlElement>().click();
                wait_for("the switch", 10_000.0, || ui.button("Hang up").is_some()).await;
            }
        }
    }
}

/// Two multi-tab phones of `user` in one page, as two tabs: the first leads and connects, the
/// second follows with a softphone mounted on it, showing the leader's connection. (Web Locks and
/// `BroadcastChannel` work between objects of one document too.)
async fn leader_and_follower_softphone(
    user: &str,
    auto_reconnect: bool,
) -> (PhoneHandle, PhoneHandle, Mounted) {
    let token = mint_token(user, None).await;
    let multi_tab = || {
        let mut options = PhoneOptions::new(base(), TokenProvider::Fixed(token.clone()));
        options.multi_tab = true;
        options.auto_reconnect = auto_reconnect;
        PhoneHandle::new(options)
    };
    let leader = multi_tab();
    leader.connect().await.expect("the token provider answers");
    wait_for("the first phone to lead and connect", 15_000.0, || {
        leader.is_tab_leader() && leader.status() == ConnectionStatus::Connected
    })
    .await;
    let follower = multi_tab();
    let ui = mount_softphone(follower.clone(), Locale::En, None);
    follower.connect().await.expect("the token provider answers");
    ui.wait_text("the leader's status", "[data-testid=status-chip]", "Connected").await;
    (leader, follower, ui)
}

#[wasm_bindgen_test]
async fn a_follower_softphone_says_so_shows_the_leaders_call_and_sends_its_commands_there() {
    let (alice, _) = demo_user("Alice").await;
    let (leader, follower, ui) = leader_and_follower_softphone(&alice, true).await;
    assert!(!follower.is_tab_leader(), "one leader per user");
    assert_eq!(ui.text(".ds-tab-note"), "Shared with your other tab, which plays the audio");
    assert!(ui.find(".ds-devices").is_none(), "the audio devices are the leader's");

    // Dialed in the follower, placed by the leader, shown and hung up in the follower.
    ui.type_destination(ECHO);
    leptos::task::tick().await;
    ui.click("Call");
    ui.wait_text("the leader's call to connect", "[data-testid=call-state]", "Connected").await;
    assert_eq!(leader.snapshot().calls.len(), 1, "the call lives in the leader");
    ui.click("Hang up");
    ui.wait_text("the end notice", "[data-testid=end-reason]", "Call ended").await;
    wait_for("the leader's call to end", 10_000.0, || leader.snapshot().calls.is_empty()).await;
    leader.disconnect();
}

#[wasm_bindgen_test]
async fn reconnect_in_a_follower_softphone_reconnects_the_leader() {
    // A user of its own: the tab group is per user, and other tests here sign in as Alice.
    let (user, _) = fresh_user("Two Tabs Reconnect").await;
    // Without automatic reconnection a lost socket stays lost until someone asks.
    let (leader, follower, ui) = leader_and_follower_softphone(&user, false).await;

    assert!(leader.debug_drop_socket(), "the leader had a socket");
    wait_for("the follower to offer Reconnect", 15_000.0, || ui.button("Reconnect").is_some()).await;
    ui.click("Reconnect");
    wait_for("the leader to connect again", 15_000.0, || leader.status() == ConnectionStatus::Connected)
        .await;
    ui.wait_text("the follower to show it", "[data-testid=status-chip]", "Connected").await;
    assert!(!follower.is_tab_leader(), "the follower still follows");
    leader.disconnect();
}

/// The parts read the locale untracked (so that per-call views do not pile up in the locale
/// signal's subscriber list); a locale change must still reach every word, reactive ones
/// included, because the softphone renders its parts anew.
#[wasm_bindgen_test]
async fn a_locale_change_reaches_the_reactive_words_too() {
    let phone = PhoneHandle::new(PhoneOptions::new(base(), TokenProvider::Fixed("unused".into())));
    let locale = RwSignal::new(Locale::En);
    let document = web_sys::window().unwrap().document().unwrap();
    let root: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&root).unwrap();
    let for_view = phone.clone();
    let mount = leptos::mount::mount_to(root.clone(), move || {
        view! { <Softphone phone=for_view locale=Signal::from(locale) /> }.into_any()
    });
    let ui = Mounted { root, phone, _mount: mount };
    leptos::task::tick().await;
    let english = ui.text("[data-testid=call-reason]");
    assert!(!english.is_empty() && english != "Sin conexión", "{english}");
    locale.set(Locale::Es);
    leptos::task::tick().await;
    assert_eq!(ui.text("[data-testid=call-reason]"), "Sin conexión");
    assert_eq!(ui.text("[data-testid=status-chip]"), "Sin conexión");
    assert!(ui.button("Llamar").is_some());
}

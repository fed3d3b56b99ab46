//! The phone's multi-tab mode ([`PhoneOptions::multi_tab`](crate::PhoneOptions)): the tabs of one
//! user and origin share one registration (`tabs.rs` elects the leader and carries the messages).
//!
//! - The **leader** tab connects and holds the socket and media as a single-tab phone does; after
//!   every event it passes the event and its whole state to the other tabs, and it carries out
//!   their commands.
//! - A **follower** tab's own core never connects. Its [`PhoneHandle`] reads the leader's state
//!   (status, calls, active call, E911 session) from the mirror, replays the leader's events to its
//!   own subscribers as [`DriverEvent`]s, and sends call commands to the leader. So the Rust UI, the
//!   elements and the JS API work in a follower without knowing it.
//! - When the leader tab closes (or disconnects), the next tab in the lock queue becomes leader and
//!   connects with its own token.

use std::rc::Rc;

use ds_core::Command;
use ds_core::view_model::ConnectionStatus;

use crate::driver::{DriverEvent, Inner, PhoneHandle, WeakPhoneHandle};
use crate::tabs::{Mirror, TabCoordinator, TabNotice, event_from_json, event_to_json};
use crate::tokens::TokenError;

impl PhoneHandle {
    /// Joins the tab group of the token's user (once), then connects if this tab leads. A
    /// follower's state arrives from the leader; a later leadership connects by itself.
    pub(crate) async fn join_tabs(&self) -> Result<(), TokenError> {
        if self.inner.tabs.borrow().is_none() {
            let token = self.token_provider().fetch().await.inspect_err(|error| {
                self.inner.emit_error(ds_core::PhoneErrorCode::AuthFailed, error.to_string());
            })?;
            let user = ds_core::token::read_claims(&token)
                .and_then(|claims| claims.sub)
                .ok_or(TokenError::NoUser)?;
            let weak = self.downgrade();
            let joined = TabCoordinator::join(&user, move |notice| on_notice(&weak, notice))
                .map_err(|error| TokenError::Provider(crate::tokens::js_text(&error)))?;
            // A second `connect()` may have joined while this one awaited its token.
            if self.inner.tabs.borrow().is_some() {
                return Ok(());
            }
            *self.inner.tabs.borrow_mut() = Some(joined);
            // A leader says so when elected (`BecameLeader`), possibly later; a follower now.
            if !self.is_tab_leader() {
                self.inner.emit(DriverEvent::TabRole { leader: false });
            }
            return Ok(());
        }
        match self.follower_tabs() {
            // The user pressed Reconnect in a follower: the leader holds the connection.
            Some(tabs) => {
                tabs.ask_reconnect();
                Ok(())
            }
            None => self.connect_here().await,
        }
    }

    /// `true` when this tab holds the registration: always without multi-tab, and in multi-tab
    /// mode once elected.
    pub fn is_tab_leader(&self) -> bool {
        self.inner.tabs.borrow().as_ref().is_none_or(|tabs| tabs.is_leader())
    }

    /// The tab group while this tab follows another one.
    pub(crate) fn follower_tabs(&self) -> Option<Rc<TabCoordinator>> {
        self.inner.tabs.borrow().clone().filter(|tabs| !tabs.is_leader())
    }

    /// The leader's state, while this tab follows another one.
    pub(crate) fn mirror(&self) -> Option<Mirror> {
        self.follower_tabs().map(|tabs| tabs.mirror())
    }

    /// Leaves the tab group: the leader lock is released and another tab may take over.
    pub(crate) fn leave_tabs(&self) {
        // Dropped on a later turn: this may run inside the coordinator's own message callback.
        if let Some(tabs) = self.inner.tabs.borrow_mut().take() {
            crate::driver::drop_later(Box::new(tabs));
        }
    }

    /// (Leader) a follower's command. E911 choices need REST first; the rest go to the core.
    fn run_follower_command(&self, command: Command) {
        match command {
            Command::Dial { destination } => {
                self.dial(&destination);
            }
            Command::SetEmergencyAddress { id } => {
                let phone = self.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    // The follower already checked the address; a failed unbind leaves the
                    // session as it was, and the next outside call says so again.
                    let _ = phone.choose_emergency_address(id).await;
                });
            }
            command => self.command(command),
        }
    }
}

impl Inner {
    /// (Leader) passes `event` (`None`: a follower asked) and the state after it to the other tabs.
    pub(crate) fn publish_to_tabs(&self, event: Option<&DriverEvent>) {
        let Some(tabs) = self.tabs.borrow().clone().filter(|tabs| tabs.is_leader()) else { return };
        let wire = match event {
            Some(event) => match event_to_json(event) {
                Some(wire) => Some(wire),
                None => return,
            },
            None => None,
        };
        let state = {
            let phone = self.phone.borrow();
            let (presented, changed) = phone.emergency_session();
            Mirror {
                status: phone.connection_status(),
                calls: phone.calls(),
                active: phone.active_call(),
                emergency: (presented.map(str::to_owned), changed),
            }
        };
        tabs.publish(wire, &state);
    }
}

fn on_notice(weak: &WeakPhoneHandle, notice: TabNotice) {
    let Some(phone) = weak.upgrade() else { return };
    match notice {
        TabNotice::BecameLeader => {
            // Calls the old leader showed are gone with its media; start from this tab's own state.
            *phone.inner.quality.borrow_mut() = crate::CallMap::new();
            phone.inner.emit(DriverEvent::TabRole { leader: true });
            wasm_bindgen_futures::spawn_local(async move {
                // A failure is reported through the phone's own error event and status.
                let _ = phone.connect_here().await;
            });
        }
        TabNotice::Command(command) => phone.run_follower_command(command),
        TabNotice::Hello => phone.inner.publish_to_tabs(None),
        TabNotice::Reconnect => {
            let ended = matches!(
                phone.status(),
                ConnectionStatus::Idle | ConnectionStatus::Disconnected | ConnectionStatus::Error
            );
            if ended {
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = phone.connect_here().await;
                });
            }
        }
        TabNotice::Mirrored { event } => {
            let event = event.and_then(|(name, payload)| event_from_json(&name, &payload));
            match event {
                Some(event) => {
                    phone.inner.note_event(&event);
                    phone.inner.emit(event);
                }
                None => phone.inner.emit(DriverEvent::LeaderState),
            }
        }
    }
}

//! Pure functions that decide what the UI shows. Components wrap them in memos; each rule has one
//! home here so that the hosted page and every embedded element agree.

/// Connection states as the UI names them (protocol.md §4.4, "UI-level names").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionStatus {
    Idle,
    Connecting,
    Connected,
    /// Waiting to reconnect; the attempt counts from 1.
    Reconnecting {
        attempt: u32,
    },
    Disconnected,
    Error,
}

/// The short label of the always-visible status chip.
pub fn connection_label(status: ConnectionStatus) -> String {
    match status {
        ConnectionStatus::Idle => "Not connected".to_owned(),
        ConnectionStatus::Connecting => "Connecting…".to_owned(),
        ConnectionStatus::Connected => "Connected".to_owned(),
        ConnectionStatus::Reconnecting { attempt } => format!("Reconnecting (attempt {attempt})…"),
        ConnectionStatus::Disconnected => "Disconnected".to_owned(),
        ConnectionStatus::Error => "Connection error".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnecting_label_names_the_attempt() {
        assert_eq!(
            connection_label(ConnectionStatus::Reconnecting { attempt: 3 }),
            "Reconnecting (attempt 3)…"
        );
    }

    #[test]
    fn every_status_has_a_distinct_label() {
        let all = [
            ConnectionStatus::Idle,
            ConnectionStatus::Connecting,
            ConnectionStatus::Connected,
            ConnectionStatus::Reconnecting { attempt: 1 },
            ConnectionStatus::Disconnected,
            ConnectionStatus::Error,
        ];
        let labels: std::collections::HashSet<_> = all.into_iter().map(connection_label).collect();
        assert_eq!(labels.len(), all.len());
    }
}

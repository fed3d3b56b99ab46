//! Decisions of the embeddable components: call history (query, row kind, call-back number,
//! live merge, virtual window), screen pop (dismissal, lookup race guard) and the REST dialer
//! (progress from account events).

use ds_protocol::rest::{CallDirection, CallLog, CallStatus};

/// Default and bounds of a history page (`limit` attribute, protocol.md §11.5).
pub const DEFAULT_HISTORY_LIMIT: u32 = 20;
pub const MAX_HISTORY_LIMIT: u32 = 100;

/// Reads a `limit`-like attribute: an integer clamped to 1..=`max`; anything unreadable gives
/// `default`.
pub fn parse_limit(text: Option<&str>, default: u32, max: u32) -> u32 {
    match text.map(str::trim).and_then(|t| t.parse::<i64>().ok()) {
        Some(n) => n.clamp(1, i64::from(max)) as u32,
        None => default,
    }
}

/// What a call history shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// Only calls with this number, from it or to it (the screen pop: the caller).
    pub phone_number: Option<String>,
    pub direction: Option<CallDirection>,
    /// Only inbound calls nobody answered.
    pub missed: bool,
    pub limit: u32,
    /// A call never listed: the screen pop's ringing call, which its card already shows (its own
    /// row would read as a past call "now" with no outcome).
    pub exclude_call_id: Option<String>,
}

/// Drops the filter's excluded call from a page of rows (applied to every page and live
/// refresh, since the platform has no such query parameter).
pub fn without_excluded(mut rows: Vec<CallLog>, filter: &HistoryFilter) -> Vec<CallLog> {
    if let Some(excluded) = filter.exclude_call_id.as_deref() {
        rows.retain(|call| call.id != excluded);
    }
    rows
}

/// The first-page paths of `GET /v1/calls` for `filter` (protocol.md §11.5). Later pages follow
/// each envelope's `next_page_url` verbatim.
///
/// The platform has no "from or to" filter, so a history by number is two queries, by
/// `from_number` and by `to_number`, merged by id (protocol.md §14) — unless the direction says
/// which side the number is on: inbound (and `missed`) calls come *from* it, outbound ones go *to*
/// it. `missed` maps to inbound calls with status `no-answer`.
pub fn history_paths(filter: &HistoryFilter) -> Vec<String> {
    let direction = if filter.missed { Some(CallDirection::Inbound) } else { filter.direction };
    let mut base = String::from("/v1/calls?limit=");
    base.push_str(&filter.limit.clamp(1, MAX_HISTORY_LIMIT).to_string());
    if let Some(direction) = direction {
        base.push_str("&direction=");
        base.push_str(direction.as_str());
    }
    if filter.missed {
        base.push_str("&status=no-answer");
    }
    let Some(number) = filter.phone_number.as_deref().map(str::trim).filter(|n| !n.is_empty()) else {
        return vec![base];
    };
    let number = percent_encode(number);
    let sides: &[&str] = match direction {
        Some(CallDirection::Inbound) => &["from_number"],
        Some(CallDirection::Outbound) => &["to_number"],
        _ => &["from_number", "to_number"],
    };
    sides.iter().map(|side| format!("{base}&{side}={number}")).collect()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), so `+` survives as `%2B`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[(byte >> 4) as usize] as char);
            out.push(HEX[(byte & 15) as usize] as char);
        }
    }
    out
}

/// The icon (and its text alternative) of a history row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    Inbound,
    Outbound,
    Internal,
    /// Inbound and nobody answered.
    Missed,
    /// Went to voicemail.
    Voicemail,
    /// Still going (no final status yet).
    Live,
}

pub fn row_kind(call: &CallLog) -> RowKind {
    match (call.status, call.direction) {
        (None, _) => RowKind::Live,
        (Some(CallStatus::Voicemail), _) => RowKind::Voicemail,
        (Some(CallStatus::NoAnswer | CallStatus::Busy), CallDirection::Inbound) => RowKind::Missed,
        (_, CallDirection::Inbound) => RowKind::Inbound,
        (_, CallDirection::Outbound) => RowKind::Outbound,
        (_, CallDirection::Internal) => RowKind::Internal,
    }
}

/// Whether `number` is something a person can dial back (not a WebRTC endpoint or a voicemail leg).
fn is_dialable(number: &str) -> bool {
    let number = number.trim();
    !number.is_empty()
        && !number.ends_with("-wrtc")
        && !number.starts_with("vm_")
        && !number.eq_ignore_ascii_case("voicemail")
}

/// The number a row's call-back button dials: the other party of the call.
pub fn call_back_number(call: &CallLog) -> Option<&str> {
    let other = match call.direction {
        CallDirection::Inbound => Some(call.from_number.as_str()),
        CallDirection::Outbound | CallDirection::Internal => call.to_number.as_deref(),
    };
    other.filter(|n| is_dialable(n))
}

/// The party a row is about (for its main line): the other party's label and number.
pub fn row_party(call: &CallLog) -> (Option<&str>, &str) {
    match call.direction {
        CallDirection::Inbound => (call.from_label.as_deref(), call.from_number.as_str()),
        _ => (call.to_label.as_deref(), call.to_number.as_deref().unwrap_or(call.from_number.as_str())),
    }
}

/// Merges a fetched page (a first page refetched live, a next page, or the other query of a
/// history by number) into the shown rows: rows with a known id are replaced in place (a live
/// call got its final status), unknown ones are added, and the list stays newest first by
/// `started_at` (ISO 8601 in UTC, so text order is time order). Returns
/// how many rows were new. Ties (same second) go by id, descending, as the list endpoint sorts.
pub fn merge_rows(rows: &mut Vec<CallLog>, page: Vec<CallLog>) -> usize {
    let mut added = 0;
    for call in page {
        match rows.iter_mut().find(|row| row.id == call.id) {
            Some(row) => *row = call,
            None => {
                rows.push(call);
                added += 1;
            }
        }
    }
    super::sort_short_by(rows, |a, b| b.started_at.cmp(&a.started_at).then_with(|| b.id.cmp(&a.id)));
    added
}

/// Account events after which a call history refetches its first page.
pub fn event_changes_history(event: &str) -> bool {
    matches!(event, "call.incoming" | "call.initiated" | "call.answered" | "call.end")
}

/// The rows a fixed-row-height scroller renders: `start..end` of `total`, covering the
/// viewport plus `overscan` rows on each side.
pub fn visible_window(
    scroll_top: f64,
    viewport_height: f64,
    row_height: f64,
    total: usize,
    overscan: usize,
) -> (usize, usize) {
    if total == 0 || row_height <= 0.0 {
        return (0, 0);
    }
    let first = (scroll_top.max(0.0) / row_height).floor() as usize;
    let shown = (viewport_height.max(0.0) / row_height).ceil() as usize + 1;
    let start = first.saturating_sub(overscan).min(total);
    let end = first.saturating_add(shown).saturating_add(overscan).min(total);
    (start, end.max(start))
}

/// Relative time: the unit and signed value to hand to `Intl.RelativeTimeFormat`, or `None`
/// when the moment is more than a week away (show an absolute date instead).
pub fn relative_time(at_ms: f64, now_ms: f64) -> Option<(i64, &'static str)> {
    let delta = ((at_ms - now_ms) / 1000.0).round() as i64;
    let abs = delta.abs();
    if abs < 60 {
        Some((delta, "second"))
    } else if abs < 3600 {
        Some((delta / 60, "minute"))
    } else if abs < 86_400 {
        Some((delta / 3600, "hour"))
    } else if abs < 7 * 86_400 {
        Some((delta / 86_400, "day"))
    } else {
        None
    }
}

/// Why a screen pop closed (`ds-dismiss` detail `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DismissReason {
    /// Someone answered the call (here or elsewhere).
    Answered,
    /// The call ended before or after an answer.
    Ended,
    /// The user closed the pop.
    User,
}

impl DismissReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Answered => "answered",
            Self::Ended => "ended",
            Self::User => "user",
        }
    }
}

/// Whether an account event closes the pop showing `shown_call_id`: `call.answered` or
/// `call.end` of the same call. Events of other calls (or with no id) never close it.
pub fn pop_dismissal(
    event: &str,
    event_call_id: Option<&str>,
    shown_call_id: Option<&str>,
) -> Option<DismissReason> {
    let same = matches!((event_call_id, shown_call_id), (Some(a), Some(b)) if a == b);
    match event {
        "call.answered" if same => Some(DismissReason::Answered),
        "call.end" if same => Some(DismissReason::Ended),
        _ => None,
    }
}

/// The lookup race guard: a lookup started for ring number `requested_for` applies only if that
/// same ring is still the one shown (`shown`: the current ring, `None` once dismissed).
pub fn lookup_applies(requested_for: u64, shown: Option<u64>) -> bool {
    shown == Some(requested_for)
}

/// Where a click-to-call stands (shown by the dialer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialProgress {
    Idle,
    /// The request is on its way.
    Requesting,
    /// 202: the user's devices are ringing.
    RingingYou,
    /// The user answered; the destination is being dialled or talked to.
    Connected,
    /// The call is over.
    Ended,
    Failed,
}

/// The dialer's progress after account event `event` about `event_call_id`, when it is the
/// call the dialer placed (`placed`).
pub fn dial_progress_after(
    current: DialProgress,
    event: &str,
    event_call_id: Option<&str>,
    placed: Option<&str>,
) -> DialProgress {
    let same = matches!((event_call_id, placed), (Some(a), Some(b)) if a == b);
    if !same {
        return current;
    }
    match event {
        "call.answered" => DialProgress::Connected,
        "call.end" => DialProgress::Ended,
        _ => current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, direction: CallDirection, status: Option<CallStatus>) -> CallLog {
        CallLog {
            id: id.into(),
            user: None,
            user_id: None,
            endpoint: None,
            endpoint_id: None,
            did: None,
            did_id: None,
            direction,
            from_number: "+16195550177".into(),
            from_label: Some("JANE ROE".into()),
            to_number: Some("+14155550100".into()),
            to_label: None,
            started_at: "2026-09-01T14:00:03Z".into(),
            answered_at: None,
            connected_at: None,
            ended_at: None,
            duration_seconds: None,
            status,
            hangup_cause: None,
            summary: None,
            sentiment: None,
            recording_url: None,
            quality_metrics: Vec::new(),
            dtmf_digits: None,
        }
    }

    #[test]
    fn limit_attribute_is_clamped_and_falls_back_to_the_default() {
        assert_eq!(parse_limit(None, 20, 100), 20);
        assert_eq!(parse_limit(Some("abc"), 20, 100), 20);
        assert_eq!(parse_limit(Some(" 5 "), 20, 100), 5);
        assert_eq!(parse_limit(Some("0"), 20, 100), 1);
        assert_eq!(parse_limit(Some("1000"), 20, 100), 100);
    }

    #[test]
    fn history_filters_become_the_calls_queries() {
        let all = HistoryFilter { limit: 20, ..Default::default() };
        assert_eq!(history_paths(&all), ["/v1/calls?limit=20"]);
        let by_number = HistoryFilter { phone_number: Some("+16195550177".into()), limit: 5, ..all.clone() };
        assert_eq!(
            history_paths(&by_number),
            ["/v1/calls?limit=5&from_number=%2B16195550177", "/v1/calls?limit=5&to_number=%2B16195550177"]
        );
        let missed = HistoryFilter {
            missed: true,
            direction: Some(CallDirection::Outbound),
            limit: 20,
            ..all.clone()
        };
        assert_eq!(history_paths(&missed), ["/v1/calls?limit=20&direction=inbound&status=no-answer"]);
        let outbound = HistoryFilter { direction: Some(CallDirection::Outbound), ..all.clone() };
        assert_eq!(history_paths(&outbound), ["/v1/calls?limit=20&direction=outbound"]);
    }

    #[test]
    fn a_number_with_a_direction_is_looked_up_on_that_side_only() {
        let number = Some("+16195550177".to_owned());
        let missed =
            HistoryFilter { phone_number: number.clone(), missed: true, limit: 5, ..Default::default() };
        assert_eq!(
            history_paths(&missed),
            ["/v1/calls?limit=5&direction=inbound&status=no-answer&from_number=%2B16195550177"]
        );
        let outbound = HistoryFilter {
            phone_number: number,
            direction: Some(CallDirection::Outbound),
            limit: 5,
            ..Default::default()
        };
        assert_eq!(
            history_paths(&outbound),
            ["/v1/calls?limit=5&direction=outbound&to_number=%2B16195550177"]
        );
    }

    #[test]
    fn the_excluded_call_is_dropped_from_every_page_and_the_query_is_unchanged() {
        let filter =
            HistoryFilter { limit: 5, exclude_call_id: Some("ringing".into()), ..Default::default() };
        assert_eq!(history_paths(&filter), ["/v1/calls?limit=5"]);
        let page = vec![
            call("ringing", CallDirection::Inbound, None),
            call("yesterday", CallDirection::Inbound, Some(CallStatus::Completed)),
        ];
        let shown = without_excluded(page.clone(), &filter);
        assert_eq!(shown.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["yesterday"]);
        let unfiltered = HistoryFilter { limit: 5, ..Default::default() };
        assert_eq!(without_excluded(page, &unfiltered).len(), 2);
    }

    #[test]
    fn rows_are_missed_voicemail_live_or_their_direction() {
        assert_eq!(row_kind(&call("a", CallDirection::Inbound, Some(CallStatus::NoAnswer))), RowKind::Missed);
        assert_eq!(
            row_kind(&call("a", CallDirection::Inbound, Some(CallStatus::Voicemail))),
            RowKind::Voicemail
        );
        assert_eq!(row_kind(&call("a", CallDirection::Inbound, None)), RowKind::Live);
        assert_eq!(
            row_kind(&call("a", CallDirection::Outbound, Some(CallStatus::NoAnswer))),
            RowKind::Outbound
        );
        assert_eq!(
            row_kind(&call("a", CallDirection::Inbound, Some(CallStatus::Completed))),
            RowKind::Inbound
        );
    }

    #[test]
    fn call_back_dials_the_other_party_but_never_a_webrtc_endpoint() {
        assert_eq!(call_back_number(&call("a", CallDirection::Inbound, None)), Some("+16195550177"));
        assert_eq!(call_back_number(&call("a", CallDirection::Outbound, None)), Some("+14155550100"));
        let mut from_browser = call("a", CallDirection::Inbound, None);
        from_browser.from_number = "user_01jzq4k8c2m3p5r7t9v1w3x5y7-wrtc".into();
        assert_eq!(call_back_number(&from_browser), None);
    }

    fn call_at(id: &str, started_at: &str, status: Option<CallStatus>) -> CallLog {
        CallLog { started_at: started_at.into(), ..call(id, CallDirection::Inbound, status) }
    }

    #[test]
    fn a_fresh_page_replaces_known_rows_and_puts_new_ones_on_top() {
        let mut rows =
            vec![call_at("b", "2026-09-01T14:00:02Z", None), call_at("a", "2026-09-01T14:00:01Z", None)];
        let fresh = vec![
            call_at("c", "2026-09-01T14:00:03Z", None),
            call_at("b", "2026-09-01T14:00:02Z", Some(CallStatus::Completed)),
        ];
        assert_eq!(merge_rows(&mut rows, fresh), 1);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert_eq!(rows[1].status, Some(CallStatus::Completed));
    }

    #[test]
    fn the_from_and_to_queries_of_a_number_interleave_newest_first_without_duplicates() {
        let mut rows = vec![
            call_at("in-3", "2026-09-03T09:00:00Z", None),
            call_at("in-1", "2026-09-01T09:00:00Z", None),
        ];
        let outbound = vec![
            call_at("out-4", "2026-09-04T09:00:00Z", None),
            call_at("out-2", "2026-09-02T09:00:00Z", None),
            call_at("in-1", "2026-09-01T09:00:00Z", None),
        ];
        assert_eq!(merge_rows(&mut rows, outbound), 2);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["out-4", "in-3", "out-2", "in-1"]);
        // Two calls in the same second: the later id first, wherever each came from.
        merge_rows(&mut rows, vec![call_at("x-1", "2026-09-04T09:00:00Z", None)]);
        assert_eq!(rows[0].id, "x-1");
        assert_eq!(rows[1].id, "out-4");
    }

    #[test]
    fn the_virtual_window_covers_the_viewport_plus_overscan() {
        assert_eq!(visible_window(0.0, 400.0, 40.0, 10_000, 5), (0, 16));
        assert_eq!(visible_window(4000.0, 400.0, 40.0, 10_000, 5), (95, 116));
        assert_eq!(visible_window(399_600.0, 400.0, 40.0, 10_000, 5), (9985, 10_000));
        assert_eq!(visible_window(0.0, 400.0, 40.0, 3, 5), (0, 3));
        assert_eq!(visible_window(0.0, 400.0, 40.0, 0, 5), (0, 0));
    }

    #[test]
    fn relative_time_picks_the_largest_fitting_unit_within_a_week() {
        let now = 1_000_000_000.0;
        assert_eq!(relative_time(now - 30_000.0, now), Some((-30, "second")));
        assert_eq!(relative_time(now - 5.0 * 60_000.0, now), Some((-5, "minute")));
        assert_eq!(relative_time(now - 3.0 * 3_600_000.0, now), Some((-3, "hour")));
        assert_eq!(relative_time(now - 2.0 * 86_400_000.0, now), Some((-2, "day")));
        assert_eq!(relative_time(now - 8.0 * 86_400_000.0, now), None);
    }

    #[test]
    fn only_the_shown_calls_answer_or_end_dismisses_the_pop() {
        let shown = Some("call_1");
        assert_eq!(pop_dismissal("call.answered", Some("call_1"), shown), Some(DismissReason::Answered));
        assert_eq!(pop_dismissal("call.end", Some("call_1"), shown), Some(DismissReason::Ended));
        assert_eq!(pop_dismissal("call.end", Some("call_2"), shown), None);
        assert_eq!(pop_dismissal("call.ringing", Some("call_1"), shown), None);
        assert_eq!(pop_dismissal("call.end", None, None), None);
    }

    #[test]
    fn a_lookup_applies_only_while_its_ring_is_still_shown() {
        assert!(lookup_applies(3, Some(3)));
        assert!(!lookup_applies(3, Some(4)), "a newer call replaced it");
        assert!(!lookup_applies(3, None), "the pop was dismissed");
    }

    #[test]
    fn dial_progress_follows_only_the_placed_call() {
        let placed = Some("call_1");
        let ringing = DialProgress::RingingYou;
        assert_eq!(
            dial_progress_after(ringing, "call.answered", Some("call_1"), placed),
            DialProgress::Connected
        );
        assert_eq!(dial_progress_after(ringing, "call.answered", Some("call_2"), placed), ringing);
        assert_eq!(
            dial_progress_after(DialProgress::Connected, "call.end", Some("call_1"), placed),
            DialProgress::Ended
        );
    }
}

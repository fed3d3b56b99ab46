//! Schedule validation and evaluation (rest.md §7), including DST changes in America/New_York.

use chrono::{DateTime, Utc};
use ds_routing::schedule::{ScheduleState, compile};
use ds_routing::{Holiday, Schedule, WeeklyRange};

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn range(day: i64, start: &str, end: &str) -> WeeklyRange {
    WeeklyRange { day, start: start.into(), end: end.into() }
}

fn schedule(timezone: &str, ranges: Vec<WeeklyRange>, holidays: Vec<(&str, &str)>) -> Schedule {
    Schedule {
        id: "sched_1".into(),
        name: "Hours".into(),
        timezone: timezone.into(),
        ranges,
        holidays: holidays
            .into_iter()
            .map(|(start, end)| Holiday { start: start.into(), end: end.into() })
            .collect(),
        created_at: String::new(),
        updated_at: String::new(),
    }
}

fn state(schedule: &Schedule, instant: &str) -> ScheduleState {
    compile(schedule).unwrap().evaluate(at(instant))
}

/// Monday to Friday, 09:00–17:00 New York time.
fn office_hours() -> Schedule {
    schedule("America/New_York", (1..=5).map(|day| range(day, "09:00", "17:00")).collect(), vec![])
}

#[test]
fn the_front_desk_example_of_the_spec_evaluates_as_documented() {
    let front_desk = schedule(
        "America/New_York",
        vec![
            range(1, "08:30", "12:00"),
            range(1, "13:00", "17:30"),
            range(2, "08:30", "17:30"),
            range(3, "08:30", "17:30"),
            range(4, "08:30", "17:30"),
            range(5, "08:30", "15:00"),
        ],
        vec![("2026-12-24", "2026-12-26")],
    );
    // Monday 2026-09-14 12:30 EDT (lunch break) → closed.
    assert_eq!(state(&front_desk, "2026-09-14T16:30:00Z"), ScheduleState::Closed);
    // Friday 2026-09-18 14:59 EDT → open; 15:00 → closed (end is exclusive).
    assert_eq!(state(&front_desk, "2026-09-18T18:59:00Z"), ScheduleState::Open);
    assert_eq!(state(&front_desk, "2026-09-18T19:00:00Z"), ScheduleState::Closed);
    // 2026-12-25 10:00 EST (a Friday, inside hours) → holiday.
    assert_eq!(state(&front_desk, "2026-12-25T15:00:00Z"), ScheduleState::Holiday);
    // Saturday → closed.
    assert_eq!(state(&front_desk, "2026-09-19T15:00:00Z"), ScheduleState::Closed);
}

#[test]
fn spring_forward_moves_opening_one_utc_hour_earlier() {
    let hours = office_hours();
    // Friday 2026-03-06 (EST, UTC-5): 13:30Z is 08:30 local → closed; 14:30Z is 09:30 → open.
    assert_eq!(state(&hours, "2026-03-06T13:30:00Z"), ScheduleState::Closed);
    assert_eq!(state(&hours, "2026-03-06T14:30:00Z"), ScheduleState::Open);
    // Monday 2026-03-09 (EDT, UTC-4 since Sunday 02:00): 13:30Z is already 09:30 local → open.
    assert_eq!(state(&hours, "2026-03-09T13:30:00Z"), ScheduleState::Open);
    assert_eq!(state(&hours, "2026-03-09T20:59:00Z"), ScheduleState::Open);
    assert_eq!(state(&hours, "2026-03-09T21:00:00Z"), ScheduleState::Closed);
}

#[test]
fn fall_back_moves_opening_one_utc_hour_later() {
    let hours = office_hours();
    // Friday 2026-10-30 (EDT): 13:30Z is 09:30 local → open.
    assert_eq!(state(&hours, "2026-10-30T13:30:00Z"), ScheduleState::Open);
    // Monday 2026-11-02 (EST since Sunday 02:00): 13:30Z is 08:30 local → closed; 14:30Z → open.
    assert_eq!(state(&hours, "2026-11-02T13:30:00Z"), ScheduleState::Closed);
    assert_eq!(state(&hours, "2026-11-02T14:30:00Z"), ScheduleState::Open);
    assert_eq!(state(&hours, "2026-11-02T21:59:00Z"), ScheduleState::Open);
    assert_eq!(state(&hours, "2026-11-02T22:00:00Z"), ScheduleState::Closed);
}

#[test]
fn a_range_on_the_spring_forward_night_skips_the_missing_hour() {
    // Sunday 2026-03-08, 01:00–03:00 local: 02:00–03:00 does not exist that night.
    let night = schedule("America/New_York", vec![range(0, "01:00", "03:00")], vec![]);
    assert_eq!(state(&night, "2026-03-08T06:30:00Z"), ScheduleState::Open, "01:30 EST");
    assert_eq!(state(&night, "2026-03-08T06:59:00Z"), ScheduleState::Open, "01:59 EST");
    assert_eq!(
        state(&night, "2026-03-08T07:00:00Z"),
        ScheduleState::Closed,
        "03:00 EDT, right after the jump"
    );
}

#[test]
fn a_range_on_the_fall_back_night_is_open_during_both_repeated_hours() {
    // Sunday 2026-11-01, 01:00–02:00 local happens twice (EDT, then EST).
    let night = schedule("America/New_York", vec![range(0, "01:00", "02:00")], vec![]);
    assert_eq!(state(&night, "2026-11-01T05:30:00Z"), ScheduleState::Open, "01:30 EDT");
    assert_eq!(state(&night, "2026-11-01T06:30:00Z"), ScheduleState::Open, "01:30 EST");
    assert_eq!(state(&night, "2026-11-01T07:00:00Z"), ScheduleState::Closed, "02:00 EST");
}

#[test]
fn a_range_ending_before_it_starts_crosses_midnight_and_belongs_to_its_start_day() {
    // Friday 22:00 → Saturday 02:00, UTC.
    let late = schedule("UTC", vec![range(5, "22:00", "02:00")], vec![]);
    assert_eq!(state(&late, "2026-09-18T21:59:00Z"), ScheduleState::Closed, "Friday 21:59");
    assert_eq!(state(&late, "2026-09-18T23:00:00Z"), ScheduleState::Open, "Friday 23:00");
    assert_eq!(state(&late, "2026-09-19T01:59:00Z"), ScheduleState::Open, "Saturday 01:59");
    assert_eq!(state(&late, "2026-09-19T02:00:00Z"), ScheduleState::Closed, "Saturday 02:00");
    assert_eq!(
        state(&late, "2026-09-20T01:00:00Z"),
        ScheduleState::Closed,
        "Sunday 01:00: not Friday's night"
    );
}

#[test]
fn a_saturday_night_range_wraps_into_sunday() {
    let late = schedule("UTC", vec![range(6, "23:00", "01:00")], vec![]);
    assert_eq!(state(&late, "2026-09-20T00:30:00Z"), ScheduleState::Open, "Sunday 00:30");
}

#[test]
fn end_24_00_means_until_midnight() {
    let all_day = schedule("UTC", vec![range(2, "00:00", "24:00")], vec![]);
    assert_eq!(state(&all_day, "2026-09-15T23:59:00Z"), ScheduleState::Open, "Tuesday 23:59");
    assert_eq!(state(&all_day, "2026-09-16T00:00:00Z"), ScheduleState::Closed, "Wednesday 00:00");
}

#[test]
fn holidays_are_whole_local_days_inclusive_and_win_over_hours() {
    let hours = schedule(
        "America/New_York",
        (0..=6).map(|day| range(day, "00:00", "24:00")).collect(),
        vec![("2026-12-24", "2026-12-26")],
    );
    // 2026-12-24T03:00Z is still 23 December 22:00 in New York.
    assert_eq!(state(&hours, "2026-12-24T03:00:00Z"), ScheduleState::Open);
    assert_eq!(state(&hours, "2026-12-24T05:00:00Z"), ScheduleState::Holiday, "24 Dec 00:00 EST");
    assert_eq!(state(&hours, "2026-12-27T04:59:00Z"), ScheduleState::Holiday, "26 Dec 23:59 EST");
    assert_eq!(state(&hours, "2026-12-27T05:00:00Z"), ScheduleState::Open, "27 Dec 00:00 EST");
}

#[test]
fn a_schedule_without_ranges_is_always_closed() {
    let never = schedule("UTC", vec![], vec![]);
    assert_eq!(state(&never, "2026-09-15T12:00:00Z"), ScheduleState::Closed);
}

#[test]
fn invalid_fields_are_all_reported_with_their_paths() {
    let bad = schedule(
        "Mars/Olympus_Mons",
        vec![range(7, "9:00", "17:00"), range(1, "10:00", "25:00"), range(1, "10:00", "10:00")],
        vec![("2026-12-26", "2026-12-24"), ("2026-13-01", "2026-12-31")],
    );
    let errors = compile(&bad).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "timezone",
            "ranges[0].day",
            "ranges[0].start",
            "ranges[1].end",
            "ranges[2].end",
            "holidays[0].end",
            "holidays[1].start"
        ]
    );
    assert!(errors[0].to_string().starts_with("timezone: \"Mars/Olympus_Mons\""));
}

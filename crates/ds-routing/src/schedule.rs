//! Schedules: validation (rest.md §7.2) and evaluation to `open` / `closed` / `holiday`
//! (rest.md §7.3) in the schedule's IANA zone, DST-aware. The instant is passed in.

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::model::Schedule;

/// The three states a schedule node can branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleState {
    Open,
    Closed,
    Holiday,
}

/// One invalid field, keyed like `ranges[2].end` (rest.md §7.2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

fn field_error(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError { field: field.into(), reason: reason.into() }
}

/// One weekly range in minutes of the day; `end < start` crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Minutes {
    day: u32,
    start: u32,
    end: u32,
}

/// A schedule checked and ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledSchedule {
    zone: Tz,
    ranges: Vec<Minutes>,
    holidays: Vec<(NaiveDate, NaiveDate)>,
}

/// `HH:MM` with `00:00`–`23:59`; `allow_24` also accepts exactly `24:00` (→ 1440) \[open\].
fn parse_clock(text: &str, allow_24: bool) -> Option<u32> {
    if allow_24 && text == "24:00" {
        return Some(1440);
    }
    let bytes = text.as_bytes();
    if bytes.len() != 5
        || bytes[2] != b':'
        || !text.bytes().enumerate().all(|(i, b)| i == 2 || b.is_ascii_digit())
    {
        return None;
    }
    let hours: u32 = text[..2].parse().ok()?;
    let minutes: u32 = text[3..].parse().ok()?;
    (hours < 24 && minutes < 60).then_some(hours * 60 + minutes)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    // The wire form is exactly YYYY-MM-DD; chrono alone would also accept `2026-1-5`.
    (text.len() == 10).then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()).flatten()
}

/// Validates a schedule's fields and compiles it. Every problem is reported, each keyed by its
/// field path, so a client can show them all at once.
pub fn compile(schedule: &Schedule) -> Result<CompiledSchedule, Vec<FieldError>> {
    let mut errors = Vec::new();
    let name_length = schedule.name.chars().count();
    if !(1..=255).contains(&name_length) {
        errors.push(field_error("name", "must be 1 to 255 characters"));
    }
    let zone = match schedule.timezone.parse::<Tz>() {
        Ok(zone) => Some(zone),
        Err(_) => {
            errors.push(field_error(
                "timezone",
                format!("{:?} is not a known IANA time zone", schedule.timezone),
            ));
            None
        }
    };
    let mut ranges = Vec::with_capacity(schedule.ranges.len());
    for (index, range) in schedule.ranges.iter().enumerate() {
        let day = if (0..=6).contains(&range.day) {
            Some(range.day as u32)
        } else {
            errors
                .push(field_error(format!("ranges[{index}].day"), "must be an integer from 0 (Sunday) to 6"));
            None
        };
        let start = parse_clock(&range.start, false);
        if start.is_none() {
            errors.push(field_error(format!("ranges[{index}].start"), "must be HH:MM from 00:00 to 23:59"));
        }
        let end = parse_clock(&range.end, true);
        if end.is_none() {
            errors.push(field_error(
                format!("ranges[{index}].end"),
                "must be HH:MM from 00:00 to 23:59, or 24:00",
            ));
        }
        if let (Some(day), Some(start), Some(end)) = (day, start, end) {
            if start == end {
                errors.push(field_error(format!("ranges[{index}].end"), "must differ from start"));
            } else {
                ranges.push(Minutes { day, start, end });
            }
        }
    }
    let mut holidays = Vec::with_capacity(schedule.holidays.len());
    for (index, holiday) in schedule.holidays.iter().enumerate() {
        let start = parse_date(&holiday.start);
        let end = parse_date(&holiday.end);
        if start.is_none() {
            errors.push(field_error(format!("holidays[{index}].start"), "must be a date YYYY-MM-DD"));
        }
        if end.is_none() {
            errors.push(field_error(format!("holidays[{index}].end"), "must be a date YYYY-MM-DD"));
        }
        if let (Some(start), Some(end)) = (start, end) {
            if start > end {
                errors.push(field_error(format!("holidays[{index}].end"), "must not be before start"));
            } else {
                holidays.push((start, end));
            }
        }
    }
    match zone {
        Some(zone) if errors.is_empty() => Ok(CompiledSchedule { zone, ranges, holidays }),
        _ => Err(errors),
    }
}

impl CompiledSchedule {
    /// rest.md §7.3: holidays win; then same-day ranges `start ≤ M < end`; then ranges of the
    /// previous day that cross midnight with `M < end` \[open\]; otherwise closed.
    pub fn evaluate(&self, now: DateTime<Utc>) -> ScheduleState {
        // chrono-tz maps the UTC instant to the wall clock, so DST shifts are applied here and
        // nowhere else; an instant never falls into a gap or fold in this direction.
        let local = now.with_timezone(&self.zone);
        let date = local.date_naive();
        if self.holidays.iter().any(|(start, end)| (*start..=*end).contains(&date)) {
            return ScheduleState::Holiday;
        }
        let weekday = local.weekday().num_days_from_sunday();
        let minute = local.hour() * 60 + local.minute();
        let yesterday = (weekday + 6) % 7;
        let open = self.ranges.iter().any(|range| {
            let crosses_midnight = range.end < range.start;
            if range.day == weekday {
                // A crossing range is open from `start` to the end of its own day.
                minute >= range.start && (crosses_midnight || minute < range.end)
            } else {
                crosses_midnight && range.day == yesterday && minute < range.end
            }
        });
        if open { ScheduleState::Open } else { ScheduleState::Closed }
    }
}

impl Schedule {
    /// Validates and evaluates in one go (for callers holding a stored, already valid schedule).
    pub fn state_at(&self, now: DateTime<Utc>) -> Result<ScheduleState, Vec<FieldError>> {
        Ok(compile(self)?.evaluate(now))
    }
}

//! Locale-aware formatting through the browser's `Intl` (no formatting tables in the bundle):
//! relative times ("5 minutes ago", "hace 5 minutos"), dates, durations and plain numbers.
//! Which unit a relative time uses is decided in `ds_core::view_model::embeds::relative_time`.

use ds_core::view_model::embeds::relative_time;
use js_sys::{Array, Date, Intl, Object, Reflect};
use wasm_bindgen::JsValue;

use crate::i18n::Locale;

fn locales(locale: Locale) -> Array {
    Array::of1(&JsValue::from_str(locale.tag()))
}

fn options(pairs: &[(&str, &str)]) -> Object {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    object
}

fn call_format(function: &js_sys::Function, value: &JsValue) -> String {
    function.call1(&JsValue::NULL, value).ok().and_then(|v| v.as_string()).unwrap_or_default()
}

/// Milliseconds since the epoch of an ISO-8601 timestamp, `None` when unreadable.
pub fn parse_timestamp(text: &str) -> Option<f64> {
    let ms = Date::parse(text);
    (!ms.is_nan()).then_some(ms)
}

/// The current time in milliseconds since the epoch.
pub fn now_ms() -> f64 {
    Date::now()
}

/// A number with the locale's grouping ("10,000" / "10.000").
pub fn number(locale: Locale, value: f64) -> String {
    let format = Intl::NumberFormat::new(&locales(locale), &Object::new());
    call_format(&format.format(), &JsValue::from_f64(value))
}

/// A date and time, medium date and short time ("Sep 1, 2026, 2:00 PM").
pub fn date_time(locale: Locale, at_ms: f64) -> String {
    let format = Intl::DateTimeFormat::new(
        &locales(locale),
        &options(&[("dateStyle", "medium"), ("timeStyle", "short")]),
    );
    call_format(&format.format(), &Date::new(&JsValue::from_f64(at_ms)).into())
}

/// "5 minutes ago" / "hace 5 minutos" within a week, else the date and time.
pub fn relative(locale: Locale, at_ms: f64, now_ms: f64) -> String {
    match relative_time(at_ms, now_ms) {
        Some((value, unit)) => {
            let format = Intl::RelativeTimeFormat::new(&locales(locale), &options(&[("numeric", "auto")]));
            String::from(format.format(value as f64, unit))
        }
        None => date_time(locale, at_ms),
    }
}

fn unit(locale: Locale, value: u64, unit: &str, display: &str) -> String {
    let format = Intl::NumberFormat::new(
        &locales(locale),
        &options(&[("style", "unit"), ("unit", unit), ("unitDisplay", display)]),
    );
    call_format(&format.format(), &JsValue::from_f64(value as f64))
}

/// A call duration in words for the locale: "3 min 5 sec", "1 hr 2 min", "45 sec"
/// (`long`: "3 minutes 5 seconds", for screen readers).
pub fn duration(locale: Locale, secs: u64, long: bool) -> String {
    let display = if long { "long" } else { "short" };
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    let mut parts = Vec::with_capacity(2);
    if h > 0 {
        parts.push(unit(locale, h, "hour", display));
        if m > 0 {
            parts.push(unit(locale, m, "minute", display));
        }
    } else if m > 0 {
        parts.push(unit(locale, m, "minute", display));
        if s > 0 {
            parts.push(unit(locale, s, "second", display));
        }
    } else {
        parts.push(unit(locale, s, "second", display));
    }
    parts.join(" ")
}

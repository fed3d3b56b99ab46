//! A small JSON value, reader and writer for the browser's side of the protocol.
//!
//! Why not `serde_json::Value`: in the embed bundle `serde_json` (its parser, its `Value`
//! (de)serialiser, its float parsing and formatting) and the float `Display` code that serde's
//! `Unexpected` keeps linked were the last large block of library code (docs/benchmarks.md,
//! "Size work"). This reader accepts and refuses exactly the texts `serde_json::from_str::<Value>`
//! does (`tests/json_reader.rs` checks it on golden and random input), with one documented
//! difference: a float is read as serde_json's default reader reads it, but with `powi` instead of
//! its table of powers of ten, so beyond 10^22 the last bit may differ (and a number within that of
//! `f64::MAX` may be accepted or refused the other way). Numbers keep their text. The
//! writer writes what `serde_json::to_string` writes for the same value (members sorted by name as
//! its `BTreeMap` does, the same string escapes), except that numbers are written as they were read.
//!
//! ds-local keeps `serde_json` and the serde derives; the hand codecs built on this module
//! (`frame_codec`, `call_log_codec`, `rest_codec`) are checked against them member for member.

use std::fmt;

/// Nesting deeper than this is refused, as `serde_json` refuses it (its recursion limit), so that
/// hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 128;

/// One JSON value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Array(Vec<Json>),
    Object(Object),
}

/// A JSON number, kept as its (valid) text: reading it as an integer needs no float code, and
/// nothing in the browser reads a float out of JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

impl Number {
    /// The number as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it is written as an integer (no fraction, no exponent): what `serde_json` stores as
    /// an integer when it fits in 64 bits.
    fn is_integer_text(&self) -> bool {
        !self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// A non-negative integer that fits in `u64`, as `serde_json::Value::as_u64`.
    pub fn as_u64(&self) -> Option<u64> {
        if !self.is_integer_text() || self.0.starts_with('-') {
            return None;
        }
        self.0.parse().ok()
    }

    /// An integer that fits in `i64`, as `serde_json::Value::as_i64` (`-0` is a float there).
    pub fn as_i64(&self) -> Option<i64> {
        if !self.is_integer_text() || self.0 == "-0" {
            return None;
        }
        self.0.parse().ok()
    }

    /// The number as an `f64`, computed as `serde_json`'s default (not `float_roundtrip`) reader
    /// does: the first 19-odd significant digits as an integer, times or divided by a power of
    /// ten. Exact powers up to 10^22 make that bit-equal to serde_json; beyond, `powi` may differ
    /// from its power table in the last bit. No `core` float parser (and its tables) is linked.
    pub fn as_f64(&self) -> Option<f64> {
        let text = self.0.as_bytes();
        let (negative, digits) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (mut significand, mut exponent, mut overflowed, mut in_fraction) = (0u64, 0i64, false, false);
        for (at, &byte) in digits.iter().enumerate() {
            match byte {
                b'0'..=b'9' => {
                    let next =
                        significand.checked_mul(10).and_then(|s| s.checked_add(u64::from(byte - b'0')));
                    match next {
                        Some(next) if !overflowed => {
                            significand = next;
                            exponent -= i64::from(in_fraction);
                        }
                        // Digits past u64 are dropped; integer ones still scale the value.
                        _ => {
                            overflowed = true;
                            exponent += i64::from(!in_fraction);
                        }
                    }
                }
                b'.' => in_fraction = true,
                b'e' | b'E' => {
                    let (sign, power) = match digits.get(at + 1) {
                        Some(b'-') => (-1, &digits[at + 2..]),
                        Some(b'+') => (1, &digits[at + 2..]),
                        _ => (1, &digits[at + 1..]),
                    };
                    let power =
                        power.iter().fold(0i64, |acc, d| (acc * 10 + i64::from(d - b'0')).min(1 << 40));
                    exponent += sign * power;
                    break;
                }
                _ => return None,
            }
        }
        let mut value = significand as f64;
        while exponent != 0 {
            if value == 0.0 {
                break;
            }
            let step = exponent.clamp(-308, 308);
            let power = 10f64.powi(step.unsigned_abs() as i32);
            if step > 0 {
                value *= power;
                if value.is_infinite() {
                    return None;
                }
            } else {
                value /= power;
            }
            exponent -= step;
        }
        Some(if negative { -value } else { value })
    }
}

macro_rules! number_from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(n: $t) -> Json {
                Json::Number(Number(n.to_string()))
            }
        }
    )*};
}
number_from_integer!(u16, u32, u64, usize, i32, i64);

/// A JSON object: members sorted by name, each name once (a repeated name keeps its last value),
/// which is what `serde_json::Map` (a `BTreeMap`) does.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    pub fn new() -> Self {
        Object(Vec::new())
    }

    pub fn get(&self, name: &str) -> Option<&Json> {
        self.0.binary_search_by(|(key, _)| key.as_str().cmp(name)).ok().map(|at| &self.0[at].1)
    }

    /// Sets `name`, replacing an earlier value.
    pub fn insert(&mut self, name: String, value: Json) {
        match self.0.binary_search_by(|(key, _)| key.as_str().cmp(&name)) {
            Ok(at) => self.0[at].1 = value,
            Err(at) => self.0.insert(at, (name, value)),
        }
    }

    pub fn remove(&mut self, name: &str) -> Option<Json> {
        let at = self.0.binary_search_by(|(key, _)| key.as_str().cmp(name)).ok()?;
        Some(self.0.remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Members in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.0.iter().map(|(key, value)| (key.as_str(), value))
    }
}

static NULL: Json = Json::Null;

impl Json {
    /// Reads one JSON text (surrounding whitespace allowed).
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut reader = Reader { bytes: text.as_bytes(), at: 0 };
        let value = reader.value(0)?;
        reader.skip_whitespace();
        if reader.at < reader.bytes.len() {
            return Err(reader.error("trailing characters"));
        }
        Ok(value)
    }

    /// An object from `(name, value)` pairs, like `serde_json::json!({..})`.
    pub fn object<const N: usize>(members: [(&str, Json); N]) -> Json {
        let mut object = Object::new();
        for (name, value) in members {
            object.insert(name.to_owned(), value);
        }
        Json::Object(object)
    }

    /// The member `name` of an object; `None` for a missing member or a non-object.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.as_object().and_then(|object| object.get(name))
    }

    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_object_mut(&mut self) -> Option<&mut Object> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json>> {
        match self {
            Json::Array(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Json::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(number) => number.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Json::Number(number) => number.as_f64(),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Json::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Json::Object(_))
    }

    /// A number from JSON number text, checked: `None` when `text` is not one.
    pub fn number(text: &str) -> Option<Json> {
        match Json::parse(text) {
            Ok(number @ Json::Number(_)) if text.bytes().all(|b| !b.is_ascii_whitespace()) => Some(number),
            _ => None,
        }
    }
}

impl std::ops::Index<&str> for Json {
    type Output = Json;

    /// `value["name"]`: the member, or `Null` when it is missing or `value` is not an object.
    fn index(&self, name: &str) -> &Json {
        self.get(name).unwrap_or(&NULL)
    }
}

/// `value == "text"`, `value == 7`, `value == true`, as with `serde_json::Value`.
impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Json {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

macro_rules! eq_integer {
    ($($t:ty),*) => {$(
        impl PartialEq<$t> for Json {
            fn eq(&self, other: &$t) -> bool {
                self.as_i64().is_some_and(|n| i128::from(n) == *other as i128)
                    || self.as_u64().is_some_and(|n| i128::from(n) == *other as i128)
            }
        }
    )*};
}
eq_integer!(i32, i64, u32, u64);

impl From<bool> for Json {
    fn from(flag: bool) -> Json {
        Json::Bool(flag)
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::String(text)
    }
}

impl From<&String> for Json {
    fn from(text: &String) -> Json {
        Json::String(text.clone())
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Json {
        Json::Array(items)
    }
}

impl From<Object> for Json {
    fn from(object: Object) -> Json {
        Json::Object(object)
    }
}

impl From<&Option<String>> for Json {
    fn from(text: &Option<String>) -> Json {
        text.as_deref().map_or(Json::Null, Json::from)
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Json {
        value.map_or(Json::Null, Into::into)
    }
}

/// Why a text is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    reason: &'static str,
    /// Byte offset where reading stopped.
    at: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.at)
    }
}

impl std::error::Error for JsonError {}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError { reason, at: self.at }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &'static str, value: Json) -> Result<Json, JsonError> {
        if self.bytes[self.at..].starts_with(word.as_bytes()) {
            self.at += word.len();
            Ok(value)
        } else {
            Err(self.error("expected value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            None => Err(self.error("EOF while parsing a value")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b'[') => {
                if depth + 1 >= MAX_DEPTH {
                    return Err(self.error("recursion limit exceeded"));
                }
                self.at += 1;
                let mut items = Vec::new();
                self.skip_whitespace();
                if self.peek() == Some(b']') {
                    self.at += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b']') => {
                            self.at += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.error("expected `,` or `]`")),
                    }
                }
            }
            Some(b'{') => {
                if depth + 1 >= MAX_DEPTH {
                    return Err(self.error("recursion limit exceeded"));
                }
                self.at += 1;
                let mut object = Object::new();
                self.skip_whitespace();
                if self.peek() == Some(b'}') {
                    self.at += 1;
                    return Ok(Json::Object(object));
                }
                loop {
                    self.skip_whitespace();
                    if self.peek() != Some(b'"') {
                        return Err(self.error("key must be a string"));
                    }
                    let name = self.string()?;
                    self.skip_whitespace();
                    if self.peek() != Some(b':') {
                        return Err(self.error("expected `:`"));
                    }
                    self.at += 1;
                    let value = self.value(depth + 1)?;
                    object.insert(name, value);
                    self.skip_whitespace();
                    match self.peek() {
                        Some(b',') => self.at += 1,
                        Some(b'}') => {
                            self.at += 1;
                            return Ok(Json::Object(object));
                        }
                        _ => return Err(self.error("expected `,` or `}`")),
                    }
                }
            }
            Some(_) => Err(self.error("expected value")),
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        self.at - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, refused when its magnitude is beyond what an
    /// `f64` holds (as serde_json refuses it).
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let integer_start = self.at;
        match self.digits() {
            0 => return Err(self.error("invalid number")),
            1 => {}
            _ if self.bytes[integer_start] == b'0' => {
                self.at = integer_start + 1;
                return Err(self.error("invalid number"));
            }
            _ => {}
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'-' | b'+') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        let text =
            std::str::from_utf8(&self.bytes[start..self.at]).map_err(|_| self.error("invalid number"))?;
        let number = Number(text.to_owned());
        // serde_json reads integers beyond 64 bits and every fraction or exponent as an f64 and
        // refuses the text when that overflows; the same reading decides here.
        if number.as_u64().is_none() && number.as_i64().is_none() && number.as_f64().is_none() {
            return Err(self.error("number out of range"));
        }
        Ok(Json::Number(number))
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b @ b'0'..=b'9') => b - b'0',
                Some(b @ b'a'..=b'f') => b - b'a' + 10,
                Some(b @ b'A'..=b'F') => b - b'A' + 10,
                None => return Err(self.error("EOF while parsing a string")),
                Some(_) => return Err(self.error("invalid escape")),
            };
            self.at += 1;
            code = code * 16 + u32::from(digit);
        }
        Ok(code)
    }

    /// A string literal; `self.at` is on the opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let run_start = self.at;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.at += 1;
            }
            // The input is a `&str` and runs stop only at ASCII bytes, so a run is whole UTF-8.
            out.push_str(
                std::str::from_utf8(&self.bytes[run_start..self.at])
                    .map_err(|_| self.error("invalid unicode"))?,
            );
            match self.peek() {
                None => return Err(self.error("EOF while parsing a string")),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.at += 1;
                    let escape = self.peek().ok_or_else(|| self.error("EOF while parsing a string"))?;
                    self.at += 1;
                    match escape {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return Err(self.error("invalid escape")),
                    }
                }
                Some(_) => return Err(self.error("control character found while parsing a string")),
            }
        }
    }

    /// After `\u`: one code point, a surrogate pair taking two escapes; lone surrogates are refused.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.bytes[self.at..].starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone trailing surrogate in hex escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid unicode code point"))
    }
}

/// Writes `text` as a JSON string literal with `serde_json`'s escapes: `"` and `\`, the five short
/// control escapes, `\u00XX` (lowercase hex) for the other control characters, the rest verbatim.
pub fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let byte = c as usize;
                out.push_str("\\u00");
                out.push(HEX[byte >> 4] as char);
                out.push(HEX[byte & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_value(out: &mut String, value: &Json) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(true) => out.push_str("true"),
        Json::Bool(false) => out.push_str("false"),
        Json::Number(number) => out.push_str(&number.0),
        Json::String(text) => write_string(out, text),
        Json::Array(items) => {
            out.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Json::Object(object) => {
            out.push('{');
            for (n, (name, item)) in object.0.iter().enumerate() {
                if n > 0 {
                    out.push(',');
                }
                write_string(out, name);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

impl fmt::Display for Json {
    /// Compact JSON text, as `serde_json::to_string` writes it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        write_value(&mut out, self);
        f.write_str(&out)
    }
}

/// ds-local stores and sends call logs through serde; these impls make [`Json`] members behave
/// there as `serde_json::Value` ones do (numbers through `u64`/`i64`/`f64`). The browser never
/// calls them, so they cost the bundle nothing.
mod serde_impls {
    use super::{Json, Number, Object};
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

    impl Serialize for Json {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            match self {
                Json::Null => serializer.serialize_unit(),
                Json::Bool(flag) => serializer.serialize_bool(*flag),
                Json::Number(number) => {
                    if let Some(n) = number.as_u64() {
                        serializer.serialize_u64(n)
                    } else if let Some(n) = number.as_i64() {
                        serializer.serialize_i64(n)
                    } else {
                        let float: f64 = number.0.parse().map_err(serde::ser::Error::custom)?;
                        serializer.serialize_f64(float)
                    }
                }
                Json::String(text) => serializer.serialize_str(text),
                Json::Array(items) => {
                    let mut seq = serializer.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(item)?;
                    }
                    seq.end()
                }
                Json::Object(object) => {
                    let mut map = serializer.serialize_map(Some(object.len()))?;
                    for (name, item) in object.iter() {
                        map.serialize_entry(name, item)?;
                    }
                    map.end()
                }
            }
        }
    }

    struct JsonVisitor;

    impl<'de> Visitor<'de> for JsonVisitor {
        type Value = Json;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_bool<E>(self, flag: bool) -> Result<Json, E> {
            Ok(Json::Bool(flag))
        }

        fn visit_i64<E>(self, n: i64) -> Result<Json, E> {
            Ok(Json::from(n))
        }

        fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
            Ok(Json::from(n))
        }

        fn visit_f64<E>(self, n: f64) -> Result<Json, E> {
            // serde_json writes non-finite floats as null.
            Ok(if n.is_finite() { Json::Number(Number(format!("{n:?}"))) } else { Json::Null })
        }

        fn visit_str<E>(self, text: &str) -> Result<Json, E> {
            Ok(Json::String(text.to_owned()))
        }

        fn visit_string<E>(self, text: String) -> Result<Json, E> {
            Ok(Json::String(text))
        }

        fn visit_unit<E>(self) -> Result<Json, E> {
            Ok(Json::Null)
        }

        fn visit_none<E>(self) -> Result<Json, E> {
            Ok(Json::Null)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
            Json::deserialize(deserializer)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Json::Array(items))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
            let mut object = Object::new();
            while let Some((name, value)) = map.next_entry::<String, Json>()? {
                object.insert(name, value);
            }
            Ok(Json::Object(object))
        }
    }

    impl<'de> Deserialize<'de> for Json {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
            deserializer.deserialize_any(JsonVisitor)
        }
    }
}

/// `json_object!{ "name": value, … }`: a [`Json::Object`], each value through `Json::from`; the
/// stand-in for `serde_json::json!({ … })` (one level; nest by calling it again).
#[macro_export]
macro_rules! json_object {
    ($($name:literal : $value:expr),* $(,)?) => {
        $crate::json::Json::object([$(($name, $crate::json::Json::from($value))),*])
    };
}

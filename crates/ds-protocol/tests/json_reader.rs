//! `ds_protocol::json` (the browser's JSON reader and writer) against `serde_json`, which it
//! replaces in the embed bundle: the same accept/refuse decision, the same value (compared through
//! serde, so numbers compare as serde_json reads them), the same text written, and the same
//! integers and floats read out of numbers.
#![cfg(not(target_arch = "wasm32"))]

use ds_protocol::json::Json;
use proptest::prelude::*;
use serde_json::Value;

const CLIENT_FRAMES: &str = include_str!("golden/client_frames.jsonl");
const SERVER_FRAMES: &str = include_str!("golden/server_frames.jsonl");

/// A [`Json`] as `serde_json::Value`, numbers read as serde_json reads them (its integers, else
/// `Number::as_f64`, which follows serde_json's own float reading).
fn value_of(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(flag) => Value::Bool(*flag),
        Json::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(n), _) => Value::from(n),
            (None, Some(n)) => Value::from(n),
            _ => Value::from(n.as_f64().expect("in range")),
        },
        Json::String(text) => Value::String(text.clone()),
        Json::Array(items) => Value::Array(items.iter().map(value_of).collect()),
        Json::Object(object) => {
            Value::Object(object.iter().map(|(k, v)| (k.to_owned(), value_of(v))).collect())
        }
    }
}

/// `Some(value as serde_json holds it)` when the text is JSON, for both readers.
fn both(text: &str) -> (Option<Value>, Option<Value>) {
    let ours = Json::parse(text).ok().map(|json| value_of(&json));
    let theirs = serde_json::from_str::<Value>(text).ok();
    (ours, theirs)
}

/// Equal, floats within 1e-13 of each other: beyond 10^22 `Number::as_f64` uses `powi` where
/// serde_json uses a table (the module's one documented difference; exact below, see
/// `numbers_read_as_serde_json_reads_them`).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x.is_f64() && y.is_f64() => {
            let (x, y) = (x.as_f64().expect("f64"), y.as_f64().expect("f64"));
            x == y || ((x - y) / y).abs() < 1e-13
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kx, x), (ky, y))| kx == ky && same(x, y))
        }
        _ => a == b,
    }
}

fn same_decision_and_value(text: &str) -> Result<(), String> {
    match both(text) {
        (Some(ours), Some(theirs)) if same(&ours, &theirs) => Ok(()),
        (None, None) => Ok(()),
        (ours, theirs) => Err(format!("{text:?}: ours {ours:?}, serde_json {theirs:?}")),
    }
}

fn assert_same(text: &str) {
    if let Err(problem) = same_decision_and_value(text) {
        panic!("{problem}");
    }
}

#[test]
fn every_golden_frame_reads_and_writes_as_serde_json_does() {
    for line in CLIENT_FRAMES.lines().chain(SERVER_FRAMES.lines()).map(str::trim).filter(|l| !l.is_empty()) {
        let json = Json::parse(line).expect("golden frames are JSON");
        let value: Value = serde_json::from_str(line).expect("golden frames are JSON");
        assert_eq!(value_of(&json), value, "{line}");
        assert_eq!(serde_json::to_value(&json).expect("serialises"), value, "{line}");
        assert_eq!(json.to_string(), serde_json::to_string(&value).expect("writes"), "{line}");
    }
}

#[test]
fn odd_but_valid_and_invalid_texts_get_serde_json_s_decision() {
    for text in [
        "",
        " ",
        "null",
        " true ",
        "false",
        "nul",
        "nullx",
        "truex",
        "0",
        "-0",
        "-",
        "01",
        "-01",
        "1.",
        ".5",
        "1e",
        "1e+",
        "1E+2",
        "1e-2",
        "1.5e3",
        "00",
        "1.0",
        "-1.25e-7",
        "1e400",
        "-1e400",
        "1e-400",
        "0e999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1.7e308",
        "1.8e308",
        "-2e308",
        "[",
        "[1,]",
        "[,1]",
        "[1 2]",
        "{}",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{a:1}",
        "{\"a\":1}}",
        "{\"a\":1,\"a\":2}",
        "{\"b\":1,\"a\":2}",
        "\"\\u00e9\"",
        "\"\\uD83D\\uDE00\"",
        "\"\\uD83D\"",
        "\"\\uDE00\"",
        "\"\\uD83Dx\"",
        "\"\\uD83D\\u0041\"",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12G4\"",
        "\"a\u{1}b\"",
        "\"a\u{7f}b\"",
        "\"\\/\"",
        "\"tab\there\"",
        "\"open",
        "[\"a\",{\"b\":[null,true,false,-1.5]}]",
        "\t\r\n[ ]\n",
        "[]x",
        "\u{feff}{}",
        "{\"\":\"\"}",
    ] {
        assert_same(text);
    }
}

#[test]
fn nesting_is_refused_where_serde_json_s_recursion_limit_refuses_it() {
    for depth in [1, 2, 126, 127, 128, 129, 1000] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = format!("{}{}{}", open.repeat(depth), "1", close.repeat(depth));
            assert_same(&text);
        }
    }
}

#[test]
fn duplicate_members_keep_the_last_value_and_members_are_written_sorted() {
    let json = Json::parse(r#"{"b":1,"a":{"y":2,"x":[3]},"b":"again"}"#).expect("JSON");
    assert_eq!(json["b"], Json::from("again"));
    assert_eq!(json.to_string(), r#"{"a":{"x":[3],"y":2},"b":"again"}"#);
    assert_eq!(json["missing"], Json::Null);
    assert_eq!(Json::from(7u64)["a"], Json::Null);
}

#[test]
fn built_objects_write_as_the_json_macro_of_serde_json_does() {
    let ours = ds_protocol::json_object!(
        "type": "state", "handle": Some(3u64), "arg": None::<String>, "ok": true,
        "nested": ds_protocol::json_object!("text": "a\"b\\c\n\u{1}é"), "list": vec![Json::from(-2i64)],
    );
    let theirs = serde_json::json!({
        "type": "state", "handle": 3, "arg": null, "ok": true,
        "nested": {"text": "a\"b\\c\n\u{1}é"}, "list": [-2],
    });
    assert_eq!(ours.to_string(), theirs.to_string());
}

/// Number texts of every shape, including float shapes whose power of ten stays within 10^22.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (any::<i64>(), 0u32..8).prop_map(|(n, places)| {
            let text = n.unsigned_abs().to_string();
            let sign = if n < 0 { "-" } else { "" };
            if places == 0 || text.len() <= places as usize {
                format!("{sign}{text}.5")
            } else {
                let (int, frac) = text.split_at(text.len() - places as usize);
                format!("{sign}{int}.{frac}")
            }
        }),
        (-180.0f64..180.0).prop_map(|x| serde_json::to_string(&x).expect("finite")),
        (1u32..999_999, -15i32..15).prop_map(|(n, e)| format!("{n}e{e}")),
        "-?(0|[1-9][0-9]{0,15})(\\.[0-9]{1,6})?([eE][+-]?[0-9])?",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        // Clear of f64::MAX, where the float readers may round the other way (see `same`).
        any::<f64>().prop_filter("clear of the overflow edge", |x| x.abs() < 1e300).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn what_serde_json_writes_reads_back_to_the_same_value_and_text(value in json_value()) {
        let text = serde_json::to_string(&value).expect("writes");
        let json = Json::parse(&text).expect("serde_json writes JSON");
        prop_assert!(same(&value_of(&json), &value), "{}", text);
        // ds-local's path: serde's Serialize of `Json` gives the value back exactly.
        prop_assert_eq!(serde_json::to_value(&json).expect("serialises"), value);
        prop_assert_eq!(json.to_string(), text);
    }

    #[test]
    fn damaged_json_gets_serde_json_s_decision(
        value in json_value(),
        cut in any::<prop::sample::Index>(),
        byte in prop::sample::select(vec!["", "\"", "\\", "{", "}", "[", "]", ",", ":", "-", "0", "e", ".", "\u{1}", "x", " "]),
    ) {
        let text = serde_json::to_string_pretty(&value).expect("writes");
        let at = cut.index(text.len() + 1);
        if text.is_char_boundary(at) {
            // Replace the character at `at` (or append at the end).
            let next = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
            let damaged = format!("{}{}{}", &text[..at], byte, &text[next..]);
            prop_assert!(same_decision_and_value(&damaged).is_ok(), "{:?}", same_decision_and_value(&damaged));
        }
    }

    #[test]
    fn random_strings_get_serde_json_s_decision(text in any::<String>()) {
        prop_assert!(same_decision_and_value(&text).is_ok(), "{:?}", same_decision_and_value(&text));
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them(text in number_text()) {
        let theirs = serde_json::from_str::<Value>(&text);
        let ours = Json::parse(&text);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{}", text);
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert_eq!(ours.as_u64(), theirs.as_u64(), "{}", text);
            prop_assert_eq!(ours.as_i64(), theirs.as_i64(), "{}", text);
            prop_assert_eq!(ours.as_f64().map(f64::to_bits), theirs.as_f64().map(f64::to_bits), "{}", text);
        }
    }
}

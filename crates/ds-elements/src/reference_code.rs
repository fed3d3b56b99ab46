//! The element API as the code declares it, for the reference test: each element's observed
//! attributes and properties (its [`crate::registry::ElementSpec`]) and the `ds-…` events its
//! source emits (every `emit(…, "ds-…", …, cancelable)` call).

/// What one element's code declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementCode {
    pub tag: &'static str,
    pub attributes: &'static [&'static str],
    pub properties: &'static [&'static str],
    /// `(event name, cancelable)` of every `emit` call in the element's source.
    pub emitted: Vec<(String, bool)>,
}

/// The source files of an element (its own file, plus the shared provider for the account side).
fn sources(tag: &str) -> &'static [&'static str] {
    const PROVIDER: &str = include_str!("provider.rs");
    match tag {
        crate::SOFTPHONE_TAG => &[include_str!("softphone.rs")],
        crate::dialer::DIALER_TAG => &[include_str!("dialer.rs"), PROVIDER],
        crate::history::CALL_HISTORY_TAG => &[include_str!("history.rs"), PROVIDER],
        // The pop reports no errors of its own (its recent-calls list shows them inline).
        crate::screen_pop::SCREEN_POP_TAG => &[include_str!("screen_pop.rs")],
        _ => &[],
    }
}

/// `(name, cancelable)` of the `emit(target, "ds-…", detail, cancelable)` calls in `source`
/// (each call is written on one line).
pub fn emitted_events(source: &str) -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for line in source.lines() {
        let Some(call) = line.find("emit(").map(|at| &line[at..]) else { continue };
        let Some(start) = call.find("\"ds-") else { continue };
        let name_and_rest = &call[start + 1..];
        let Some(end) = name_and_rest.find('"') else { continue };
        let name = name_and_rest[..end].to_owned();
        let cancelable = name_and_rest[end..].contains("true)");
        if !found.iter().any(|(n, _)| *n == name) {
            found.push((name, cancelable));
        }
    }
    found
}

/// Every defined element, as its code declares it.
pub fn element_code() -> Vec<ElementCode> {
    crate::ELEMENTS
        .iter()
        .map(|spec| ElementCode {
            tag: spec.tag,
            attributes: spec.observed_attributes,
            properties: spec.properties,
            emitted: sources(spec.tag).iter().flat_map(|source| emitted_events(source)).fold(
                Vec::new(),
                |mut all, event| {
                    if !all.iter().any(|(n, _)| *n == event.0) {
                        all.push(event);
                    }
                    all
                },
            ),
        })
        .collect()
}

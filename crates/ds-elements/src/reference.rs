//! The element reference (`docs/elements.md`) as data: a parser for its tables and the
//! `custom-elements.json` (schema v1, "custom-elements-manifest") generated from them.
//!
//! Self-contained on purpose (std only, no `crate::` paths): `cargo xtask dist` can include it
//! with `#[path = "../../ds-elements/src/reference.rs"] mod reference;` and write
//! `reference::manifest(&markdown)` next to the bundle. The wasm test
//! `crates/ds-elements/tests/reference.rs` checks that the tables and the code agree, so
//! the manifest generated from the document describes the code.

/// One attribute/property row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub attribute: Option<String>,
    pub property: Option<String>,
    pub type_text: String,
    pub default: String,
    pub notes: String,
}

/// One event row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub detail: String,
    pub cancelable: bool,
    pub when: String,
}

/// One `## <ds-…>` section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub tag: String,
    pub description: String,
    /// The shared rows first, then the element's own.
    pub members: Vec<Member>,
    pub events: Vec<Event>,
    pub parts: Vec<String>,
}

/// The whole reference.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reference {
    pub shared: Vec<Member>,
    /// `--ds-*` custom properties named in the shared section.
    pub css_properties: Vec<String>,
    pub elements: Vec<Element>,
}

fn none_if_dash(cell: &str) -> Option<String> {
    let cell = cell.trim();
    (!cell.is_empty() && cell != "—" && cell != "-").then(|| cell.to_owned())
}

/// Splits a table row on unescaped `|` and strips backticks; `\|` becomes `|`.
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                current.push('|');
                chars.next();
            }
            '|' => out.push(std::mem::take(&mut current)),
            '`' => {}
            _ => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|c| c.trim().to_owned()).collect()
}

fn is_separator(line: &str) -> bool {
    line.trim().starts_with("|---") || line.trim().starts_with("| ---")
}

/// Reads the reference document.
pub fn parse(markdown: &str) -> Reference {
    let mut reference = Reference::default();
    let mut current: Option<Element> = None;
    let mut in_shared = false;
    let mut table: Option<&'static str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(heading) = trimmed.strip_prefix("## ") {
            if let Some(element) = current.take() {
                reference.elements.push(element);
            }
            table = None;
            in_shared = heading.starts_with("Shared");
            if let Some(tag) = heading.trim_matches('`').strip_prefix('<').and_then(|h| h.strip_suffix('>')) {
                current = Some(Element {
                    tag: tag.to_owned(),
                    members: reference.shared.clone(),
                    ..Element::default()
                });
            }
            continue;
        }
        if trimmed.starts_with('|') {
            if is_separator(trimmed) {
                continue;
            }
            let row = cells(trimmed);
            match row.first().map(String::as_str) {
                Some("Attribute") => {
                    table = Some("members");
                    continue;
                }
                Some("Event") => {
                    table = Some("events");
                    continue;
                }
                _ => {}
            }
            match table {
                Some("members") if row.len() >= 4 => {
                    let member = Member {
                        attribute: none_if_dash(&row[0]),
                        property: none_if_dash(&row[1]),
                        type_text: row[2].clone(),
                        default: row[3].clone(),
                        notes: row.get(4).cloned().unwrap_or_default(),
                    };
                    if in_shared {
                        reference.shared.push(member);
                    } else if let Some(element) = current.as_mut() {
                        element.members.push(member);
                    }
                }
                Some("events") if row.len() >= 3 => {
                    if let Some(element) = current.as_mut() {
                        element.events.push(Event {
                            name: row[0].clone(),
                            detail: row[1].clone(),
                            cancelable: row[2].eq_ignore_ascii_case("yes"),
                            when: row.get(3).cloned().unwrap_or_default(),
                        });
                    }
                }
                _ => {}
            }
            continue;
        }
        table = None;
        if in_shared {
            for word in trimmed.split('`') {
                let word = word.trim();
                if word.starts_with("--ds-") && !reference.css_properties.iter().any(|p| p == word) {
                    reference.css_properties.push(word.to_owned());
                }
            }
        }
        if let Some(element) = current.as_mut() {
            if let Some(parts) = trimmed.strip_prefix("Parts:") {
                element.parts = parts
                    .split(',')
                    .map(|p| p.trim().trim_end_matches('.').trim_matches('`').to_owned())
                    .filter(|p| !p.is_empty())
                    .collect();
            } else if element.description.is_empty() && !trimmed.is_empty() {
                element.description = trimmed.replace('`', "");
            }
        }
    }
    if let Some(element) = current.take() {
        reference.elements.push(element);
    }
    reference
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `ds-call-history` → `DsCallHistory`.
pub fn class_name(tag: &str) -> String {
    tag.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// `custom-elements.json` (schema 1.0.0) for the bundle's module `ds_elements.js`.
pub fn manifest(markdown: &str) -> String {
    let reference = parse(markdown);
    let module = "ds_elements.js";
    let mut declarations = Vec::new();
    let mut exports = Vec::new();
    for element in &reference.elements {
        let class = class_name(&element.tag);
        let attributes: Vec<String> = element
            .members
            .iter()
            .filter_map(|m| {
                let name = m.attribute.as_ref()?;
                let mut fields = vec![
                    format!("\"name\":{}", json_string(name)),
                    format!("\"type\":{{\"text\":{}}}", json_string(&m.type_text)),
                    format!("\"description\":{}", json_string(&m.notes)),
                ];
                if let Some(default) = none_if_dash(&m.default) {
                    fields.push(format!("\"default\":{}", json_string(&default)));
                }
                Some(format!("{{{}}}", fields.join(",")))
            })
            .collect();
        let members: Vec<String> = element
            .members
            .iter()
            .filter_map(|m| {
                let name = m.property.as_ref()?;
                Some(format!(
                    "{{\"kind\":\"field\",\"name\":{},\"type\":{{\"text\":{}}},\"description\":{}}}",
                    json_string(name),
                    json_string(&m.type_text),
                    json_string(&m.notes)
                ))
            })
            .collect();
        let events: Vec<String> = element
            .events
            .iter()
            .map(|e| {
                let description =
                    if e.cancelable { format!("{} (cancelable)", e.when) } else { e.when.clone() };
                format!(
                    "{{\"name\":{},\"type\":{{\"text\":{}}},\"description\":{}}}",
                    json_string(&e.name),
                    json_string(&format!("CustomEvent<{}>", e.detail)),
                    json_string(&description)
                )
            })
            .collect();
        let parts: Vec<String> =
            element.parts.iter().map(|p| format!("{{\"name\":{}}}", json_string(p))).collect();
        let css: Vec<String> =
            reference.css_properties.iter().map(|p| format!("{{\"name\":{}}}", json_string(p))).collect();
        declarations.push(format!(
            "{{\"kind\":\"class\",\"name\":{},\"tagName\":{},\"customElement\":true,\"description\":{},\
             \"superclass\":{{\"name\":\"HTMLElement\"}},\"attributes\":[{}],\"members\":[{}],\"events\":[{}],\
             \"cssParts\":[{}],\"cssProperties\":[{}]}}",
            json_string(&class),
            json_string(&element.tag),
            json_string(&element.description),
            attributes.join(","),
            members.join(","),
            events.join(","),
            parts.join(","),
            css.join(",")
        ));
        exports.push(format!(
            "{{\"kind\":\"custom-element-definition\",\"name\":{},\"declaration\":{{\"name\":{},\"module\":{}}}}}",
            json_string(&element.tag),
            json_string(&class),
            json_string(module)
        ));
    }
    format!(
        "{{\"schemaVersion\":\"1.0.0\",\"readme\":\"\",\"modules\":[{{\"kind\":\"javascript-module\",\"path\":{},\
         \"declarations\":[{}],\"exports\":[{}]}}]}}\n",
        json_string(module),
        declarations.join(","),
        exports.join(",")
    )
}

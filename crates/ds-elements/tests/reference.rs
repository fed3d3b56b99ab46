//! docs/elements.md is the element contract: every attribute, property and event it lists must
//! exist in the code, and the code must declare nothing it does not list. Also checks the
//! `custom-elements.json` generated from it.
#![cfg(target_arch = "wasm32")]

use std::collections::BTreeSet;

use ds_elements::reference::{class_name, manifest, parse};
use ds_elements::reference_code::{element_code, emitted_events};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const DOC: &str = include_str!("../../../docs/elements.md");

fn set<'a>(items: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    items.into_iter().map(str::to_owned).collect()
}

#[wasm_bindgen_test]
fn every_element_in_the_code_is_documented_with_the_same_attributes_properties_and_events() {
    let reference = parse(DOC);
    let code = element_code();
    assert_eq!(
        set(reference.elements.iter().map(|e| e.tag.as_str())),
        set(code.iter().map(|c| c.tag)),
        "the documented elements and the defined ones differ"
    );
    for element in &code {
        let doc = reference.elements.iter().find(|e| e.tag == element.tag).expect("documented");
        assert_eq!(
            set(doc.members.iter().filter_map(|m| m.attribute.as_deref())),
            set(element.attributes.iter().copied()),
            "<{}>: documented attributes vs observedAttributes",
            element.tag
        );
        assert_eq!(
            set(doc.members.iter().filter_map(|m| m.property.as_deref())),
            set(element.properties.iter().copied()),
            "<{}>: documented properties vs the element's JS properties",
            element.tag
        );
        let documented: BTreeSet<(String, bool)> =
            doc.events.iter().map(|e| (e.name.clone(), e.cancelable)).collect();
        let emitted: BTreeSet<(String, bool)> = element.emitted.iter().cloned().collect();
        assert_eq!(
            documented, emitted,
            "<{}>: documented events (name, cancelable) vs emit calls",
            element.tag
        );
    }
}

#[wasm_bindgen_test]
fn the_parser_reads_shared_rows_escaped_pipes_parts_and_css_properties() {
    let reference = parse(DOC);
    let history = reference.elements.iter().find(|e| e.tag == "ds-call-history").expect("documented");
    let direction = history.members.iter().find(|m| m.attribute.as_deref() == Some("direction")).unwrap();
    assert_eq!(direction.type_text, "inbound | outbound | internal");
    assert!(history.members.iter().any(|m| m.attribute.as_deref() == Some("api-base")), "shared rows apply");
    assert_eq!(history.parts, ["base", "history-row", "load-more"]);
    assert!(reference.css_properties.iter().any(|p| p == "--ds-color-primary"));
    let pop = reference.elements.iter().find(|e| e.tag == "ds-screen-pop").unwrap();
    assert!(pop.events.iter().any(|e| e.name == "ds-lookup" && e.cancelable));
    assert_eq!(
        emitted_events("emit(&h, \"ds-a\", &d, true);\nlet x = 1;\nemit(&h, \"ds-b\", &d, false);"),
        [("ds-a".to_owned(), true), ("ds-b".to_owned(), false)]
    );
}

#[wasm_bindgen_test]
fn the_manifest_is_schema_v1_json_with_every_element() {
    let json: serde_json::Value = serde_json::from_str(&manifest(DOC)).expect("the manifest is JSON");
    assert_eq!(json["schemaVersion"], "1.0.0");
    let module = &json["modules"][0];
    let declarations = module["declarations"].as_array().expect("declarations");
    let tags: BTreeSet<String> =
        declarations.iter().map(|d| d["tagName"].as_str().unwrap_or_default().to_owned()).collect();
    assert_eq!(tags, set(["ds-softphone", "ds-dialer", "ds-call-history", "ds-screen-pop"]));
    let pop = declarations.iter().find(|d| d["tagName"] == "ds-screen-pop").unwrap();
    assert_eq!(pop["name"], class_name("ds-screen-pop"));
    assert!(pop["members"].as_array().unwrap().iter().any(|m| m["name"] == "lookup"));
    assert!(
        pop["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["name"] == "history-limit" && a["default"] == "5")
    );
    assert_eq!(module["exports"].as_array().unwrap().len(), 4);
}

//! Stylesheets for shadow roots, as constructable stylesheets (`adoptedStyleSheets`): no `<style>`
//! text and no `style` attributes, so the elements work under `style-src 'self'`.
//! One `CSSStyleSheet` per stylesheet text is shared by every element instance on the page.

use std::cell::RefCell;

use wasm_bindgen::JsValue;

thread_local! {
    static SHEETS: RefCell<ds_web::VecMap<&'static str, web_sys::CssStyleSheet>> = RefCell::new(ds_web::VecMap::new());
}

fn sheet(css: &'static str) -> Option<web_sys::CssStyleSheet> {
    SHEETS.with(|sheets| {
        if let Some(sheet) = sheets.borrow().get(&css) {
            return Some(sheet.clone());
        }
        let sheet = web_sys::CssStyleSheet::new().ok()?;
        sheet.replace_sync(css).ok()?;
        sheets.borrow_mut().insert(css, sheet.clone());
        Some(sheet)
    })
}

/// Adopts `sheets` (in order, after the shared theme tokens) into `shadow`.
pub(crate) fn adopt(shadow: &web_sys::ShadowRoot, sheets: &[&'static str]) {
    let list = js_sys::Array::new();
    for css in std::iter::once(&THEME).chain(sheets) {
        if let Some(sheet) = sheet(css) {
            list.push(&JsValue::from(sheet));
        }
    }
    shadow.set_adopted_style_sheets(&list);
}

/// The `--ds-*` design tokens (light, dark, auto) every element starts from.
pub(crate) const THEME: &str = include_str!("css/theme.css");

//! The hosted softphone page: mounts the full-screen softphone against the origin that served it.

use leptos::prelude::*;

fn main() {
    console_error_panic_hook::set_once();
    let api_base = ds_web::page_origin().unwrap_or_default();
    leptos::mount::mount_to_body(move || view! { <ds_ui::Softphone api_base=api_base /> });
}

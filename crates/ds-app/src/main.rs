//! The hosted softphone page: mounts [`app::App`] (sign-in, then the full-screen softphone) against
//! the origin that served it.

mod app;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}

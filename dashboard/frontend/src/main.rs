//! The WASM entry point: mount the dashboard, nothing else.

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(pmoc_app::App);
}

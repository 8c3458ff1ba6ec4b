//! Security headers on every response.
//!
//! The content security policy allows scripts only from this origin (no
//! inline script: `index.html` loads `/boot.js`), plus
//! `'wasm-unsafe-eval'`, which is what compiling the app's WebAssembly
//! needs and allows nothing else; `frame-ancestors 'none'` stops the
//! dashboard being framed (clickjacking the alert buttons). API answers are
//! `no-store`: what a role saw must not stay in a shared cache or on disk.

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};

pub const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn secure(path: &str, headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(
        headers,
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if path.starts_with("/api/")
        || path == "/metrics"
        || path.starts_with("/signin")
        || path == "/kiosk"
        || path == "/oidc/callback"
    {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
}

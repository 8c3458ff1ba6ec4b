//! Security headers on every response.
//!
//! The content security policy allows scripts only from this origin (no
//! inline script: `index.html` loads `/boot.js`), plus
//! `'wasm-unsafe-eval'`, which is what compiling the app's WebAssembly
//! needs and allows nothing else; `frame-ancestors 'none'` stops the
//! dashboard being framed (clickjacking the alert buttons). API answers are
//! `no-store`: what a role saw must not stay in a shared cache or on disk.
//! The built front end's files under `/static/<content hash>/` never change
//! under their name, so browsers keep them for a year without asking again;
//! every other page and file is revalidated (`no-cache`), so a new build
//! reaches the wall at its next load.

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
    } else if path.starts_with(STATIC_PREFIX) {
        set(
            headers,
            header::CACHE_CONTROL,
            "public, max-age=31536000, immutable",
        );
    } else {
        set(headers, header::CACHE_CONTROL, "no-cache");
    }
}

/// Where `scripts/build.sh` puts the content-hashed front end.
pub const STATIC_PREFIX: &str = "/static/";

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(path: &str) -> String {
        let mut headers = HeaderMap::new();
        secure(path, &mut headers);
        headers[header::CACHE_CONTROL].to_str().unwrap().to_owned()
    }

    #[test]
    fn hashed_files_are_kept_pages_revalidated_answers_never_stored() {
        assert_eq!(
            cache("/static/16b3c459ae701552/pkg/pmoc_frontend_bg.wasm"),
            "public, max-age=31536000, immutable"
        );
        for page in [
            "/",
            "/wall",
            "/area/province/34",
            "/style.css",
            "/fonts/Loma.ttf",
        ] {
            assert_eq!(cache(page), "no-cache", "{page}");
        }
        for answer in [
            "/api/wall",
            "/api/geo/provinces",
            "/metrics",
            "/signin",
            "/kiosk",
        ] {
            assert_eq!(cache(answer), "no-store", "{answer}");
        }
    }
}

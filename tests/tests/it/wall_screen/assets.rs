//! The built front end as a wall screen fetches it: under a content-hashed
//! path, cached for a year, and compressed once at build time.

use anyhow::Context;
use pmoc_tests::auth::Session;
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING};

fn header(response: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `index.html` is revalidated at every load and names the hashed files;
/// those are immutable and served as built (Brotli, else gzip), and the
/// WASM is what `scripts/build.sh` left after `wasm-opt`.
pub async fn served_hashed_compressed_and_cached(base: &str, who: &Session) -> anyhow::Result<()> {
    let index = who
        .get(&format!("{base}/"))
        .send()
        .await?
        .error_for_status()?;
    assert_eq!(header(&index, CACHE_CONTROL), "no-cache");
    let html = index.text().await?;
    let boot = html
        .split('"')
        .find(|s| s.starts_with("/static/") && s.ends_with("/boot.js"))
        .context("index.html loads /static/<hash>/boot.js")?;
    let dir = boot.trim_end_matches("boot.js");
    let wasm = format!("{base}{dir}pkg/pmoc_frontend_bg.wasm");
    for (accept, encoding) in [("br, gzip", "br"), ("gzip", "gzip"), ("identity", "")] {
        let got = who
            .get(&wasm)
            .header(ACCEPT_ENCODING, accept)
            .send()
            .await?
            .error_for_status()?;
        assert_eq!(header(&got, CONTENT_ENCODING), encoding, "{accept}");
        assert_eq!(
            header(&got, CACHE_CONTROL),
            "public, max-age=31536000, immutable",
            "{accept}"
        );
        let bytes = got.bytes().await?;
        if encoding.is_empty() {
            assert!(bytes.starts_with(b"\0asm"), "a WebAssembly module");
        }
        // The issue's budget: at most 600 KB compressed over the wire.
        if !encoding.is_empty() {
            assert!(
                bytes.len() <= 600 * 1024,
                "{encoding}: {} bytes",
                bytes.len()
            );
        }
    }
    // The API is never cached, whatever the static files are.
    let api = who.get(&format!("{base}/api/wall")).send().await?;
    assert_eq!(header(&api, CACHE_CONTROL), "no-store");
    Ok(())
}

//! Signing in with a browser: through a real OpenID provider (code flow
//! with PKCE) and with a local account, with the real front end.

use std::time::Duration;

use fantoccini::Locator;
use pmoc_tests::{
    auth::browser_sign_in, browser::Browser, dist_dir, oidc::Provider, process::wait_for,
};

use super::Stack;

async fn text(browser: &Browser, css: &str) -> anyhow::Result<String> {
    Ok(browser.client.find(Locator::Css(css)).await?.text().await?)
}

async fn wait_path(browser: &Browser, base: &str, path: &str) -> anyhow::Result<()> {
    wait_for(&format!("at {path}"), Duration::from_secs(20), || async {
        let url = browser.client.current_url().await?.to_string();
        Ok(url
            .strip_prefix(base)
            .is_some_and(|p| p.starts_with(path))
            .then_some(()))
    })
    .await
}

/// Through the provider's own login and consent pages and back.
async fn sign_in_at_provider(browser: &Browser, user: &str) -> anyhow::Result<()> {
    let c = &browser.client;
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("input[name='login']"))
        .await?
        .send_keys(user)
        .await?;
    c.find(Locator::Css("input[name='password']"))
        .await?
        .send_keys("any password: development interactions")
        .await?;
    c.find(Locator::Css("button[type='submit']"))
        .await?
        .click()
        .await?;
    // The consent page (the first sign-in of this client).
    c.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("button.login-submit"))
        .await?
        .click()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_and_local_sign_in_in_the_browser() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let provider = Provider::start(
        dir.path(),
        &format!("{base}/oidc/callback"),
        &[("ops.oidc", "pmoc-ops"), ("stranger", "pmoc-unknown")],
    )
    .await?;
    let dist = dist_dir()?;
    let stack = Stack::start_on(listener, "access_browser", |s| {
        s.dashboard.assets_dir = dist.to_string_lossy().into_owned();
        let o = &mut s.auth.oidc;
        o.issuer = provider.issuer.clone();
        o.client_id = provider.client_id.clone();
        o.client_secret = provider.client_secret.clone();
        o.redirect_url = format!("{base}/oidc/callback");
        o.roles.insert("pmoc-ops".to_owned(), "operator".to_owned());
    })
    .await?;

    // 1. OIDC: a page asks for sign-in, the provider signs in, back to it.
    let browser = Browser::start(dir.path(), 1280, 900).await?;
    browser.client.goto(&format!("{base}/alerts")).await?;
    wait_path(&browser, &base, "/signin").await?;
    browser
        .client
        .find(Locator::Id("signin-oidc"))
        .await?
        .click()
        .await?;
    sign_in_at_provider(&browser, "ops.oidc").await?;
    wait_path(&browser, &base, "/alerts").await?;
    wait_for("signed in as ops.oidc", Duration::from_secs(20), || async {
        let who = text(&browser, "#signed-in").await.unwrap_or_default();
        Ok((who == "ops.oidc · operator").then_some(()))
    })
    .await?;
    browser
        .client
        .wait()
        .for_element(Locator::Css(
            "article[data-alert='a-water-34'] button.resolve",
        ))
        .await?;
    browser.screenshot("signed_in_oidc_alerts").await?;

    // Signing out ends the session: the next page asks for sign-in again.
    browser
        .client
        .find(Locator::Id("sign-out"))
        .await?
        .click()
        .await?;
    wait_path(&browser, &base, "/signin").await?;
    browser.client.goto(&format!("{base}/wall")).await?;
    wait_path(&browser, &base, "/signin").await?;

    // 2. A provider user whose role claim maps to no role is refused.
    // The provider remembers the browser's session (cookies are per host,
    // and both run on 127.0.0.1): forget it to sign in as another user.
    browser.client.delete_all_cookies().await?;
    browser.client.goto(&format!("{base}/signin")).await?;
    browser
        .client
        .find(Locator::Id("signin-oidc"))
        .await?
        .click()
        .await?;
    sign_in_at_provider(&browser, "stranger").await?;
    wait_for("refused", Duration::from_secs(20), || async {
        Ok(browser
            .client
            .find(Locator::Id("signin-problem"))
            .await
            .is_ok()
            .then_some(()))
    })
    .await?;
    stack
        .audited("", "/oidc/callback", "bad_credentials")
        .await?;

    // 3. A local account: a liaison lands on the drill-down, sees no
    // resolve button and no audit link.
    browser.client.delete_all_cookies().await?;
    browser_sign_in(&browser, &base, "wne", "/alerts").await?;
    wait_for("signed in as wne", Duration::from_secs(20), || async {
        Ok(
            (text(&browser, "#signed-in").await.unwrap_or_default() == "wne · water_ne")
                .then_some(()),
        )
    })
    .await?;
    browser
        .client
        .wait()
        .for_element(Locator::Css("article[data-alert='a-water-34']"))
        .await?;
    let resolve = browser
        .client
        .find(Locator::Css(
            "article[data-alert='a-water-34'] button.resolve",
        ))
        .await?;
    assert_eq!(
        resolve.attr("class").await?.unwrap_or_default(),
        "resolve hidden",
        "liaisons acknowledge, operators close"
    );
    let others = browser
        .client
        .find_all(Locator::Css("article[data-alert]"))
        .await?;
    assert_eq!(others.len(), 1, "only the alert in the liaison's scope");
    browser.close().await?;
    stack.stop().await
}

//! Signing in from tests: local accounts written with the server's own
//! store code, and sessions opened through the real sign-in form (over
//! HTTP, or in the browser).

use std::{path::Path, time::Duration};

use anyhow::Context;
use fantoccini::Locator;
use pmoc_schemas::{auth::SessionInfo, config::Settings};
use pmoc_server::auth::{kiosk::Kiosks, local::Accounts};

use crate::{browser::Browser, process::wait_for};

/// Points the settings' account and kiosk stores into `dir`.
pub fn stores_in(settings: &mut Settings, dir: &Path) {
    settings.auth.accounts_file = dir.join("accounts.json").to_string_lossy().into_owned();
    settings.auth.kiosks_file = dir.join("kiosks.json").to_string_lossy().into_owned();
}

/// The password every test account gets (long enough for the rules).
pub fn password_of(user: &str) -> String {
    format!("{user}-correct-horse-battery")
}

/// Adds a local account `user` with `role`.
pub fn add_account(settings: &Settings, user: &str, role: &str) -> anyhow::Result<()> {
    Accounts::add(
        Path::new(&settings.auth.accounts_file),
        user,
        role,
        &password_of(user),
    )?;
    Ok(())
}

/// Enrols a kiosk; returns its token.
pub fn enrol_kiosk(settings: &Settings, name: &str, role: &str) -> anyhow::Result<String> {
    Ok(Kiosks::enrol(
        Path::new(&settings.auth.kiosks_file),
        name,
        role,
    )?)
}

/// A signed-in HTTP client: its session cookie and CSRF token.
#[derive(Debug, Clone)]
pub struct Session {
    /// `name=value`, for a `Cookie` header.
    pub cookie: String,
    pub csrf: String,
    pub info: SessionInfo,
}

/// A client that follows no redirects (the tests look at them).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_default()
}

/// `name=value` of the first `Set-Cookie` whose name ends with `base`.
pub fn set_cookie(response: &reqwest::Response, base: &str) -> Option<String> {
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|kv| kv.split('=').next().is_some_and(|k| k.ends_with(base)))
        .map(str::to_owned)
}

/// The sign-in form's CSRF cookie and field.
pub async fn sign_in_form(base: &str) -> anyhow::Result<(String, String)> {
    let form = http().get(format!("{base}/signin")).send().await?;
    let cookie = set_cookie(&form, "pmoc_signin").context("sign-in cookie")?;
    let html = form.text().await?;
    let csrf = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .context("csrf field")?
        .to_owned();
    Ok((cookie, csrf))
}

/// Posts the sign-in form; returns the raw response.
pub async fn post_sign_in(
    base: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<reqwest::Response> {
    let (cookie, csrf) = sign_in_form(base).await?;
    Ok(http()
        .post(format!("{base}/signin"))
        .header(reqwest::header::COOKIE, cookie)
        .form(&[
            ("user", user),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/"),
        ])
        .send()
        .await?)
}

/// Signs `user` in (password from [`password_of`]) through the form.
pub async fn sign_in(base: &str, user: &str) -> anyhow::Result<Session> {
    let response = post_sign_in(base, user, &password_of(user)).await?;
    anyhow::ensure!(
        response.status() == reqwest::StatusCode::SEE_OTHER,
        "sign-in of {user} answered {}",
        response.status()
    );
    let cookie = set_cookie(&response, "pmoc_session").context("session cookie")?;
    let info: SessionInfo = http()
        .get(format!("{base}/api/session"))
        .header(reqwest::header::COOKIE, &cookie)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Session {
        cookie,
        csrf: info.csrf.clone(),
        info,
    })
}

impl Session {
    pub fn get(&self, url: &str) -> reqwest::RequestBuilder {
        http()
            .get(url)
            .header(reqwest::header::COOKIE, &self.cookie)
    }

    /// A POST with the CSRF header.
    pub fn post(&self, url: &str) -> reqwest::RequestBuilder {
        http()
            .post(url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .header(pmoc_schemas::auth::CSRF_HEADER, &self.csrf)
    }
}

/// Signs `user` in through the browser's sign-in page and waits to land
/// on `next`.
pub async fn browser_sign_in(
    browser: &Browser,
    base: &str,
    user: &str,
    next: &str,
) -> anyhow::Result<()> {
    browser
        .client
        .goto(&format!("{base}/signin?next={next}"))
        .await?;
    let c = &browser.client;
    c.find(Locator::Id("signin-user"))
        .await?
        .send_keys(user)
        .await?;
    c.find(Locator::Id("signin-password"))
        .await?
        .send_keys(&password_of(user))
        .await?;
    c.find(Locator::Id("signin-submit")).await?.click().await?;
    let want = format!("{base}{next}");
    wait_for("signed in", Duration::from_secs(20), || async {
        let url = c.current_url().await?.to_string();
        Ok((url == want).then_some(()))
    })
    .await
    .with_context(|| format!("signing {user} in"))
}

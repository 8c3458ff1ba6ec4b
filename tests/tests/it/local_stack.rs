//! A look at a running local stack (`scripts/up.sh`), for a person: the wall
//! screen and a district drill-down, with every committee's live data.
//! Ignored by default because it needs the stack; run with
//! `PMOC_URL=http://127.0.0.1:8080 cargo test -p pmoc-tests --test it local_stack -- --ignored`.

use std::time::Duration;

use fantoccini::Locator;
use pmoc_tests::{browser::Browser, init_tracing, process::wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the local stack (scripts/up.sh) at PMOC_URL"]
async fn the_running_stack_shows_every_committee() -> anyhow::Result<()> {
    init_tracing();
    let url = std::env::var("PMOC_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
    let dir = tempfile::tempdir()?;
    for (w, h) in [(1920, 1080), (3840, 2160)] {
        let browser = Browser::start(dir.path(), w, h).await?;
        browser
            .client
            .goto(&format!("{url}/wall?focus=water"))
            .await?;
        // Every committee panel shows at least one figure.
        wait_for(
            "four panels with figures",
            Duration::from_secs(60),
            || async {
                let mut live = 0;
                for committee in ["population", "security", "water", "resources"] {
                    let css = format!("article[data-committee='{committee}'] .headline");
                    for h in browser.client.find_all(Locator::Css(&css)).await? {
                        if h.text().await? != "-" {
                            live += 1;
                            break;
                        }
                    }
                }
                Ok((live == 4).then_some(()))
            },
        )
        .await?;
        browser.screenshot(&format!("local_wall_{w}x{h}")).await?;
        browser.close().await?;
    }
    let browser = Browser::start(dir.path(), 1920, 1080).await?;
    browser
        .client
        .goto(&format!(
            "{url}/area/district/3401?range=1h&committee=population"
        ))
        .await?;
    wait_for("the district's charts", Duration::from_secs(30), || async {
        let paths = browser
            .client
            .find_all(Locator::Css("#district-map path[data-district]"))
            .await?;
        Ok((!paths.is_empty()).then_some(()))
    })
    .await?;
    browser.screenshot("local_district_3401").await?;
    browser.close().await?;
    Ok(())
}

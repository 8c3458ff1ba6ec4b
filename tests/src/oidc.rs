//! A real OpenID provider (`oidc-provider` under Node.js) on a free loopback
//! port, for the dashboard's OIDC sign-in test. `scripts/setup.sh`
//! installs the pinned package into the cache (`~/.cache/pmoc/oidc`).

use std::{path::Path, process::Command, time::Duration};

use crate::process::{ChildGuard, free_port, require_binary, wait_http_ok};

/// The package version `scripts/setup.sh` installs.
pub const VERSION: &str = "9.13.3";

#[derive(Debug)]
pub struct Provider {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    _process: ChildGuard,
}

impl Provider {
    /// Starts the provider for one client whose redirect URI is
    /// `redirect_uri`; `roles` maps user names to their `pmoc_role` claim.
    pub async fn start(
        dir: &Path,
        redirect_uri: &str,
        roles: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let node = Path::new("/usr/bin/node");
        require_binary(node, "scripts/setup.sh (apt-get install nodejs npm)")?;
        let modules = crate::cache_dir().join("oidc/node_modules");
        require_binary(
            &modules.join("oidc-provider/package.json"),
            &format!(
                "scripts/setup.sh (npm install oidc-provider@{VERSION} into ~/.cache/pmoc/oidc)"
            ),
        )?;
        let port = free_port()?;
        let roles: serde_json::Map<String, serde_json::Value> = roles
            .iter()
            .map(|(u, r)| ((*u).to_owned(), serde_json::Value::from(*r)))
            .collect();
        let (client_id, client_secret) = ("pmoc-dashboard", "test-only-client-secret");
        let mut command = Command::new(node);
        command
            .arg(crate::repo_root().join("tests/oidc/provider.mjs"))
            .env("PMOC_OIDC_MODULES", &modules)
            .env("PMOC_OIDC_PORT", port.to_string())
            .env("PMOC_OIDC_CLIENT_ID", client_id)
            .env("PMOC_OIDC_CLIENT_SECRET", client_secret)
            .env("PMOC_OIDC_REDIRECT_URI", redirect_uri)
            .env(
                "PMOC_OIDC_ROLES",
                serde_json::Value::Object(roles).to_string(),
            );
        let mut process = ChildGuard::spawn("oidc-provider", command, &dir.join("oidc.log"))?;
        let issuer = format!("http://127.0.0.1:{port}");
        wait_http_ok(
            "oidc-provider discovery",
            &mut process,
            &format!("{issuer}/.well-known/openid-configuration"),
            Duration::from_secs(30),
        )
        .await?;
        Ok(Self {
            issuer,
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            _process: process,
        })
    }
}

//! `pmoc-dashboard accounts ...` and `pmoc-dashboard kiosk ...`: local
//! accounts and wall-screen tokens, managed on the server's machine.
//!
//! Passwords are read from standard input (without echo on a terminal),
//! never from the command line, where `ps` and shell history would show
//! them. `--generate` makes a random one and prints it once instead.

use std::{io::BufRead, path::Path};

use anyhow::Context;
use clap::Subcommand;
use pmoc_schemas::config::Settings;

use crate::auth::{file, kiosk::Kiosks, local::Accounts, session::random_token};

#[derive(Debug, Subcommand)]
pub enum AccountsCommand {
    /// Adds an account; the password comes from standard input.
    Add {
        user: String,
        /// A role of [auth.roles] (operator, executive, or a configured liaison role).
        #[arg(long)]
        role: String,
        /// Generate a password and print it once, instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// Sets a new password (from standard input) and re-enables the account.
    Reset {
        user: String,
        #[arg(long)]
        generate: bool,
    },
    /// Disables an account; its sessions end at their next request.
    Disable { user: String },
    /// Lists accounts (never their hashes).
    List,
}

#[derive(Debug, Subcommand)]
pub enum KioskCommand {
    /// Enrols a wall screen (or replaces its token); prints the token once.
    Enrol {
        name: String,
        /// The role whose view the wall shows (display only in any case).
        #[arg(long, default_value = "executive")]
        role: String,
        /// The dashboard's address as the screen reaches it, for the printed URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Revokes a wall screen's token at once.
    Revoke { name: String },
    /// Lists wall screens (never their tokens).
    List,
}

fn role_exists(settings: &Settings, role: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        settings.auth.roles.contains_key(role),
        "role {role:?} is not in [auth.roles] (known: {})",
        settings
            .auth
            .roles
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn path<'a>(file: &'a str, what: &str) -> anyhow::Result<&'a Path> {
    anyhow::ensure!(
        !file.is_empty(),
        "auth.{what} is empty: no store configured"
    );
    Ok(Path::new(file))
}

/// A password from standard input, or a generated one (printed).
fn password(generate: bool) -> anyhow::Result<String> {
    if generate {
        let p = random_token();
        println!("password: {p}");
        return Ok(p);
    }
    let stdin = std::io::stdin();
    let line = if std::io::IsTerminal::is_terminal(&stdin) {
        rpassword::prompt_password("password: ")?
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        line
    };
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn accounts(settings: &Settings, command: AccountsCommand) -> anyhow::Result<()> {
    let file = path(&settings.auth.accounts_file, "accounts_file")?;
    match command {
        AccountsCommand::Add {
            user,
            role,
            generate,
        } => {
            role_exists(settings, &role)?;
            Accounts::add(file, &user, &role, &password(generate)?)?;
            println!("added {user} ({role}) to {}", file.display());
        }
        AccountsCommand::Reset { user, generate } => {
            Accounts::reset(file, &user, &password(generate)?)?;
            println!("reset {user}");
        }
        AccountsCommand::Disable { user } => {
            Accounts::disable(file, &user)?;
            println!("disabled {user}");
        }
        AccountsCommand::List => {
            let all: Accounts = file::load(file).context("reading accounts")?;
            for (user, a) in &all.accounts {
                let state = if a.disabled { "disabled" } else { "enabled" };
                println!("{user}\t{}\t{state}", a.role);
            }
        }
    }
    Ok(())
}

pub fn kiosk(settings: &Settings, command: KioskCommand) -> anyhow::Result<()> {
    let file = path(&settings.auth.kiosks_file, "kiosks_file")?;
    match command {
        KioskCommand::Enrol { name, role, url } => {
            role_exists(settings, &role)?;
            let token = Kiosks::enrol(file, &name, &role)?;
            println!("kiosk {name} ({role}); open this once on the wall screen:");
            println!("{}/kiosk?token={token}", url.trim_end_matches('/'));
        }
        KioskCommand::Revoke { name } => {
            Kiosks::revoke(file, &name)?;
            println!("revoked {name}");
        }
        KioskCommand::List => {
            let all: Kiosks = file::load(file).context("reading kiosks")?;
            for (name, k) in &all.kiosks {
                let state = if k.revoked { "revoked" } else { "active" };
                println!("{name}\t{}\t{state}", k.role);
            }
        }
    }
    Ok(())
}

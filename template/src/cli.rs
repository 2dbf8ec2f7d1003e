//! The command line: `serve` (the default), `migrate …`, `check-config`.

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::{
    auth::{UserClaims, mint::mint_pair, token::TokenValidator},
    db,
    settings::Settings,
    startup::Application,
};

/// Command line of the service. Settings come from `config/` and `APP__…`
/// variables (see config/default.toml); `APP_ENV` picks the environment.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP until SIGTERM or Ctrl-C.
    Serve,
    /// Manage the database schema.
    Migrate {
        /// Migration action.
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load and check the settings, print a summary (no secrets), and exit.
    CheckConfig,
    /// Mint a token pair with the development secret, as the Auth service would
    /// (only where the development secret is the service's key and it listens
    /// on loopback).
    MintToken(MintArgs),
}

/// Claims of the minted tokens.
#[derive(Debug, clap::Args)]
pub struct MintArgs {
    /// The `user_uuid` claim (stored as the local username).
    #[arg(long, default_value = "dev-user")]
    pub username: String,
    /// E-mail address.
    #[arg(long, default_value = "dev-user@example.com")]
    pub email: String,
    /// First name.
    #[arg(long, default_value = "")]
    pub first_name: String,
    /// Last name.
    #[arg(long, default_value = "")]
    pub last_name: String,
    /// Set the staff flag.
    #[arg(long)]
    pub staff: bool,
    /// Set the superuser flag.
    #[arg(long)]
    pub superuser: bool,
}

/// `migrate` actions.
#[derive(Debug, Clone, Copy, Subcommand)]
pub enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Roll back the last `steps` migrations.
    Down {
        /// How many migrations to roll back.
        #[arg(default_value_t = 1)]
        steps: u32,
    },
    /// Show which migrations are applied.
    Status,
    /// Drop every table and apply all migrations again (local and test only).
    Fresh,
}

/// Runs `cli` with `settings`.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings).await?;
            app.run_until_stopped().await.context("server failed")?;
        }
        Command::Migrate { action } => {
            if matches!(action, MigrateAction::Fresh) && !settings.environment.is_development() {
                bail!(
                    "`migrate fresh` drops every table; it is refused in environment `{}`",
                    settings.environment.name()
                );
            }
            let db = db::connect(&settings.database).await?;
            match action {
                MigrateAction::Up => db::migrate(&db, &settings.database).await,
                MigrateAction::Down { steps } => Migrator::down(&db, Some(steps)).await,
                MigrateAction::Status => Migrator::status(&db).await,
                MigrateAction::Fresh => Migrator::fresh(&db).await,
            }
            .map_err(|e| {
                anyhow::anyhow!(
                    "migration failed: {}",
                    settings.database.redact(&e.to_string())
                )
            })?;
        }
        Command::MintToken(args) => mint_token(&settings, args)?,
        Command::CheckConfig => {
            let auth = &settings.auth;
            // Loading the keys (and fetching a key set) is the one check that
            // settings parsing leaves to start-up.
            let keys = TokenValidator::new(auth)?.keys().check().await?;
            println!("environment:   {}", settings.environment.name());
            println!(
                "listen:        {}:{}",
                settings.server.host, settings.server.port
            );
            println!("login_url:     {}", auth.login_url);
            println!("own_url:       {}", auth.own_url);
            println!(
                "cookies:       {} / {}",
                auth.access_cookie, auth.refresh_cookie
            );
            println!("algorithms:    {:?}", auth.algorithms);
            println!(
                "issuer:        {}",
                auth.issuer.as_deref().unwrap_or("(not checked)")
            );
            println!(
                "audience:      {}",
                auth.audience.as_deref().unwrap_or("(not checked)")
            );
            println!("keys:          {keys}");
            println!("database:      {}", settings.database.url_for_display());
            match settings.metrics.port {
                Some(port) => println!(
                    "metrics:       http://{}:{port}/metrics",
                    settings.metrics.host
                ),
                None => println!("metrics:       off (metrics.port unset)"),
            }
            println!("settings are valid");
        }
    }
    Ok(())
}

/// Prints a token pair as a `Cookie:` header and as a bearer header.
fn mint_token(settings: &Settings, args: MintArgs) -> anyhow::Result<()> {
    settings
        .check_development_signing()
        .context("`mint-token` is refused")?;
    let claims = UserClaims {
        username: args.username,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        is_staff: args.staff,
        is_superuser: args.superuser,
        // Minting stamps its own `iat`.
        issued_at: 0,
    };
    let tokens = mint_pair(&settings.auth, &claims, settings.dev_login.lifetimes())?;
    let auth = &settings.auth;
    println!(
        "Cookie: {}={}; {}={}",
        auth.access_cookie, tokens.access, auth.refresh_cookie, tokens.refresh
    );
    println!("Authorization: Bearer {}", tokens.access);
    Ok(())
}

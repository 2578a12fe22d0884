//! `access-reviews`: serve the API, apply migrations, or mint a development
//! token. Configuration comes from the environment (see the README).

use std::process::ExitCode;

use access_reviews_server::config::{
    self, AuthConfig, ConfigError, LogFormat, ServeConfig, Settings,
};
use access_reviews_server::token::{RsaSigner, Signer, TokenRequest, mint};
use access_reviews_server::{Application, connect, migrate};
use access_reviews_server::{healthcheck, log_writer};
use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use uuid::Uuid;

/// mimalloc rather than the system's allocator: glibc's malloc and free
/// were a tenth of the service's CPU under load (measured).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Microsoft Graph compatible access reviews, self-hosted.
#[derive(Parser)]
#[command(name = "access-reviews", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (the default).
    Serve {
        /// Do not apply pending migrations first.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Ask the running service's /readyz (at LISTEN_ADDR's port); exit 0
    /// when it is ready. For container health checks.
    Healthcheck,
    /// Print a signed development token: HS256 with AUTH_HS256_SECRET, or
    /// RS256 with --private-key (whose key set --print-jwks prints).
    Token {
        /// Sign RS256 with this RSA private key (PEM).
        #[arg(long)]
        private_key: Option<std::path::PathBuf>,
        /// The key id to name (default: the key's RFC 7638 thumbprint).
        #[arg(long, requires = "private_key")]
        kid: Option<String>,
        /// Print the key set for --private-key instead of a token.
        #[arg(long, requires = "private_key")]
        print_jwks: bool,
        /// Delegated scopes, space separated (makes a delegated token).
        #[arg(long)]
        scp: Option<String>,
        /// Application roles, comma separated (makes an application token
        /// when --scp is absent).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Object id of the caller (default: a new GUID).
        #[arg(long)]
        oid: Option<Uuid>,
        /// Directory role template ids, comma separated.
        #[arg(long, value_delimiter = ',')]
        wids: Vec<String>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: i64,
    },
}

/// Log lines go to stderr through [`log_writer`]: gathered in memory and
/// written by a thread of their own every few milliseconds, so that a
/// request pays neither a `write` nor a wake-up of that thread; none is
/// dropped. The guard writes what is left when dropped.
fn init_logging(format: LogFormat) -> anyhow::Result<log_writer::FlushGuard> {
    let (writer, guard) =
        log_writer::batched(std::io::stderr()).context("cannot start the log's writer thread")?;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        // The request's span once, not again as a one-element list: the
        // formatter serialises each span it prints afresh, per line.
        LogFormat::Json => builder.json().with_span_list(false).init(),
        LogFormat::Pretty => builder.init(),
    }
    Ok(guard)
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}

async fn run(command: Command, settings: &Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { no_migrate } => {
            let config = ServeConfig::from_env(settings)?;
            let app = Application::build(&config, !no_migrate).await?;
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let pool = connect(&config::database_url(settings)?).await?;
            migrate(&pool).await?;
            pool.close().await;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::Healthcheck => {
            let address = config::listen_addr(settings)?;
            healthcheck::check(
                healthcheck::target(address),
                std::time::Duration::from_secs(5),
            )
            .await
        }
        Command::Token {
            private_key,
            kid,
            print_jwks,
            scp,
            roles,
            oid,
            wids,
            name,
            ttl,
        } => {
            let signer = match private_key {
                Some(path) => {
                    let pem = std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {}", path.display()))?;
                    let rsa = RsaSigner::from_pem(&pem, kid)
                        .with_context(|| format!("cannot sign with {}", path.display()))?;
                    if print_jwks {
                        println!("{}", rsa.key_set());
                        return Ok(());
                    }
                    Signer::Rs256(Box::new(rsa))
                }
                None => {
                    let secret = AuthConfig::from_env(settings)?
                        .hs256_secret
                        .ok_or(ConfigError::Missing("AUTH_HS256_SECRET"))?;
                    Signer::Hs256(secret.expose().to_vec())
                }
            };
            let (issuer, audience) = config::first_issuer_and_audience(settings)?;
            let token = mint(
                &signer,
                &TokenRequest {
                    issuer,
                    audience,
                    scp,
                    roles,
                    oid: oid.unwrap_or_else(Uuid::new_v4),
                    wids,
                    name,
                    ttl_seconds: ttl,
                },
            )?;
            println!("{token}");
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match LogFormat::from_env(&cli.settings) {
        Ok(format) => format,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let logging = match init_logging(format) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let result = run(
        cli.command.unwrap_or(Command::Serve { no_migrate: false }),
        &cli.settings,
    )
    .await;
    // The log's last lines before the error's.
    drop(logging);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

//! A real PostgreSQL for integration tests, started through testcontainers.
//!
//! One container serves a whole test process (starting one takes seconds;
//! creating a database takes milliseconds) and every test gets a database
//! of its own, so tests neither see each other's rows nor depend on order.
//!
//! The image comes from `TEST_POSTGRES_IMAGE` (`name:tag`), by default the
//! official `postgres` image. Machines without a registry build a
//! compatible image locally (`scripts/build-postgres-image.sh`) and name it
//! there.
//!
//! The container outlives any one test's runtime, so nothing drops it; a
//! companion `sh` process removes it when this process exits, however it
//! exits, because its standard input (held open here) then reaches EOF.
#![allow(clippy::expect_used, clippy::panic)]

pub mod keys;

use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use sqlx::{Connection, PgConnection};
use testcontainers_modules::postgres::Postgres;
use testcontainers_modules::testcontainers::ImageExt;
use testcontainers_modules::testcontainers::runners::AsyncRunner;

/// The image used when `TEST_POSTGRES_IMAGE` is not set.
pub const DEFAULT_IMAGE: &str = "postgres:15";

const USER: &str = "test";
const PASSWORD: &str = "test";

struct Server {
    host: String,
    port: u16,
    /// Kept for its open standard input; see the module docs.
    _reaper: Mutex<Child>,
}

static SERVER: OnceLock<Result<Server, String>> = OnceLock::new();

fn image() -> (String, String) {
    let image = std::env::var("TEST_POSTGRES_IMAGE").unwrap_or_else(|_| DEFAULT_IMAGE.into());
    match image.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (image, "latest".to_owned()),
    }
}

fn start_server() -> Result<Server, String> {
    let (name, tag) = image();
    // The container handle must be created (and later used) on a runtime
    // that lives as long as needed; tests each have their own short-lived
    // runtime, so start it from a thread with one of its own.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot build a runtime: {e}"))?;
        runtime.block_on(async {
            let container = Postgres::default()
                .with_user(USER)
                .with_password(PASSWORD)
                .with_db_name("postgres")
                .with_name(name.clone())
                .with_tag(tag.clone())
                // pg_stat_statements: the tests that count round trips.
                .with_cmd([
                    "-c",
                    "fsync=off",
                    "-c",
                    "max_connections=300",
                    "-c",
                    "shared_preload_libraries=pg_stat_statements",
                ])
                .start()
                .await
                .map_err(|e| {
                    format!(
                        "cannot start PostgreSQL from image {name}:{tag} (is Docker running? \
                         without a registry, build it with scripts/build-postgres-image.sh and \
                         set TEST_POSTGRES_IMAGE): {e}"
                    )
                })?;
            let host = container
                .get_host()
                .await
                .map_err(|e| e.to_string())?
                .to_string();
            let port = container
                .get_host_port_ipv4(5432)
                .await
                .map_err(|e| e.to_string())?;
            let reaper = Command::new("sh")
                .args(["-c", "read -r _; docker rm -f -v \"$0\"", container.id()])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("cannot start the container reaper: {e}"))?;
            // The reaper owns the container's removal from here on.
            std::mem::forget(container);
            Ok(Server {
                host,
                port,
                _reaper: Mutex::new(reaper),
            })
        })
    })
    .join()
    .map_err(|_| "the container start-up thread panicked".to_owned())?
}

/// Creates an empty database on the shared server and returns its URL.
///
/// # Panics
/// When no container can be started or the database cannot be created: an
/// integration test must fail loudly rather than skip.
pub async fn fresh_database() -> String {
    let server = match SERVER.get_or_init(start_server) {
        Ok(server) => server,
        Err(e) => panic!("{e}"),
    };
    let base = format!(
        "postgres://{USER}:{PASSWORD}@{}:{}",
        server.host, server.port
    );
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(&format!("{base}/postgres"))
        .await
        .expect("connect to the test server");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create a test database");
    admin.close().await.ok();
    format!("{base}/{name}")
}

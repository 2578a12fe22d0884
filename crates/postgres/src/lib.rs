//! The PostgreSQL adapter: implements the domain's repository ports with
//! sqlx. It is the only crate that knows SQL or `sqlx::Error`.
//!
//! - [`MIGRATOR`] holds the schema (`migrations/` at the workspace root);
//!   the server and the tests apply the same set.
//! - [`PgRepository`] implements every repository port over one pool.
//!   Writes that touch several rows are one transaction; the stop is guarded
//!   so that of concurrent stops exactly one commits.
//! - [`PgTestClock`] is the test clock: real time plus an offset that every
//!   replica reads from the database.

mod decisions;
mod directory;
mod error;
mod lifecycle;
mod records;
mod repository;

pub use lifecycle::PgTestClock;
pub use repository::PgRepository;

use sqlx::migrate::Migrator;

/// The schema migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

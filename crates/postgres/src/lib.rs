//! The PostgreSQL adapter: implements the domain's repository ports with
//! sqlx. It is the only crate that knows SQL or `sqlx::Error`.
//!
//! - [`MIGRATOR`] holds the schema (`migrations/` at the workspace root);
//!   the server and the tests apply the same set.
//! - [`PgRepository`] implements every repository port over one pool, one
//!   module per port: `definitions`, `instances`, `stages` (the guarded
//!   stop), `decisions`, `directory`, `lifecycle` (due work, leases, the end
//!   and start of instances, applying decisions).
//! - `reads` implements the path reads (one statement per read, the
//!   rights' inputs included); `stages` reads a stop's inputs in one
//!   statement and commits it in one call of `ar_stop_stage`.
//! - `writes` holds the statements several ports' transactions share,
//!   `rules` the SQL forms of domain rules (each names the rule it
//!   mirrors), `paging` the one-query pages, `records` the JSON columns.
//!   Writes that touch several rows are one transaction; every transition
//!   of an instance takes the instance's row lock first.
//! - `audit` is the audit log (`directory_audits`, append-only); `history`
//!   the review history definitions and their download links.
//! - `warm` keeps the request path's connections between requests, so
//!   that a read costs one round trip, not a second for the pool's test
//!   of the connection given back.
//! - [`PgTestClock`] is the test clock: real time plus an offset that every
//!   replica reads from the database.

mod audit;
mod clock;
mod decisions;
mod definitions;
mod directory;
mod error;
mod history;
mod instances;
mod lifecycle;
mod paging;
mod reads;
mod records;
mod repository;
mod rules;
mod stages;
mod warm;
mod writes;

pub use clock::PgTestClock;

/// The session settings this adapter's statements are written for, on top
/// of `url`'s: `jit = off`. The statements are short and run often; the
/// planner's estimate for the larger ones (a stop's context, a carry-over
/// of many items) crosses PostgreSQL's JIT threshold, and compiling them
/// cost a 100,000-item stop more than 0.5 s (the context read alone went
/// from under 1 ms to 350 ms).
///
/// # Errors
/// When `url` is not a PostgreSQL URL.
pub fn connect_options(url: &str) -> Result<sqlx::postgres::PgConnectOptions, sqlx::Error> {
    use std::str::FromStr as _;
    Ok(sqlx::postgres::PgConnectOptions::from_str(url)?.options([("jit", "off")]))
}
pub use repository::PgRepository;

use sqlx::migrate::Migrator;

/// The schema migrations, embedded at compile time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

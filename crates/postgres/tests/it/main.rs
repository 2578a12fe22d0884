//! The PostgreSQL adapter against a real PostgreSQL: one test binary, so
//! one container, and a fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod decisions;
mod lifecycle;
mod reads;
mod repository;
mod warm;

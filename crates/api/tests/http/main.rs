//! The router driven in-process over in-memory fakes of the ports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod audit;
mod common;
mod lifecycle;
mod people;
mod reviews;
mod rs256;
mod surface;
mod throttling;

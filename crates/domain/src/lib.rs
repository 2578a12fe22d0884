//! The access review domain: definitions, instances and stages of Microsoft
//! Graph's access reviews, the rules that govern them, and the use cases the
//! HTTP adapter calls.
//!
//! This crate knows no database, HTTP framework, async runtime or JSON. What
//! it needs from the outside world it asks through the traits in [`ports`];
//! adapters implement them and the composition root wires them together.
//!
//! Layout:
//! - [`ids`], [`status`]: identifiers and the shared lifecycle status;
//! - [`definition`], [`instance`], [`stage`]: the entities and their
//!   validated inputs; a stage's status is a state machine;
//! - [`actor`]: who calls, and what their directory roles let them do;
//! - [`directory`]: users and groups, who is reviewed and who reviews;
//! - [`decision`]: decision items, decisions, reviewer rules and the
//!   rule that carries items from one stage to the next;
//! - [`schedule`]: recurrence: when instances start;
//! - [`stop`]: the transition a stage stop computes, committed as a whole;
//! - [`lifecycle`]: the review in time: the end of an instance, default
//!   decisions, applying decisions;
//! - [`ports`]: repository and clock ports;
//! - [`use_cases`]: one struct per operation, each with a typed error.
#![warn(missing_docs)]

pub mod actor;
pub mod audit;
pub mod decision;
pub mod definition;
pub mod directory;
pub mod history;
pub mod ids;
pub mod instance;
pub mod lifecycle;
pub mod ports;
pub mod queries;
pub mod query;
pub mod schedule;
pub mod stage;
pub mod status;
pub mod stop;
pub mod use_cases;

#[cfg(any(test, feature = "testing"))]
pub mod testing;

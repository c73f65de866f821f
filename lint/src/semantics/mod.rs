//! The semantic model every rule asks questions of: what a type is, what a call may reach,
//! which external APIs the analysis knows.
//!
//! Layering: this module tree sits above the per-file facts (`crate::facts`: item tree and
//! bodies) and the workspace index (`crate::index`: modules, name resolution, impls), and below
//! the rules. The `#[cfg]` predicates it evaluates are parsed below the facts
//! ([`crate::cfg`]), like rust-analyzer's `cfg` crate. Nothing here knows a rule: a rule reads the call graph's edges, the inferred types
//! and the [`known`] tables, and decides what is a finding.
//!
//! - [`qualname`]: the one qualified-path type (matching a resolved path against a pattern);
//! - [`known`]: the one table of external APIs known by name;
//! - [`ty`]: [`ty::Ty`], what an expression is known to be, and the lowering of written types;
//! - [`walk`]: the order a body runs in, as the call graph models it (awaited calls, closures
//!   and async blocks run in place, spawned work off the path);
//! - [`callgraph`]: per-function summaries (outgoing edges, unresolved calls), built lazily;
//! - [`reach`]: the listener entry points, a search over the call graph from a set of roots
//!   along the edges a rule follows, and the chains that reach a function;
//! - [`callers`]: the functions that may reach a call named by some words, found backwards
//!   from the bodies that name them (so a search from every async fn reads only what can lead
//!   to a finding).

pub mod callers;
pub mod callgraph;
pub mod known;
pub mod qualname;
pub mod reach;
pub mod ty;
pub mod walk;

//! Integration tests of vigil-cases: one binary, a module per area.

// The oracles index matrices by row and column on purpose: they read like the maths.
#![allow(clippy::needless_range_loop)]

mod dedup;
mod demo;
mod fixture;
mod geo;
mod intake;
mod network;
mod stats;
mod validate;
mod xlsx;

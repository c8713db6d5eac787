//! Integration tests of vigil-exchange's public API (one test binary, a module per format).

mod alloc;
mod ncmec;
mod plain;
mod pytx;
mod strategies;
mod vics;

#[global_allocator]
static ALLOC: alloc::Counting = alloc::Counting;

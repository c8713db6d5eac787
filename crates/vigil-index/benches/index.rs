//! What's measured: nothing yet (placeholder; the benchmark lands in the next commit).
//!
//! Run with: `cargo bench -p vigil-index --bench index`

fn main() {}

//! Media decoding (stub).

//! basics

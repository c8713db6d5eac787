//! orientation

//! Integration tests of vigil-media: fixture exactness against Pillow-derived expectations,
//! hostile inputs, EXIF orientation, and a no-panic property test.

mod basics;
mod fixtures;
mod hostile;
mod orientation;
mod props;
mod util;

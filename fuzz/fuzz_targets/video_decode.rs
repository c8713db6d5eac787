//! The container path: arbitrary bytes through vigil-video's demux, decode and hash with small
//! limits and a short time budget. On success the frames must respect the limits and be in
//! order; on failure the error must name the input. FFmpeg itself is not instrumented (the
//! system libraries); this exercises Vigil's I/O callbacks, limits and error paths around it.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use vigil_video::{Limits, Options, Sampling, hash_bytes};

fuzz_target!(|data: &[u8]| {
    let opts = Options {
        sampling: if data.first().is_some_and(|b| b & 1 == 1) {
            Sampling::EveryFrame
        } else {
            Sampling::SecondsPerHash(0.1)
        },
        hash_threads: 1,
        decode_threads: 1,
        // Both paths: every frame decoded, and unneeded frames left out (with its fallback);
        // chosen by the length, so that a seed file need not change a byte to take either.
        skip_unneeded: data.len() % 2 == 1,
        limits: Limits {
            max_file_bytes: 1 << 20,
            max_pixels: 1 << 16,
            max_frames: 500,
            max_duration: Duration::from_secs(60),
            max_frame_rate: 1000.0,
            time_budget: Duration::from_secs(2),
        },
    };
    match hash_bytes(data, "fuzz", &opts) {
        Ok(v) => {
            assert!(v.info.decoded_frames >= 1 && v.info.decoded_frames <= 500);
            assert!(v.info.skipped_frames < v.info.decoded_frames);
            assert!(u64::from(v.info.width) * u64::from(v.info.height) <= 1 << 16);
            assert!(v.frames.windows(2).all(|w| w[0].number < w[1].number));
        }
        Err(e) => assert_eq!(e.name(), "fuzz", "error does not name the input: {e}"),
    }
});

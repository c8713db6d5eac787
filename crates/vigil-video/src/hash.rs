//! Hashing a video: decode (`decode.rs`), then PDQ of every sampled frame with `vigil-pdq`'s core,
//! as the vPDQ reference's `PDQFrameBufferHasher` does: float32 luma from RGB24, the full
//! resolution core (no 512×512 pre-resize, no dihedrals), a zero hash of quality 0 for a frame
//! with a side under 5 pixels.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek};
use std::path::Path;
use std::sync::{Mutex, mpsc};
use std::time::Duration;

use vigil_pdq::{Hasher, Image, Mode};

use crate::decode::{Decoded, RgbFrame, VideoInfo, decode};
use crate::{Error, Frame};

/// Which frames are hashed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sampling {
    /// Every decoded frame (the reference command line's default, `-r 0`, and the upstream
    /// sample hashes).
    EveryFrame,
    /// One frame every this many seconds, as the reference computes it: frame `n` is hashed when
    /// `n % (int)(seconds * frame_rate) == 0` (0 made 1). python-threatexchange (and so HMA)
    /// hashes with `1.0`: one frame a second.
    SecondsPerHash(f64),
}

impl Default for Sampling {
    /// python-threatexchange's: one frame a second.
    fn default() -> Self {
        Sampling::SecondsPerHash(1.0)
    }
}

/// Bounds on what one video may cost. Checked before allocation where the container declares
/// the figure (frame size, duration), and again while decoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Largest file accepted, in bytes (checked by the `hash_file`/`hash_bytes` entry points).
    pub max_file_bytes: u64,
    /// Largest frame, in pixels (width × height), declared or decoded; also given to the decoder
    /// (`max_pixels`) so it refuses bigger frames before allocating them.
    pub max_pixels: u64,
    /// Most frames decoded (every frame counts, sampled or not).
    pub max_frames: u64,
    /// Longest video, declared by the container or reached by frame number / frame rate.
    pub max_duration: Duration,
    /// Highest frame rate accepted (frames per second); the lowest is one frame an hour.
    pub max_frame_rate: f64,
    /// Wall-clock time one video may take, opening and probing included; every blocking read is
    /// interrupted when it runs out.
    pub time_budget: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 16 << 30,
            // 8K UHD (7680×4320) and a little more.
            max_pixels: 40_000_000,
            // 6 hours at 60 frames a second.
            max_frames: 1_296_000,
            max_duration: Duration::from_secs(6 * 3600),
            max_frame_rate: 1000.0,
            time_budget: Duration::from_secs(3600),
        }
    }
}

/// How to hash a video.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    pub sampling: Sampling,
    /// Threads hashing frames while the calling thread decodes (1: hash on the calling thread).
    pub hash_threads: usize,
    /// Threads the decoder may use (1: single-threaded; more: FFmpeg's frame and slice
    /// threading, which give the same pixels).
    pub decode_threads: usize,
    /// When sampling takes fewer than every frame, leave undecoded the frames that are not
    /// sampled and that no other frame refers to (FFmpeg's `AVDISCARD_NONREF`, packet by
    /// packet). The sampled frames and their numbers are the same as with every frame decoded:
    /// nothing is built from a skipped frame, and frame numbers come from the packets'
    /// timestamps, checked as the pass goes; where the check fails the video is decoded again,
    /// every frame. On by default; off is for comparisons.
    pub skip_unneeded: bool,
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sampling: Sampling::default(),
            hash_threads: 1,
            decode_threads: 1,
            skip_unneeded: true,
            limits: Limits::default(),
        }
    }
}

/// A hashed video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoHash {
    /// The hashed frames in frame order: the vPDQ signal.
    pub frames: Vec<Frame>,
    /// Container, codec, size, frame rate and decoded frame count.
    pub info: VideoInfo,
}

impl VideoHash {
    /// Seconds covered: the decoded frames over the frame rate.
    pub fn duration(&self) -> f64 {
        self.info.decoded_frames as f64 / self.info.frame_rate
    }
}

/// Hashes a video file. The file is read through Vigil's own I/O (FFmpeg opens nothing).
pub fn hash_file(path: &Path, options: &Options) -> Result<VideoHash, Error> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|source| Error::Read {
        name: name.clone(),
        source,
    })?;
    let len = file
        .metadata()
        .map_err(|source| Error::Read {
            name: name.clone(),
            source,
        })?
        .len();
    check_size(&name, len, &options.limits)?;
    hash_reader(BufReader::with_capacity(1 << 16, file), &name, options)
}

/// Hashes a video held in memory (an upload); `name` names it in errors.
pub fn hash_bytes(bytes: &[u8], name: &str, options: &Options) -> Result<VideoHash, Error> {
    check_size(name, bytes.len() as u64, &options.limits)?;
    hash_reader(Cursor::new(bytes), name, options)
}

fn check_size(name: &str, len: u64, limits: &Limits) -> Result<(), Error> {
    if len == 0 {
        return Err(Error::Empty {
            name: name.to_string(),
        });
    }
    if len > limits.max_file_bytes {
        return Err(Error::FileTooLarge {
            name: name.to_string(),
            bytes: len,
            max: limits.max_file_bytes,
        });
    }
    Ok(())
}

fn hash_one(hasher: &mut Hasher, frame: &RgbFrame, pass: u8) -> (u8, u64, vigil_pdq::Pdq) {
    let pdq = match Image::rgb8(&frame.rgb, frame.width, frame.height) {
        Ok(img) => hasher.hash_mode(&img, Mode::Full),
        // Unreachable: the decoder packs exactly width × height × 3 bytes.
        Err(_) => vigil_pdq::Pdq {
            hash: vigil_core::Hash256::default(),
            quality: 0,
        },
    };
    (pass, frame.number, pdq)
}

/// Hashes a video read from `reader` (any `Read + Seek`: a file, a cursor over bytes).
pub fn hash_reader<R: Read + Seek>(
    reader: R,
    name: &str,
    options: &Options,
) -> Result<VideoHash, Error> {
    let threads = options.hash_threads.max(1);
    // (pass, frame number, hash): frames of a void pass are dropped below.
    let mut hashed: Vec<(u8, u64, vigil_pdq::Pdq)> = Vec::new();
    let Decoded { info, pass } = if threads == 1 {
        let mut hasher = Hasher::new();
        decode(
            reader,
            name,
            options.sampling,
            &options.limits,
            options.decode_threads,
            options.skip_unneeded,
            |frame, pass| {
                hashed.push(hash_one(&mut hasher, &frame, pass));
                Ok(())
            },
        )?
    } else {
        // The calling thread decodes; `threads` workers hash. The channel is bounded, so at most
        // 2 × threads converted frames wait in memory.
        let (tx, rx) = mpsc::sync_channel::<(RgbFrame, u8)>(threads * 2);
        let rx = Mutex::new(rx);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    let rx = &rx;
                    scope.spawn(move || {
                        let mut hasher = Hasher::new();
                        let mut out = Vec::new();
                        loop {
                            let next = rx.lock().map(|r| r.recv());
                            match next {
                                Ok(Ok((frame, pass))) => {
                                    out.push(hash_one(&mut hasher, &frame, pass))
                                }
                                _ => return out,
                            }
                        }
                    })
                })
                .collect();
            let info = decode(
                reader,
                name,
                options.sampling,
                &options.limits,
                options.decode_threads,
                options.skip_unneeded,
                |frame, pass| {
                    tx.send((frame, pass)).map_err(|_| Error::Internal {
                        name: name.to_string(),
                        message: "a hashing thread stopped".to_string(),
                    })
                },
            );
            drop(tx);
            for w in workers {
                match w.join() {
                    Ok(out) => hashed.extend(out),
                    Err(p) => std::panic::resume_unwind(p),
                }
            }
            info
        })?
    };
    hashed.retain(|(p, _, _)| *p == pass);
    hashed.sort_unstable_by_key(|(_, n, _)| *n);
    let fps = info.frame_rate as f32;
    let frames = hashed
        .into_iter()
        .map(|(_, number, pdq)| Frame {
            number,
            quality: pdq.quality,
            hash: pdq.hash,
            // The reference: `static_cast<float>(frameNumber) / framerate`, both float32.
            timestamp: f64::from(number as f32 / fps),
        })
        .collect();
    Ok(VideoHash { frames, info })
}

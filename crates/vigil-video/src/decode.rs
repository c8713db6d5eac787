//! Demuxing and decoding with the FFmpeg libraries, frame selection and RGB24 conversion as the
//! vPDQ reference does them (`vpdq/cpp/vpdq/cpp/hashing/{ffmpegwrapper,filehasher}.cpp`):
//!
//! * the **first** video stream of the container (not FFmpeg's "best" one);
//! * frame rate: the stream's `avg_frame_rate`, else its `r_frame_rate`;
//! * frame number: the count of frames the decoder has returned, minus one (what the reference
//!   reads from `AVCodecContext::frame_number`); frames are taken when `number % frame_mod == 0`
//!   with `frame_mod = (int)(seconds_per_hash * frame_rate)`, 0 made 1;
//! * each taken frame is converted by `sws_scale` to RGB24 at the stream's own size with the
//!   flag `SWS_AREA` and nothing else, then packed (row padding removed) for the PDQ core;
//! * packets are read until `av_read_frame` stops, then the decoder is drained.
//!
//! Where Vigil differs, it is for safety: input is read through our own I/O callbacks (a file or
//! bytes in memory; media is never written anywhere), the container must be one of
//! [`ALLOWED_FORMATS`] (no playlists or other formats that open further files or URLs), no
//! protocol may be opened, every blocking call is interrupted at the time budget, frame size and
//! count, duration and frame rate are limited, and a demuxer or decoder error is reported as a
//! corrupt file (the reference stops quietly and keeps what it had). The scaler is made from the
//! first decoded frame's size and format (the reference makes it from the codec context before
//! decoding; the two are the same unless a stream changes size mid-way, which the reference does
//! not handle and Vigil does, by making a new scaler).

use std::ffi::{CStr, CString, c_int, c_void};
use std::io::{Read, Seek, SeekFrom};
use std::ptr;
use std::sync::Once;
use std::time::Instant;

use ff::ffi;
use ffmpeg_next as ff;

use crate::{Error, Limits, Sampling};

/// Demuxers Vigil opens (FFmpeg names; a demuxer whose name list contains one of these is
/// allowed). Self-contained video files only: no `hls`, `dash`, `concat`, `image2` or other
/// demuxers that read further files or URLs.
pub const ALLOWED_FORMATS: &str = "mov,mp4,matroska,webm,avi,flv,mpegts,mpeg,asf,ogg,h264,hevc,m4v,mpegvideo,ivf,obu,mxf,rm,nut,wtv,h263";

const IO_BUFFER: usize = 64 * 1024;

/// What the decoder learned about a video.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoInfo {
    /// FFmpeg's demuxer name (`mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`, …).
    pub container: String,
    /// FFmpeg's codec name (`h264`, `vp9`, …).
    pub codec: String,
    /// Frame width and height in pixels, as the container declares them.
    pub width: u32,
    pub height: u32,
    /// Frames per second used for sampling and timestamps.
    pub frame_rate: f64,
    /// Every frame of the video (not only the sampled ones): the frames the decoder returned,
    /// and those it was told to leave out.
    pub decoded_frames: u64,
    /// Frames left out, neither sampled nor referred to by other frames (see
    /// `Options::skip_unneeded`); they count in `decoded_frames`.
    pub skipped_frames: u64,
}

/// One sampled frame, converted to packed RGB24.
pub(crate) struct RgbFrame {
    pub(crate) number: u64,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) rgb: Vec<u8>,
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        // FFmpeg's own log would print to stderr from inside the library; errors reach the
        // caller through return values instead.
        unsafe { ffi::av_log_set_level(ffi::AV_LOG_QUIET) };
    });
}

struct IoState<R> {
    reader: R,
    error: Option<std::io::Error>,
}

struct Deadline {
    at: Instant,
}

unsafe extern "C" fn read_cb<R: Read>(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: `opaque` is the `IoState<R>` boxed by `Demuxer::open`, alive until the
        // AVIOContext is freed; FFmpeg hands a buffer of `size` writable bytes.
        let state = unsafe { &mut *(opaque as *mut IoState<R>) };
        let buf = unsafe { std::slice::from_raw_parts_mut(buf, size.max(0) as usize) };
        loop {
            match state.reader.read(buf) {
                Ok(0) => return ffi::AVERROR_EOF,
                Ok(n) => return n as c_int,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    state.error = Some(e);
                    return ffi::AVERROR(ffi::EIO);
                }
            }
        }
    }));
    result.unwrap_or(ffi::AVERROR(ffi::EIO))
}

unsafe extern "C" fn seek_cb<R: Seek>(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: as in `read_cb`.
        let state = unsafe { &mut *(opaque as *mut IoState<R>) };
        let whence = whence & !(ffi::AVSEEK_FORCE as c_int);
        let r = if whence == ffi::AVSEEK_SIZE as c_int {
            (|| {
                let here = state.reader.stream_position()?;
                let end = state.reader.seek(SeekFrom::End(0))?;
                state.reader.seek(SeekFrom::Start(here))?;
                Ok(end)
            })()
        } else {
            let to = match whence {
                0 => u64::try_from(offset).map(SeekFrom::Start).ok(),
                1 => Some(SeekFrom::Current(offset)),
                2 => Some(SeekFrom::End(offset)),
                _ => None,
            };
            match to {
                Some(to) => state.reader.seek(to),
                None => return i64::from(ffi::AVERROR(ffi::EINVAL)),
            }
        };
        match r {
            Ok(p) => i64::try_from(p).unwrap_or(i64::from(ffi::AVERROR(ffi::EINVAL))),
            Err(e) => {
                state.error = Some(e);
                i64::from(ffi::AVERROR(ffi::EIO))
            }
        }
    }));
    result.unwrap_or(i64::from(ffi::AVERROR(ffi::EIO)))
}

unsafe extern "C" fn interrupt_cb(opaque: *mut c_void) -> c_int {
    // SAFETY: `opaque` is the boxed `Deadline` owned by the `Demuxer`.
    let deadline = unsafe { &*(opaque as *const Deadline) };
    c_int::from(Instant::now() >= deadline.at)
}

/// Nested opens (a playlist's segments, a reference movie's data files) are refused outright.
unsafe extern "C" fn io_open_refused(
    _s: *mut ffi::AVFormatContext,
    _pb: *mut *mut ffi::AVIOContext,
    _url: *const std::ffi::c_char,
    _flags: c_int,
    _options: *mut *mut ffi::AVDictionary,
) -> c_int {
    ffi::AVERROR(ffi::EPERM)
}

fn av_error(code: c_int) -> String {
    let mut buf = [0 as std::ffi::c_char; 128];
    // SAFETY: av_strerror writes a NUL-terminated string of at most `buf.len()` bytes.
    unsafe {
        ffi::av_strerror(code, buf.as_mut_ptr(), buf.len());
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    }
}

fn describe(e: ff::Error) -> String {
    match e {
        ff::Error::Other { errno } => av_error(ffi::AVERROR(errno)),
        e => {
            let code: c_int = e.into();
            av_error(code)
        }
    }
}

/// An opened container read through our callbacks. Field order matters for drop: the format
/// context is closed before the AVIOContext it reads through is freed, and that before the
/// reader state the callbacks point to.
struct Demuxer<R> {
    input: Option<ff::format::context::Input>,
    pb: *mut ffi::AVIOContext,
    /// `Some` until [`Demuxer::into_reader`] takes the reader back (after closing the rest).
    state: Option<Box<IoState<R>>>,
    _deadline: Box<Deadline>,
}

impl<R> Demuxer<R> {
    /// Closes the format context, then the AVIOContext that reads through `state`.
    fn close(&mut self) {
        drop(self.input.take());
        if !self.pb.is_null() {
            // SAFETY: `pb` was made by `avio_alloc_context` and is no longer referenced by a
            // format context; its buffer may have been replaced by FFmpeg, so free the current one.
            unsafe {
                ffi::av_freep(&mut (*self.pb).buffer as *mut *mut u8 as *mut c_void);
                ffi::avio_context_free(&mut self.pb);
            }
        }
    }

    /// The read error the callbacks kept, if any.
    fn take_error(&mut self) -> Option<std::io::Error> {
        self.state.as_mut().and_then(|s| s.error.take())
    }

    /// Closes the container and gives the reader back (for a second pass from the start).
    fn into_reader(mut self) -> R {
        self.close();
        self.state.take().expect("the reader is taken once").reader
    }
}

impl<R> Drop for Demuxer<R> {
    fn drop(&mut self) {
        self.close();
    }
}

impl<R: Read + Seek> Demuxer<R> {
    fn open(reader: R, name: &str, deadline: Instant) -> Result<Self, Error> {
        init();
        // The boxes give the callbacks' opaque pointers fixed addresses; moving a `Box` into the
        // struct does not move what it points to.
        let mut demuxer = Demuxer {
            input: None,
            pb: ptr::null_mut(),
            state: Some(Box::new(IoState {
                reader,
                error: None,
            })),
            _deadline: Box::new(Deadline { at: deadline }),
        };

        let internal = |message: &str| Error::Internal {
            name: name.to_string(),
            message: message.to_string(),
        };
        // SAFETY: plain FFmpeg allocation and set-up calls; every pointer is checked, and the
        // opaque pointers given to the callbacks live in boxes owned by `demuxer`, which outlives
        // the format context (see `Drop`).
        unsafe {
            let buffer = ffi::av_malloc(IO_BUFFER) as *mut u8;
            if buffer.is_null() {
                return Err(internal("out of memory"));
            }
            let state: &mut IoState<R> = demuxer.state.as_mut().expect("set above");
            let opaque = state as *mut IoState<R> as *mut c_void;
            demuxer.pb = ffi::avio_alloc_context(
                buffer,
                IO_BUFFER as c_int,
                0,
                opaque,
                Some(read_cb::<R>),
                None,
                Some(seek_cb::<R>),
            );
            if demuxer.pb.is_null() {
                ffi::av_free(buffer as *mut c_void);
                return Err(internal("out of memory"));
            }
            let mut ctx = ffi::avformat_alloc_context();
            if ctx.is_null() {
                return Err(internal("out of memory"));
            }
            (*ctx).pb = demuxer.pb;
            (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO as c_int;
            (*ctx).interrupt_callback = ffi::AVIOInterruptCB {
                callback: Some(interrupt_cb),
                opaque: &*demuxer._deadline as *const Deadline as *mut c_void,
            };
            (*ctx).io_open = Some(io_open_refused);

            let mut options: *mut ffi::AVDictionary = ptr::null_mut();
            let set = |d: &mut *mut ffi::AVDictionary, k: &str, v: &str| {
                let k = CString::new(k).expect("no NUL");
                let v = CString::new(v).expect("no NUL");
                ffi::av_dict_set(d, k.as_ptr(), v.as_ptr(), 0);
            };
            set(&mut options, "format_whitelist", ALLOWED_FORMATS);
            set(&mut options, "protocol_whitelist", "none");
            let ret = ffi::avformat_open_input(&mut ctx, ptr::null(), ptr::null(), &mut options);
            ffi::av_dict_free(&mut options);
            if ret < 0 {
                // avformat_open_input frees the context on failure (not our AVIOContext).
                if let Some(e) = demuxer.take_error() {
                    return Err(Error::Read {
                        name: name.to_string(),
                        source: e,
                    });
                }
                if Instant::now() >= demuxer._deadline.at {
                    return Err(Error::TimeBudget {
                        name: name.to_string(),
                        budget: std::time::Duration::ZERO,
                        frames: 0,
                    });
                }
                return Err(Error::Open {
                    name: name.to_string(),
                    message: av_error(ret),
                });
            }
            demuxer.input = Some(ff::format::context::Input::wrap(ctx));
            let format = CStr::from_ptr((*(*ctx).iformat).name)
                .to_string_lossy()
                .into_owned();
            let allowed = format
                .split(',')
                .any(|f| ALLOWED_FORMATS.split(',').any(|a| a == f));
            if !allowed {
                return Err(Error::FormatNotAllowed {
                    name: name.to_string(),
                    format,
                });
            }
            let ret = ffi::avformat_find_stream_info(ctx, ptr::null_mut());
            if ret < 0 {
                if let Some(e) = demuxer.take_error() {
                    return Err(Error::Read {
                        name: name.to_string(),
                        source: e,
                    });
                }
                return Err(Error::Open {
                    name: name.to_string(),
                    message: format!("cannot read stream information: {}", av_error(ret)),
                });
            }
        }
        Ok(demuxer)
    }

    fn input(&mut self) -> &mut ff::format::context::Input {
        self.input.as_mut().expect("opened")
    }
}

/// Packets read ahead of the one sent to the decoder when unneeded frames are skipped, so that
/// every packet shown before it has been seen when its frame number is worked out (H.264 and
/// HEVC reorder at most 16 frames).
const LOOKAHEAD: usize = 32;
/// ... and at most this many bytes of them, so that a file of huge packets cannot make the
/// lookahead hold it whole (fewer packets ahead only risk a fallback, never a wrong number).
const LOOKAHEAD_BYTES: usize = 64 << 20;

/// The result of [`decode`].
pub(crate) struct Decoded {
    pub(crate) info: VideoInfo,
    /// The pass whose frames stand: frames handed over in an earlier pass are void (the
    /// skipping pass found that it could not vouch for its frame numbers, and decoding began
    /// again from the start, every frame).
    pub(crate) pass: u8,
}

/// What the container says about the video stream, and the sampling worked out from it.
struct Stream {
    index: usize,
    container: String,
    codec_id: ffi::AVCodecID,
    codec: String,
    width: u32,
    height: u32,
    frame_rate: f64,
    frame_mod: u64,
    declared_frames: u64,
}

/// Decodes `reader` and hands every sampled frame, as packed RGB24, to `on_frame` in frame order.
///
/// With `skip_unneeded` and a sampling that takes fewer than every frame, the decoder is told
/// to leave out the frames that are not sampled and that no other frame refers to
/// (`AVDISCARD_NONREF`, set packet by packet): the sampled frames' pixels cannot change, since
/// nothing is built from a skipped frame. What needs care is the frame numbers, which are
/// counts of frames the decoder returns: a skipped frame is never returned, so each frame's
/// number is worked out instead as the rank of its timestamp among the packets' (read
/// [`LOOKAHEAD`] packets ahead). The pass vouches for its numbers only if every packet has a
/// distinct timestamp, frames come out in timestamp order, no packet read later is shown
/// before a frame already returned, and every sampled number was returned; otherwise (a
/// container without timestamps, a decoder that does not honour the skip, a stream that
/// reorders in a way the ranks do not follow) decoding starts again from the start, every
/// frame, and the frames of the first pass are void ([`Decoded::pass`]).
pub(crate) fn decode<R: Read + Seek>(
    reader: R,
    name: &str,
    sampling: Sampling,
    limits: &Limits,
    decode_threads: usize,
    skip_unneeded: bool,
    mut on_frame: impl FnMut(RgbFrame, u8) -> Result<(), Error>,
) -> Result<Decoded, Error> {
    let deadline = Instant::now() + limits.time_budget;
    let mut demuxer = Demuxer::open(reader, name, deadline)?;
    let stream = probe(&mut demuxer, name, sampling, limits)?;
    let mut pass: u8 = if skip_unneeded && stream.frame_mod > 1 {
        0
    } else {
        1
    };
    loop {
        let skip = pass == 0;
        let this = pass;
        let mut sink = |f| on_frame(f, this);
        match run(
            &mut demuxer,
            name,
            &stream,
            limits,
            decode_threads,
            deadline,
            skip,
            &mut sink,
        )? {
            Outcome::Done(info) => return Ok(Decoded { info, pass }),
            Outcome::Diverged(why) if skip => {
                tracing::debug!(video = name, why, "decoding every frame again");
                let mut reader = demuxer.into_reader();
                reader
                    .seek(SeekFrom::Start(0))
                    .map_err(|source| Error::Read {
                        name: name.to_string(),
                        source,
                    })?;
                demuxer = Demuxer::open(reader, name, deadline)?;
                let again = probe(&mut demuxer, name, sampling, limits)?;
                if again.index != stream.index || again.frame_mod != stream.frame_mod {
                    return Err(Error::Internal {
                        name: name.to_string(),
                        message: "the second pass found a different stream".to_string(),
                    });
                }
                pass = 1;
            }
            Outcome::Diverged(why) => {
                return Err(Error::Internal {
                    name: name.to_string(),
                    message: format!("a full pass diverged: {why}"),
                });
            }
        }
    }
}

/// Finds the first video stream and checks what the container declares against the limits.
fn probe<R: Read + Seek>(
    demuxer: &mut Demuxer<R>,
    name: &str,
    sampling: Sampling,
    limits: &Limits,
) -> Result<Stream, Error> {
    let nm = || name.to_string();
    let input = demuxer.input();
    let container = input.format().name().to_string();
    let stream = input
        .streams()
        .find(|s| s.parameters().medium() == ff::media::Type::Video)
        .ok_or_else(|| Error::NoVideoStream { name: nm() })?;
    let index = stream.index();
    let declared_frames = u64::try_from(stream.frames()).unwrap_or(0);
    let params = stream.parameters();
    // SAFETY: reading plain fields of the stream's codec parameters.
    let (width, height, codec_id) = unsafe {
        let p = params.as_ptr();
        ((*p).width, (*p).height, (*p).codec_id)
    };
    let codec = ff::codec::Id::from(codec_id).name().to_string();
    if width <= 0 || height <= 0 {
        return Err(Error::Dimensions {
            name: nm(),
            width: width.max(0) as u32,
            height: height.max(0) as u32,
            why: "zero".to_string(),
        });
    }
    let (width, height) = (width as u32, height as u32);
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(Error::Dimensions {
            name: nm(),
            width,
            height,
            why: format!("over the limit of {} pixels", limits.max_pixels),
        });
    }

    let mut rate = stream.avg_frame_rate();
    if rate.numerator() == 0 || rate.denominator() == 0 {
        rate = stream.rate();
    }
    let frame_rate = if rate.denominator() == 0 {
        0.0
    } else {
        f64::from(rate.numerator()) / f64::from(rate.denominator())
    };
    if !(frame_rate.is_finite() && frame_rate > 0.0) {
        return Err(Error::FrameRate {
            name: nm(),
            fps: frame_rate,
            why: "not a positive number (the container declares none)".to_string(),
        });
    }
    if frame_rate > limits.max_frame_rate || frame_rate < 1.0 / 3600.0 {
        return Err(Error::FrameRate {
            name: nm(),
            fps: frame_rate,
            why: format!(
                "outside the accepted range 1/3600 to {}",
                limits.max_frame_rate
            ),
        });
    }
    // Declared duration, when the container gives one (AV_TIME_BASE units).
    // SAFETY: plain field read.
    let declared = unsafe { (*input.as_ptr()).duration };
    if declared > 0 {
        let seconds = declared as f64 / f64::from(ffi::AV_TIME_BASE);
        if seconds > limits.max_duration.as_secs_f64() {
            return Err(Error::TooLong {
                name: nm(),
                seconds,
                max: limits.max_duration.as_secs_f64(),
            });
        }
    }

    let frame_mod: u64 = match sampling {
        Sampling::EveryFrame => 1,
        Sampling::SecondsPerHash(s) => {
            // The reference's `static_cast<int>(secondsPerHash * frameRate)`, 0 made 1.
            let m = s * frame_rate;
            if m.is_finite() && m >= 1.0 {
                (m.min(f64::from(i32::MAX))) as u64
            } else {
                1
            }
        }
    };
    Ok(Stream {
        index,
        container,
        codec_id,
        codec,
        width,
        height,
        frame_rate,
        frame_mod,
        declared_frames,
    })
}

/// How a pass ended, when it did not fail.
enum Outcome {
    Done(VideoInfo),
    /// The skipping pass cannot vouch for its frame numbers (the reason, for the log).
    Diverged(&'static str),
}

/// The frame numbering of a skipping pass: every timestamp read so far, sorted.
#[derive(Default)]
struct Ranks {
    seen: Vec<i64>,
    /// The timestamp of the last frame the decoder returned.
    last_out: Option<i64>,
    /// Frames returned, and those of them sampled.
    returned: u64,
    sampled: u64,
}

impl Ranks {
    /// Records a packet's timestamp; `Err` when the numbering can no longer be vouched for.
    fn read(&mut self, pts: i64) -> Result<(), &'static str> {
        if self.last_out.is_some_and(|l| pts <= l) {
            return Err("a packet read late is shown before a frame already returned");
        }
        let at = self.seen.partition_point(|&x| x < pts);
        if self.seen.get(at) == Some(&pts) {
            return Err("two packets share a timestamp");
        }
        self.seen.insert(at, pts);
        Ok(())
    }

    /// The number of the frame shown at `pts`: how many packets read are shown before it.
    fn rank(&self, pts: i64) -> u64 {
        self.seen.partition_point(|&x| x < pts) as u64
    }

    /// The number of a frame the decoder returned.
    fn returned(&mut self, pts: Option<i64>, frame_mod: u64) -> Result<u64, &'static str> {
        let pts = pts.ok_or("a frame without a timestamp")?;
        if self.last_out.is_some_and(|l| pts <= l) {
            return Err("frames returned out of timestamp order");
        }
        let n = self.rank(pts);
        if self.seen.get(n as usize) != Some(&pts) {
            return Err("a frame whose timestamp no packet had");
        }
        self.last_out = Some(pts);
        self.returned += 1;
        if n.is_multiple_of(frame_mod) {
            self.sampled += 1;
        }
        Ok(n)
    }

    /// At the end: was every sampled frame returned? Gives the frame count.
    fn finish(&self, frame_mod: u64) -> Result<u64, &'static str> {
        let total = self.seen.len() as u64;
        if self.sampled != total.div_ceil(frame_mod) {
            return Err("a sampled frame was not returned");
        }
        Ok(total)
    }
}

/// One pass over the packets: decodes, numbers, samples and converts frames.
#[allow(clippy::too_many_arguments)]
fn run<R: Read + Seek>(
    demuxer: &mut Demuxer<R>,
    name: &str,
    stream: &Stream,
    limits: &Limits,
    decode_threads: usize,
    deadline: Instant,
    skip: bool,
    on_frame: &mut dyn FnMut(RgbFrame) -> Result<(), Error>,
) -> Result<Outcome, Error> {
    let started = Instant::now();
    let nm = || name.to_string();
    let (width, height, frame_rate, frame_mod) = (
        stream.width,
        stream.height,
        stream.frame_rate,
        stream.frame_mod,
    );
    let codec = ff::codec::decoder::find(stream.codec_id.into()).ok_or_else(|| {
        Error::UnsupportedCodec {
            name: nm(),
            codec: stream.codec.clone(),
        }
    })?;
    let params = demuxer
        .input()
        .stream(stream.index)
        .expect("probed")
        .parameters();
    let mut context =
        ff::codec::context::Context::from_parameters(params).map_err(|e| Error::Internal {
            name: nm(),
            message: format!("codec parameters: {e}"),
        })?;
    // SAFETY: plain field writes on a context not yet opened.
    unsafe {
        let c = context.as_mut_ptr();
        (*c).max_pixels = limits.max_pixels.min(i64::MAX as u64) as i64;
        (*c).thread_count = decode_threads.clamp(1, 16) as c_int;
        (*c).thread_type = if decode_threads > 1 {
            (ffi::FF_THREAD_FRAME | ffi::FF_THREAD_SLICE) as c_int
        } else {
            0
        };
    }
    let mut decoder = context
        .decoder()
        .open_as(codec)
        .and_then(|d| d.video())
        .map_err(|e| Error::Open {
            name: nm(),
            message: format!("cannot open the {} decoder: {e}", stream.codec),
        })?;

    let max_duration = limits.max_duration.as_secs_f64();
    let mut decoded: u64 = 0;
    let mut ranks = skip.then(Ranks::default);
    let mut frame = ff::frame::Video::empty();
    let mut rgb = ff::frame::Video::empty();
    let mut scaler: Option<(
        ff::software::scaling::Context,
        (ff::format::Pixel, u32, u32),
    )> = None;

    let corrupt = |decoded: u64, message: String| Error::Corrupt {
        name: nm(),
        frames: decoded,
        message,
    };

    // Receives every frame the decoder has ready. `Ok(Some(why))`: the skipping pass diverged.
    let mut drain = |decoder: &mut ff::decoder::Video,
                     decoded: &mut u64,
                     ranks: &mut Option<Ranks>,
                     on_frame: &mut dyn FnMut(RgbFrame) -> Result<(), Error>|
     -> Result<Option<&'static str>, Error> {
        loop {
            match decoder.receive_frame(&mut frame) {
                Ok(()) => {}
                Err(ff::Error::Other { errno }) if errno == ffi::EAGAIN => return Ok(None),
                Err(ff::Error::Eof) => return Ok(None),
                Err(e) => return Err(corrupt(*decoded, format!("decoder: {}", describe(e)))),
            }
            let number = match ranks {
                None => *decoded,
                Some(r) => match r.returned(frame.pts(), frame_mod) {
                    Ok(n) => n,
                    Err(why) => return Ok(Some(why)),
                },
            };
            *decoded += 1;
            if number >= limits.max_frames {
                return Err(Error::TooManyFrames {
                    name: nm(),
                    max: limits.max_frames,
                });
            }
            if number as f64 / frame_rate > max_duration {
                return Err(Error::TooLong {
                    name: nm(),
                    seconds: number as f64 / frame_rate,
                    max: max_duration,
                });
            }
            if !number.is_multiple_of(frame_mod) {
                continue;
            }
            let key = (frame.format(), frame.width(), frame.height());
            if u64::from(key.1) * u64::from(key.2) > limits.max_pixels {
                return Err(Error::Dimensions {
                    name: nm(),
                    width: key.1,
                    height: key.2,
                    why: format!("over the limit of {} pixels", limits.max_pixels),
                });
            }
            if scaler.as_ref().map(|(_, k)| *k) != Some(key) {
                let s = ff::software::scaling::Context::get(
                    key.0,
                    key.1,
                    key.2,
                    ff::format::Pixel::RGB24,
                    width,
                    height,
                    ff::software::scaling::Flags::AREA,
                )
                .map_err(|e| Error::Internal {
                    name: nm(),
                    message: format!(
                        "no scaler from {:?} {}×{} to RGB24 {width}×{height}: {e}",
                        key.0, key.1, key.2
                    ),
                })?;
                scaler = Some((s, key));
                rgb = ff::frame::Video::empty();
            }
            let (s, _) = scaler.as_mut().expect("set above");
            s.run(&frame, &mut rgb).map_err(|e| Error::Internal {
                name: nm(),
                message: format!("scaler: {e}"),
            })?;
            let (w, h) = (width as usize, height as usize);
            let stride = rgb.stride(0);
            let data = rgb.data(0);
            let mut packed = Vec::with_capacity(w * h * 3);
            for row in 0..h {
                packed.extend_from_slice(&data[row * stride..row * stride + w * 3]);
            }
            on_frame(RgbFrame {
                number,
                width: w,
                height: h,
                rgb: packed,
            })?;
        }
    };

    // Sends one packet; in the skipping pass, tells the decoder first whether it may leave the
    // packet's frame out (not sampled, by the rank of its timestamp among those read so far).
    let send = |decoder: &mut ff::decoder::Video,
                packet: &ff::Packet,
                discard: bool,
                ranks: &Option<Ranks>,
                decoded: u64|
     -> Result<(), Error> {
        if let Some(r) = ranks {
            let needed = !discard
                && packet
                    .pts()
                    .is_none_or(|p| r.rank(p).is_multiple_of(frame_mod));
            // SAFETY: a plain field write on the open decoder's context; FFmpeg reads it for
            // the packets sent after it (frame threads copy it from the user context).
            unsafe {
                (*decoder.as_mut_ptr()).skip_frame = if needed {
                    ffi::AVDiscard::AVDISCARD_DEFAULT
                } else {
                    ffi::AVDiscard::AVDISCARD_NONREF
                };
            }
        }
        decoder.send_packet(packet).map_err(|e| {
            corrupt(
                decoded,
                format!("decoder refused a packet: {}", describe(e)),
            )
        })
    };

    // Packets read but not yet sent (the skipping pass), with their discard flag, and their
    // bytes.
    let mut ahead: std::collections::VecDeque<(ff::Packet, bool)> =
        std::collections::VecDeque::new();
    let mut ahead_bytes = 0usize;
    let mut discarded: u64 = 0;
    loop {
        if Instant::now() >= deadline {
            return Err(Error::TimeBudget {
                name: nm(),
                budget: limits.time_budget,
                frames: decoded,
            });
        }
        // A fresh packet each time: `av_read_frame` overwrites a packet without releasing what
        // it held (found by LeakSanitizer in the `video_decode` fuzz target); dropping one
        // unrefs it.
        let mut packet = ff::Packet::empty();
        match packet.read(demuxer.input()) {
            Ok(()) => {}
            Err(ff::Error::Eof) => break,
            Err(e) => {
                if let Some(io) = demuxer.take_error() {
                    return Err(Error::Read {
                        name: nm(),
                        source: io,
                    });
                }
                if Instant::now() >= deadline {
                    return Err(Error::TimeBudget {
                        name: nm(),
                        budget: limits.time_budget,
                        frames: decoded,
                    });
                }
                return Err(corrupt(decoded, format!("demuxer: {}", describe(e))));
            }
        }
        if packet.stream() != stream.index {
            continue;
        }
        if packet.is_corrupt() {
            // The demuxer read fewer bytes than the packet's declared size: the file ends early.
            return Err(corrupt(
                decoded,
                "a packet is cut short (the file ends early)".to_string(),
            ));
        }
        // Edit lists: the frames of packets before the edit's start are decoded (later frames
        // may refer to them) but never returned, and do not count.
        // SAFETY: a plain field read.
        let discard =
            unsafe { (*ff::packet::Ref::as_ptr(&packet)).flags } & ffi::AV_PKT_FLAG_DISCARD != 0;
        discarded += u64::from(discard);
        let Some(r) = ranks.as_mut() else {
            send(&mut decoder, &packet, discard, &ranks, decoded)?;
            drain(&mut decoder, &mut decoded, &mut ranks, on_frame)?;
            continue;
        };
        if !discard {
            let Some(pts) = packet.pts() else {
                return Ok(Outcome::Diverged("a packet without a timestamp"));
            };
            if let Err(why) = r.read(pts) {
                return Ok(Outcome::Diverged(why));
            }
            if r.seen.len() as u64 > limits.max_frames {
                return Err(Error::TooManyFrames {
                    name: nm(),
                    max: limits.max_frames,
                });
            }
        }
        ahead_bytes += packet.size();
        ahead.push_back((packet, discard));
        while ahead.len() > LOOKAHEAD || ahead_bytes > LOOKAHEAD_BYTES {
            let (p, discard) = ahead.pop_front().expect("not empty");
            ahead_bytes -= p.size();
            send(&mut decoder, &p, discard, &ranks, decoded)?;
            if let Some(why) = drain(&mut decoder, &mut decoded, &mut ranks, on_frame)? {
                return Ok(Outcome::Diverged(why));
            }
        }
    }
    while let Some((p, discard)) = ahead.pop_front() {
        send(&mut decoder, &p, discard, &ranks, decoded)?;
        if let Some(why) = drain(&mut decoder, &mut decoded, &mut ranks, on_frame)? {
            return Ok(Outcome::Diverged(why));
        }
    }
    decoder
        .send_eof()
        .map_err(|e| corrupt(decoded, format!("decoder: {}", describe(e))))?;
    if let Some(why) = drain(&mut decoder, &mut decoded, &mut ranks, on_frame)? {
        return Ok(Outcome::Diverged(why));
    }
    if let Some(r) = &ranks {
        match r.finish(frame_mod) {
            Ok(total) => {
                tracing::debug!(
                    video = name,
                    frames = total,
                    decoded = r.returned,
                    "skipped unneeded frames"
                );
                decoded = total;
            }
            Err(why) => return Ok(Outcome::Diverged(why)),
        }
    }
    if decoded == 0 {
        return Err(Error::NoFrames { name: nm() });
    }
    // A file cut at a packet boundary ends cleanly; the container's own frame count (MP4's
    // sample table, read from the index at the front) still tells. It counts the frames an
    // edit list discards; a few frames of slack beside them.
    let declared_frames = stream.declared_frames;
    if declared_frames > 0 && decoded + discarded + (declared_frames / 100).max(8) < declared_frames
    {
        return Err(corrupt(
            decoded,
            format!("the container declares {declared_frames} frames (the file ends early?)"),
        ));
    }
    tracing::trace!(video = name, elapsed = ?started.elapsed(), skip, "pass done");
    Ok(Outcome::Done(VideoInfo {
        container: stream.container.clone(),
        codec: stream.codec.clone(),
        width,
        height,
        frame_rate,
        decoded_frames: decoded,
        skipped_frames: ranks.as_ref().map_or(0, |r| decoded - r.returned),
    }))
}

#[cfg(test)]
mod tests {
    use super::Ranks;

    /// Reads `pts` in order, failing the test on a refusal.
    fn read_all(r: &mut Ranks, pts: &[i64]) {
        for &p in pts {
            r.read(p).unwrap();
        }
    }

    #[test]
    fn ranks_number_frames_in_display_order() {
        // Decode order of an I P B b b group (display 0 1 2 3 4), timestamps in 512ths.
        let mut r = Ranks::default();
        read_all(&mut r, &[0, 2048, 1024, 512, 1536]);
        // Sampling every 2nd frame: 0, 2, 4 are needed; 1 and 3 may be skipped.
        assert_eq!(r.rank(2048), 4);
        assert_eq!(r.returned(Some(0), 2), Ok(0));
        assert_eq!(r.returned(Some(1024), 2), Ok(2));
        assert_eq!(r.returned(Some(2048), 2), Ok(4));
        assert_eq!(r.finish(2), Ok(5));
        assert_eq!(r.returned, 3);
    }

    #[test]
    fn ranks_refuse_what_they_cannot_vouch_for() {
        let mut r = Ranks::default();
        read_all(&mut r, &[0, 10, 20]);
        assert!(r.read(10).is_err(), "a shared timestamp");
        assert!(r.returned(None, 1).is_err(), "no timestamp");
        assert!(r.returned(Some(5), 1).is_err(), "a timestamp no packet had");
        assert_eq!(r.returned(Some(10), 1), Ok(1));
        assert!(r.returned(Some(0), 1).is_err(), "out of order");
        assert!(r.read(7).is_err(), "shown before a frame already returned");
        // Frame 0 and 2 are sampled (every 2nd); 0 was never returned.
        let mut r = Ranks::default();
        read_all(&mut r, &[0, 10, 20]);
        assert_eq!(r.returned(Some(20), 2), Ok(2));
        assert!(r.finish(2).is_err(), "a sampled frame missing");
    }
}

//! JPEG through the system libjpeg(-turbo), via the C shim in `csrc/vjpeg.c`.
//!
//! Matches Pillow's JPEG path: accurate integer IDCT (`JDCT_ISLOW`), fancy upsampling and block
//! smoothing on (libjpeg's defaults), RGB output for colour files, grey for one-component files,
//! and CMYK/YCCK decoded as CMYK, inverted when an Adobe APP14 marker is present (Pillow's rawmode
//! `CMYK;I`), then converted with Pillow's `cmyk2rgb`.

use std::ffi::{CStr, c_char, c_int, c_long};

use crate::{Decoded, Error, Format, Limits, PixelData, exif};

#[repr(C)]
struct VjDec {
    _private: [u8; 0],
}

#[repr(C)]
struct VjInfo {
    width: u32,
    height: u32,
    num_components: c_int,
    jpeg_color_space: c_int,
    saw_adobe_marker: c_int,
    progressive: c_int,
    exif: *const u8,
    exif_len: usize,
}

unsafe extern "C" {
    fn vj_new() -> *mut VjDec;
    fn vj_free(dec: *mut VjDec);
    fn vj_message(dec: *const VjDec) -> *const c_char;
    fn vj_read_header(
        dec: *mut VjDec,
        data: *const u8,
        len: usize,
        max_memory: c_long,
        info: *mut VjInfo,
    ) -> c_int;
    fn vj_decode(
        dec: *mut VjDec,
        out_color_space: c_int,
        components: c_int,
        out: *mut u8,
        out_len: usize,
    ) -> c_int;
}

// J_COLOR_SPACE values (jpeglib.h).
const JCS_GRAYSCALE: c_int = 1;
const JCS_RGB: c_int = 2;
const JCS_CMYK: c_int = 4;

/// Owns a `vj_dec`; frees it on drop.
struct Handle(*mut VjDec);

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: the pointer came from vj_new, is non-null, and is freed exactly once.
        unsafe { vj_free(self.0) }
    }
}

impl Handle {
    fn message(&self) -> String {
        // SAFETY: vj_message returns a pointer into the live handle's NUL-terminated buffer
        // (zero-initialised by calloc, always NUL-terminated by snprintf).
        let msg = unsafe { CStr::from_ptr(vj_message(self.0)) };
        let s = msg.to_string_lossy().trim().to_string();
        if s.is_empty() {
            "libjpeg failed".to_string()
        } else {
            lowercase_first(&s)
        }
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f
            .to_lowercase()
            .chain(c)
            .collect::<String>()
            .trim_end_matches('.')
            .to_string(),
        None => String::new(),
    }
}

pub(crate) fn decode(
    bytes: &[u8],
    name: &str,
    limits: &Limits,
    apply_orientation: bool,
) -> Result<Decoded, Error> {
    let err = |message: String| Error::Decode {
        name: name.to_string(),
        format: "jpeg",
        message,
    };
    // SAFETY: plain allocation; null is handled.
    let raw = unsafe { vj_new() };
    if raw.is_null() {
        return Err(err("out of memory creating the decoder".to_string()));
    }
    let h = Handle(raw);
    let mut info = VjInfo {
        width: 0,
        height: 0,
        num_components: 0,
        jpeg_color_space: 0,
        saw_adobe_marker: 0,
        progressive: 0,
        exif: std::ptr::null(),
        exif_len: 0,
    };
    let max_mem = c_long::try_from(limits.max_alloc_bytes).unwrap_or(c_long::MAX);
    // SAFETY: `bytes` outlives the handle (both live until the end of this function); `info` is a
    // valid out-pointer. Errors longjmp inside C only.
    let rc = unsafe { vj_read_header(h.0, bytes.as_ptr(), bytes.len(), max_mem, &mut info) };
    if rc != 0 {
        return Err(err(h.message()));
    }
    let exif_orientation = if info.exif.is_null() || info.exif_len == 0 {
        None
    } else {
        // SAFETY: exif points into libjpeg's saved-marker memory, valid until decompression starts
        // or the handle is freed; we read it before either.
        let payload = unsafe { std::slice::from_raw_parts(info.exif, info.exif_len) };
        exif::orientation(payload)
    };
    let (w, h_px) = (info.width, info.height);
    crate::check_pixels(name, Format::Jpeg, w, h_px, limits)?;
    let (cs, comps) = match info.num_components {
        1 => (JCS_GRAYSCALE, 1),
        3 => (JCS_RGB, 3),
        4 => (JCS_CMYK, 4),
        n => return Err(err(format!("unsupported JPEG with {n} components"))),
    };
    let len = crate::buffer_len(name, w, h_px, comps, limits)?;
    let mut buf = crate::alloc(name, len)?;
    // SAFETY: buf is `len` writable bytes; the shim checks the geometry against `len`.
    let rc = unsafe { vj_decode(h.0, cs, comps as c_int, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return Err(err(h.message()));
    }
    drop(h);
    let pixels = match comps {
        1 => PixelData::Grey8(buf),
        3 => PixelData::Rgb8(buf),
        _ => PixelData::Rgb8(cmyk_to_rgb(&buf, info.saw_adobe_marker != 0)),
    };
    Ok(crate::finish(
        Format::Jpeg,
        w,
        h_px,
        pixels,
        exif_orientation,
        apply_orientation,
    ))
}

/// Pillow's `MULDIV255`: `a*b/255` rounded, in integers.
fn muldiv255(a: u32, b: u32) -> u32 {
    let t = a * b + 128;
    ((t >> 8) + t) >> 8
}

/// CMYK (as libjpeg outputs it) to RGB as Pillow does: `CMYK;I` unpacking (invert) when the file
/// has an Adobe marker, then `cmyk2rgb`: `nk = 255 - k; out = nk - muldiv255(c, nk)`.
pub(crate) fn cmyk_to_rgb(cmyk: &[u8], inverted: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for px in cmyk.chunks_exact(4) {
        let f = |v: u8| u32::from(if inverted { 255 - v } else { v });
        let nk = 255 - f(px[3]);
        for &c in &px[..3] {
            let v = nk.saturating_sub(muldiv255(f(c), nk));
            out.push(v.min(255) as u8);
        }
    }
    out
}

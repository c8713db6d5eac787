//! GIF, first frame, in indexed mode, expanded through its palette as Pillow does.
//!
//! Pillow opens a GIF in mode `P` (the frame's local palette, else the global one) on a canvas the
//! size of the logical screen, enlarged when the first frame's rectangle reaches past it. Pixels
//! outside the frame hold the transparency index when the frame has one, else index 0. The
//! transparency is then ignored by `convert("RGB")`: a transparent pixel keeps its palette
//! colour. Indices past the end of a short palette map to Pillow's initial grey ramp `(i, i, i)`.

use std::io::Cursor;
use std::num::NonZeroU64;

use crate::{Decoded, Error, Format, Limits, PixelData};

pub(crate) fn decode(bytes: &[u8], name: &str, limits: &Limits) -> Result<Decoded, Error> {
    let err = |e: gif::DecodingError| Error::Decode {
        name: name.to_string(),
        format: "gif",
        message: e.to_string(),
    };
    let mut opts = gif::DecodeOptions::new();
    opts.set_color_output(gif::ColorOutput::Indexed);
    let mem = NonZeroU64::new(limits.max_alloc_bytes).unwrap_or(NonZeroU64::MIN);
    opts.set_memory_limit(gif::MemoryLimit::Bytes(mem));
    let mut dec = opts.read_info(Cursor::new(bytes)).map_err(err)?;
    let (sw, sh) = (u32::from(dec.width()), u32::from(dec.height()));
    crate::check_pixels(name, Format::Gif, sw, sh, limits)?;
    let global = dec.global_palette().map(<[u8]>::to_vec);
    let frame = dec
        .next_frame_info()
        .map_err(err)?
        .ok_or_else(|| Error::Decode {
            name: name.to_string(),
            format: "gif",
            message: "no image in the file".to_string(),
        })?;
    let (fl, ft, fw, fh) = (
        u32::from(frame.left),
        u32::from(frame.top),
        u32::from(frame.width),
        u32::from(frame.height),
    );
    let transparent = frame.transparent;
    let palette = frame.palette.clone().or(global).unwrap_or_default();
    // Pillow enlarges the canvas to hold the first frame.
    let (w, h) = (sw.max(fl + fw), sh.max(ft + fh));
    crate::check_pixels(name, Format::Gif, w, h, limits)?;
    let flen = crate::buffer_len(name, fw, fh, 1, limits)?;
    crate::buffer_len(name, w, h, 3, limits)?;
    let mut indices = crate::alloc(name, flen)?;
    if flen > 0 {
        dec.read_into_buffer(&mut indices).map_err(err)?;
    }
    let fill = transparent.unwrap_or(0);
    let colour = |i: u8| -> [u8; 3] {
        let k = usize::from(i) * 3;
        match palette.get(k..k + 3) {
            Some(c) => [c[0], c[1], c[2]],
            None => [i, i, i],
        }
    };
    let bg = colour(fill);
    let (wu, fwu) = (w as usize, fw as usize);
    let len = crate::buffer_len(name, w, h, 3, limits)?;
    let mut rgb = crate::alloc(name, len)?;
    for px in rgb.chunks_exact_mut(3) {
        px.copy_from_slice(&bg);
    }
    if fwu > 0 {
        for (y, row) in indices.chunks_exact(fwu).enumerate() {
            let start = ((ft as usize + y) * wu + fl as usize) * 3;
            for (x, &i) in row.iter().enumerate() {
                let d = start + x * 3;
                rgb[d..d + 3].copy_from_slice(&colour(i));
            }
        }
    }
    Ok(Decoded {
        format: Format::Gif,
        width: w,
        height: h,
        pixels: PixelData::Rgb8(rgb),
        exif_orientation: None,
    })
}

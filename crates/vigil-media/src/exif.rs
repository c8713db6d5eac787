//! The EXIF orientation tag: finding it in a TIFF-structured EXIF block, and applying it.

use crate::PixelData;

/// The orientation tag (0x0112) of IFD0 in a TIFF-structured block (`II*\0…` / `MM\0*…`),
/// optionally preceded by `Exif\0\0`. `None` when absent, malformed, or outside 1..=8.
pub(crate) fn orientation(data: &[u8]) -> Option<u8> {
    let data = data.strip_prefix(b"Exif\0\0").unwrap_or(data);
    let le = match data.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |off: usize| -> Option<u16> {
        let b: [u8; 2] = data.get(off..off.checked_add(2)?)?.try_into().ok()?;
        Some(if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    };
    let u32_at = |off: usize| -> Option<u32> {
        let b: [u8; 4] = data.get(off..off.checked_add(4)?)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    for i in 0..count {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? != 0x0112 {
            continue;
        }
        let typ = u16_at(entry + 2)?;
        let value = match typ {
            3 => u32::from(u16_at(entry + 8)?), // SHORT
            4 => u32_at(entry + 8)?,            // LONG (non-standard, but seen)
            _ => return None,
        };
        return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
    }
    None
}

/// Applies EXIF orientation `o` (1..=8) as Pillow's `ImageOps.exif_transpose` does. Returns the new
/// pixels and dimensions.
pub(crate) fn apply(pixels: PixelData, w: u32, h: u32, o: u8) -> (PixelData, u32, u32) {
    if !(2..=8).contains(&o) {
        return (pixels, w, h);
    }
    let (data, ch, rgb) = match pixels {
        PixelData::Rgb8(d) => (d, 3, true),
        PixelData::Grey8(d) => (d, 1, false),
    };
    let (wu, hu) = (w as usize, h as usize);
    let swap = o >= 5;
    let (ow, oh) = if swap { (hu, wu) } else { (wu, hu) };
    let mut out = vec![0u8; data.len()];
    for dy in 0..oh {
        for dx in 0..ow {
            // Source coordinates of destination pixel (dx, dy).
            let (sx, sy) = match o {
                2 => (wu - 1 - dx, dy),          // mirror left-right
                3 => (wu - 1 - dx, hu - 1 - dy), // rotate 180
                4 => (dx, hu - 1 - dy),          // mirror top-bottom
                5 => (dy, dx),                   // transpose
                6 => (dy, hu - 1 - dx),          // rotate 90 clockwise
                7 => (wu - 1 - dy, hu - 1 - dx), // transverse
                _ => (wu - 1 - dy, dx),          // 8: rotate 90 anticlockwise
            };
            let s = (sy * wu + sx) * ch;
            let d = (dy * ow + dx) * ch;
            out[d..d + ch].copy_from_slice(&data[s..s + ch]);
        }
    }
    let px = if rgb {
        PixelData::Rgb8(out)
    } else {
        PixelData::Grey8(out)
    };
    (px, ow as u32, oh as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff(le: bool, tag: u16, typ: u16, val: u16) -> Vec<u8> {
        let mut v = Vec::new();
        let p16 =
            |v: &mut Vec<u8>, x: u16| v.extend(if le { x.to_le_bytes() } else { x.to_be_bytes() });
        let p32 =
            |v: &mut Vec<u8>, x: u32| v.extend(if le { x.to_le_bytes() } else { x.to_be_bytes() });
        v.extend(if le { *b"II*\0" } else { *b"MM\0*" });
        p32(&mut v, 8);
        p16(&mut v, 1);
        p16(&mut v, tag);
        p16(&mut v, typ);
        p32(&mut v, 1);
        p16(&mut v, val);
        p16(&mut v, 0);
        p32(&mut v, 0);
        v
    }

    #[test]
    fn parses_both_byte_orders() {
        for o in 1..=8 {
            assert_eq!(orientation(&tiff(true, 0x0112, 3, o)), Some(o as u8));
            assert_eq!(orientation(&tiff(false, 0x0112, 3, o)), Some(o as u8));
        }
        let mut with_prefix = b"Exif\0\0".to_vec();
        with_prefix.extend(tiff(false, 0x0112, 3, 6));
        assert_eq!(orientation(&with_prefix), Some(6));
        assert_eq!(orientation(&tiff(true, 0x0112, 3, 9)), None);
        assert_eq!(orientation(&tiff(true, 0x0110, 3, 6)), None);
        assert_eq!(orientation(&tiff(true, 0x0112, 2, 6)), None);
        let t = tiff(true, 0x0112, 3, 6);
        for cut in 0..20 {
            assert_eq!(orientation(&t[..cut]), None, "cut {cut}");
        }
        assert_eq!(orientation(b""), None);
    }
}

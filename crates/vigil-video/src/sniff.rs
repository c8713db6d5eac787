//! Recognising a video container from its first bytes, without FFmpeg: the magic numbers of the
//! containers Vigil opens. Used to route a file to the video or the image path; the name of a file
//! is never trusted.

/// A recognised container family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// ISO base media: MP4, MOV, 3GP, M4V (an `ftyp`, `moov`, `mdat`, `free`, `skip` or `wide`
    /// box first).
    Mp4,
    /// Matroska and WebM (EBML header).
    Matroska,
    /// AVI (`RIFF....AVI `).
    Avi,
    /// Flash video (`FLV\x01`).
    Flv,
    /// MPEG transport stream (sync byte 0x47 every 188 bytes).
    MpegTs,
    /// MPEG program stream (pack header `00 00 01 BA`) or an MPEG-1/2 elementary video stream
    /// (sequence header `00 00 01 B3`).
    Mpeg,
    /// ASF / WMV.
    Asf,
    /// Ogg (Theora and others).
    Ogg,
    /// IVF (VP8/VP9/AV1 elementary streams).
    Ivf,
}

impl Container {
    /// A short lower-case name (`mp4`, `matroska`, …).
    pub fn name(self) -> &'static str {
        match self {
            Container::Mp4 => "mp4",
            Container::Matroska => "matroska",
            Container::Avi => "avi",
            Container::Flv => "flv",
            Container::MpegTs => "mpegts",
            Container::Mpeg => "mpeg",
            Container::Asf => "asf",
            Container::Ogg => "ogg",
            Container::Ivf => "ivf",
        }
    }
}

/// How many leading bytes [`sniff`] looks at, at most.
pub const SNIFF_LEN: usize = 1024;

/// The video container `head` (a file's first bytes; [`SNIFF_LEN`] are enough) starts, if any.
pub fn sniff(head: &[u8]) -> Option<Container> {
    let at = |i: usize, m: &[u8]| head.len() >= i + m.len() && &head[i..i + m.len()] == m;
    if head.len() >= 8 {
        let boxtype = &head[4..8];
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        if boxtype == b"ftyp" {
            // Still images in ISO boxes (HEIF/AVIF) are not videos.
            let brand = head.get(8..12).unwrap_or(&[]);
            let still = [
                b"heic", b"heix", b"mif1", b"avif", b"msf1", b"heim", b"heis",
            ];
            if still.iter().any(|b| brand == *b) {
                return None;
            }
            return Some(Container::Mp4);
        }
        if (size >= 8 || size == 1)
            && [b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"]
                .iter()
                .any(|t| boxtype == *t)
        {
            return Some(Container::Mp4);
        }
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some(Container::Matroska);
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(Container::Avi);
    }
    if at(0, b"FLV\x01") {
        return Some(Container::Flv);
    }
    if at(0, &[0x00, 0x00, 0x01, 0xBA]) || at(0, &[0x00, 0x00, 0x01, 0xB3]) {
        return Some(Container::Mpeg);
    }
    if at(
        0,
        &[
            0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62,
            0xCE, 0x6C,
        ],
    ) {
        return Some(Container::Asf);
    }
    if at(0, b"OggS") {
        return Some(Container::Ogg);
    }
    if at(0, b"DKIF") {
        return Some(Container::Ivf);
    }
    // Transport stream: three sync bytes 188 apart (plain TS) or at 4 + 192k (M2TS).
    for (first, step) in [(0usize, 188usize), (4, 192)] {
        if head.len() > first + 2 * step && (0..3).all(|k| head[first + k * step] == 0x47) {
            return Some(Container::MpegTs);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_the_families_and_not_images() {
        let mut mp4 = vec![0, 0, 0, 0x20];
        mp4.extend_from_slice(b"ftypisom");
        assert_eq!(sniff(&mp4), Some(Container::Mp4));
        let mut heic = vec![0, 0, 0, 0x18];
        heic.extend_from_slice(b"ftypheic");
        assert_eq!(sniff(&heic), None);
        assert_eq!(
            sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1]),
            Some(Container::Matroska)
        );
        assert_eq!(sniff(b"RIFF\0\0\0\0AVI LIST"), Some(Container::Avi));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), None);
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]), None);
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b""), None);
        let mut ts = vec![0u8; 400];
        ts[0] = 0x47;
        ts[188] = 0x47;
        ts[376] = 0x47;
        assert_eq!(sniff(&ts), Some(Container::MpegTs));
        assert_eq!(sniff(b"DKIF\0\0"), Some(Container::Ivf));
        assert_eq!(sniff(b"OggS\0\x02"), Some(Container::Ogg));
    }
}

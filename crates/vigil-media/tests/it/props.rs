//! Property test: decoding arbitrary bytes never panics, and errors name the input.

use proptest::prelude::*;
use vigil_media::{DecodeOptions, Limits, decode};

fn small() -> DecodeOptions {
    DecodeOptions {
        limits: Limits {
            max_file_bytes: 1 << 20,
            max_pixels: 1 << 20,
            max_alloc_bytes: 16 << 20,
        },
        apply_exif_orientation: true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Err(e) = decode(&bytes, "prop", &small()) {
            prop_assert!(e.to_string().contains("\"prop\""));
        }
    }

    #[test]
    fn magic_plus_arbitrary_never_panics(
        magic in prop::sample::select(vec![
            &b"\xff\xd8\xff"[..], b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\0\0\0\0WEBP",
            b"BM\0\0\0\0\0\0\0\0\0\0\0\0\x28\0\0\0", b"II*\0", b"MM\0*",
        ]),
        tail in proptest::collection::vec(any::<u8>(), 0..512),
    ) {
        let mut v = magic.to_vec();
        v.extend(tail);
        if let Err(e) = decode(&v, "prop", &small()) {
            prop_assert!(e.to_string().contains("\"prop\""));
        }
    }

    /// Damaging a valid file anywhere never panics.
    #[test]
    fn damaged_valid_files_never_panic(
        fmt in 0usize..6,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in any::<usize>(),
    ) {
        let f = [image::ImageFormat::Jpeg, image::ImageFormat::Png, image::ImageFormat::Gif,
                 image::ImageFormat::WebP, image::ImageFormat::Bmp, image::ImageFormat::Tiff][fmt];
        let mut v = crate::util::encode(f, &crate::util::pattern(24, 16), 24, 16,
                                        image::ExtendedColorType::Rgb8);
        for (pos, b) in edits {
            let n = v.len();
            v[pos % n] = b;
        }
        let n = v.len();
        v.truncate(n - cut % (n / 2));
        let _ = decode(&v, "prop", &small());
    }
}

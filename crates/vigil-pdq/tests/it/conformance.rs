//! `conformance/expected.csv`: 307 lossless PNGs whose hash, quality and 8 dihedrals must equal the
//! reference C++ core's exactly (values produced by the reference, not by this crate).

use sha2::{Digest, Sha256};
use vigil_pdq::{Hash256, Hasher, Image, Pixels, Variant, luma_from_grey8};

#[test]
fn conformance_set_is_bit_exact() {
    let Some(fx) = vigil_testkit::fixtures("conformance_set_is_bit_exact") else {
        return;
    };
    let dir = fx.join("conformance");
    let rows = vigil_testkit::read_csv(&dir.join("expected.csv"));
    assert_eq!(rows.len(), 307);
    let mut hasher = Hasher::new();
    let mut portable = Hasher::portable();
    let mut failures = Vec::new();
    let (mut exact, mut grey_checked) = (0, 0);
    for row in &rows {
        let file = &row["file"];
        let (rgb, w, h, grey) = vigil_testkit::decode_png_rgb8(&dir.join(file));
        assert_eq!(
            (w.to_string(), h.to_string()),
            (row["width"].clone(), row["height"].clone()),
            "{file}"
        );
        let sha = hex::encode(Sha256::digest(&rgb));
        assert_eq!(
            sha, row["rgb_sha256"],
            "{file}: decoded pixels differ from the reference's"
        );

        let img = Image::new(Pixels::Rgb8(&rgb), w, h).unwrap();
        let plain = hasher.hash(&img);
        let (plain2, dih) = hasher.hash_and_dihedral(&img);
        assert_eq!(
            plain, plain2,
            "{file}: hash() and hash_and_dihedral() disagree"
        );
        assert_eq!(
            portable.hash_and_dihedral(&img),
            (plain, dih),
            "{file}: portable path disagrees with SIMD"
        );
        let want: Hash256 = row["pdq_hex"].parse().unwrap();
        let want_q: u8 = row["quality"].parse().unwrap();
        let mut ok = plain.hash == want && plain.quality == want_q;
        if !ok {
            failures.push(format!(
                "{file}: plain {} q{} want {} q{} ({} bits)",
                plain.hash,
                plain.quality,
                want,
                want_q,
                plain.hash.distance(&want)
            ));
        }
        for v in Variant::ALL.iter() {
            let col = format!("dihedral_{}", v.name());
            let col = col.as_str();
            let want: Hash256 = row[col].parse().unwrap();
            if dih.get(*v) != want || dih.quality != want_q {
                ok = false;
                failures.push(format!("{file}: {col} {} want {want}", dih.get(*v)));
            }
        }
        // The same pixels given as one grey channel (hashed as replicated RGB) must agree.
        if let Some(g) = &grey {
            let gimg = Image::new(Pixels::Grey8(g), w, h).unwrap();
            if hasher.hash(&gimg) != plain {
                ok = false;
                failures.push(format!("{file}: Grey8 differs from Rgb8"));
            }
        }
        // The reference's single-channel path (luma = grey) against `grey_luma_*`.
        if !row["grey_luma_pdq_hex"].is_empty() {
            let g: Vec<u8> = rgb.chunks_exact(3).map(|p| p[0]).collect();
            let luma = luma_from_grey8(&g);
            let r = hasher.hash(&Image::new(Pixels::Luma(&luma), w, h).unwrap());
            let want: Hash256 = row["grey_luma_pdq_hex"].parse().unwrap();
            let want_q: u8 = row["grey_luma_quality"].parse().unwrap();
            grey_checked += 1;
            if r.hash != want || r.quality != want_q {
                ok = false;
                failures.push(format!(
                    "{file}: grey luma {} q{} want {want} q{want_q}",
                    r.hash, r.quality
                ));
            }
        }
        exact += ok as usize;
    }
    eprintln!(
        "conformance: {exact}/{} rows exact (hash, quality, 8 dihedrals); {grey_checked} grey-luma rows",
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(grey_checked, 112);
}

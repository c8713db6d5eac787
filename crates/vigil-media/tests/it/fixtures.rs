//! The shared fixtures: decoded pixels against Pillow's, and PDQ against the expected hashes.

use vigil_media::{DecodeOptions, PixelData, decode};
use vigil_pdq::{Hasher, Image, Mode, Pixels, Variant};

use crate::util::{rgb, sha256_hex};

#[test]
fn threatexchange_pdq_exact() {
    let Some(dir) = vigil_testkit::fixtures("threatexchange_pdq_exact") else {
        return;
    };
    let te = dir.join("threatexchange");
    let rows = vigil_testkit::read_csv(&te.join("expected-pdq.csv"));
    assert_eq!(rows.len(), 49);
    let mut hasher = Hasher::new();
    let (mut exact, mut tool_exact) = (0, 0);
    let mut failures = Vec::new();
    for row in &rows {
        let path = &row["path"];
        let bytes = std::fs::read(te.join(path)).expect("read fixture");
        let d = decode(&bytes, path, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.width.to_string(), row["width"], "{path}");
        assert_eq!(d.height.to_string(), row["height"], "{path}");
        let (w, h) = (d.width as usize, d.height as usize);
        let img = match &d.pixels {
            PixelData::Rgb8(p) => Image::new(Pixels::Rgb8(p), w, h),
            PixelData::Grey8(p) => Image::new(Pixels::Grey8(p), w, h),
        }
        .expect("image");
        let (pdq, dih) = hasher.hash_and_dihedral(&img);
        let mut ok = pdq.hash.to_hex() == row["pdq_hex"]
            && pdq.quality.to_string() == row["quality"]
            && dih.quality.to_string() == row["quality"];
        for v in Variant::ALL.iter() {
            let col = format!("dihedral_{}", v.name());
            let col = col.as_str();
            ok &= dih.get(*v).to_hex() == row[col];
        }
        let tool = vigil_pdq::hash(&img, Mode::ReferenceTool);
        let tool_ok = tool.hash.to_hex() == row["cpp_tool_pdq_hex"]
            && tool.quality.to_string() == row["cpp_tool_quality"];
        exact += usize::from(ok);
        tool_exact += usize::from(tool_ok);
        if !ok || !tool_ok {
            let expected = vigil_core::Hash256::from_hex(&row["pdq_hex"]).expect("hex");
            failures.push(format!(
                "{path}: {} bits off, quality {} vs {}, tool ok {tool_ok}",
                pdq.hash.distance(&expected),
                pdq.quality,
                row["quality"]
            ));
        }
    }
    eprintln!(
        "threatexchange: {exact}/49 exact (hash, quality, 8 dihedrals), cpp_tool {tool_exact}/49"
    );
    assert!(failures.is_empty(), "not exact:\n{}", failures.join("\n"));
}

#[test]
fn conformance_rgb_sha256() {
    let Some(dir) = vigil_testkit::fixtures("conformance_rgb_sha256") else {
        return;
    };
    let conf = dir.join("conformance");
    let rows = vigil_testkit::read_csv(&conf.join("expected.csv"));
    assert_eq!(rows.len(), 307);
    let mut bad = Vec::new();
    for row in &rows {
        let file = &row["file"];
        let bytes = std::fs::read(conf.join(file)).expect("read fixture");
        let d = decode(&bytes, file, &DecodeOptions::default()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.width.to_string(), row["width"], "{file}");
        assert_eq!(d.height.to_string(), row["height"], "{file}");
        if sha256_hex(&rgb(&d)) != row["rgb_sha256"] {
            bad.push(file.clone());
        }
    }
    eprintln!("conformance: {}/307 rgb_sha256 exact", 307 - bad.len());
    assert!(bad.is_empty(), "rgb_sha256 mismatch: {bad:?}");
}

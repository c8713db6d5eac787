//! A deliberately naive PDQ, transcribed line by line from the published description of the
//! reference core (`../shared/fixtures/tools/pdq_f32_model.py` and `pdqhashing.cpp`'s structure):
//! full-size buffers, one pixel at a time, columns walked with a stride, full sort for the median.
//! It shares no code with the crate. Slow but obvious: the oracle for property tests.

use vigil_core::Hash256;

fn box1d(x: &[f32], w: usize) -> Vec<f32> {
    let n = x.len();
    let mut out = vec![0f32; n];
    let half = (w + 2) / 2;
    let (mut li, mut ri, mut oi) = (0, 0, 0);
    let mut s = 0f32;
    let mut cnt = 0usize;
    for _ in 0..half - 1 {
        s += x[ri];
        cnt += 1;
        ri += 1;
    }
    for _ in 0..(w - half + 1) {
        s += x[ri];
        cnt += 1;
        out[oi] = s / cnt as f32;
        ri += 1;
        oi += 1;
    }
    for _ in 0..(n - w) {
        s += x[ri];
        s -= x[li];
        out[oi] = s / cnt as f32;
        li += 1;
        ri += 1;
        oi += 1;
    }
    for _ in 0..half - 1 {
        s -= x[li];
        cnt -= 1;
        out[oi] = s / cnt as f32;
        li += 1;
        oi += 1;
    }
    out
}

fn blur_decimate(luma: &[f32], w: usize, h: usize) -> Vec<f32> {
    let wr = w.div_ceil(128);
    let wc = h.div_ceil(128);
    let mut buf = luma.to_vec();
    for _ in 0..2 {
        for r in 0..h {
            let row: Vec<f32> = (0..w).map(|c| buf[r * w + c]).collect();
            let o = box1d(&row, wr);
            for c in 0..w {
                buf[r * w + c] = o[c];
            }
        }
        for c in 0..w {
            let col: Vec<f32> = (0..h).map(|r| buf[r * w + c]).collect();
            let o = box1d(&col, wc);
            for r in 0..h {
                buf[r * w + c] = o[r];
            }
        }
    }
    let mut a = vec![0f32; 4096];
    for i in 0..64 {
        let ri = (((i as f64 + 0.5) * h as f64) / 64.0) as usize;
        for j in 0..64 {
            let ci = (((j as f64 + 0.5) * w as f64) / 64.0) as usize;
            a[i * 64 + j] = buf[ri * w + ci];
        }
    }
    a
}

fn quality(a: &[f32]) -> u8 {
    let mut s: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            let d = ((a[i * 64 + j] - a[(i + 1) * 64 + j]) * 100f32) / 255f32;
            s += (d as i64).abs();
        }
    }
    for i in 0..64 {
        for j in 0..63 {
            let d = ((a[i * 64 + j] - a[i * 64 + j + 1]) * 100f32) / 255f32;
            s += (d as i64).abs();
        }
    }
    std::cmp::min(100, s / 90) as u8
}

fn dct(a: &[f32]) -> Vec<f32> {
    let scale = (2.0f64 / 64.0).sqrt() as f32;
    let d = |i: usize, j: usize| -> f32 {
        (scale as f64
            * ((std::f64::consts::PI / 2.0 / 64.0) * (i + 1) as f64 * (2 * j + 1) as f64).cos())
            as f32
    };
    let mut t = vec![0f32; 16 * 64];
    for i in 0..16 {
        for j in 0..64 {
            let mut s = 0f32;
            for k in 0..64 {
                s += d(i, k) * a[k * 64 + j];
            }
            t[i * 64 + j] = s;
        }
    }
    let mut b = vec![0f32; 256];
    for i in 0..16 {
        for j in 0..16 {
            let mut s = 0f32;
            for k in 0..64 {
                s += t[i * 64 + k] * d(j, k);
            }
            b[i * 16 + j] = s;
        }
    }
    b
}

fn bits(b: &[f32]) -> Hash256 {
    let mut sorted = b.to_vec();
    sorted.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let median = sorted[127];
    let mut hex_words = [0u16; 16];
    for (k, &v) in b.iter().enumerate() {
        if v > median {
            hex_words[k / 16] |= 1 << (k % 16);
        }
    }
    // Format as the reference: w[15] first, %04hx each.
    let s: String = hex_words.iter().rev().map(|w| format!("{w:04x}")).collect();
    s.parse().unwrap()
}

/// The plain entry point.
pub(crate) fn pdq(luma: &[f32], w: usize, h: usize) -> (Hash256, u8) {
    if w < 5 || h < 5 {
        return (Hash256::ZERO, 0);
    }
    let a = if w == 64 && h == 64 {
        luma.to_vec()
    } else {
        blur_decimate(luma, w, h)
    };
    (bits(&dct(&a)), quality(&a))
}

/// The dihedral entry point.
pub(crate) fn dihedral(luma: &[f32], w: usize, h: usize) -> ([Hash256; 8], u8) {
    if w < 5 || h < 5 {
        return ([Hash256::ZERO; 8], 0);
    }
    let a = blur_decimate(luma, w, h);
    let b = dct(&a);
    let at = |i: usize, j: usize| b[i * 16 + j];
    let mut out = [Hash256::ZERO; 8];
    for (n, slot) in out.iter_mut().enumerate() {
        let mut m = vec![0f32; 256];
        for i in 0..16 {
            for j in 0..16 {
                let v = at(i, j);
                let (odd_i, odd_j, odd_ij) = (i % 2 == 1, j % 2 == 1, (i + j) % 2 == 1);
                let (ti, tj, val) = match n {
                    0 => (i, j, v),
                    1 => (j, i, if odd_j { v } else { -v }),
                    2 => (i, j, if odd_ij { -v } else { v }),
                    3 => (j, i, if odd_i { v } else { -v }),
                    4 => (i, j, if odd_i { v } else { -v }),
                    5 => (i, j, if odd_j { v } else { -v }),
                    6 => (j, i, v),
                    _ => (j, i, if odd_ij { -v } else { v }),
                };
                m[ti * 16 + tj] = val;
            }
        }
        *slot = bits(&m);
    }
    (out, quality(&a))
}

/// Reference luma of RGB8, scalar.
pub(crate) fn luma_rgb(rgb: &[u8]) -> Vec<f32> {
    rgb.chunks(3)
        .map(|p| (0.299f32 * p[0] as f32 + 0.587f32 * p[1] as f32) + 0.114f32 * p[2] as f32)
        .collect()
}

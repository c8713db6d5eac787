//! Linear scan: the Hamming distance from one query to every code of a contiguous array, keeping
//! those within the radius. Three kernels, chosen at run time:
//!
//! * [`Simd::Avx512`]: `VPOPCNTQ` on 256-bit registers (AVX-512 VPOPCNTDQ + VL). Written and
//!   compiled, but the development machine has no AVX-512, so it is tested only where the CPU has it
//!   (the tests run every level [`Simd::available`] reports).
//! * [`Simd::Avx2`]: popcount through a nibble lookup table (`vpshufb`), byte sums by `vpsadbw`
//!   (Muła, Kurz, Lemire 2018); four codes per iteration share one horizontal reduction.
//! * [`Simd::Portable`]: `u64::count_ones`, any CPU.
//!
//! The SIMD kernels handle 256-bit codes (`W == 4`); other widths always use the portable kernel.

/// A popcount kernel for the linear scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Simd {
    /// `u64::count_ones`, any CPU.
    Portable,
    /// AVX2 nibble-LUT popcount (x86-64 with AVX2).
    Avx2,
    /// AVX-512 `VPOPCNTQ` (x86-64 with AVX-512 VPOPCNTDQ and VL).
    Avx512,
}

impl Simd {
    /// The fastest kernel this CPU supports.
    pub fn detect() -> Simd {
        *Simd::available()
            .last()
            .expect("portable is always available")
    }

    /// Every kernel this CPU supports, slowest first (always starts with [`Simd::Portable`]).
    pub fn available() -> Vec<Simd> {
        let mut v = vec![Simd::Portable];
        #[cfg(target_arch = "x86_64")]
        {
            if is_x86_feature_detected!("avx2") {
                v.push(Simd::Avx2);
            }
            if is_x86_feature_detected!("avx512vpopcntdq")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx2")
            {
                v.push(Simd::Avx512);
            }
        }
        v
    }

    /// Whether this CPU can run the kernel.
    pub fn is_available(self) -> bool {
        Simd::available().contains(&self)
    }
}

/// Hamming distance of two codes.
#[inline(always)]
pub(crate) fn distance<const W: usize>(a: &[u64; W], b: &[u64; W]) -> u32 {
    let mut d = 0;
    for i in 0..W {
        d += (a[i] ^ b[i]).count_ones();
    }
    d
}

/// Appends `(first + i, distance)` for every `codes[i]` within `r` of `q`, in order of `i`.
///
/// A kernel the CPU lacks falls back to the portable one (callers check
/// [`Simd::is_available`] when they care).
pub(crate) fn scan<const W: usize>(
    codes: &[[u64; W]],
    q: &[u64; W],
    r: u32,
    simd: Simd,
    first: u32,
    out: &mut Vec<(u32, u32)>,
) {
    #[cfg(target_arch = "x86_64")]
    if W == 4 && simd != Simd::Portable && simd.is_available() {
        let flat = codes.as_flattened();
        let q4 = [q[0], q[1], q[2], q[3]];
        match simd {
            // SAFETY: the CPU supports AVX2 (checked by `is_available` just above).
            Simd::Avx2 => unsafe { x86::scan_avx2(flat, &q4, r, first, out) },
            // SAFETY: the CPU supports AVX-512 VPOPCNTDQ, VL and AVX2 (checked above).
            Simd::Avx512 => unsafe { x86::scan_avx512(flat, &q4, r, first, out) },
            Simd::Portable => unreachable!(),
        }
        return;
    }
    let _ = simd;
    scan_portable(codes, q, r, first, out);
}

fn scan_portable<const W: usize>(
    codes: &[[u64; W]],
    q: &[u64; W],
    r: u32,
    first: u32,
    out: &mut Vec<(u32, u32)>,
) {
    for (i, c) in codes.iter().enumerate() {
        let d = distance(c, q);
        if d <= r {
            out.push((first + i as u32, d));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// Reduces four vectors of four 64-bit partial counts (one vector per code, each partial
    /// count < 2^16) to the four distances, as 16-bit fields of the low 64 bits, and returns
    /// `(fields, mask)` where bit `k` of `mask` says code `k` is within `r`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn reduce4(s0: __m256i, s1: __m256i, s2: __m256i, s3: __m256i, rv: __m256i) -> (u64, u32) {
        // Each 64-bit lane of `c` holds four 16-bit fields: field k = partial count of code k.
        let c = _mm256_or_si256(
            _mm256_or_si256(s0, _mm256_slli_epi64(s1, 16)),
            _mm256_or_si256(_mm256_slli_epi64(s2, 32), _mm256_slli_epi64(s3, 48)),
        );
        // Sum the four lanes field-wise (sums <= 256 fit in 16 bits).
        let t = _mm256_add_epi16(c, _mm256_permute4x64_epi64(c, 0b01_00_11_10));
        let t = _mm256_add_epi16(t, _mm256_shuffle_epi32(t, 0b01_00_11_10));
        let gt = _mm256_cmpgt_epi16(t, rv);
        // Low 8 bytes of the movemask cover the four fields, 2 bits each.
        let m = !(_mm256_movemask_epi8(gt) as u32) & 0xff;
        let within = (m & 1) | ((m >> 1) & 2) | ((m >> 2) & 4) | ((m >> 3) & 8);
        let fields = _mm_cvtsi128_si64(_mm256_castsi256_si128(t)) as u64;
        (fields, within)
    }

    #[inline]
    fn emit(fields: u64, mut within: u32, base: u32, out: &mut Vec<(u32, u32)>) {
        while within != 0 {
            let k = within.trailing_zeros();
            out.push((base + k, ((fields >> (16 * k)) & 0xffff) as u32));
            within &= within - 1;
        }
    }

    /// AVX2 scan over `flat` (codes of four words each).
    ///
    /// # Safety
    /// The CPU must support AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_avx2(
        flat: &[u64],
        q: &[u64; 4],
        r: u32,
        first: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        let n = flat.len() / 4;
        // SAFETY: `q` is 32 readable bytes; unaligned load.
        let qv = unsafe { _mm256_loadu_si256(q.as_ptr().cast()) };
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2,
            3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        let rv = _mm256_set1_epi16(r.min(i16::MAX as u32) as i16);
        let count = |i: usize| -> __m256i {
            // SAFETY: the callers below pass i < n, so the 32 bytes at 4*i lie inside `flat`.
            let x = unsafe { _mm256_loadu_si256(flat.as_ptr().add(4 * i).cast()) };
            let x = _mm256_xor_si256(x, qv);
            let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(x, low));
            let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(x, 4), low));
            _mm256_sad_epu8(_mm256_add_epi8(lo, hi), zero)
        };
        let mut i = 0;
        while i + 4 <= n {
            let (f, w) = reduce4(count(i), count(i + 1), count(i + 2), count(i + 3), rv);
            if w != 0 {
                emit(f, w, first + i as u32, out);
            }
            i += 4;
        }
        tail(flat, q, r, i, n, first, out);
    }

    /// AVX-512 VPOPCNTDQ scan over `flat` (codes of four words each). Not exercised on the
    /// development machine (no AVX-512 there); the tests run it wherever the CPU has it.
    ///
    /// # Safety
    /// The CPU must support AVX-512 VPOPCNTDQ, AVX-512 VL and AVX2.
    #[target_feature(enable = "avx2,avx512f,avx512vl,avx512vpopcntdq")]
    pub(super) unsafe fn scan_avx512(
        flat: &[u64],
        q: &[u64; 4],
        r: u32,
        first: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        let n = flat.len() / 4;
        // SAFETY: `q` is 32 readable bytes; unaligned load.
        let qv = unsafe { _mm256_loadu_si256(q.as_ptr().cast()) };
        let rv = _mm256_set1_epi16(r.min(i16::MAX as u32) as i16);
        let count = |i: usize| -> __m256i {
            // SAFETY: the callers below pass i < n, so the 32 bytes at 4*i lie inside `flat`.
            let x = unsafe { _mm256_loadu_si256(flat.as_ptr().add(4 * i).cast()) };
            _mm256_popcnt_epi64(_mm256_xor_si256(x, qv))
        };
        let mut i = 0;
        while i + 4 <= n {
            let (f, w) = reduce4(count(i), count(i + 1), count(i + 2), count(i + 3), rv);
            if w != 0 {
                emit(f, w, first + i as u32, out);
            }
            i += 4;
        }
        tail(flat, q, r, i, n, first, out);
    }

    fn tail(
        flat: &[u64],
        q: &[u64; 4],
        r: u32,
        from: usize,
        n: usize,
        first: u32,
        out: &mut Vec<(u32, u32)>,
    ) {
        for i in from..n {
            let c = &flat[4 * i..4 * i + 4];
            let d: u32 = (0..4).map(|k| (c[k] ^ q[k]).count_ones()).sum();
            if d <= r {
                out.push((first + i as u32, d));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn run(codes: &[[u64; 4]], q: &[u64; 4], r: u32, simd: Simd) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        scan(codes, q, r, simd, 7, &mut out);
        out
    }

    #[test]
    fn extremes() {
        let codes = vec![
            [0u64; 4],
            [u64::MAX; 4],
            [1, 0, 0, 0],
            [0, 0, 0, 1 << 63],
            [5; 4],
        ];
        for simd in Simd::available() {
            assert_eq!(run(&codes, &[0; 4], 0, simd), vec![(7, 0)]);
            assert_eq!(run(&codes, &[0; 4], 255, simd).len(), 4);
            assert_eq!(run(&codes, &[0; 4], 256, simd).len(), 5);
            assert_eq!(run(&codes, &[u64::MAX; 4], 0, simd), vec![(8, 0)]);
            assert_eq!(run(&codes, &[u64::MAX; 4], 256, simd)[0], (7, 256));
        }
    }

    proptest! {
        #[test]
        fn simd_matches_portable(
            codes in proptest::collection::vec(proptest::array::uniform4(any::<u64>()), 0..40),
            q in proptest::array::uniform4(any::<u64>()),
            flips in proptest::collection::vec(proptest::array::uniform4(any::<u64>()), 0..40),
            r in 0u32..=256,
        ) {
            // Mix in codes close to the query so that small radii find something.
            let mut all = codes.clone();
            for f in &flips {
                all.push([q[0] ^ (f[0] & f[1] & f[2]), q[1] ^ (f[1] & f[2] & f[3]), q[2] ^ (f[0] & f[3] & f[2]), q[3] ^ (f[0] & f[1] & f[3])]);
            }
            let want = run(&all, &q, r, Simd::Portable);
            for simd in Simd::available() {
                prop_assert_eq!(&run(&all, &q, r, simd), &want, "{:?}", simd);
            }
        }
    }
}

//! Luma lookup tables. `0.299f * (float)v` for `v` in 0..=255 is the same rounded float32 product
//! whether computed on the fly or read from a table, so tables change nothing in the arithmetic.

use std::sync::OnceLock;

pub(crate) struct Tables {
    r: [f32; 256],
    g: [f32; 256],
    b: [f32; 256],
    grey: [f32; 256],
}

impl Tables {
    #[inline(always)]
    pub(crate) fn rgb(&self, r: u8, g: u8, b: u8) -> f32 {
        (self.r[r as usize] + self.g[g as usize]) + self.b[b as usize]
    }

    #[inline(always)]
    pub(crate) fn grey(&self, v: u8) -> f32 {
        self.grey[v as usize]
    }
}

pub(crate) fn tables() -> &'static Tables {
    static T: OnceLock<Tables> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Tables {
            r: [0.0; 256],
            g: [0.0; 256],
            b: [0.0; 256],
            grey: [0.0; 256],
        };
        for v in 0..256 {
            let f = v as f32;
            t.r[v] = 0.299f32 * f;
            t.g[v] = 0.587f32 * f;
            t.b[v] = 0.114f32 * f;
            t.grey[v] = (t.r[v] + t.g[v]) + t.b[v];
        }
        t
    })
}

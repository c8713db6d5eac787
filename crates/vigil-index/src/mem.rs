//! Large arrays backed by transparent huge pages where the OS allows it.
//!
//! MIH verification reads codes and postings at random; with 4 KiB pages nearly every such read
//! also misses the TLB, which on a virtual machine (nested page walks) costs more than the cache
//! miss itself. Asking for 2 MiB pages (`madvise(MADV_HUGEPAGE)`, which Linux honours when
//! `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise` or `always`) removes most of that.

/// An empty vector with room for `cap` elements, its allocation marked for huge pages before any
/// of it is touched.
pub(crate) fn huge_vec<T>(cap: usize) -> Vec<T> {
    let v: Vec<T> = Vec::with_capacity(cap);
    advise(v.as_ptr().cast(), cap * std::mem::size_of::<T>());
    v
}

/// `len` zeros, in memory marked for huge pages. The allocator hands a large zeroed allocation
/// over as fresh, untouched pages (`calloc` over `mmap`), so the pages are only faulted in, as
/// huge pages, where the array is first written; memory it recycled is zeroed at once, and
/// [`collapse`] then helps.
pub(crate) fn huge_zeroed(len: usize) -> Vec<u32> {
    let v = vec![0u32; len];
    advise(v.as_ptr().cast(), len * 4);
    v
}

/// A zeroed `u32` array whose disjoint ranges may be read and written from different threads:
/// a segment's tables, which a compaction fills one at a time (off the index's lock) while
/// queries read the tables already filled. Callers keep the ranges apart (see the `unsafe`
/// methods); through `&mut self` it is an ordinary slice.
pub(crate) struct Arena {
    ptr: std::ptr::NonNull<u32>,
    len: usize,
}

// SAFETY: `Arena` owns its allocation like a `Box<[u32]>`; shared access to a range is through
// the `unsafe` methods, whose callers keep readers and the one writer of a range apart.
unsafe impl Send for Arena {}
// SAFETY: as above.
unsafe impl Sync for Arena {}

impl Arena {
    /// `len` zeros, marked for huge pages and faulted in only where written ([`huge_zeroed`]).
    pub(crate) fn zeroed(len: usize) -> Self {
        let b: Box<[u32]> = huge_zeroed(len).into_boxed_slice();
        let len = b.len();
        let ptr = std::ptr::NonNull::new(Box::into_raw(b).cast::<u32>())
            .expect("a box's pointer is not null");
        Arena { ptr, len }
    }

    /// Number of elements.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The range `start..start + len`.
    ///
    /// # Safety
    /// No `&mut` to any part of the range may exist while the result lives.
    #[inline(always)]
    pub(crate) unsafe fn range(&self, start: usize, len: usize) -> &[u32] {
        assert!(
            start <= self.len && len <= self.len - start,
            "arena range out of bounds"
        );
        // SAFETY: in bounds (checked) of our live allocation of initialised u32s; the caller
        // rules out a concurrent `&mut`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(start), len) }
    }

    /// The range `start..start + len`, writable through a shared borrow.
    ///
    /// # Safety
    /// No other reference to any part of the range may exist, or be made, while the result
    /// lives.
    #[allow(clippy::mut_from_ref)]
    pub(crate) unsafe fn range_mut(&self, start: usize, len: usize) -> &mut [u32] {
        assert!(
            start <= self.len && len <= self.len - start,
            "arena range out of bounds"
        );
        // SAFETY: in bounds (checked); the pointer comes from `Box::into_raw`, so it may write;
        // the caller guarantees the range is not otherwise borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr().add(start), len) }
    }

    /// The whole array, through a unique borrow.
    pub(crate) fn as_mut_slice(&mut self) -> &mut [u32] {
        // SAFETY: a unique borrow of the arena rules out any other reference to its elements.
        unsafe { self.range_mut(0, self.len) }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: `ptr` and `len` come from `Box::into_raw` of a `Box<[u32]>` of `len`
        // elements, not freed before.
        drop(unsafe {
            Box::from_raw(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ))
        });
    }
}

impl std::fmt::Debug for Arena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Arena({})", self.len)
    }
}

/// Gives the memory of the (page-aligned interior of the) array `v` back to the system; it
/// reads as zeros afterwards (`MADV_DONTNEED` on private anonymous memory), so this is a
/// zeroing, done through a unique borrow. For a segment's table that a compaction took out.
pub(crate) fn release(v: &mut [u32]) {
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let ptr = v.as_mut_ptr() as usize;
        let start = ptr.next_multiple_of(PAGE);
        let end = (ptr + std::mem::size_of_val(v)) / PAGE * PAGE;
        if end > start {
            // SAFETY: [start, end) is a page-aligned range inside `v`, to which we hold the only
            // reference; MADV_DONTNEED on private anonymous memory (what the allocator maps)
            // only makes its pages read as zeros again, which `u32` allows. A failure leaves
            // the memory as it was, which is harmless.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    v.fill(0);
}

/// Asks the kernel to back the (2 MiB-aligned interior of the) filled array `v` with huge pages
/// now (`MADV_COLLAPSE`, Linux 6.1+): memory that malloc recycled from earlier, already-touched
/// allocations (a sort buffer, the input pairs) stays in 4 KiB pages otherwise, whatever
/// [`huge_vec`] advised. A failure (older kernel, THP off, no free huge pages) is harmless.
pub(crate) fn collapse<T>(v: &[T]) {
    #[cfg(target_os = "linux")]
    hint(v.as_ptr().cast(), std::mem::size_of_val(v), MADV_COLLAPSE);
}

/// `MADV_COLLAPSE` from `<linux/mman.h>` (not in every libc binding yet).
#[cfg(target_os = "linux")]
const MADV_COLLAPSE: libc::c_int = 25;

#[cfg(target_os = "linux")]
fn advise(ptr: *const u8, bytes: usize) {
    hint(ptr, bytes, libc::MADV_HUGEPAGE);
}

#[cfg(target_os = "linux")]
fn hint(ptr: *const u8, bytes: usize, advice: libc::c_int) {
    const HUGE: usize = 2 << 20;
    if bytes < 2 * HUGE {
        return;
    }
    let start = (ptr as usize).next_multiple_of(HUGE);
    let end = (ptr as usize + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: an FFI call that only hints the kernel about [start, end), a page-aligned
        // range inside our own live allocation. MADV_HUGEPAGE and MADV_COLLAPSE change neither
        // the contents nor the validity of the memory; a failure (e.g. THP disabled) is harmless
        // and ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, advice);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_ptr: *const u8, _bytes: usize) {}

/// One 64-byte cache line of code words.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u64; 8]);

/// Codes of `W` words stored from a cache-line boundary, so that a code of 32 bytes (or any
/// power-of-two size up to 64) never straddles two lines: an MIH query reads thousands of codes
/// at random, and a code across a line boundary costs two cache misses instead of one (half of
/// all 32-byte codes in a `Vec`, whose allocation is only 16-byte aligned). Reads as a slice.
#[derive(Clone, Default)]
pub(crate) struct Codes<const W: usize> {
    lines: Vec<Line>,
    len: usize,
}

impl<const W: usize> Codes<W> {
    /// Room for `n` codes, marked for huge pages before any of it is touched.
    pub(crate) fn with_capacity(n: usize) -> Self {
        Codes {
            lines: huge_vec((n * W).div_ceil(8)),
            len: 0,
        }
    }

    /// Appends a code.
    pub(crate) fn push(&mut self, code: [u64; W]) {
        let lines = ((self.len + 1) * W).div_ceil(8);
        if self.lines.len() < lines {
            self.lines.resize(lines, Line([0; 8]));
        }
        self.len += 1;
        let i = self.len - 1;
        self.as_mut_slice()[i] = code;
    }

    /// Bytes allocated.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.lines.capacity() * std::mem::size_of::<Line>()
    }

    fn as_mut_slice(&mut self) -> &mut [[u64; W]] {
        // SAFETY: as in `deref`, through a unique borrow of `lines`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast(), self.len) }
    }
}

impl<const W: usize> std::ops::Deref for Codes<W> {
    type Target = [[u64; W]];

    fn deref(&self) -> &[[u64; W]] {
        // SAFETY: `lines` is one allocation of `lines.len() * 8` initialised `u64`s (`Line` is
        // `repr(C)` over `[u64; 8]`: no padding); `[u64; W]` has the alignment of `u64`, no
        // padding and no invalid bit patterns, and `push` keeps `len * W <= lines.len() * 8`, so
        // the `len` codes lie inside the initialised words.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast(), self.len) }
    }
}

impl<const W: usize> std::fmt::Debug for Codes<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Codes({} of {} words)", self.len, W)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_start_on_cache_lines_and_read_back() {
        for n in [0usize, 1, 2, 3, 17, 1000] {
            let mut c = Codes::<4>::with_capacity(n / 2);
            let want: Vec<[u64; 4]> = (0..n as u64).map(|i| [i, !i, i << 7, i ^ 0x55]).collect();
            for &x in &want {
                c.push(x);
            }
            assert_eq!(&c[..], &want[..]);
            if n > 0 {
                assert_eq!(c.as_ptr() as usize % 64, 0);
            }
            let mut one = Codes::<1>::default();
            for i in 0..n as u64 {
                one.push([i]);
            }
            assert_eq!(
                one.iter().map(|c| c[0]).collect::<Vec<_>>(),
                (0..n as u64).collect::<Vec<_>>()
            );
        }
    }
}

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
        // SAFETY: not SIMD, but the one other `unsafe` of the crate: an FFI call that only hints
        // the kernel about [start, end), a page-aligned range inside our own live allocation.
        // MADV_HUGEPAGE and MADV_COLLAPSE change neither the contents nor the validity of the memory; a failure
        // (e.g. THP disabled) is harmless and ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, advice);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise(_ptr: *const u8, _bytes: usize) {}

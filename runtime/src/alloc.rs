//! The owned, 64-byte-aligned buffer behind [`Array`](crate::Array).
//!
//! Fresh outputs are the common case in einkern (NumPy semantics: every call
//! returns a new array), so how a buffer is allocated decides every
//! memory-bound workload. Small buffers come from the global allocator.
//! Large ones are mapped directly, aligned to 2 MiB and advised with
//! `MADV_HUGEPAGE`: on a kernel whose transparent huge pages are in `madvise`
//! mode, first-touching 80 MB then costs ~40 huge-page faults instead of
//! ~20 000 small ones (measured: 43 ms → 12 ms for a fresh 10⁷-f64 output).
//! Mid-sized ones (128 KiB to 1 MiB) are mapped too, with ordinary pages,
//! only so that the cache below recycles them: glibc serves 64-byte-aligned
//! requests of that size with a fresh `mmap` on every call, and the
//! 512 KiB intermediate of `ij,jk,kl->il` (chain3_f64) then paid 128 page
//! faults per call, 6–8% of its time. A fresh mapping is zero-filled by the
//! kernel, at first touch.
//!
//! Freed mappings are kept in a small, bounded cache and handed to the next
//! buffer of the same size — the common "allocate an output, use it, drop
//! it, repeat" loop then touches no fresh pages at all, as with allocators
//! that retain freed pages (jemalloc, mimalloc). A zeroed buffer taken from
//! the cache is cleared lazily, with streaming stores, on its first access —
//! or never, when that access overwrites it whole (`Array::zeros` then
//! `fill`), like `calloc` pages that are written before they are read. On
//! this project's machine the kernel clears fresh huge pages at ~5 GB/s
//! (80 MB in 15–19 ms of page faults); streaming stores clear the same 80 MB
//! in 5.4 ms. The cache
//! holds at most `EINKERN_BUFFER_CACHE_MB` MiB (default 512; 0 disables it).

use std::alloc::Layout;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::Once;

use crate::error::Error;

/// Alignment of every buffer: one cache line, and one AVX-512 vector.
pub const ALIGN: usize = 64;

/// Buffers at least this large are mapped with huge-page advice (and so
/// recycled by the cache). Half a huge page: rounding up wastes at most as
/// much as it maps, and a 1–2 MB output (a batch of attention scores) no
/// longer pays hundreds of small page faults on every call.
const HUGE_THRESHOLD: usize = 1 << 20;
const HUGE_PAGE: usize = 2 << 20;
/// Buffers at least this large (and below [`HUGE_THRESHOLD`]) are mapped
/// with ordinary pages, in multiples of [`MAP_GRAIN`], and recycled by the
/// cache: glibc's own threshold for mapping, where its recycling stops.
const MAP_THRESHOLD: usize = 128 << 10;
const MAP_GRAIN: usize = 64 << 10;

/// Where a buffer's memory came from, so `Drop` returns it to the same place.
enum Origin {
    /// Zero-length: a dangling, aligned pointer; nothing to free.
    Empty,
    /// The global allocator, with this layout.
    Heap(Layout),
    /// An anonymous mapping of this many bytes.
    #[cfg(unix)]
    Mapped(usize),
}

/// An owned allocation of `len` elements of `T`, aligned to [`ALIGN`].
///
/// It tracks memory, not initialisation: [`uninit`](RawBuffer::uninit)
/// buffers must be fully written before they are read (the element types are
/// plain numbers, so any bit pattern is a valid value, but reading memory
/// before writing it is still a bug).
pub struct RawBuffer<T> {
    ptr: NonNull<T>,
    len: usize,
    origin: Origin,
    /// `Some` for a recycled mapping handed out as zeroed: the zeros are
    /// written on the first access ([`RawBuffer::as_ptr`] and friends), or
    /// never, when the first access overwrites every element
    /// ([`RawBuffer::as_mut_ptr_for_overwrite`]).
    pending_zero: Option<Once>,
    _owns: PhantomData<T>,
}

// SAFETY: the buffer is uniquely owned memory holding `T: Send/Sync` values.
unsafe impl<T: Send> Send for RawBuffer<T> {}
// SAFETY: as above; shared access only reads.
unsafe impl<T: Sync> Sync for RawBuffer<T> {}

impl<T: Copy> RawBuffer<T> {
    /// A buffer of `len` elements whose contents are unspecified.
    ///
    /// # Panics
    /// If `len * size_of::<T>()` overflows `isize` or the allocation fails
    /// ([`try_uninit`](Self::try_uninit) returns the error instead).
    pub fn uninit(len: usize) -> Self {
        Self::try_uninit(len).unwrap_or_else(|e| panic!("einkern: {e}"))
    }

    /// A buffer of `len` elements, all bits zero (0 and 0.0 for einkern's
    /// element types).
    ///
    /// # Panics
    /// As [`uninit`](Self::uninit).
    pub fn zeroed(len: usize) -> Self {
        Self::try_zeroed(len).unwrap_or_else(|e| panic!("einkern: {e}"))
    }

    /// [`uninit`](Self::uninit), with an error instead of a panic when the
    /// size overflows or the memory cannot be had.
    pub fn try_uninit(len: usize) -> Result<Self, Error> {
        Self::allocate(len, false)
    }

    /// [`zeroed`](Self::zeroed), with an error instead of a panic.
    pub fn try_zeroed(len: usize) -> Result<Self, Error> {
        Self::allocate(len, true)
    }

    fn allocate(len: usize, zero: bool) -> Result<Self, Error> {
        let bytes = len
            .checked_mul(std::mem::size_of::<T>())
            .filter(|&b| b <= isize::MAX as usize - HUGE_PAGE)
            .ok_or_else(|| {
                Error::alloc(format!(
                    "cannot allocate {len} elements of {} bytes: the size overflows isize",
                    std::mem::size_of::<T>()
                ))
            })?;
        if bytes == 0 {
            return Ok(RawBuffer {
                ptr: dangling_aligned(),
                len,
                origin: Origin::Empty,
                pending_zero: None,
                _owns: PhantomData,
            });
        }
        // Miri cannot give back parts of a mapping (`munmap` of the
        // unaligned head) nor take `madvise`: under Miri every buffer comes
        // from the global allocator, which it checks.
        #[cfg(unix)]
        if bytes >= MAP_THRESHOLD && !cfg!(miri) {
            let size = mapped_size(bytes);
            let cached = cache::take(size);
            // A recycled mapping holds old data: zero it lazily. A fresh
            // one is zero-filled by the kernel.
            let pending_zero = (zero && cached.is_some()).then(Once::new);
            if let Some(ptr) = cached.or_else(|| map(size)) {
                return Ok(RawBuffer {
                    ptr: ptr.cast(),
                    len,
                    origin: Origin::Mapped(size),
                    pending_zero,
                    _owns: PhantomData,
                });
            }
        }
        let layout = Layout::from_size_align(bytes, ALIGN).expect("size checked above");
        // SAFETY: `layout` has non-zero size.
        let raw = unsafe {
            if zero {
                std::alloc::alloc_zeroed(layout)
            } else {
                std::alloc::alloc(layout)
            }
        };
        let ptr = NonNull::new(raw.cast::<T>()).ok_or_else(|| {
            Error::alloc(format!(
                "cannot allocate {bytes} bytes ({len} elements): out of memory"
            ))
        })?;
        Ok(RawBuffer {
            ptr,
            len,
            origin: Origin::Heap(layout),
            pending_zero: None,
            _owns: PhantomData,
        })
    }

    /// A buffer holding a copy of `data`.
    pub fn from_slice(data: &[T]) -> Self {
        let buf = Self::uninit(data.len());
        // SAFETY: `buf` has room for exactly `data.len()` elements and is a
        // fresh allocation, so the ranges cannot overlap.
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf.ptr.as_ptr(), data.len()) };
        buf
    }
}

impl<T> RawBuffer<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The elements, for reading (a pending zero fill is done first).
    pub fn as_ptr(&self) -> *const T {
        self.settle_zeros();
        self.ptr.as_ptr()
    }
    /// The elements, for reading and writing (a pending zero fill is done
    /// first).
    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.settle_zeros();
        self.ptr.as_ptr()
    }
    /// The elements, for a caller that writes every one of them before
    /// anything reads one: a pending zero fill is dropped, so
    /// `Array::zeros(..)` followed by a full `fill` writes memory once.
    pub fn as_mut_ptr_for_overwrite(&mut self) -> *mut T {
        self.pending_zero = None;
        self.ptr.as_ptr()
    }

    /// Writes the zeros of a recycled zeroed buffer, once, with streaming
    /// stores; every access path calls this before touching the elements.
    fn settle_zeros(&self) {
        if let Some(once) = &self.pending_zero {
            once.call_once(|| {
                let bytes = self.len * std::mem::size_of::<T>();
                // SAFETY: a pending zero fill only exists for a mapping of
                // `bytes` rounded up to 64 KiB or 2 MiB, so the whole u64s
                // covering `bytes` are inside it; nothing has read or written the
                // elements yet (every access waits on this `Once`).
                unsafe {
                    crate::stream::fill(self.ptr.as_ptr().cast::<u64>(), bytes.div_ceil(8), 0)
                };
            });
        }
    }
}

impl<T> Drop for RawBuffer<T> {
    fn drop(&mut self) {
        match self.origin {
            Origin::Empty => {}
            // SAFETY: allocated by the global allocator with this layout.
            Origin::Heap(layout) => unsafe {
                std::alloc::dealloc(self.ptr.as_ptr().cast(), layout)
            },
            #[cfg(unix)]
            Origin::Mapped(bytes) => cache::give_back(self.ptr.cast(), bytes),
        }
    }
}

fn dangling_aligned<T>() -> NonNull<T> {
    // An aligned, non-null address that is never dereferenced (zero-length).
    NonNull::new(std::ptr::without_provenance_mut::<T>(ALIGN)).expect("ALIGN is non-zero")
}

fn round_up(x: usize, to: usize) -> usize {
    x.div_ceil(to) * to
}

/// The size of the mapping that holds a buffer of `bytes` (at least
/// [`MAP_THRESHOLD`]): whole huge pages from [`HUGE_THRESHOLD`] on, whole
/// [`MAP_GRAIN`]s below.
fn mapped_size(bytes: usize) -> usize {
    round_up(
        bytes,
        if bytes >= HUGE_THRESHOLD {
            HUGE_PAGE
        } else {
            MAP_GRAIN
        },
    )
}

/// Maps `size` bytes (a [`mapped_size`]) of zeroed memory: at a 2 MiB-aligned
/// address with huge-page advice when `size` is whole huge pages, page
/// aligned otherwise. `None` if the kernel refuses the mapping, in which case
/// the caller falls back to the global allocator.
#[cfg(unix)]
fn map(size: usize) -> Option<NonNull<u8>> {
    let huge = size % HUGE_PAGE == 0;
    // Over-map by one huge page so an aligned start exists inside the range,
    // then give back the unaligned head and the tail.
    let span = if huge { size + HUGE_PAGE } else { size };
    // SAFETY: an anonymous private mapping with no address hint touches no
    // existing memory.
    let raw = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            span,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if raw == libc::MAP_FAILED {
        return None;
    }
    if !huge {
        return NonNull::new(raw.cast());
    }
    let start = raw as usize;
    let aligned = round_up(start, HUGE_PAGE);
    let head = aligned - start;
    let tail = span - head - size;
    // SAFETY: both ranges lie inside the mapping just created and outside
    // the `size` bytes kept at `aligned`. Failure to unmap only wastes
    // address space, so the results are not checked. madvise is advice:
    // failing (e.g. THP disabled) leaves ordinary pages, still correct.
    unsafe {
        if head > 0 {
            libc::munmap(raw, head);
        }
        if tail > 0 {
            libc::munmap((aligned + size) as *mut libc::c_void, tail);
        }
        libc::madvise(aligned as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
    }
    NonNull::new(aligned as *mut u8)
}

/// Freed mappings waiting to be reused, most recent last.
#[cfg(unix)]
mod cache {
    use std::ptr::NonNull;
    use std::sync::{Mutex, OnceLock};

    /// A mapping owned by the cache.
    struct Mapping(NonNull<u8>, usize);
    // SAFETY: a mapping is plain memory that no one else references.
    unsafe impl Send for Mapping {}

    static FREE: Mutex<Vec<Mapping>> = Mutex::new(Vec::new());

    fn limit_bytes() -> usize {
        static LIMIT: OnceLock<usize> = OnceLock::new();
        *LIMIT.get_or_init(|| {
            let mb = std::env::var("EINKERN_BUFFER_CACHE_MB")
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(512);
            mb.saturating_mul(1 << 20)
        })
    }

    /// A cached mapping of exactly `size` bytes, if there is one.
    pub(super) fn take(size: usize) -> Option<NonNull<u8>> {
        let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
        let i = free.iter().rposition(|m| m.1 == size)?;
        Some(free.swap_remove(i).0)
    }

    /// Keeps a mapping of `size` bytes for reuse, evicting the oldest ones
    /// past the limit; unmaps what it cannot keep.
    pub(super) fn give_back(ptr: NonNull<u8>, size: usize) {
        let limit = limit_bytes();
        let mut evicted = Vec::new();
        if size <= limit {
            let mut free = FREE.lock().unwrap_or_else(|e| e.into_inner());
            free.push(Mapping(ptr, size));
            let mut total: usize = free.iter().map(|m| m.1).sum();
            while total > limit {
                let old = free.remove(0);
                total -= old.1;
                evicted.push(old);
            }
        } else {
            evicted.push(Mapping(ptr, size));
        }
        for Mapping(p, n) in evicted {
            // SAFETY: `map` mapped exactly `n` bytes at `p`, and the
            // buffer that owned it is gone.
            unsafe { libc::munmap(p.as_ptr().cast(), n) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_buffers_are_aligned_and_zeroed() {
        for len in [0usize, 1, 7, 1000, 3 << 20] {
            let buf = RawBuffer::<f64>::zeroed(len);
            assert_eq!(buf.as_ptr() as usize % ALIGN, 0, "len {len}");
            assert_eq!(buf.len(), len);
            // SAFETY: `zeroed` initialised all `len` elements.
            let s = unsafe { std::slice::from_raw_parts(buf.as_ptr(), len) };
            assert!(s.iter().all(|&x| x == 0.0));
        }
    }

    #[test]
    fn large_buffers_are_huge_page_aligned() {
        let buf = RawBuffer::<f32>::uninit(HUGE_THRESHOLD);
        assert_eq!(buf.as_ptr() as usize % HUGE_PAGE, 0);
    }

    #[cfg(unix)]
    #[test]
    fn mid_sized_buffers_are_mapped_for_the_cache_and_recycled_ones_read_as_zeros() {
        // 512 KiB: mapped with ordinary pages, recycled by the cache.
        let len = (512 << 10) / 8;
        let mut first = RawBuffer::<f64>::uninit(len);
        assert_eq!(first.as_ptr() as usize % ALIGN, 0);
        // SAFETY: `first` holds `len` elements.
        unsafe { std::slice::from_raw_parts_mut(first.as_mut_ptr(), len) }.fill(7.0);
        drop(first);
        let zeroed = RawBuffer::<f64>::zeroed(len);
        assert!(matches!(zeroed.origin, Origin::Mapped(b) if b == 512 << 10));
        // SAFETY: `zeroed` initialised every element.
        assert!(unsafe { std::slice::from_raw_parts(zeroed.as_ptr(), len) }
            .iter()
            .all(|&x| x == 0.0));
    }

    #[test]
    fn freed_large_buffers_are_reused_and_cleared_for_zeroed() {
        let len = HUGE_THRESHOLD / 8 + 12345;
        let mut first = RawBuffer::<f64>::uninit(len);
        // SAFETY: `first` holds `len` elements.
        unsafe { std::slice::from_raw_parts_mut(first.as_mut_ptr(), len) }.fill(7.0);
        drop(first);
        // Another thread may race for the mapping; either way the zeroed
        // buffer, recycled or fresh, must read as zeros.
        let zeroed = RawBuffer::<f64>::zeroed(len);
        // SAFETY: `zeroed` initialised every element.
        assert!(unsafe { std::slice::from_raw_parts(zeroed.as_ptr(), len) }
            .iter()
            .all(|&x| x == 0.0));
        assert!(zeroed.as_ptr() as usize % HUGE_PAGE == 0);
    }

    #[test]
    fn recycled_zeroed_buffers_read_as_zeros_from_any_thread_or_are_overwritten() {
        let len = HUGE_THRESHOLD / 4 + 999;
        let garbage = |len: usize| {
            let mut b = RawBuffer::<f32>::uninit(len);
            // SAFETY: `b` holds `len` elements.
            unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr(), len) }.fill(f32::NAN);
        };
        garbage(len);
        let zeroed = RawBuffer::<f32>::zeroed(len);
        let shared = &zeroed;
        std::thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(move || {
                    // SAFETY: `shared` holds `len` initialised elements.
                    let v = unsafe { std::slice::from_raw_parts(shared.as_ptr(), len) };
                    assert!(v.iter().all(|&x| x == 0.0));
                });
            }
        });
        drop(zeroed);
        garbage(len);
        let mut overwritten = RawBuffer::<f32>::zeroed(len);
        let p = overwritten.as_mut_ptr_for_overwrite();
        // SAFETY: `p` points at `len` elements, written before any read.
        unsafe { std::slice::from_raw_parts_mut(p, len) }.fill(1.5);
        // SAFETY: every element was written above.
        let v = unsafe { std::slice::from_raw_parts(overwritten.as_ptr(), len) };
        assert!(
            v.iter().all(|&x| x == 1.5),
            "no late zero fill may clobber the writes"
        );
    }

    #[test]
    fn from_slice_copies() {
        let buf = RawBuffer::from_slice(&[1i32, 2, 3]);
        // SAFETY: three elements were written.
        assert_eq!(
            unsafe { std::slice::from_raw_parts(buf.as_ptr(), 3) },
            &[1, 2, 3]
        );
    }
}

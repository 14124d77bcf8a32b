//! Non-temporal ("streaming") stores for large outputs.
//!
//! An ordinary store to a line that is not in cache first reads the line
//! from memory (read-for-ownership), so filling an 80 MB array moves 160 MB.
//! A non-temporal store goes to a write-combining buffer and then straight to
//! memory as a whole line: half the traffic, and the cache keeps what the
//! program will read next. Measured on this project's machine: a fill of
//! 10⁷ f64 takes 10 ms with ordinary stores and 5.6 ms streamed; a 4096²
//! f64 transpose 110 ms and 24 ms (see [`crate::transpose`]).
//!
//! Streaming only pays when the output is too large to stay in cache for
//! whoever reads it next, hence [`STREAM_BYTES`]. Streamed stores are weakly
//! ordered: every function here ends with a store fence, so the data is
//! visible to other threads as soon as it returns.

// Under Miri (`.ci/miri`), which cannot run the stores' inline assembly,
// every function here takes its portable path (ordinary stores).

/// Outputs at least this large are written with streaming stores: well past
/// a core's L2 and a fair share of L3, so a later reader would miss anyway.
pub const STREAM_BYTES: usize = 16 << 20;

/// Writes `value` to `dst[0..len]` with streaming stores where the CPU has
/// them (SSE2, part of x86-64's baseline), ordinary ones elsewhere.
///
/// # Safety
/// `dst` must be valid for writes of `len` elements and aligned for `T`.
pub unsafe fn fill<T: Copy>(dst: *mut T, len: usize, value: T) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        let size = std::mem::size_of::<T>();
        if matches!(size, 4 | 8) {
            // SAFETY: forwarded; the element size is 4 or 8.
            unsafe { fill_sse2(dst, len, value) };
            return;
        }
    }
    // SAFETY: forwarded.
    unsafe { std::slice::from_raw_parts_mut(dst, len).fill(value) };
}

/// [`fill`] for 4- and 8-byte elements: ordinary stores up to the first
/// 16-byte boundary and after the last one, 16-byte streaming stores of the
/// repeated value in between.
///
/// # Safety
/// As [`fill`]; `size_of::<T>()` is 4 or 8.
#[cfg(all(target_arch = "x86_64", not(miri)))]
unsafe fn fill_sse2<T: Copy>(dst: *mut T, len: usize, value: T) {
    use std::arch::x86_64::{__m128i, _mm_sfence, _mm_stream_si128};
    let size = std::mem::size_of::<T>();
    let per_vector = 16 / size;
    // Only a `dst` at a multiple of the element size reaches a 16-byte
    // boundary after whole elements. The contract allows less (`T` aligned
    // to fewer bytes than its size, like `[u8; 8]`); such a `dst` is
    // filled with ordinary stores, as streaming would be misaligned.
    if dst as usize % size != 0 {
        // SAFETY: forwarded from the caller.
        unsafe { std::slice::from_raw_parts_mut(dst, len).fill(value) };
        return;
    }
    // Elements before the first 16-byte boundary: a whole number, since
    // `dst` is a multiple of the element size (checked above).
    let head = ((16 - dst as usize % 16) % 16 / size).min(len);
    let body = (len - head) / per_vector * per_vector;
    let pattern = [value; 4];
    // SAFETY: `pattern` holds at least 16 bytes of repeated `value`s (four
    // elements of at least 4 bytes); the unaligned read is explicit.
    let v: __m128i = unsafe { std::ptr::read_unaligned(pattern.as_ptr().cast()) };
    // SAFETY: head, body and tail partition `dst[0..len]`; body stores are
    // 16-byte aligned (they start at the boundary and advance by 16 bytes).
    unsafe {
        std::slice::from_raw_parts_mut(dst, head).fill(value);
        let mut p = dst.add(head).cast::<__m128i>();
        for _ in 0..body / per_vector {
            _mm_stream_si128(p, v);
            p = p.add(1);
        }
        std::slice::from_raw_parts_mut(dst.add(head + body), len - head - body).fill(value);
        _mm_sfence();
    }
}

/// Copies `src` to `dst` with streaming stores, for a generated row that
/// computed a block of `N` elements in registers: every store is a
/// constant-offset `movntdq` (a version that also handled a misaligned head
/// and a ragged end with variable-length copies, two `memcpy` calls per
/// 32-element block, made a streamed `(X - mu) / sd` take twice as long as
/// an unstreamed one).
///
/// # Safety
/// `dst` valid for writes of `N` elements and 16-byte aligned;
/// `N * size_of::<T>()` a multiple of 16. Call [`fence`] after the last
/// block of a run.
#[inline(always)]
pub unsafe fn store_block<T: Copy, const N: usize>(dst: *mut T, src: &[T; N]) {
    debug_assert_eq!(dst as usize % 16, 0, "streamed blocks are 16-byte aligned");
    debug_assert_eq!(std::mem::size_of_val(src) % 16, 0, "whole 16-byte vectors");
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let (from, to) = (src.as_ptr().cast::<__m128i>(), dst.cast::<__m128i>());
        for k in 0..std::mem::size_of_val(src) / 16 {
            // SAFETY: vector `k` lies inside both blocks, which hold whole
            // vectors; `to` is aligned (the caller's guarantee).
            unsafe { _mm_stream_si128(to.add(k), _mm_loadu_si128(from.add(k))) };
        }
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    // SAFETY: the caller's guarantee for `dst`; `src` is a separate array.
    unsafe {
        std::ptr::copy_nonoverlapping(src.as_ptr(), dst, N)
    };
}

/// Copies `n` elements from `src` to `dst`, streaming every whole 16-byte
/// vector of `dst`: for a run computed in a buffer (the JIT's blocks of 128
/// elements). The at most 15 bytes before `dst`'s first 16-byte boundary and
/// after its last are stored ordinarily, element by element with constant
/// bounds, so no `memcpy` call is made (a version that copied them with
/// `copy_nonoverlapping` paid two calls per run). Call [`fence`] after the
/// last run.
///
/// # Safety
/// `src` valid for reading and `dst` for writing `n` elements, not
/// overlapping; `dst` aligned for `T`; `T` of 4 or 8 bytes.
#[inline(always)]
pub unsafe fn store_run<T: Copy>(dst: *mut T, src: *const T, n: usize) {
    let size = std::mem::size_of::<T>();
    debug_assert!(size == 4 || size == 8, "elements of 4 or 8 bytes");
    // As in `fill_sse2`: a `dst` that is not at a multiple of the element
    // size never reaches a 16-byte boundary, so it is copied ordinarily.
    if dst as usize % size != 0 {
        // SAFETY: the caller's guarantee: `n` elements each, not overlapping.
        unsafe { std::ptr::copy_nonoverlapping(src, dst, n) };
        return;
    }
    let head = ((16 - dst as usize % 16) % 16 / size).min(n);
    let body = (n - head) / (16 / size) * (16 / size);
    // SAFETY (both edges): fewer than 16 / size ≤ 4 elements, all below
    // `n`; each is one typed copy.
    let edge = |from: usize, cnt: usize| {
        for i in 0..4 {
            if i < cnt {
                // SAFETY: as above.
                unsafe { *dst.add(from + i) = *src.add(from + i) };
            }
        }
    };
    edge(0, head);
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        // SAFETY: `dst + head` is 16-byte aligned; the body's vectors lie
        // inside both runs.
        unsafe {
            let (from, to) = (
                src.add(head).cast::<__m128i>(),
                dst.add(head).cast::<__m128i>(),
            );
            for k in 0..body * size / 16 {
                _mm_stream_si128(to.add(k), _mm_loadu_si128(from.add(k)));
            }
        }
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    // SAFETY: the body lies inside both runs.
    unsafe {
        std::ptr::copy_nonoverlapping(src.add(head), dst.add(head), body)
    };
    edge(head + body, n - head - body);
}

/// Orders every streaming store made so far before any later store (a
/// no-op where stores are not streamed).
#[inline(always)]
pub fn fence() {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: `sfence` has no preconditions (SSE, part of x86-64's baseline).
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_element_at_any_alignment_and_length() {
        for len in [0usize, 1, 2, 3, 5, 8, 17, 64, 1001] {
            for skip in 0..4 {
                let mut a = vec![0.0f64; len + skip];
                // SAFETY: `len` elements from `skip` are inside the vector.
                unsafe { fill(a.as_mut_ptr().add(skip), len, 2.5) };
                assert!(a[..skip].iter().all(|&x| x == 0.0));
                assert!(a[skip..].iter().all(|&x| x == 2.5), "len {len} skip {skip}");
                let mut b = vec![0i32; len + skip];
                // SAFETY: as above.
                unsafe { fill(b.as_mut_ptr().add(skip), len, -7) };
                assert!(b[..skip].iter().all(|&x| x == 0));
                assert!(b[skip..].iter().all(|&x| x == -7), "len {len} skip {skip}");
            }
        }
    }

    #[test]
    fn runs_are_stored_whole_at_any_alignment() {
        for n in [0usize, 1, 2, 3, 4, 5, 7, 8, 9, 31, 128, 131] {
            for skip in 0..4 {
                let mut c = vec![0.0f32; n + 8];
                let src: Vec<f32> = (0..n).map(|i| i as f32 - 2.5).collect();
                // SAFETY: `n` elements from `skip` are inside `c`.
                unsafe { store_run(c.as_mut_ptr().add(skip), src.as_ptr(), n) };
                fence();
                assert_eq!(&c[skip..skip + n], &src[..], "f32, {n} from {skip}");
                assert!(c[..skip].iter().chain(&c[skip + n..]).all(|&x| x == 0.0));
                let mut d = vec![0i64; n + 8];
                let src: Vec<i64> = (0..n as i64).map(|i| 3 * i - 7).collect();
                // SAFETY: as above.
                unsafe { store_run(d.as_mut_ptr().add(skip), src.as_ptr(), n) };
                fence();
                assert_eq!(&d[skip..skip + n], &src[..], "i64, {n} from {skip}");
                assert!(d[..skip].iter().chain(&d[skip + n..]).all(|&x| x == 0));
            }
        }
    }

    /// An element of 8 bytes aligned to 1, as the contract allows: at an
    /// address ≡ 3 (mod 16) the old head formula started the streaming
    /// stores at an address ≡ 11 (mod 16), and `movntdq` faulted (SIGSEGV).
    #[test]
    fn byte_aligned_elements_at_odd_addresses() {
        for skip in 0..16 {
            for len in [0usize, 1, 2, 3, 5, 16, 33] {
                let mut bytes = vec![0u8; 8 * len + 32];
                let at = (skip + 16 - bytes.as_ptr() as usize % 16) % 16;
                let dst = bytes[at..].as_mut_ptr().cast::<[u8; 8]>();
                // SAFETY: `8 * len` bytes from `at < 16` are inside
                // `bytes`; `[u8; 8]` has alignment 1.
                unsafe { fill(dst, len, *b"abcdefgh") };
                assert_eq!(bytes[..at].iter().filter(|&&x| x != 0).count(), 0);
                assert!(bytes[at..at + 8 * len].chunks(8).all(|c| c == b"abcdefgh"));
                assert!(bytes[at + 8 * len..].iter().all(|&x| x == 0));
            }
        }
    }

    /// [`store_run`] at addresses that are not a multiple of the element
    /// size (the same head formula as `fill`).
    #[test]
    fn runs_at_odd_addresses() {
        for skip in [1usize, 3, 5, 11] {
            for n in [0usize, 1, 4, 9, 33] {
                let mut bytes = vec![0u8; 8 * n + 32];
                let at = (skip + 16 - bytes.as_ptr() as usize % 16) % 16;
                let src: Vec<[u8; 8]> = (0..n).map(|i| [i as u8 + 1; 8]).collect();
                // SAFETY: `8 * n` bytes from `at < 16` are inside `bytes`,
                // apart from `src`; `[u8; 8]` has alignment 1.
                unsafe { store_run(bytes[at..].as_mut_ptr().cast::<[u8; 8]>(), src.as_ptr(), n) };
                fence();
                assert_eq!(&bytes[at..at + 8 * n], src.concat().as_slice());
                assert!(bytes[..at]
                    .iter()
                    .chain(&bytes[at + 8 * n..])
                    .all(|&x| x == 0));
            }
        }
    }

    #[test]
    fn blocks_are_stored_whole() {
        let mut a = vec![0.0f64; 20];
        let skip = (16 - a.as_ptr() as usize % 16) % 16 / 8;
        let block: [f64; 8] = std::array::from_fn(|i| i as f64 + 0.5);
        // SAFETY: 8 elements from the first 16-byte boundary are inside `a`.
        unsafe { store_block(a.as_mut_ptr().add(skip), &block) };
        fence();
        assert_eq!(&a[skip..skip + 8], &block);
        assert!(a[..skip].iter().chain(&a[skip + 8..]).all(|&x| x == 0.0));
        let mut b = vec![0i32; 12];
        let skip = (16 - b.as_ptr() as usize % 16) % 16 / 4;
        // SAFETY: as above, 4 elements.
        unsafe { store_block(b.as_mut_ptr().add(skip), &[1, -2, 3, -4]) };
        fence();
        assert_eq!(&b[skip..skip + 4], &[1, -2, 3, -4]);
    }
}

//! Register-blocked transposes of square tiles, the inner kernel of a
//! layout-changing copy whose source and destination are each unit-stride
//! along a different axis (`a.t().to_owned()`).
//!
//! A scalar tile copy reads or writes one element per instruction along the
//! strided side. These kernels load whole vectors along the source's
//! contiguous axis, transpose them in registers, and store whole vectors
//! along the destination's: 4×4 blocks of 8-byte elements or 8×8 blocks of
//! 4-byte elements with AVX2. Elements are moved as bits, never as numbers,
//! so any `Copy` type of that size is transported exactly.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Copies an `rows`×`cols` block: `dst[c·dr + r] = src[r·sr + c]` for
/// `r < rows`, `c < cols` — source rows are contiguous, destination columns
/// are contiguous. Returns `false` (copying nothing) when no vector kernel
/// applies to this element size or CPU, so the caller falls back.
///
/// # Safety
/// Every `src + r·sr + c` must be readable and `dst + c·dr + r` writable,
/// without overlap.
#[inline]
pub unsafe fn transpose_block<T: Copy>(
    rows: usize,
    cols: usize,
    src: *const T,
    sr: isize,
    dst: *mut T,
    dr: isize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::isa() >= crate::cpu::Isa::Avx2Fma {
        match std::mem::size_of::<T>() {
            // SAFETY: AVX2 is present; the caller vouches for the ranges.
            8 => unsafe { transpose_8byte_avx2(rows, cols, src.cast(), sr, dst.cast(), dr) },
            // SAFETY: as above.
            4 => unsafe { transpose_4byte_avx2(rows, cols, src.cast(), sr, dst.cast(), dr) },
            _ => return false,
        }
        return true;
    }
    let _ = (rows, cols, src, sr, dst, dr);
    false
}

/// As [`transpose_block`] for a whole `rows`×`cols` plane, written with
/// streaming stores ([`crate::stream`]) for outputs too large to stay in
/// cache. Returns `false` (copying nothing) unless AVX2 is present, the
/// element size is 4 or 8 bytes and every destination row of the plane is
/// 32-byte aligned, as streaming vector stores require.
///
/// The plane is swept in strips of source rows: each strip writes
/// `STRIP × size` = 128 contiguous bytes (two whole lines) of every
/// destination row before moving on, so the write-combining buffers flush
/// whole lines, while the strip's source rows are read front to back.
///
/// # Safety
/// As [`transpose_block`].
pub unsafe fn transpose_plane_streamed<T: Copy>(
    rows: usize,
    cols: usize,
    src: *const T,
    sr: isize,
    dst: *mut T,
    dr: isize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::cpu::isa() >= crate::cpu::Isa::Avx2Fma {
        let size = std::mem::size_of::<T>();
        let aligned = dst as usize % 32 == 0 && (dr.unsigned_abs() * size) % 32 == 0;
        match size {
            // SAFETY: AVX2 is present, rows are aligned; the caller vouches
            // for the ranges.
            8 if aligned => unsafe {
                stream_8byte_avx2(rows, cols, src.cast(), sr, dst.cast(), dr)
            },
            // SAFETY: as above.
            4 if aligned => unsafe {
                stream_4byte_avx2(rows, cols, src.cast(), sr, dst.cast(), dr)
            },
            _ => return false,
        }
        return true;
    }
    let _ = (rows, cols, src, sr, dst, dr);
    false
}

/// Scalar remainder: the part of the block outside the full vector tiles.
///
/// # Safety
/// As [`transpose_block`] for every `(r, c)` in the given ranges.
#[inline(always)]
unsafe fn transpose_scalar<T: Copy>(
    rs: std::ops::Range<usize>,
    cs: std::ops::Range<usize>,
    src: *const T,
    sr: isize,
    dst: *mut T,
    dr: isize,
) {
    for r in rs {
        for c in cs.clone() {
            // SAFETY: inside the block, by the caller's contract.
            unsafe {
                *dst.offset(c as isize * dr + r as isize) =
                    *src.offset(r as isize * sr + c as isize)
            };
        }
    }
}

/// 4×4 tiles of 64-bit elements, taken two tiles (8 source rows) at a time
/// so that each destination store pair fills a whole 64-byte line once.
///
/// # Safety
/// As [`transpose_block`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_8byte_avx2(
    rows: usize,
    cols: usize,
    src: *const f64,
    sr: isize,
    dst: *mut f64,
    dr: isize,
) {
    let (r8, r4, c4) = (rows / 8 * 8, rows / 4 * 4, cols / 4 * 4);
    for r in (0..r8).step_by(8) {
        for c in (0..c4).step_by(4) {
            // SAFETY: rows r..r+8 and columns c..c+4 are inside the block.
            unsafe {
                tile4x4::<false>(src, sr, dst, dr, r, c);
                tile4x4::<false>(src, sr, dst, dr, r + 4, c);
            }
        }
    }
    for c in (0..c4).step_by(4) {
        if r4 > r8 {
            // SAFETY: rows r8..r8+4 and columns c..c+4 are inside the block.
            unsafe { tile4x4::<false>(src, sr, dst, dr, r8, c) };
        }
    }
    // SAFETY: the remainders are inside the block.
    unsafe {
        transpose_scalar(0..r4, c4..cols, src, sr, dst, dr);
        transpose_scalar(r4..rows, 0..cols, src, sr, dst, dr);
    }
}

/// One 4×4 tile of 64-bit elements at source row `r`, column `c`:
/// `dst[(c + j)·dr + r + i] = src[(r + i)·sr + c + j]` for `i, j < 4` (also
/// the GEMM's packing of K-contiguous f64 operands).
///
/// # Safety
/// The tile must lie inside the block of [`transpose_block`] (readable
/// source rows, writable destination rows); AVX2 present.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn tile4x4<const STREAM: bool>(
    src: *const f64,
    sr: isize,
    dst: *mut f64,
    dr: isize,
    r: usize,
    c: usize,
) {
    // SAFETY: forwarded from the caller; unaligned loads and stores.
    unsafe {
        let s = src.offset(r as isize * sr + c as isize);
        let a0 = _mm256_loadu_pd(s);
        let a1 = _mm256_loadu_pd(s.offset(sr));
        let a2 = _mm256_loadu_pd(s.offset(2 * sr));
        let a3 = _mm256_loadu_pd(s.offset(3 * sr));
        let t0 = _mm256_unpacklo_pd(a0, a1); // a00 a10 a02 a12
        let t1 = _mm256_unpackhi_pd(a0, a1); // a01 a11 a03 a13
        let t2 = _mm256_unpacklo_pd(a2, a3); // a20 a30 a22 a32
        let t3 = _mm256_unpackhi_pd(a2, a3); // a21 a31 a23 a33
        let d = dst.offset(c as isize * dr + r as isize);
        let out = [
            _mm256_permute2f128_pd(t0, t2, 0x20),
            _mm256_permute2f128_pd(t1, t3, 0x20),
            _mm256_permute2f128_pd(t0, t2, 0x31),
            _mm256_permute2f128_pd(t1, t3, 0x31),
        ];
        for (i, v) in out.into_iter().enumerate() {
            let p = d.offset(i as isize * dr);
            if STREAM {
                _mm256_stream_pd(p, v);
            } else {
                _mm256_storeu_pd(p, v);
            }
        }
    }
}

/// 8×8 tiles of 32-bit elements, two tiles (16 source rows) at a time so
/// that each destination store pair fills a whole 64-byte line once.
///
/// # Safety
/// As [`transpose_block`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn transpose_4byte_avx2(
    rows: usize,
    cols: usize,
    src: *const f32,
    sr: isize,
    dst: *mut f32,
    dr: isize,
) {
    let (r16, r8, c8) = (rows / 16 * 16, rows / 8 * 8, cols / 8 * 8);
    for r in (0..r16).step_by(16) {
        for c in (0..c8).step_by(8) {
            // SAFETY: rows r..r+16 and columns c..c+8 are inside the block.
            unsafe {
                tile8x8::<false>(src, sr, dst, dr, r, c);
                tile8x8::<false>(src, sr, dst, dr, r + 8, c);
            }
        }
    }
    for c in (0..c8).step_by(8) {
        if r8 > r16 {
            // SAFETY: rows r16..r16+8 and columns c..c+8 are inside the block.
            unsafe { tile8x8::<false>(src, sr, dst, dr, r16, c) };
        }
    }
    // SAFETY: the remainders are inside the block.
    unsafe {
        transpose_scalar(0..r8, c8..cols, src, sr, dst, dr);
        transpose_scalar(r8..rows, 0..cols, src, sr, dst, dr);
    }
}

/// One 8×8 tile of 32-bit elements at source row `r`, column `c` (as
/// [`tile4x4`], for `i, j < 8`).
///
/// # Safety
/// As [`tile4x4`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) unsafe fn tile8x8<const STREAM: bool>(
    src: *const f32,
    sr: isize,
    dst: *mut f32,
    dr: isize,
    r: usize,
    c: usize,
) {
    // SAFETY: forwarded from the caller; unaligned loads and stores.
    unsafe {
        let s = src.offset(r as isize * sr + c as isize);
        let a: [__m256; 8] = std::array::from_fn(|i| _mm256_loadu_ps(s.offset(i as isize * sr)));
        // Interleave pairs of rows, then pairs of pairs, then 128-bit halves.
        let t: [__m256; 8] = std::array::from_fn(|i| {
            let (x, y) = (a[i / 2 * 2], a[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm256_unpacklo_ps(x, y)
            } else {
                _mm256_unpackhi_ps(x, y)
            }
        });
        let u: [__m256; 8] = std::array::from_fn(|i| {
            // i = 4·half + 2·hi + lo_hi: rows (0..4 | 4..8), unpack lo/hi, 64-bit lo/hi
            let base = (i / 4) * 4 + (i / 2) % 2;
            if i % 2 == 0 {
                _mm256_shuffle_ps::<0x44>(t[base], t[base + 2])
            } else {
                _mm256_shuffle_ps::<0xEE>(t[base], t[base + 2])
            }
        });
        let d = dst.offset(c as isize * dr + r as isize);
        for i in 0..4 {
            let lo = _mm256_permute2f128_ps::<0x20>(u[i], u[i + 4]);
            let hi = _mm256_permute2f128_ps::<0x31>(u[i], u[i + 4]);
            let (p, q) = (d.offset(i as isize * dr), d.offset((i + 4) as isize * dr));
            if STREAM {
                _mm256_stream_ps(p, lo);
                _mm256_stream_ps(q, hi);
            } else {
                _mm256_storeu_ps(p, lo);
                _mm256_storeu_ps(q, hi);
            }
        }
    }
}

/// [`transpose_plane_streamed`] for 64-bit elements: strips of 16 source
/// rows, 4×4 tiles streamed.
///
/// # Safety
/// As [`transpose_plane_streamed`]; AVX2 present; `dst` and `dr · 8` are
/// multiples of 32 bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stream_8byte_avx2(
    rows: usize,
    cols: usize,
    src: *const f64,
    sr: isize,
    dst: *mut f64,
    dr: isize,
) {
    const STRIP: usize = 16;
    let (r4, c4) = (rows / 4 * 4, cols / 4 * 4);
    for r0 in (0..r4).step_by(STRIP) {
        let r1 = (r0 + STRIP).min(r4);
        for c in (0..c4).step_by(4) {
            for r in (r0..r1).step_by(4) {
                // SAFETY: rows r..r+4 and columns c..c+4 are inside the
                // plane; r is a multiple of 4, so the stores are 32-byte
                // aligned.
                unsafe { tile4x4::<true>(src, sr, dst, dr, r, c) };
            }
        }
    }
    // SAFETY: streamed stores are ordered before what follows; the
    // remainders are inside the plane.
    unsafe {
        _mm_sfence();
        transpose_scalar(0..r4, c4..cols, src, sr, dst, dr);
        transpose_scalar(r4..rows, 0..cols, src, sr, dst, dr);
    }
}

/// [`transpose_plane_streamed`] for 32-bit elements: strips of 32 source
/// rows, 8×8 tiles streamed.
///
/// # Safety
/// As [`transpose_plane_streamed`]; AVX2 present; `dst` and `dr · 4` are
/// multiples of 32 bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn stream_4byte_avx2(
    rows: usize,
    cols: usize,
    src: *const f32,
    sr: isize,
    dst: *mut f32,
    dr: isize,
) {
    const STRIP: usize = 32;
    let (r8, c8) = (rows / 8 * 8, cols / 8 * 8);
    for r0 in (0..r8).step_by(STRIP) {
        let r1 = (r0 + STRIP).min(r8);
        for c in (0..c8).step_by(8) {
            for r in (r0..r1).step_by(8) {
                // SAFETY: rows r..r+8 and columns c..c+8 are inside the
                // plane; r is a multiple of 8, so the stores are aligned.
                unsafe { tile8x8::<true>(src, sr, dst, dr, r, c) };
            }
        }
    }
    // SAFETY: as in the 8-byte kernel.
    unsafe {
        _mm_sfence();
        transpose_scalar(0..r8, c8..cols, src, sr, dst, dr);
        transpose_scalar(r8..rows, 0..cols, src, sr, dst, dr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<T: Copy + PartialEq + std::fmt::Debug>(
        rows: usize,
        cols: usize,
        make: impl Fn(usize) -> T,
    ) {
        let sr = cols + 3;
        let dr = rows + 5;
        let src: Vec<T> = (0..rows * sr).map(&make).collect();
        let mut dst: Vec<T> = vec![make(usize::MAX / 2); cols * dr];
        let mut want = dst.clone();
        for r in 0..rows {
            for c in 0..cols {
                want[c * dr + r] = src[r * sr + c];
            }
        }
        // SAFETY: the buffers are sized for these strides.
        let done = unsafe {
            transpose_block(
                rows,
                cols,
                src.as_ptr(),
                sr as isize,
                dst.as_mut_ptr(),
                dr as isize,
            )
        };
        if done {
            assert_eq!(dst, want, "{rows}x{cols}");
        }
    }

    #[test]
    fn transposes_match_the_definition() {
        for (r, c) in [
            (0, 0),
            (1, 1),
            (3, 5),
            (4, 4),
            (8, 8),
            (9, 17),
            (12, 7),
            (16, 16),
            (24, 9),
            (32, 32),
            (31, 33),
        ] {
            check::<f64>(r, c, |i| i as f64);
            check::<i64>(r, c, |i| i as i64);
            check::<f32>(r, c, |i| i as f32);
            check::<i32>(r, c, |i| i as i32);
            check::<u16>(r, c, |i| i as u16);
        }
    }

    /// The streamed plane kernel on 32-byte-aligned destination rows.
    fn check_streamed<T: Copy + PartialEq + std::fmt::Debug>(
        rows: usize,
        cols: usize,
        make: impl Fn(usize) -> T,
    ) {
        let sr = cols + 3;
        let dr = rows.div_ceil(8) * 8 + 8;
        let src: Vec<T> = (0..rows * sr).map(&make).collect();
        let mut dst = crate::alloc::RawBuffer::<T>::uninit(cols * dr);
        let fill = make(usize::MAX / 2);
        // SAFETY: the buffer holds cols·dr elements.
        let out = unsafe { std::slice::from_raw_parts_mut(dst.as_mut_ptr(), cols * dr) };
        out.fill(fill);
        let mut want = vec![fill; cols * dr];
        for r in 0..rows {
            for c in 0..cols {
                want[c * dr + r] = src[r * sr + c];
            }
        }
        // SAFETY: the buffers are sized for these strides.
        let done = unsafe {
            transpose_plane_streamed(
                rows,
                cols,
                src.as_ptr(),
                sr as isize,
                out.as_mut_ptr(),
                dr as isize,
            )
        };
        if done {
            assert_eq!(out, &want[..], "{rows}x{cols}");
        }
        // SAFETY: offset by one element the plane still fits (dr ≥ rows + 8);
        // a misaligned destination is refused before anything is written.
        let misaligned = unsafe {
            transpose_plane_streamed(
                rows,
                cols,
                src.as_ptr(),
                sr as isize,
                out.as_mut_ptr().add(1),
                dr as isize,
            )
        };
        assert!(!misaligned, "misaligned rows must be refused");
    }

    #[test]
    fn streamed_planes_match_the_definition() {
        for (r, c) in [
            (0, 0),
            (1, 1),
            (3, 5),
            (4, 4),
            (16, 16),
            (17, 9),
            (33, 40),
            (40, 33),
            (100, 7),
            (7, 100),
        ] {
            check_streamed::<f64>(r, c, |i| i as f64);
            check_streamed::<i64>(r, c, |i| i as i64);
            check_streamed::<f32>(r, c, |i| i as f32);
            check_streamed::<i32>(r, c, |i| i as i32);
        }
    }
}

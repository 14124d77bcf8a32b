//! Packing: copying a block of an operand into the contiguous, zero-padded
//! micro-panel layout the micro-kernels stream through.
//!
//! Both A and B are packed by the same routine. A block is `len` "rows" (the M
//! rows of A, or the N columns of B) by `kb` steps of K. It is cut into panels
//! of `w` rows (`w` = `mr` for A, `nr` for B); panel `q` occupies
//! `dst[q·kb·w ..][.. kb·w]` and holds, for each K step `p`, the `w` row
//! elements contiguously: `dst[q·kb·w + p·w + r] = src[row(q·w + r) + k(p)]`.
//! Rows past `len` in the last panel are zero, so the kernel can always run a
//! full `mr × nr` tile and only the store is partial.
//!
//! Source offsets come from an [`Axis`] per direction, so one routine packs
//! row-major, column-major, transposed, negative-stride, zero-stride
//! (broadcast) and multi-dimensional (TBLIS-style grouped) operands without an
//! intermediate transposition copy.

use super::GemmScalar;

/// How an index along one logical matrix direction maps to an element offset
/// in one operand.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Axis<'a> {
    /// Offset of index `i` is `i · stride` (any sign, zero for broadcast).
    Strided(isize),
    /// Offset of index `i` is `table[i]`: a group of dimensions whose strides
    /// do not collapse into one, flattened in row-major order of the group.
    Table(&'a [isize]),
}

impl<'a> Axis<'a> {
    /// Offset of index `i`.
    #[inline(always)]
    pub(crate) fn off(&self, i: usize) -> isize {
        match *self {
            Axis::Strided(s) => i as isize * s,
            // A table always has an entry for every index of its direction.
            Axis::Table(t) => t[i],
        }
    }

    /// The same axis re-based at index `start`: returns the offset of `start`
    /// and an axis whose index 0 is `start`.
    #[inline]
    pub(crate) fn split_at(&self, start: usize) -> (isize, Axis<'a>) {
        match *self {
            Axis::Strided(s) => (start as isize * s, Axis::Strided(s)),
            Axis::Table(t) => (0, Axis::Table(&t[start..])),
        }
    }

    /// The uniform stride, if there is one.
    #[inline]
    pub(crate) fn stride(&self) -> Option<isize> {
        match *self {
            Axis::Strided(s) => Some(s),
            Axis::Table(_) => None,
        }
    }
}

/// The signature shared by the `pack_panels*` variants.
pub(crate) type PackFn<T> = unsafe fn(*mut T, usize, *const T, usize, Axis<'_>, usize, Axis<'_>);

/// Packs `len` rows × `kb` K steps of `src` into `w`-wide zero-padded panels
/// (layout in the module doc).
///
/// # Safety
/// `src.offset(rows.off(r) + ks.off(p))` must be readable for every
/// `r < len`, `p < kb`; `dst` must be writable for `ceil(len / w) · w · kb`
/// elements and not overlap the source.
pub(crate) unsafe fn pack_panels<T: GemmScalar>(
    dst: *mut T,
    w: usize,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    // SAFETY: forwarded contract.
    unsafe { pack_dispatch::<T, PORTABLE>(dst, w, src, len, rows, kb, ks) }
}

/// [`pack_panels`] compiled for AVX2, so the copies and block transposes
/// use 256-bit vectors.
///
/// # Safety
/// As [`pack_panels`]; the CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn pack_panels_avx2<T: GemmScalar>(
    dst: *mut T,
    w: usize,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    // SAFETY: forwarded contract.
    unsafe { pack_dispatch::<T, AVX2>(dst, w, src, len, rows, kb, ks) }
}

/// [`pack_panels`] compiled for AVX-512.
///
/// # Safety
/// As [`pack_panels`]; the CPU must support AVX-512 F/VL/DQ/BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
pub(crate) unsafe fn pack_panels_avx512<T: GemmScalar>(
    dst: *mut T,
    w: usize,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    // SAFETY: forwarded contract.
    unsafe { pack_dispatch::<T, AVX512>(dst, w, src, len, rows, kb, ks) }
}

/// The instruction set a `pack_panels*` variant is compiled for, as a const
/// parameter of the shared body: it decides which register transposes pack
/// K-contiguous operands.
const PORTABLE: u8 = 0;
const AVX2: u8 = 1;
const AVX512: u8 = 2;

/// The body of every `pack_panels*` variant (inlined into each, so it is
/// compiled for that variant's instruction set). `ISA` is the variant's
/// level: [`AVX2`] and [`AVX512`] pack transposed operands with register
/// transposes.
///
/// # Safety
/// As [`pack_panels`], and `ISA` only on a CPU with that instruction set.
#[inline(always)]
unsafe fn pack_dispatch<T: GemmScalar, const ISA: u8>(
    dst: *mut T,
    w: usize,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    // Monomorphise the panel widths the kernels use, so the per-K-step copies
    // become fixed-size vector moves instead of loops or memcpy calls.
    // SAFETY (all arms): forwarded contract, with W == w.
    unsafe {
        match w {
            4 => pack_width::<T, 4, ISA>(dst, src, len, rows, kb, ks),
            6 => pack_width::<T, 6, ISA>(dst, src, len, rows, kb, ks),
            8 => pack_width::<T, 8, ISA>(dst, src, len, rows, kb, ks),
            12 => pack_width::<T, 12, ISA>(dst, src, len, rows, kb, ks),
            16 => pack_width::<T, 16, ISA>(dst, src, len, rows, kb, ks),
            32 => pack_width::<T, 32, ISA>(dst, src, len, rows, kb, ks),
            _ => pack_any(dst, w, src, len, rows, kb, ks),
        }
    }
}

/// [`pack_panels`] for a panel width known at compile time.
///
/// # Safety
/// As [`pack_panels`] with `w = W`.
#[inline(always)]
unsafe fn pack_width<T: GemmScalar, const W: usize, const ISA: u8>(
    dst: *mut T,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    let full = len / W;
    if let (Axis::Strided(1), Axis::Strided(sk)) = (rows, ks) {
        // K step outer: the source is read in memory order (whole rows of
        // B, whole columns of A), the writes go to `full` panels in cache.
        // Consecutive K steps are a whole row of the operand apart, usually
        // on another page, where the hardware prefetchers stop; so the lines
        // of the K step about 2 KiB of reading ahead are requested here (the
        // copy of `ij,jk` with 64 rows of A, chain3's first product, spends
        // a fifth of its time waiting on these loads).
        let row_bytes = len * std::mem::size_of::<T>();
        let ahead = (PREFETCH_AHEAD_BYTES / row_bytes.max(1)).clamp(1, 16);
        for p in 0..kb {
            if p + ahead < kb {
                prefetch_row(src.wrapping_offset((p + ahead) as isize * sk), row_bytes);
            }
            for q in 0..full {
                // SAFETY: rows q·W..q·W + W < len at K step p < kb are valid
                // reads; dst[q·kb·W + p·W ..][..W] lies in panel q.
                unsafe {
                    let s = src.add(q * W).offset(p as isize * sk) as *const [T; W];
                    *(dst.add(q * kb * W + p * W) as *mut [T; W]) = s.read_unaligned();
                }
            }
        }
        if full * W < len {
            // SAFETY: the ragged tail is valid rows full·W..len; its panel is
            // the last one inside dst.
            unsafe {
                pack_any(
                    dst.add(full * kb * W),
                    W,
                    src.add(full * W),
                    len - full * W,
                    rows,
                    kb,
                    ks,
                )
            };
        }
    } else if let (Axis::Strided(sr), Axis::Strided(1)) = (rows, ks) {
        // K contiguous (a transposed operand): with AVX-512, K steps in
        // whole blocks of 16 (f32) or 8 (f64) go through register transposes
        // of up to 16 or 8 rows; with AVX2, blocks of 8 × 8 (f32) or 4 × 4
        // (f64) when W is a multiple of the block. The rest reads W rows
        // side by side, one W-wide group per K step.
        for q in 0..full {
            // SAFETY: rows q·W.. q·W + W < len are valid; panel q in dst.
            let (s, d) = unsafe { (src.offset((q * W) as isize * sr), dst.add(q * kb * W)) };
            #[cfg(target_arch = "x86_64")]
            // SAFETY: ISA promises the instruction set of the transpose it
            // selects; rows < W and K steps < kb of this panel are valid.
            let kdone = match ISA {
                AVX512 => unsafe { x86::transpose_blocks::<T, W>(s, sr, d, kb) },
                AVX2 => unsafe { x86::transpose_blocks_avx2::<T, W>(s, sr, d, kb) },
                _ => 0,
            };
            #[cfg(not(target_arch = "x86_64"))]
            let kdone = 0;
            for p in kdone..kb {
                let group: [T; W] = std::array::from_fn(|r| {
                    // SAFETY: row r < W of this panel, K step p < kb.
                    unsafe { *s.offset(r as isize * sr + p as isize) }
                });
                // SAFETY: p·W + W ≤ kb·W, inside panel q.
                unsafe { *(d.add(p * W) as *mut [T; W]) = group };
            }
        }
        if full * W < len {
            // SAFETY: as in the unit-row case.
            unsafe {
                let tail = src.offset((full * W) as isize * sr);
                pack_any(
                    dst.add(full * kb * W),
                    W,
                    tail,
                    len - full * W,
                    rows,
                    kb,
                    ks,
                )
            };
        }
    } else {
        // SAFETY: forwarded contract.
        unsafe { pack_any(dst, W, src, len, rows, kb, ks) };
    }
}

/// How far ahead of the copy, in bytes of the source, [`pack_width`]
/// requests the rows of a unit-stride operand.
const PREFETCH_AHEAD_BYTES: usize = 2048;

/// Asks for the cache lines of `bytes` bytes at `p` (a hint: no access is
/// made, and an address outside any mapping is harmless).
#[inline(always)]
fn prefetch_row<T>(p: *const T, bytes: usize) {
    #[cfg(target_arch = "x86_64")]
    for off in (0..bytes).step_by(64) {
        // SAFETY: prefetch instructions never fault and have no
        // architectural effect; SSE is part of the x86-64 baseline.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((p as *const i8).wrapping_add(off));
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, bytes);
}

/// [`pack_panels`] for any width and any axes.
///
/// # Safety
/// As [`pack_panels`].
#[inline(always)]
unsafe fn pack_any<T: GemmScalar>(
    dst: *mut T,
    w: usize,
    src: *const T,
    len: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    let panels = len.div_ceil(w);
    for q in 0..panels {
        let r0 = q * w;
        let cnt = w.min(len - r0);
        let (r0_off, prow) = rows.split_at(r0);
        // SAFETY: panel q lies inside dst (q < ceil(len / w)); the row base
        // plus prow's offsets address rows r0.., all valid rows.
        let (pd, rbase) = unsafe { (dst.add(q * kb * w), src.offset(r0_off)) };
        // SAFETY: the callee reads rows r0..r0 + cnt (all < len) and K steps
        // < kb, and writes kb · w elements of this panel only.
        unsafe { pack_one(pd, w, rbase, cnt, prow, kb, ks) };
    }
}

/// Packs one panel: `cnt ≤ w` rows, zero-padded to `w`.
///
/// # Safety
/// As [`pack_panels`], for one panel of `kb · w` elements at `dst`.
#[inline(always)]
unsafe fn pack_one<T: GemmScalar>(
    dst: *mut T,
    w: usize,
    src: *const T,
    cnt: usize,
    rows: Axis<'_>,
    kb: usize,
    ks: Axis<'_>,
) {
    match (rows, ks) {
        (Axis::Strided(1), Axis::Strided(sk)) => {
            // Rows contiguous: each K step is one contiguous copy of cnt rows.
            for p in 0..kb {
                // SAFETY: reads rows 0..cnt at K step p (valid by contract);
                // writes dst[p·w .. p·w + w] inside this panel.
                unsafe {
                    let d = dst.add(p * w);
                    std::ptr::copy_nonoverlapping(src.offset(p as isize * sk), d, cnt);
                }
            }
            zero_tail(dst, w, cnt, kb);
        }
        (Axis::Strided(sr), Axis::Strided(1)) => {
            // K contiguous (a transposed operand): read each row along K and
            // scatter into the panel, which sits in L1.
            for r in 0..cnt {
                // SAFETY: row r < cnt, K steps < kb are valid reads; writes
                // dst[p·w + r] with p < kb, r < w.
                unsafe {
                    let s = src.offset(r as isize * sr);
                    for p in 0..kb {
                        *dst.add(p * w + r) = *s.add(p);
                    }
                }
            }
            zero_tail(dst, w, cnt, kb);
        }
        _ => {
            for p in 0..kb {
                let kofs = ks.off(p);
                for r in 0..cnt {
                    // SAFETY: r < cnt and p < kb are valid source indices; the
                    // destination index p·w + r < kb·w.
                    unsafe { *dst.add(p * w + r) = *src.offset(rows.off(r) + kofs) };
                }
            }
            zero_tail(dst, w, cnt, kb);
        }
    }
}

/// Zeroes rows `cnt..w` of every K step of a panel.
#[inline(always)]
fn zero_tail<T: GemmScalar>(dst: *mut T, w: usize, cnt: usize, kb: usize) {
    // Row by row, strided: the other nesting makes LLVM call `memset` for
    // every K step, a few elements each.
    for r in cnt..w {
        for p in 0..kb {
            // SAFETY: p·w + r < kb·w, inside the panel the caller owns.
            unsafe { *dst.add(p * w + r) = T::ZERO };
        }
    }
}

/// Register transposes for packing K-contiguous operands with AVX-512 and
/// AVX2.
#[cfg(target_arch = "x86_64")]
mod x86 {
    // The AVX-512 intrinsics need Rust 1.89 (see kernel_avx512.rs).
    #![allow(clippy::incompatible_msrv)]

    use std::arch::x86_64::*;

    use super::super::GemmScalar;
    use crate::transpose::{tile4x4, tile8x8};
    use crate::DType;

    /// Transposes the leading whole blocks of K steps of one `W`-row panel
    /// (source rows `sr` apart, K contiguous) into `d` (`d[p·W + r]`), and
    /// returns how many K steps were done (0 for integer types).
    ///
    /// # Safety
    /// The CPU supports AVX-512F; rows `< W` and K steps `< kb` at `s` are
    /// readable; `d` holds `kb · W` elements.
    #[inline(always)]
    pub(super) unsafe fn transpose_blocks<T: GemmScalar, const W: usize>(
        s: *const T,
        sr: isize,
        d: *mut T,
        kb: usize,
    ) -> usize {
        match T::DTYPE {
            DType::F32 => {
                let (s, d) = (s as *const f32, d as *mut f32);
                let kdone = kb / 16 * 16;
                for p0 in (0..kdone).step_by(16) {
                    for r0 in (0..W).step_by(16) {
                        let rows = (W - r0).min(16);
                        // SAFETY: T is f32 (Element is sealed, the tag is
                        // unique); rows r0..r0 + rows ≤ W and K steps p0..p0
                        // + 16 ≤ kb; the destination block is inside d.
                        unsafe {
                            t16x16_f32(
                                s.offset(r0 as isize * sr).add(p0),
                                sr,
                                d.add(p0 * W + r0),
                                W,
                                rows,
                            )
                        };
                    }
                }
                kdone
            }
            DType::F64 => {
                let (s, d) = (s as *const f64, d as *mut f64);
                let kdone = kb / 8 * 8;
                for p0 in (0..kdone).step_by(8) {
                    for r0 in (0..W).step_by(8) {
                        let rows = (W - r0).min(8);
                        // SAFETY: as above, for f64 and 8 × 8 blocks.
                        unsafe {
                            t8x8_f64(
                                s.offset(r0 as isize * sr).add(p0),
                                sr,
                                d.add(p0 * W + r0),
                                W,
                                rows,
                            )
                        };
                    }
                }
                kdone
            }
            _ => 0,
        }
    }

    /// [`transpose_blocks`] with AVX2: whole 8 × 8 (f32) or 4 × 4 (f64)
    /// blocks, when `W` is a multiple of the block height (otherwise, and for
    /// integer types, nothing is done and 0 returned).
    ///
    /// # Safety
    /// The CPU supports AVX2; rows `< W` and K steps `< kb` at `s` are
    /// readable; `d` holds `kb · W` elements.
    #[inline(always)]
    pub(super) unsafe fn transpose_blocks_avx2<T: GemmScalar, const W: usize>(
        s: *const T,
        sr: isize,
        d: *mut T,
        kb: usize,
    ) -> usize {
        /// Calls `tile(p0, r0)` for every `b × b` block of whole K steps of
        /// a `W`-row panel and returns how many K steps that covers.
        #[inline(always)]
        fn blocks<const W: usize>(kb: usize, b: usize, tile: impl Fn(usize, usize)) -> usize {
            let kdone = kb / b * b;
            for p0 in (0..kdone).step_by(b) {
                for r0 in (0..W).step_by(b) {
                    tile(p0, r0);
                }
            }
            kdone
        }
        // SAFETY (both arms): T is the arm's type; rows r0..r0 + b ≤ W and
        // K steps p0..p0 + b ≤ kb are readable, and the destination block
        // (K steps p0.., rows r0.., W apart) lies in d.
        match T::DTYPE {
            DType::F32 if W % 8 == 0 => blocks::<W>(kb, 8, |p0, r0| unsafe {
                tile8x8::<false>(s.cast(), sr, d.cast(), W as isize, r0, p0)
            }),
            DType::F64 if W % 4 == 0 => blocks::<W>(kb, 4, |p0, r0| unsafe {
                tile4x4::<false>(s.cast(), sr, d.cast(), W as isize, r0, p0)
            }),
            _ => 0,
        }
    }

    /// Gathers lane `l` (128 bits) of `x[0..4]` for each `l` into four
    /// vectors: the last two stages of a 4×4-lane transpose. Returns
    /// `[x0.l0 x1.l0 x2.l0 x3.l0]`, then lanes 1, 2 and 3.
    #[target_feature(enable = "avx512f")]
    fn lanes4(x: [__m512; 4]) -> [__m512; 4] {
        let p = _mm512_shuffle_f32x4::<0x44>(x[0], x[1]);
        let q = _mm512_shuffle_f32x4::<0xEE>(x[0], x[1]);
        let r = _mm512_shuffle_f32x4::<0x44>(x[2], x[3]);
        let s = _mm512_shuffle_f32x4::<0xEE>(x[2], x[3]);
        [
            _mm512_shuffle_f32x4::<0x88>(p, r),
            _mm512_shuffle_f32x4::<0xDD>(p, r),
            _mm512_shuffle_f32x4::<0x88>(q, s),
            _mm512_shuffle_f32x4::<0xDD>(q, s),
        ]
    }

    /// `d[k·ld + r] = s[r·sr + k]` for `r < rows ≤ 16`, `k < 16`.
    ///
    /// # Safety
    /// AVX-512F; `rows` rows of 16 readable floats at `s`, `sr` apart; 16
    /// rows of `rows` writable floats at `d`, `ld` apart.
    #[target_feature(enable = "avx512f")]
    unsafe fn t16x16_f32(s: *const f32, sr: isize, d: *mut f32, ld: usize, rows: usize) {
        let r: [__m512; 16] = std::array::from_fn(|i| {
            if i < rows {
                // SAFETY: row i < rows holds 16 readable floats.
                unsafe { _mm512_loadu_ps(s.offset(i as isize * sr)) }
            } else {
                _mm512_setzero_ps()
            }
        });
        let mask: __mmask16 = if rows == 16 { !0 } else { (1 << rows) - 1 };
        // Within each 128-bit lane: pairs of rows interleaved.
        let t: [__m512; 16] = std::array::from_fn(|i| {
            let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_ps(a, b)
            } else {
                _mm512_unpackhi_ps(a, b)
            }
        });
        // u[4j + m], lane l: rows 4j..4j + 4 at K step 4l + m.
        let u: [__m512; 16] = std::array::from_fn(|i| {
            let (j, m) = (i / 4, i % 4);
            let (a, b) = (t[4 * j + m / 2], t[4 * j + 2 + m / 2]);
            if m % 2 == 0 {
                _mm512_shuffle_ps::<0x44>(a, b)
            } else {
                _mm512_shuffle_ps::<0xEE>(a, b)
            }
        });
        for m in 0..4 {
            let out = lanes4([u[m], u[4 + m], u[8 + m], u[12 + m]]);
            for (l, v) in out.into_iter().enumerate() {
                // SAFETY: K step 4l + m < 16 is a row of d; only its first
                // `rows` lanes are written.
                unsafe { _mm512_mask_storeu_ps(d.add((4 * l + m) * ld), mask, v) };
            }
        }
    }

    /// `d[k·ld + r] = s[r·sr + k]` for `r < rows ≤ 8`, `k < 8`.
    ///
    /// # Safety
    /// AVX-512F; `rows` rows of 8 readable doubles at `s`, `sr` apart; 8
    /// rows of `rows` writable doubles at `d`, `ld` apart.
    #[target_feature(enable = "avx512f")]
    unsafe fn t8x8_f64(s: *const f64, sr: isize, d: *mut f64, ld: usize, rows: usize) {
        let r: [__m512d; 8] = std::array::from_fn(|i| {
            if i < rows {
                // SAFETY: row i < rows holds 8 readable doubles.
                unsafe { _mm512_loadu_pd(s.offset(i as isize * sr)) }
            } else {
                _mm512_setzero_pd()
            }
        });
        let mask: __mmask8 = if rows == 8 { !0 } else { (1 << rows) - 1 };
        // t[2i + m], lane l: rows 2i, 2i + 1 at K step 2l + m.
        let t: [__m512; 8] = std::array::from_fn(|i| {
            let (a, b) = (r[i / 2 * 2], r[i / 2 * 2 + 1]);
            _mm512_castpd_ps(if i % 2 == 0 {
                _mm512_unpacklo_pd(a, b)
            } else {
                _mm512_unpackhi_pd(a, b)
            })
        });
        for m in 0..2 {
            let out = lanes4([t[m], t[2 + m], t[4 + m], t[6 + m]]);
            for (l, v) in out.into_iter().enumerate() {
                // SAFETY: K step 2l + m < 8 is a row of d; only its first
                // `rows` lanes are written.
                unsafe {
                    _mm512_mask_storeu_pd(d.add((2 * l + m) * ld), mask, _mm512_castps_pd(v))
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX2 and AVX-512 variants (register transposes for K-contiguous
    /// operands) must produce exactly the portable layout, for f32 and f64,
    /// widths with and without block transposes, and ragged K and row
    /// counts.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_transposing_pack_matches_portable() {
        if is_x86_feature_detected!("avx2") {
            for w in [4, 6, 8, 12, 16, 32] {
                // SAFETY (both): the CPU has AVX2, checked above.
                unsafe { transposing_pack_matches_portable::<f32>(w, pack_panels_avx2) };
                unsafe { transposing_pack_matches_portable::<f64>(w, pack_panels_avx2) };
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_transposing_pack_matches_portable() {
        if is_x86_feature_detected!("avx512f") {
            for w in [4, 6, 8, 12, 16, 32] {
                // SAFETY (both): the CPU has AVX-512, checked above.
                unsafe { transposing_pack_matches_portable::<f32>(w, pack_panels_avx512) };
                unsafe { transposing_pack_matches_portable::<f64>(w, pack_panels_avx512) };
            }
        }
    }

    /// Packs a K-contiguous operand of `2·w + 3` rows and 37 K steps with
    /// `pack` and with the portable routine, and requires the same panels.
    ///
    /// # Safety
    /// The CPU runs `pack`.
    unsafe fn transposing_pack_matches_portable<T: GemmScalar>(w: usize, pack: PackFn<T>) {
        let (len, kb, sr) = (2 * w + 3, 37, 41);
        let src: Vec<T> = (0..len * sr as usize)
            .map(|x| T::from_f64((x % 1000) as f64))
            .collect();
        let size = len.div_ceil(w) * w * kb;
        let (mut want, mut got) = (vec![T::ONE; size], vec![T::ZERO; size]);
        let (rows, ks) = (Axis::Strided(sr), Axis::Strided(1));
        // SAFETY: rows < len at stride sr and K steps < kb ≤ sr lie in src;
        // both outputs hold ceil(len / w)·w·kb elements; the caller vouches
        // for the CPU.
        unsafe {
            pack_panels(want.as_mut_ptr(), w, src.as_ptr(), len, rows, kb, ks);
            pack(got.as_mut_ptr(), w, src.as_ptr(), len, rows, kb, ks);
        }
        assert!(want == got, "{:?} w {w}", T::DTYPE);
    }

    #[test]
    fn panels_hold_rows_contiguously_and_zero_pad() {
        // A 5×3 row-major matrix (rows stride 3, K stride 1), w = 4.
        let src: Vec<f64> = (0..15).map(|x| x as f64).collect();
        for (rows, ks, base) in [
            (Axis::Strided(3), Axis::Strided(1), 0isize),
            (Axis::Table(&[0, 3, 6, 9, 12]), Axis::Strided(1), 0),
            (Axis::Strided(-3), Axis::Strided(-1), 14),
        ] {
            let mut dst = vec![f64::NAN; 2 * 4 * 3];
            // SAFETY: all offsets stay within src's 15 elements (base 14 with
            // negative strides walks back to 0); dst has 2 panels · 4 · 3.
            unsafe {
                pack_panels(
                    dst.as_mut_ptr(),
                    4,
                    src.as_ptr().offset(base),
                    5,
                    rows,
                    3,
                    ks,
                )
            };
            for r in 0..8 {
                for p in 0..3 {
                    let got = dst[(r / 4) * 12 + p * 4 + r % 4];
                    let want = if r < 5 {
                        src[(base + rows.off(r) + ks.off(p)) as usize]
                    } else {
                        0.0
                    };
                    assert_eq!(got, want, "row {r} k {p}");
                }
            }
        }
    }
}

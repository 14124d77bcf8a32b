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
    // Monomorphise the panel widths the kernels use, so the per-K-step copies
    // become fixed-size vector moves instead of loops or memcpy calls.
    // SAFETY (all arms): forwarded contract, with W == w.
    unsafe {
        match w {
            4 => pack_width::<T, 4>(dst, src, len, rows, kb, ks),
            6 => pack_width::<T, 6>(dst, src, len, rows, kb, ks),
            8 => pack_width::<T, 8>(dst, src, len, rows, kb, ks),
            12 => pack_width::<T, 12>(dst, src, len, rows, kb, ks),
            16 => pack_width::<T, 16>(dst, src, len, rows, kb, ks),
            32 => pack_width::<T, 32>(dst, src, len, rows, kb, ks),
            _ => pack_any(dst, w, src, len, rows, kb, ks),
        }
    }
}

/// [`pack_panels`] for a panel width known at compile time.
///
/// # Safety
/// As [`pack_panels`] with `w = W`.
#[inline(never)]
unsafe fn pack_width<T: GemmScalar, const W: usize>(
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
        for p in 0..kb {
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
        // K contiguous (a transposed operand): read W rows side by side along
        // K, writing one W-wide group per K step.
        for q in 0..full {
            // SAFETY: rows q·W.. q·W + W < len are valid; panel q in dst.
            let (s, d) = unsafe { (src.offset((q * W) as isize * sr), dst.add(q * kb * W)) };
            for p in 0..kb {
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
                    for r in cnt..w {
                        *d.add(r) = T::ZERO;
                    }
                }
            }
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
    if cnt == w {
        return;
    }
    for p in 0..kb {
        for r in cnt..w {
            // SAFETY: p·w + r < kb·w, inside the panel the caller owns.
            unsafe { *dst.add(p * w + r) = T::ZERO };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

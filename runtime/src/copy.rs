//! Copying between two layouts of the same logical shape.
//!
//! Like NumPy's nditer, the copy first drops length-1 axes, orders the rest
//! from the destination's slowest to its fastest axis and merges axes that
//! are contiguous in both operands, so most copies become a few long rows.
//! When the source's fastest axis is not the destination's (a transposed or
//! permuted view), rows would read one element per cache line: the copy then
//! walks square tiles of the two fast axes, so both the reads and the writes
//! of a tile stay in L1, transposed in registers where the element size
//! allows ([`crate::transpose`]). That is the `transpose_f64_4096` workload.
//!
//! Destinations of at least [`stream::STREAM_BYTES`] are written with
//! streaming stores where the kernel allows (fills, and transposes into
//! aligned rows), which halves the memory traffic of a write.

use crate::stream;
use crate::transpose::{transpose_block, transpose_plane_streamed};

/// One axis of a two-operand iteration: its length and each operand's stride.
#[derive(Clone, Copy, Debug)]
struct Axis {
    len: usize,
    dst: isize,
    src: isize,
}

/// Tile edge in elements for the blocked transpose: a tile of each operand
/// (edge² elements) fits in L1 together with the other.
const fn tile_edge(elem_size: usize) -> usize {
    if elem_size >= 8 {
        32
    } else {
        64
    }
}

/// Copies every element of a `shape`-shaped view at `src` into the view at
/// `dst`.
///
/// # Safety
/// Every offset `Σ i_k · strides[k]` with `i_k < shape[k]` from `dst` (resp.
/// `src`) must be valid for writes (resp. reads), and the destination must
/// not overlap the source or itself (no zero strides on an axis longer
/// than 1 in `dst`).
pub unsafe fn copy_strided<T: Copy>(
    shape: &[usize],
    dst: *mut T,
    dst_strides: &[isize],
    src: *const T,
    src_strides: &[isize],
) {
    if shape.contains(&0) {
        return;
    }
    let axes = plan_axes(shape, dst_strides, src_strides);
    // Unchecked: `shape` is a view's, whose size in bytes fits in isize
    // (layout::check_extent), as do the offsets below.
    let streamed =
        shape.iter().product::<usize>() * std::mem::size_of::<T>() >= stream::STREAM_BYTES;
    let Some((&inner, outer)) = axes.split_last() else {
        // SAFETY: a 0-d (or all-length-1) view has exactly one element at
        // its origin.
        unsafe { *dst = *src };
        return;
    };
    // The axis where the source is densest, if it is not the inner one.
    let src_fast = outer
        .iter()
        .enumerate()
        .filter(|(_, a)| a.src != 0 && a.src.unsigned_abs() < inner.src.unsigned_abs())
        .min_by_key(|(_, a)| a.src.unsigned_abs())
        .map(|(i, _)| i);
    match src_fast {
        None => {
            for_each_offset(outer, |d, s| {
                // SAFETY: the offsets come from in-bounds multi-indices of
                // the outer axes; the row stays inside by the caller's contract.
                unsafe {
                    copy_row(
                        inner.len,
                        dst.offset(d),
                        inner.dst,
                        src.offset(s),
                        inner.src,
                        streamed,
                    )
                }
            });
        }
        Some(p) => {
            let tile_axis = outer[p];
            let rest: Vec<Axis> = outer
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != p)
                .map(|(_, &a)| a)
                .collect();
            let edge = tile_edge(std::mem::size_of::<T>());
            for_each_offset(&rest, |d, s| {
                // SAFETY: as above, every tile lies inside the two axes.
                unsafe {
                    copy_tiled(
                        tile_axis,
                        inner,
                        edge,
                        streamed,
                        dst.offset(d),
                        src.offset(s),
                    )
                }
            });
        }
    }
}

/// Drops length-1 axes, sorts by destination stride (slowest first) and
/// merges neighbours that are contiguous in both operands.
fn plan_axes(shape: &[usize], dst: &[isize], src: &[isize]) -> Vec<Axis> {
    let mut axes: Vec<Axis> = (0..shape.len())
        .filter(|&i| shape[i] != 1)
        .map(|i| Axis {
            len: shape[i],
            dst: dst[i],
            src: src[i],
        })
        .collect();
    axes.sort_by_key(|a| {
        (
            std::cmp::Reverse(a.dst.unsigned_abs()),
            std::cmp::Reverse(a.src.unsigned_abs()),
        )
    });
    let mut merged: Vec<Axis> = Vec::with_capacity(axes.len());
    for a in axes {
        match merged.last_mut() {
            Some(o) if o.dst == a.dst * a.len as isize && o.src == a.src * a.len as isize => {
                o.len *= a.len;
                o.dst = a.dst;
                o.src = a.src;
            }
            _ => merged.push(a),
        }
    }
    merged
}

/// Calls `f(dst_offset, src_offset)` for every multi-index of `axes`, the
/// last axis fastest. An empty list visits the origin once.
fn for_each_offset(axes: &[Axis], mut f: impl FnMut(isize, isize)) {
    let mut index = vec![0usize; axes.len()];
    let (mut d, mut s) = (0isize, 0isize);
    loop {
        f(d, s);
        let mut k = axes.len();
        loop {
            if k == 0 {
                return;
            }
            k -= 1;
            index[k] += 1;
            d += axes[k].dst;
            s += axes[k].src;
            if index[k] < axes[k].len {
                break;
            }
            d -= axes[k].dst * axes[k].len as isize;
            s -= axes[k].src * axes[k].len as isize;
            index[k] = 0;
        }
    }
}

/// Copies `len` elements along one axis; `streamed` asks for streaming
/// stores where the row allows them.
///
/// # Safety
/// `dst + i·ds` and `src + i·ss` are valid for `i < len`, not overlapping.
#[inline]
unsafe fn copy_row<T: Copy>(
    len: usize,
    dst: *mut T,
    ds: isize,
    src: *const T,
    ss: isize,
    streamed: bool,
) {
    // SAFETY: guaranteed by the caller for every i < len.
    unsafe {
        match (ds, ss) {
            (1, 1) => std::ptr::copy_nonoverlapping(src, dst, len),
            (1, 0) if streamed => stream::fill(dst, len, *src),
            (1, 0) => std::slice::from_raw_parts_mut(dst, len).fill(*src),
            _ => {
                for i in 0..len as isize {
                    *dst.offset(i * ds) = *src.offset(i * ss);
                }
            }
        }
    }
}

/// Copies the 2-d block spanned by axes `a` (the source's fast axis) and `b`
/// (the destination's fast axis) in `edge`×`edge` tiles.
///
/// # Safety
/// As [`copy_row`], for every `(i, j)` with `i < a.len`, `j < b.len`.
unsafe fn copy_tiled<T: Copy>(
    a: Axis,
    b: Axis,
    edge: usize,
    streamed: bool,
    dst: *mut T,
    src: *const T,
) {
    // The classic transpose (source contiguous along `a`, destination along
    // `b`) has register-blocked kernels, and a streaming one for the whole
    // plane: source rows run along `b`'s index, destination rows along `a`'s.
    let vector = a.src == 1 && b.dst == 1;
    // SAFETY: the plane is the caller's (i < a.len, j < b.len).
    if vector
        && streamed
        && unsafe { transpose_plane_streamed(b.len, a.len, src, b.src, dst, a.dst) }
    {
        return;
    }
    for i0 in (0..a.len).step_by(edge) {
        let i1 = (i0 + edge).min(a.len);
        for j0 in (0..b.len).step_by(edge) {
            let j1 = (j0 + edge).min(b.len);
            let (d, s) = (
                dst.wrapping_offset(i0 as isize * a.dst + j0 as isize * b.dst),
                src.wrapping_offset(i0 as isize * a.src + j0 as isize * b.src),
            );
            // SAFETY: the tile (i0..i1, j0..j1) is inside both axes: source
            // rows run along `b` (stride b.src), destination rows along `a`.
            if vector && unsafe { transpose_block(j1 - j0, i1 - i0, s, b.src, d, a.dst) } {
                continue;
            }
            for i in 0..i1 - i0 {
                let (di, si) = (i as isize * a.dst, i as isize * a.src);
                for j in 0..j1 - j0 {
                    // SAFETY: (i, j) is inside the tile.
                    unsafe {
                        *d.offset(di + j as isize * b.dst) = *s.offset(si + j as isize * b.src);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The oracle: visit every multi-index and copy one element.
    fn naive(
        shape: &[usize],
        ds: &[isize],
        src: &[f64],
        ss: &[isize],
        s0: isize,
        dlen: usize,
    ) -> Vec<f64> {
        let mut out = vec![f64::NAN; dlen];
        let n: usize = shape.iter().product();
        for flat in 0..n {
            let (mut rem, mut d, mut s) = (flat, 0isize, s0);
            for k in (0..shape.len()).rev() {
                let i = (rem % shape[k]) as isize;
                rem /= shape[k];
                d += i * ds[k];
                s += i * ss[k];
            }
            out[d as usize] = src[s as usize];
        }
        out
    }

    fn check(shape: &[usize], ss: &[isize], s0: isize) {
        let n: usize = shape.iter().product();
        let src: Vec<f64> = (0..4096).map(|x| x as f64).collect();
        let ds = crate::layout::contiguous_strides(shape, crate::layout::Order::C);
        let mut out = vec![f64::NAN; n];
        // SAFETY: the test shapes and strides stay inside `src` from `s0`, and
        // `out` is C-contiguous for `shape`.
        unsafe { copy_strided(shape, out.as_mut_ptr(), &ds, src.as_ptr().offset(s0), ss) };
        assert_eq!(
            out,
            naive(shape, &ds, &src, ss, s0, n),
            "shape {shape:?} strides {ss:?}"
        );
    }

    #[test]
    fn copies_every_layout() {
        check(&[3, 4], &[4, 1], 0);
        check(&[3, 4], &[1, 3], 0); // transposed
        check(&[40, 70], &[1, 40], 0); // transposed, several tiles with edges
        check(&[3, 4], &[-4, -1], 11); // reversed
        check(&[3, 4], &[0, 1], 0); // broadcast rows
        check(&[3, 4], &[1, 0], 0); // broadcast columns
        check(&[2, 3, 5], &[1, 2, 6], 0); // F order
        check(&[5, 2, 3], &[1, 30, 10], 0); // permuted
        check(&[1, 1], &[7, 9], 3);
        check(&[], &[], 5);
        check(&[0, 3], &[1, 1], 0);
    }

    /// Destinations past [`stream::STREAM_BYTES`] take the streaming paths:
    /// a transposed copy into fresh (aligned) rows, and a fill.
    #[test]
    fn streamed_copies_match_the_definition() {
        let (rows, cols) = (1031usize, 2053usize); // 16.9 MB of f64, primes
        let src: Vec<f64> = (0..rows * cols).map(|x| x as f64).collect();
        let mut out = crate::alloc::RawBuffer::<f64>::uninit(rows * cols);
        // SAFETY: `out` holds rows·cols elements, C order for [cols, rows];
        // the source is read as its transpose, inside `src`.
        let got = unsafe {
            copy_strided(
                &[cols, rows],
                out.as_mut_ptr(),
                &[rows as isize, 1],
                src.as_ptr(),
                &[1, cols as isize],
            );
            std::slice::from_raw_parts(out.as_ptr(), rows * cols)
        };
        for c in [0, 1, 17, cols - 1] {
            for r in [0, 1, 4, 15, 16, 1027, 1028, rows - 1] {
                assert_eq!(got[c * rows + r], src[r * cols + c], "({r}, {c})");
            }
        }
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, &x)| x == src[(i % rows) * cols + i / rows]));
        let value = 3.5f64;
        // SAFETY: one element broadcast over the whole of `out`.
        let filled = unsafe {
            copy_strided(&[rows * cols], out.as_mut_ptr(), &[1], &value, &[0]);
            std::slice::from_raw_parts(out.as_ptr(), rows * cols)
        };
        assert!(filled.iter().all(|&x| x == value));
    }
}

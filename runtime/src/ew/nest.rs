//! Loop-nest geometry: sorting and merging axes, then walking the rows.

use super::pack::Packed;
use super::split::Parallel;

/// The loop nest of one fused kernel run: axis lengths (outer first) and
/// byte strides for the output and each input, after length-1 axes were
/// dropped, axes sorted by stride and contiguous neighbours merged.
///
/// There is always at least one axis: a 0-d problem is one row of length 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loops {
    shape: Vec<usize>,
    /// `strides[0]` is the output's, `strides[1 + k]` input `k`'s.
    strides: Vec<Vec<isize>>,
}

impl Loops {
    /// Plans the nest for iteration shape `shape`, the output's byte strides
    /// and each input's byte strides (all with `shape.len()` entries, inputs
    /// already broadcast to `shape`).
    ///
    /// # Panics
    /// If a stride list does not have one entry per axis.
    pub fn new(shape: &[usize], out_strides: &[isize], in_strides: &[&[isize]]) -> Loops {
        let nd = shape.len();
        assert_eq!(out_strides.len(), nd, "one output stride per axis");
        for s in in_strides {
            assert_eq!(s.len(), nd, "one input stride per axis");
        }
        let ops: Vec<&[isize]> = std::iter::once(out_strides)
            .chain(in_strides.iter().copied())
            .collect();
        if shape.contains(&0) {
            return Loops {
                shape: vec![0],
                strides: vec![vec![0]; ops.len()],
            };
        }
        // Axes that do something, in C order (outer first).
        let mut axes: Vec<usize> = (0..nd).filter(|&k| shape[k] != 1).collect();
        // Insertion sort, stable: `b` moves outside `a` when the first
        // operand that tells them apart has the larger stride on `b`.
        for i in 1..axes.len() {
            let mut j = i;
            while j > 0 && outer_first(&ops, axes[j], axes[j - 1]) {
                axes.swap(j, j - 1);
                j -= 1;
            }
        }
        // Merge from the inside out.
        let mut merged_shape: Vec<usize> = Vec::with_capacity(axes.len());
        let mut merged: Vec<Vec<isize>> = vec![Vec::with_capacity(axes.len()); ops.len()];
        for &ax in axes.iter().rev() {
            let n = shape[ax];
            let can_merge = merged_shape.last().is_some_and(|&inner_len| {
                ops.iter().zip(&merged).all(|(op, m)| {
                    let inner = *m.last().expect("same length as merged_shape");
                    inner.checked_mul(inner_len as isize) == Some(op[ax])
                })
            });
            if can_merge {
                *merged_shape.last_mut().expect("checked") *= n;
            } else {
                merged_shape.push(n);
                for (m, op) in merged.iter_mut().zip(&ops) {
                    m.push(op[ax]);
                }
            }
        }
        if merged_shape.is_empty() {
            merged_shape.push(1);
            for m in &mut merged {
                m.push(0);
            }
        }
        merged_shape.reverse();
        for m in &mut merged {
            m.reverse();
        }
        Loops {
            shape: merged_shape,
            strides: merged,
        }
    }

    /// Axis lengths after planning, outer first; the last is the row.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The output's byte strides after planning.
    pub fn out_strides(&self) -> &[isize] {
        &self.strides[0]
    }

    /// Input `k`'s byte strides after planning.
    pub fn in_strides(&self, k: usize) -> &[isize] {
        &self.strides[1 + k]
    }

    /// The number of elements the nest visits. It fits: the nest's shape
    /// is its output view's (merged), which obeys layout::check_extent.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Whether the nest visits no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Calls `row` once per innermost row (see the module docs for the ABI).
    ///
    /// # Safety
    /// `out` and `ins` (one pointer per input given to [`Loops::new`]) must
    /// be such that every byte offset `sum(index[k] * stride[k])` for an
    /// index inside the shape given to [`Loops::new`] addresses an element
    /// the caller may read (inputs) or write (output), and no output element
    /// may be reached by two indices unless the output stride is 0 on an
    /// axis along which `row` accumulates. `row` must only touch
    /// `len` elements at the given strides.
    pub unsafe fn run<F>(&self, out: *mut u8, ins: &[*const u8], parallel: Parallel, row: &F)
    where
        F: Fn(usize, &[*const u8], &[isize], *mut u8, isize) + Sync,
    {
        assert_eq!(ins.len() + 1, self.strides.len(), "one pointer per input");
        if self.is_empty() {
            return;
        }
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { super::split::run(self, out, ins, parallel, row, Extra::Rows) }
    }

    /// [`Loops::run`] for a reduction that has a tile function. When the
    /// row runs along a kept axis just inside a reduced one (a sum over
    /// axis 0 of a C-order matrix), `tile` gets two consecutive reduced
    /// positions at once: it reads two rows side by side, two streams from
    /// memory, and loads and stores each output once per pair instead of
    /// once per row. Per output, the order of accumulation is unchanged. A
    /// pair `tile` declines goes to `row` one position at a time, and so
    /// does every row of any other nest.
    ///
    /// # Safety
    /// As [`Loops::run`]; `tile` must keep [`TileReduce`]'s contract.
    pub unsafe fn run_reduction<F>(
        &self,
        out: *mut u8,
        ins: &[*const u8],
        parallel: Parallel,
        row: &F,
        tile: TileReduce<'_>,
    ) where
        F: Fn(usize, &[*const u8], &[isize], *mut u8, isize) + Sync,
    {
        assert_eq!(ins.len() + 1, self.strides.len(), "one pointer per input");
        if self.is_empty() {
            return;
        }
        // SAFETY: the caller's contract, passed on unchanged.
        unsafe { super::split::run(self, out, ins, parallel, row, Extra::Pairs(tile)) }
    }

    /// Whether [`Loops::run`] walks this nest interchanged: the row is a
    /// short reduced axis (output stride 0, at most 64 long) and the next
    /// axis is kept, so rows run along the kept axis a tile at a time, every
    /// reduced position of a tile in turn (see [`Loops::run_tiled`]).
    pub fn interchanged(&self) -> bool {
        let nd = self.shape.len();
        nd >= 2
            && self.strides[0][nd - 1] == 0
            && self.strides[0][nd - 2] != 0
            && self.shape[nd - 1] <= SHORT_REDUCTION
    }

    /// [`Loops::run`] for an [`interchanged`](Loops::interchanged) nest,
    /// with hooks around each output tile: `hooks.start(len, out,
    /// out_stride)` before its first accumulation (initialise the tile, e.g.
    /// to the identity, while it is in cache) and `hooks.end(len, out,
    /// out_stride)` after its last (finish it: divide a mean, apply an
    /// elementwise epilogue). Every output element is in exactly one tile,
    /// so the output needs no separate initialising or finishing pass.
    ///
    /// # Safety
    /// As [`Loops::run`]; the hooks get `len` output elements at the given
    /// byte stride and must touch only those.
    ///
    /// # Panics
    /// If the nest is not interchanged.
    pub unsafe fn run_tiled<F>(
        &self,
        out: *mut u8,
        ins: &[*const u8],
        parallel: Parallel,
        row: &F,
        hooks: &TileHooks<'_>,
    ) where
        F: Fn(usize, &[*const u8], &[isize], *mut u8, isize) + Sync,
    {
        assert!(self.interchanged(), "run_tiled needs an interchanged nest");
        assert_eq!(ins.len() + 1, self.strides.len(), "one pointer per input");
        if self.is_empty() {
            return;
        }
        assert_eq!(hooks.sizes.len(), ins.len(), "one element size per input");
        // SAFETY: the caller's contract for `ins`; `sizes` are theirs.
        match unsafe { Packed::new(self, ins, hooks.sizes) } {
            // SAFETY: the packed nest reads the copies, which live until
            // the end of the run, where it read the originals.
            Some(p) => unsafe {
                super::split::run(&p.loops, out, &p.ins, parallel, row, Extra::Tiles(hooks))
            },
            // SAFETY: the caller's contract, passed on unchanged.
            None => unsafe {
                super::split::run(self, out, ins, parallel, row, Extra::Tiles(hooks))
            },
        }
    }

    /// Replaces input `k`'s strides (for a packed copy of it).
    pub(super) fn set_in_strides(&mut self, k: usize, strides: Vec<isize>) {
        debug_assert_eq!(strides.len(), self.shape.len());
        self.strides[1 + k] = strides;
    }

    pub(super) fn strides(&self) -> &[Vec<isize>] {
        &self.strides
    }
}

/// Whether axis `b` belongs outside axis `a`.
fn outer_first(ops: &[&[isize]], b: usize, a: usize) -> bool {
    for op in ops {
        let (sa, sb) = (op[a].unsigned_abs(), op[b].unsigned_abs());
        if sa != 0 && sb != 0 && sa != sb {
            return sb > sa;
        }
    }
    false
}

/// A tile hook: `(len, out, out_stride)` for `len` output elements.
pub type TileHook<'h> = &'h (dyn Fn(usize, *mut u8, isize) + Sync);

/// A tile reduction: `(len, ins, in_strides, out, out_stride, rlen,
/// red_strides)` accumulates all `rlen` reduced positions of a tile of
/// `len` outputs at once (input `j` of position `r` at `ins[j] + r ·
/// red_strides[j]`), or returns `false` without touching anything, and the
/// driver then calls the row function once per position.
pub type TileReduce<'h> =
    &'h (dyn Fn(usize, &[*const u8], &[isize], *mut u8, isize, usize, &[isize]) -> bool + Sync);

/// What [`Loops::run_tiled`] calls around each output tile.
#[derive(Clone, Copy)]
pub struct TileHooks<'h> {
    pub start: TileHook<'h>,
    pub end: TileHook<'h>,
    /// Accumulates a whole tile at once where it can (see [`TileReduce`]).
    pub reduce: Option<TileReduce<'h>>,
    /// Each input's element size in bytes, so that the walk can copy an
    /// input every outer index reads alike into tile order once (see
    /// `ew::pack`).
    pub sizes: &'h [usize],
}

/// What a walk calls besides the row function.
#[derive(Clone, Copy)]
pub(super) enum Extra<'h> {
    /// Nothing: one row call per innermost row.
    Rows,
    /// Hooks around the output tiles of an interchanged nest.
    Tiles(&'h TileHooks<'h>),
    /// A tile reduction given [`PAIRED`] reduced positions at a time (see
    /// [`Loops::run_reduction`]).
    Pairs(TileReduce<'h>),
}

/// Reduced positions a tile reduction gets at once in
/// [`Loops::run_reduction`]: two streams from memory read faster than one
/// (23 against 27–28 GB/s on a Zen 3 core), and four no faster than two.
const PAIRED: usize = 2;

/// Reduced rows at most this long are not walked one row per output
/// element: the nest is interchanged so that rows run along the next kept
/// axis (see [`run_serial`]).
const SHORT_REDUCTION: usize = 64;
/// Output elements per row in the interchanged walk: 16 KiB of f64, half an
/// L1, with room for the operands (512 paid a row call per 512 elements,
/// 4% of a 64-wide rolling mean; 8192 spills to L2 and costs 25%).
pub(super) const TILE: usize = 2048;

/// Walks a (sub-)nest serially: `shape` and `strides` as in [`Loops`].
///
/// When the row is a short reduced axis (output stride 0, at most
/// [`SHORT_REDUCTION`] long) and the next axis is kept, calling the row
/// function once per output element would cost more than the arithmetic
/// (pairwise distances over 3 coordinates, a rolling mean over 64). The walk
/// then tiles the kept axis and, per tile, calls the row function once per
/// position along the reduced axis, with rows along the kept axis: the row
/// function accumulates `out[i] = op(out[i], f(i))` into a tile that stays
/// in L1.
///
/// # Safety
/// As [`Loops::run`], for this shape.
pub(super) unsafe fn run_serial<F>(
    shape: &[usize],
    strides: &[Vec<isize>],
    out: *mut u8,
    ins: &[*const u8],
    row: &F,
    extra: Extra<'_>,
) where
    F: Fn(usize, &[*const u8], &[isize], *mut u8, isize),
{
    let nd = shape.len();
    let along = |k: usize| -> Vec<isize> { strides[1..].iter().map(|s| s[k]).collect() };
    let interchange = nd >= 2
        && strides[0][nd - 1] == 0
        && strides[0][nd - 2] != 0
        && shape[nd - 1] <= SHORT_REDUCTION;
    let paired = nd >= 2 && strides[0][nd - 1] != 0 && strides[0][nd - 2] == 0;
    if interchange {
        let hooks = match extra {
            Extra::Tiles(h) => Some(h),
            _ => None,
        };
        let (kept, reduced) = (shape[nd - 2], shape[nd - 1]);
        let (in_kept, in_reduced) = (along(nd - 2), along(nd - 1));
        let out_kept = strides[0][nd - 2];
        let mut p: Vec<*const u8> = ins.to_vec();
        // SAFETY: the caller's contract; every pointer below addresses an
        // index of the nest (tile start + reduced position), with `n`
        // elements along the kept axis still inside it.
        unsafe {
            walk(&shape[..nd - 2], strides, out, ins, |o, base| {
                for start in (0..kept).step_by(TILE) {
                    let n = TILE.min(kept - start);
                    let tile = o.wrapping_offset((start as isize).wrapping_mul(out_kept));
                    if let Some(h) = hooks {
                        (h.start)(n, tile, out_kept);
                    }
                    let whole = hooks.and_then(|h| h.reduce).is_some_and(|reduce| {
                        place(&mut p, base, (start, &in_kept), (0, &in_reduced));
                        reduce(n, &p, &in_kept, tile, out_kept, reduced, &in_reduced)
                    });
                    if !whole {
                        for r in 0..reduced {
                            place(&mut p, base, (start, &in_kept), (r, &in_reduced));
                            row(n, &p, &in_kept, tile, out_kept);
                        }
                    }
                    if let Some(h) = hooks {
                        (h.end)(n, tile, out_kept);
                    }
                }
            })
        };
    } else if let (true, Extra::Pairs(pair)) = (paired, extra) {
        let (reduced, inner) = (shape[nd - 2], shape[nd - 1]);
        let (in_reduced, in_row) = (along(nd - 2), along(nd - 1));
        let out_stride = strides[0][nd - 1];
        let mut p: Vec<*const u8> = ins.to_vec();
        // SAFETY: the caller's contract; every pointer below addresses an
        // index of the nest (reduced position `r` or `r + 1` < `reduced`),
        // with `inner` elements along the row still inside it.
        unsafe {
            walk(&shape[..nd - 2], strides, out, ins, |o, base| {
                let at = |p: &mut Vec<*const u8>, r: usize| {
                    place(p, base, (0, &in_row), (r, &in_reduced));
                };
                let mut r = 0;
                while r + PAIRED <= reduced {
                    at(&mut p, r);
                    if !pair(inner, &p, &in_row, o, out_stride, PAIRED, &in_reduced) {
                        for k in 0..PAIRED {
                            at(&mut p, r + k);
                            row(inner, &p, &in_row, o, out_stride);
                        }
                    }
                    r += PAIRED;
                }
                for r in r..reduced {
                    at(&mut p, r);
                    row(inner, &p, &in_row, o, out_stride);
                }
            })
        };
    } else {
        debug_assert!(
            matches!(extra, Extra::Rows | Extra::Pairs(_)),
            "tile hooks need an interchanged nest"
        );
        let inner = shape[nd - 1];
        let out_stride = strides[0][nd - 1];
        let in_row = along(nd - 1);
        // SAFETY: the caller's contract.
        unsafe {
            walk(&shape[..nd - 1], strides, out, ins, |o, p| {
                row(inner, p, &in_row, o, out_stride)
            })
        };
    }
}

/// Sets `p[j]` to `base[j]` moved `i` steps along axis `a` and `r` along
/// axis `b` (each given as one byte stride per operand).
fn place(
    p: &mut [*const u8],
    base: &[*const u8],
    (i, a): (usize, &[isize]),
    (r, b): (usize, &[isize]),
) {
    for (j, pj) in p.iter_mut().enumerate() {
        let off = (i as isize)
            .wrapping_mul(a[j])
            .wrapping_add((r as isize).wrapping_mul(b[j]));
        *pj = base[j].wrapping_offset(off);
    }
}

/// Calls `visit` with the operands' pointers at every index of the outer
/// axes `outer` (the first `outer.len()` axes of `strides`), last axis
/// fastest.
///
/// # Safety
/// The pointers passed are offsets of `out` and `ins` by the nest's strides;
/// `visit` must only use them as the nest allows.
unsafe fn walk(
    outer: &[usize],
    strides: &[Vec<isize>],
    out: *mut u8,
    ins: &[*const u8],
    mut visit: impl FnMut(*mut u8, &[*const u8]),
) {
    let rows: usize = outer.iter().product();
    let mut idx = vec![0usize; outer.len()];
    let mut p_out = out;
    let mut p_in: Vec<*const u8> = ins.to_vec();
    for _ in 0..rows {
        visit(p_out, &p_in);
        // Odometer. Offsets use wrapping arithmetic: after the last row the
        // pointers may pass the end of the data, and they are never
        // dereferenced then.
        for k in (0..outer.len()).rev() {
            idx[k] += 1;
            let back = idx[k] == outer[k];
            let steps = if back { -(outer[k] as isize - 1) } else { 1 };
            if back {
                idx[k] = 0;
            }
            p_out = p_out.wrapping_offset(steps.wrapping_mul(strides[0][k]));
            for (p, s) in p_in.iter_mut().zip(&strides[1..]) {
                *p = p.wrapping_offset(steps.wrapping_mul(s[k]));
            }
            if !back {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_operands_merge_into_one_row() {
        let l = Loops::new(&[4, 5, 6], &[240, 48, 8], &[&[240, 48, 8], &[0, 0, 0]]);
        assert_eq!(l.shape(), &[120]);
        assert_eq!(l.out_strides(), &[8]);
        assert_eq!(l.in_strides(0), &[8]);
        assert_eq!(l.in_strides(1), &[0]);
    }

    #[test]
    fn length_one_axes_are_dropped_and_zero_d_is_one_row() {
        let l = Loops::new(&[1, 3, 1], &[24, 8, 8], &[&[0, 4, 0]]);
        assert_eq!(l.shape(), &[3]);
        assert_eq!(l.in_strides(0), &[4]);
        let l = Loops::new(&[], &[], &[&[]]);
        assert_eq!(l.shape(), &[1]);
        assert_eq!(l.len(), 1);
        assert!(Loops::new(&[3, 0], &[0, 8], &[]).is_empty());
    }

    #[test]
    fn output_order_decides_then_inputs() {
        // F-order output: axis 0 becomes the row.
        let l = Loops::new(&[3, 4], &[8, 24], &[&[32, 8]]);
        assert_eq!(l.shape(), &[4, 3]);
        assert_eq!(l.out_strides(), &[24, 8]);
        // Sum over axis 0 of a C-order matrix: the output's stride is 0 on
        // axis 0, the input decides, the kept axis is the row.
        let l = Loops::new(&[5, 7], &[0, 8], &[&[56, 8]]);
        assert_eq!(l.shape(), &[5, 7]);
        assert_eq!(l.out_strides(), &[0, 8]);
        // Sum over axis 1: the reduced axis is the row.
        let l = Loops::new(&[5, 7], &[8, 0], &[&[56, 8]]);
        assert_eq!(l.shape(), &[5, 7]);
        assert_eq!(l.out_strides(), &[8, 0]);
        // Reducing every axis of a contiguous array: one row.
        let l = Loops::new(&[5, 7], &[0, 0], &[&[56, 8]]);
        assert_eq!(l.shape(), &[35]);
    }

    #[test]
    fn negative_strides_merge_when_consistent() {
        let l = Loops::new(&[2, 3], &[24, 8], &[&[-24, -8]]);
        assert_eq!(l.shape(), &[6]);
        assert_eq!(l.in_strides(0), &[-8]);
    }
}

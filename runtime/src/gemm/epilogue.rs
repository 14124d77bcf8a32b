//! Elementwise work fused into a contraction's write-back.
//!
//! `relu(einsum!("ij,jk->ik", x, w) + b)` should not write C, then read it
//! back in a second pass to add `b` and clamp: once a block of C holds its
//! final values (after the last K block), the GEMM hands it, row by row and
//! while it is still in cache, to an [`EpilogueRow`] — a row function of
//! `ew`'s row ABI (see `crate::ew`) that reads C and any other arrays at the
//! same index and writes the result back over C.
//!
//! The other arrays are described per contraction dimension, exactly like
//! C: a byte stride along every batch, M and N dimension of the
//! [`Contraction`](super::Contraction). They are flattened with C's
//! grouping, so each follows C block for block; a group whose strides do
//! not nest for some input is walked through an offset table, one element
//! per row call.

use super::pack::Axis;

/// The row function of an epilogue, in `ew`'s row ABI (byte pointers and
/// strides): `row(len, ins, in_strides, out, out_stride)` computes
/// `out[i] = f(ins[0][i], ins[1][i], ..)` for `i < len`.
pub type EpilogueRow<'a> = dyn Fn(usize, &[*const u8], &[isize], *mut u8, isize) + Sync + 'a;

/// Where one input of the row function comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EpilogueInput {
    /// C itself: the contraction's result, read where it is written.
    Output,
    /// An array read at C's index: its byte strides along the contraction's
    /// batch, M and N dimensions (as many as, and in the order of,
    /// `Contraction::{batch, m, n}`; 0 where it broadcasts).
    Array {
        ptr: *const u8,
        batch: Vec<isize>,
        m: Vec<isize>,
        n: Vec<isize>,
    },
}

/// Elementwise work applied to every element of C once its value is final.
pub struct Epilogue<'a> {
    /// The row function's inputs, in the order it takes them.
    pub inputs: Vec<EpilogueInput>,
    pub row: &'a EpilogueRow<'a>,
}

// SAFETY: an epilogue only carries addresses of inputs it reads; they are
// dereferenced only by `Contraction::run_with_epilogue`, whose contract
// makes them readable for its duration, from any thread it uses.
unsafe impl Send for EpilogueInput {}
// SAFETY: as for Send; nothing is ever written through these pointers.
unsafe impl Sync for EpilogueInput {}

/// An input as one GEMM call addresses it: byte offsets along the (possibly
/// flattened) M and N directions of that call.
#[derive(Clone, Copy)]
pub(super) enum EpiIn<'a> {
    Output,
    Array {
        ptr: *const u8,
        m: Axis<'a>,
        n: Axis<'a>,
    },
}

impl<'a> EpiIn<'a> {
    /// The input re-based at index `start` of M (`along_m`) or N.
    pub(super) fn split_at(self, start: usize, along_m: bool) -> EpiIn<'a> {
        match self {
            EpiIn::Output => EpiIn::Output,
            EpiIn::Array { ptr, m, n } => {
                let (off, m, n) = if along_m {
                    let (off, m) = m.split_at(start);
                    (off, m, n)
                } else {
                    let (off, n) = n.split_at(start);
                    (off, m, n)
                };
                // Only forms an address; read at valid indices only.
                EpiIn::Array {
                    ptr: ptr.wrapping_offset(off),
                    m,
                    n,
                }
            }
        }
    }
}

/// The epilogue of one GEMM call. `transposed`: the call computes `Cᵀ`, so
/// its rows run along the inputs' N direction.
#[derive(Clone, Copy)]
pub(super) struct Fused<'a> {
    pub inputs: &'a [EpiIn<'a>],
    pub row: &'a EpilogueRow<'a>,
    pub transposed: bool,
}

impl<'a> Fused<'a> {
    /// Runs the row function over the block `rows × cols` of C (in the
    /// call's own frame), one call per row of C's tighter direction (the
    /// kernels store tiles column-major, so that is often M), or per
    /// element where some direction has no uniform stride.
    ///
    /// # Safety
    /// `c + cm.off(i) + cn.off(j)` must be valid for reads and writes, and
    /// every array input readable at its offsets, for `i` in `rows` and `j`
    /// in `cols`.
    pub(super) unsafe fn apply<T>(
        &self,
        c: *mut T,
        cm: Axis<'_>,
        cn: Axis<'_>,
        rows: std::ops::Range<usize>,
        cols: std::ops::Range<usize>,
    ) {
        let tightness = |a: Axis<'_>| a.stride().map_or(usize::MAX, |s| s.unsigned_abs());
        if tightness(cm) < tightness(cn) {
            let t = Fused {
                transposed: !self.transposed,
                ..*self
            };
            // SAFETY: the same block, seen transposed.
            return unsafe { t.apply(c, cn, cm, cols, rows) };
        }
        let size = std::mem::size_of::<T>() as isize;
        // (row axis, column axis) of each input in this call's frame.
        let axes = |x: &EpiIn<'a>| -> Option<(Axis<'a>, Axis<'a>)> {
            match *x {
                EpiIn::Output => None,
                EpiIn::Array { m, n, .. } if self.transposed => Some((n, m)),
                EpiIn::Array { m, n, .. } => Some((m, n)),
            }
        };
        let uniform = cn.stride().is_some()
            && self
                .inputs
                .iter()
                .all(|x| axes(x).is_none_or(|(_, n)| n.stride().is_some()));
        let (len, js): (usize, Vec<usize>) = if uniform {
            (cols.len(), vec![cols.start])
        } else {
            (1, cols.collect())
        };
        let mut ins = vec![std::ptr::null::<u8>(); self.inputs.len()];
        let mut st = vec![0isize; self.inputs.len()];
        let os = cn.stride().unwrap_or(0) * size;
        for i in rows {
            for &j in &js {
                let out = c.wrapping_offset(cm.off(i) + cn.off(j)) as *mut u8;
                for (k, x) in self.inputs.iter().enumerate() {
                    (ins[k], st[k]) = match (x, axes(x)) {
                        (EpiIn::Array { ptr, .. }, Some((m, n))) => (
                            ptr.wrapping_offset(m.off(i) + n.off(j)),
                            n.stride().unwrap_or(0),
                        ),
                        _ => (out as *const u8, os),
                    };
                }
                (self.row)(len, &ins, &st, out, os);
            }
        }
    }
}

/// An array input's strides along the M dims (`None` for C itself).
pub(super) fn input_m(x: &EpilogueInput) -> Option<&Vec<isize>> {
    match x {
        EpilogueInput::Output => None,
        EpilogueInput::Array { m, .. } => Some(m),
    }
}

/// An array input's strides along the N dims (`None` for C itself).
pub(super) fn input_n(x: &EpilogueInput) -> Option<&Vec<isize>> {
    match x {
        EpilogueInput::Output => None,
        EpilogueInput::Array { n, .. } => Some(n),
    }
}

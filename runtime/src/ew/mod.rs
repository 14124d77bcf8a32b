//! The run-time driver of fused elementwise kernels and reductions.
//!
//! Every fused kernel, compiled ahead of time by `#[kernel]` or at run time
//! by the JIT, runs through this module. The kernel itself is only a *row
//! function*: straight-line code over one innermost row of elements. The
//! driver owns everything that depends on shapes and strides known only at
//! run time:
//!
//! 1. [`Loops::new`] takes the iteration shape and, for the output and every
//!    input, byte strides already broadcast to that shape (0 on broadcast
//!    axes). It drops length-1 axes, orders the axes by stride (NumPy's
//!    nditer rule: the first operand whose strides differ on two axes decides
//!    which is inner; the output is asked first, then the inputs), and merges
//!    neighbouring axes that are contiguous for every operand, so a
//!    C-contiguous 4-d problem becomes one flat row.
//! 2. [`Loops::run`] walks the outer axes with an odometer and calls the row
//!    function once per innermost row, optionally splitting the work across
//!    rayon threads ([`Parallel`]).
//!
//! # The row ABI
//!
//! ```text
//! row(len: usize,
//!     ins: &[*const u8],        // one pointer per input, at the row's first element
//!     in_strides: &[isize],     // one byte stride per input along the row
//!     out: *mut u8,             // the output at the row's first element
//!     out_stride: isize)        // byte stride of the output along the row
//! ```
//!
//! The row function computes `out[i] = f(ins[0][i], ins[1][i], ...)` for
//! `i in 0..len`, where `x[i]` means the element at `x + i * stride`. Byte
//! strides may be negative or zero (a broadcast input: the function may load
//! it once and hoist it). A JIT wraps its `extern "C" fn(len, ins, strides,
//! out, out_stride)` pointer in a closure passing `ins.as_ptr()` and
//! `in_strides.as_ptr()`.
//!
//! **Reductions** use the same ABI: the output's strides are 0 along reduced
//! axes (the output has the shape of the iteration space with those axes
//! stretched), and the output is filled with the reduction's identity before
//! the run. A row function of a reduction *accumulates*:
//!
//! - `out_stride == 0`: the row runs along a reduced axis; reduce the row to
//!   one value `r` (use [`reduce::sum`] and friends: pairwise, so long f32
//!   sums stay accurate) and store `*out = op(*out, r)`;
//! - `out_stride != 0`: the row runs along a kept axis, and a reduced axis is
//!   outer (e.g. a sum over axis 0 of a C-order matrix); store
//!   `out[i] = op(out[i], f(...)[i])`, a flat vectorisable loop.
//!
//! [`bind`] holds the run-time geometry generated kernels need around the
//! driver: broadcast pass shapes, operand byte strides, reduction shapes.
//!
//! The driver never splits a reduced axis across threads, so accumulating
//! rows never race.

pub mod bind;
mod nest;
mod pack;
pub mod reduce;
mod split;

pub use bind::{bind, bind_out, check_out_shape, pass_shape, Reduction};
pub use nest::{Loops, TileHook, TileHooks, TileReduce};
pub use split::Parallel;

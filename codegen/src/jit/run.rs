//! Running a compiled part over strided operands.
//!
//! The loop nest is the runtime's (`einkern_runtime::ew::Loops`, the one
//! `#[kernel]` uses): every operand broadcast to the output shape (zero
//! strides), axes ordered and merged, the *row function* called once per
//! innermost row. The JIT's row function walks the row in
//! blocks of [`BLOCK`] elements: a contiguous input is read in place, a
//! zero-stride one is splatted into a block buffer, any other stride is
//! gathered; then the stages and vector-math calls run on the block, and
//! the result is stored in place or scattered.

use std::cell::RefCell;

use einkern_runtime::ew::{Loops, Parallel};
use einkern_runtime::layout::{broadcast_strides, checked_size, fmt_shape};
use einkern_runtime::stream;
use einkern_runtime::vmath::{self, Real};
use einkern_runtime::Error;

use super::build::StageFn;
use super::plan::{Call, Part};
use crate::expr::{BinaryOp, Func, Op, ScalarType};

/// Elements per block: every slot buffer of a block stays in L1, and a
/// stage's burst of loads from memory (1 KiB per f64 input) stays within
/// what the hardware prefetchers have fetched ahead while the vector-math
/// calls between stages ran. With 256, `exp(-a*a/2) * b` over 10⁷ f64
/// took 1.15× as long, calls in alternation in one process; call-free
/// parts (`2*a + 3*b`) took the same with 128 to 1024.
pub const BLOCK: usize = 128;

/// Size in bytes of one element of `ty` in memory (booleans never are).
pub fn size_of(ty: ScalarType) -> usize {
    match ty {
        ScalarType::F32 | ScalarType::I32 => 4,
        _ => 8,
    }
}

/// A strided operand: where element `index` lives is
/// `ptr + Σ index[k] * strides[k]` (bytes).
#[derive(Clone, Debug)]
pub struct Operand {
    pub ptr: *mut u8,
    pub shape: Vec<usize>,
    /// Byte strides.
    pub strides: Vec<isize>,
}

impl Operand {
    /// An operand from element strides, with length-1 axes given stride 0
    /// (their stride is never used, and may be anything). The byte strides
    /// of a view that obeys the runtime's rule (`layout::check_extent`)
    /// fit in `isize`; they are multiplied checked all the same, so that a
    /// broken invariant is an error rather than a wrapped stride.
    pub fn new(
        ptr: *mut u8,
        shape: &[usize],
        strides: &[isize],
        ty: ScalarType,
    ) -> Result<Operand, Error> {
        let size = size_of(ty) as isize;
        // An empty operand is never addressed: its strides, which the rule
        // does not bound, are all taken as 0.
        let empty = shape.contains(&0);
        let strides = (shape.iter().zip(strides))
            .map(|(&n, &s)| match n {
                _ if empty => Some(0),
                0 | 1 => Some(0),
                _ => s.checked_mul(size),
            })
            .collect::<Option<Vec<isize>>>()
            .ok_or_else(|| {
                Error::shape(format!(
                    "the strides {strides:?} of an operand of shape {} overflow in bytes",
                    fmt_shape(shape)
                ))
            })?;
        Ok(Operand {
            ptr,
            shape: shape.to_vec(),
            strides,
        })
    }
}

/// Evaluates `part` with `inputs` (one per part input, any shapes that
/// broadcast to `out.shape`) into `out`, through the runtime's loop-nest
/// driver (`einkern_runtime::ew`, shared with `#[kernel]`), which orders and
/// merges the axes and may split large outputs across rayon threads.
///
/// # Safety
///
/// Every operand must describe memory valid for its shape and strides
/// (reads for inputs, writes for `out`), `out` must not overlap an input
/// nor reach one element twice, and `stages` must be the compiled stages of
/// `part`.
pub unsafe fn run_part(
    part: &Part,
    stages: &[StageFn],
    inputs: &[Operand],
    out: &Operand,
) -> Result<(), Error> {
    let strides = inputs
        .iter()
        .map(|op| broadcast_strides(&op.shape, &op.strides, &out.shape))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[isize]> = strides.iter().map(Vec::as_slice).collect();
    let loops = Loops::new(&out.shape, &out.strides, &refs);
    let ptrs: Vec<*const u8> = inputs.iter().map(|o| o.ptr as *const u8).collect();
    let stream = streams_output(part, inputs, out);
    let row = |len: usize, ins: &[*const u8], in_strides: &[isize], o: *mut u8, os: isize| {
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            // SAFETY: the driver hands out rows inside the operands it was
            // given (the caller's guarantee), `len` elements at these
            // strides; `scratch` is this thread's own.
            unsafe {
                row_blocks(
                    part,
                    stages,
                    &mut scratch,
                    len,
                    ins,
                    in_strides,
                    o,
                    os,
                    stream,
                )
            }
        })
    };
    // SAFETY: the caller's guarantee about the operands; the strides were
    // broadcast to `out.shape` above, and `row` touches `len` elements per
    // call at the given strides.
    unsafe { loops.run(out.ptr, &ptrs, Parallel::auto(), &row) };
    Ok(())
}

/// Whether `part` writes `out` from the block buffer with streaming stores
/// (no read for ownership of lines about to be overwritten), as `#[kernel]`
/// does: for an output of [`stream::STREAM_BYTES`] or more, read from two or
/// more full-size inputs, by a part without vector-math calls, divisions or
/// square roots. Alternating in one process over 10⁷ f64: `2*a + 3*b` 14%
/// and `a*b + c` 6% faster (medians) streamed. Parts with one full-size
/// input gained nothing (a copy, `x * s` with `s` a broadcast row) or lost
/// (the clip, 11%), and so did parts that call vector math
/// (`exp(-a*a/2) * b`, 23.4 → 26.8 ms) or divide or take square roots,
/// which the JIT does two lanes at a time (`a / c` and `(x - mu) / sd`,
/// 8–15% slower).
fn streams_output(part: &Part, inputs: &[Operand], out: &Operand) -> bool {
    let Some(out_len) = checked_size(&out.shape) else {
        return false;
    };
    let out_bytes = out_len.saturating_mul(size_of(part.slot_types[part.out_slot]));
    let full_inputs = inputs
        .iter()
        .filter(|op| checked_size(&op.shape) == Some(out_len))
        .count();
    let slow_arithmetic = part.graph.nodes().iter().any(|node| {
        matches!(
            node.op,
            Op::Binary(BinaryOp::Div, ..) | Op::Func1(Func::Sqrt, _)
        )
    });
    out_bytes >= stream::STREAM_BYTES
        && full_inputs >= 2
        && part.calls.iter().all(Vec::is_empty)
        && !slow_arithmetic
}

thread_local! {
    /// Block buffers of the row function: `BLOCK` elements per slot.
    static SCRATCH: RefCell<Vec<u64>> = const { RefCell::new(Vec::new()) };
}

/// One row in blocks of [`BLOCK`]: gather, stages and calls, scatter — or,
/// with `stream`, a contiguous output written from the block buffer with
/// streaming stores.
///
/// # Safety
/// `ins[k]` with byte stride `in_strides[k]` is valid for reading `len`
/// elements of input `k`, `out` with `out_stride` for writing `len`
/// elements of the result.
#[allow(clippy::too_many_arguments)]
unsafe fn row_blocks(
    part: &Part,
    stages: &[StageFn],
    scratch: &mut Vec<u64>,
    len: usize,
    ins: &[*const u8],
    in_strides: &[isize],
    out: *mut u8,
    out_stride: isize,
    stream: bool,
) {
    let n_slots = part.slot_types.len();
    if scratch.len() < n_slots * BLOCK {
        scratch.resize(n_slots * BLOCK, 0);
    }
    let base = scratch.as_mut_ptr();
    let own = |s: usize| base.wrapping_add(s * BLOCK) as *mut u8;
    let mut slots: Vec<*mut u8> = (0..n_slots).map(own).collect();
    let out_slot = part.out_slot;
    let out_size = size_of(part.slot_types[out_slot]);
    let mut start = 0;
    while start < len {
        let n = BLOCK.min(len - start);
        for (k, (&p, &stride)) in ins.iter().zip(in_strides).enumerate() {
            let size = size_of(part.slot_types[k]);
            let p = p.wrapping_offset(stride * start as isize);
            slots[k] = if stride == size as isize {
                p as *mut u8
            } else {
                // SAFETY: the caller vouches for `n` elements from `p` at
                // this stride; slot `k`'s buffer holds `BLOCK` elements.
                unsafe { gather(p, stride, size, n, own(k)) };
                own(k)
            };
        }
        let p_out = out.wrapping_offset(out_stride * start as isize);
        let contiguous = out_stride == out_size as isize;
        let direct = contiguous && !stream;
        slots[out_slot] = if direct { p_out } else { own(out_slot) };
        for (s, stage) in stages.iter().enumerate() {
            // SAFETY: every slot holds at least `n` elements of its type:
            // inputs and output per the caller, the rest are scratch blocks.
            unsafe { stage(n as i64, slots.as_ptr()) };
            for call in &part.calls[s] {
                // SAFETY: as above; a call's result slot is none of its
                // argument slots.
                unsafe { run_call(call, &slots, n) };
            }
        }
        if contiguous && stream {
            // SAFETY: the caller vouches for the output row; the block is
            // this row's own scratch, `n` elements of the output's type.
            unsafe {
                match out_size {
                    4 => stream::store_run(p_out as *mut u32, own(out_slot) as *const u32, n),
                    _ => stream::store_run(p_out as *mut u64, own(out_slot) as *const u64, n),
                }
            };
        } else if !direct {
            // SAFETY: the caller vouches for the output row.
            unsafe { scatter(own(out_slot), p_out, out_stride, out_size, n) };
        }
        start += n;
    }
    if stream {
        stream::fence();
    }
}

/// Copies `n` elements of `size` bytes from `src` (byte stride `stride`,
/// possibly 0 or negative) to contiguous `dst`.
unsafe fn gather(src: *const u8, stride: isize, size: usize, n: usize, dst: *mut u8) {
    for i in 0..n {
        // SAFETY: the caller's guarantee for `src`, `dst` has `n` slots.
        unsafe {
            std::ptr::copy_nonoverlapping(src.offset(stride * i as isize), dst.add(i * size), size)
        };
    }
}

/// Copies `n` contiguous elements from `src` to `dst` at byte stride `stride`.
unsafe fn scatter(src: *const u8, dst: *mut u8, stride: isize, size: usize, n: usize) {
    for i in 0..n {
        // SAFETY: the caller's guarantee for `dst`, `src` has `n` slots.
        unsafe {
            std::ptr::copy_nonoverlapping(src.add(i * size), dst.offset(stride * i as isize), size)
        };
    }
}

/// Runs one vector-math call on `n` elements of its slots.
unsafe fn run_call(call: &Call, slots: &[*mut u8], n: usize) {
    match call.ty {
        // SAFETY: passed on from the caller.
        ScalarType::F32 => unsafe { typed_call::<f32>(call, slots, n) },
        // SAFETY: passed on from the caller.
        _ => unsafe { typed_call::<f64>(call, slots, n) },
    }
}

unsafe fn typed_call<T: Real>(call: &Call, slots: &[*mut u8], n: usize) {
    // SAFETY: each slot holds `n` initialised elements of `T` (the plan
    // types call slots with the call's type), and the result slot is
    // distinct from the argument slots, so the shared and the exclusive
    // slice do not overlap.
    let (a, b, out) = unsafe {
        (
            std::slice::from_raw_parts(slots[call.args[0]] as *const T, n),
            std::slice::from_raw_parts(slots[call.args[1]] as *const T, n),
            std::slice::from_raw_parts_mut(slots[call.result] as *mut T, n),
        )
    };
    match call.func {
        Func::Exp => vmath::exp_slice(a, out),
        Func::Log => vmath::log_slice(a, out),
        Func::Log1p => vmath::log1p_slice(a, out),
        Func::Expm1 => vmath::expm1_slice(a, out),
        Func::Sin => vmath::sin_slice(a, out),
        Func::Cos => vmath::cos_slice(a, out),
        Func::Tan => vmath::tan_slice(a, out),
        Func::Tanh => vmath::tanh_slice(a, out),
        Func::Sinh => vmath::sinh_slice(a, out),
        Func::Cosh => vmath::cosh_slice(a, out),
        Func::Arcsin => vmath::asin_slice(a, out),
        Func::Arccos => vmath::acos_slice(a, out),
        Func::Arctan => vmath::atan_slice(a, out),
        Func::Arctan2 => vmath::atan2_slice(a, b, out),
        Func::Pow => vmath::pow_slice(a, b, out),
        Func::Abs | Func::Sqrt | Func::Floor | Func::Ceil | Func::Minimum | Func::Maximum => {
            unreachable!("native functions are compiled inline")
        }
    }
}

//! Running a compiled part over strided operands.
//!
//! The loop nest is NumPy's nditer in miniature: broadcast every operand to
//! the output shape (zero strides), order the axes by the output's strides,
//! merge axes that are contiguous for every operand, and call the *row
//! function* once per innermost row. The row function walks the row in
//! blocks of [`BLOCK`] elements: a contiguous input is read in place, a
//! zero-stride one is splatted into a block buffer, any other stride is
//! gathered; then the stages and vector-math calls run on the block, and
//! the result is stored in place or scattered.

use einkern_runtime::layout::broadcast_strides;
use einkern_runtime::vmath::{self, Real};
use einkern_runtime::Error;

use super::build::StageFn;
use super::plan::{Call, Part};
use crate::expr::{Func, ScalarType};

/// Elements per block: every slot buffer of a block stays in L1.
pub const BLOCK: usize = 256;

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
    /// so that no product can overflow.
    pub fn new(ptr: *mut u8, shape: &[usize], strides: &[isize], ty: ScalarType) -> Operand {
        let size = size_of(ty) as isize;
        Operand {
            ptr,
            shape: shape.to_vec(),
            strides: shape
                .iter()
                .zip(strides)
                .map(|(&n, &s)| if n <= 1 { 0 } else { s * size })
                .collect(),
        }
    }
}

/// Evaluates `part` with `inputs` (one per part input, any shapes that
/// broadcast to `out.shape`) into `out`.
///
/// # Safety
///
/// Every operand must describe memory valid for its shape and strides
/// (reads for inputs, writes for `out`), `out` must not overlap an input,
/// and `stages` must be the compiled stages of `part`.
pub unsafe fn run_part(
    part: &Part,
    stages: &[StageFn],
    inputs: &[Operand],
    out: &Operand,
) -> Result<(), Error> {
    let nd = out.shape.len();
    let mut strides: Vec<Vec<isize>> = Vec::with_capacity(inputs.len() + 1);
    for op in inputs {
        strides.push(broadcast_strides(&op.shape, &op.strides, &out.shape)?);
    }
    strides.push(out.strides.clone());
    if out.shape.contains(&0) {
        return Ok(());
    }
    // Axes outermost first: by decreasing |output stride|, then merged
    // where every operand is contiguous across the pair.
    let mut axes: Vec<usize> = (0..nd).filter(|&k| out.shape[k] > 1).collect();
    axes.sort_by_key(|&k| std::cmp::Reverse(out.strides[k].unsigned_abs()));
    let mut dims: Vec<(usize, Vec<isize>)> = Vec::new();
    for k in axes {
        let st: Vec<isize> = strides.iter().map(|s| s[k]).collect();
        if let Some((n, prev)) = dims.last_mut() {
            let n_inner = out.shape[k];
            if prev
                .iter()
                .zip(&st)
                .all(|(&p, &s)| Some(p) == s.checked_mul(n_inner as isize))
            {
                *n *= n_inner;
                *prev = st;
                continue;
            }
        }
        dims.push((out.shape[k], st));
    }
    let (len, row) = dims.pop().unwrap_or_else(|| (1, vec![0; inputs.len() + 1]));
    let mut row_fn = RowFn::new(part, stages);
    let mut index = vec![0usize; dims.len()];
    let mut ptrs: Vec<*mut u8> = inputs.iter().map(|o| o.ptr).collect();
    ptrs.push(out.ptr);
    loop {
        // SAFETY: `ptrs` point at element `index` of every operand, and
        // the row of `len` elements with strides `row` stays inside each
        // operand (the caller's guarantee, broadcasting only adds zero
        // strides).
        unsafe { row_fn.row(len, &ptrs, &row) };
        // Odometer over the outer axes, moving the pointers along.
        let mut k = dims.len();
        loop {
            if k == 0 {
                return Ok(());
            }
            k -= 1;
            let (n, st) = &dims[k];
            index[k] += 1;
            let back = index[k] == *n;
            for (p, &s) in ptrs.iter_mut().zip(st) {
                *p = if back {
                    p.wrapping_offset(-s * (*n as isize - 1))
                } else {
                    p.wrapping_offset(s)
                };
            }
            if back {
                index[k] = 0;
            } else {
                break;
            }
        }
    }
}

/// The per-row work of one part: blocks, gathers, stages, calls.
struct RowFn<'a> {
    part: &'a Part,
    stages: &'a [StageFn],
    /// `BLOCK` elements per slot, 8-byte aligned; `slots` point into it
    /// (or at operands read in place), so it must outlive them.
    _scratch: Vec<u64>,
    base: *mut u64,
    slots: Vec<*mut u8>,
}

impl<'a> RowFn<'a> {
    fn new(part: &'a Part, stages: &'a [StageFn]) -> Self {
        let n = part.slot_types.len();
        let mut scratch = vec![0u64; n * BLOCK];
        let base = scratch.as_mut_ptr();
        let slots = (0..n)
            .map(|s| base.wrapping_add(s * BLOCK) as *mut u8)
            .collect();
        RowFn {
            part,
            stages,
            _scratch: scratch,
            base,
            slots,
        }
    }

    /// Slot `s`'s own block buffer.
    fn own(&self, s: usize) -> *mut u8 {
        self.base.wrapping_add(s * BLOCK) as *mut u8
    }

    /// # Safety
    /// `ptrs[k]` with byte stride `strides[k]` is valid for `len`
    /// elements of operand `k` (the last one is the output).
    unsafe fn row(&mut self, len: usize, ptrs: &[*mut u8], strides: &[isize]) {
        let part = self.part;
        let n_in = part.graph.inputs().len();
        let out = part.out_slot;
        let out_size = size_of(part.slot_types[out]);
        let mut start = 0;
        while start < len {
            let n = BLOCK.min(len - start);
            for k in 0..n_in {
                let size = size_of(part.slot_types[k]);
                let p = ptrs[k].wrapping_offset(strides[k] * start as isize);
                self.slots[k] = if strides[k] == size as isize {
                    p
                } else {
                    let dst = self.own(k);
                    // SAFETY: the caller vouches for `n` elements from `p`
                    // at this stride; `dst` holds `BLOCK` elements.
                    unsafe { gather(p, strides[k], size, n, dst) };
                    dst
                };
            }
            let p_out = ptrs[n_in].wrapping_offset(strides[n_in] * start as isize);
            let direct = strides[n_in] == out_size as isize;
            self.slots[out] = if direct { p_out } else { self.own(out) };
            for (s, stage) in self.stages.iter().enumerate() {
                // SAFETY: every slot holds at least `n` elements of its
                // type: inputs per the caller, the rest are scratch blocks.
                unsafe { stage(n as i64, self.slots.as_ptr()) };
                for call in &part.calls[s] {
                    // SAFETY: as above; a call's result slot differs from
                    // its argument slots.
                    unsafe { run_call(call, &self.slots, n) };
                }
            }
            if !direct {
                // SAFETY: the caller vouches for the output row.
                unsafe { scatter(self.own(out), p_out, strides[n_in], out_size, n) };
            }
            start += n;
        }
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

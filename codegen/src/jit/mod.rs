//! The same compiler at run time: expression strings and einsum specs
//! compiled to native code through Cranelift.
//!
//! ```
//! use einkern_codegen::jit;
//! use einkern_runtime::Array;
//!
//! let k = jit::compile::<f64>("exp(-x*x/2) * y", &["x", "y"])?;
//! let x = Array::from_vec(&[3], vec![0.0, 1.0, 2.0])?;
//! let y = Array::from_vec(&[2, 1], vec![1.0, 10.0])?; // broadcasts
//! let out = k.eval(&[x.view(), y.view()])?;
//! assert_eq!(out.shape(), &[2, 3]);
//! assert!((out.get(&[1, 1]).unwrap() - 10.0 * (-0.5f64).exp()).abs() < 1e-12);
//! # Ok::<(), einkern_runtime::Error>(())
//! ```
//!
//! Pipeline: the expression parser, type checker and IR of [`crate::expr`]
//! (the ones `#[kernel]` uses), then [`plan`] (reductions and vector-math
//! calls cut the graph into stages), [`clif`] (each stage to a vectorised
//! Cranelift loop), [`build`] (one module per kernel), and [`run`] (the
//! row function around the compiled code, driven by the runtime's
//! broadcasting loop nest `einkern_runtime::ew`, shared with `#[kernel]`).
//! Reductions evaluate their argument into a temporary and reduce it
//! ([`reduce`]); `jit::einsum` is the run-time einsum executor. Compiled kernels are cached by their IR (so spelling and spacing
//! do not matter), argument names and element type; the code is freed when
//! the last [`Kernel`] handle and the cache entry are gone.
//!
//! Limits, so that hostile input costs bounded time and memory: the
//! parser's ([`crate::expr::parse::MAX_LEN`], `MAX_NESTING`,
//! `MAX_TREE_DEPTH`), then at most [`MAX_OPERATIONS`] operations,
//! [`MAX_SLOTS`] block buffers and [`MAX_REDUCTIONS`] reductions per
//! kernel. Compile time is linear in the operations (a 200 KB expression
//! of 48 000 takes about 0.4 s); outputs and temporaries too large for
//! the machine are [`Error::Alloc`], not an abort.

mod build;
mod cache;
mod clif;
mod plan;
mod reduce;
mod run;

use std::marker::PhantomData;
use std::sync::Arc;

use einkern_runtime::layout::{broadcast_all, offset_bounds};
use einkern_runtime::{Array, ArrayView, ArrayViewMut, Element, Error, Order};

use crate::expr::{compile_str, ScalarType};
use build::Compiled;
use plan::Source;
use reduce::Dense;
use run::{run_part, Operand};

pub use build::{MAX_OPERATIONS, MAX_REDUCTIONS, MAX_SLOTS};
pub use cache::{cache_len, CACHE_CAPACITY};

/// Evaluates an einsum given as a run-time string, NumPy's grammar.
///
/// The subscript parser, planner and executor are the ones behind
/// `einsum!`: contractions run on the runtime's packed GEMM, the other
/// steps on its sum-of-products loop nests, so results equal `einsum!`'s.
pub fn einsum<T: Element>(spec: &str, operands: &[ArrayView<'_, T>]) -> Result<Array<T>, Error> {
    crate::einsum::einsum(spec, operands)
}

/// Compiles `expr` over arguments named `args`, all of element type `T`.
pub fn compile<T: Element>(expr: &str, args: &[&str]) -> Result<Kernel<T>, Error> {
    Kernel::compile(expr, args)
}

/// A compiled expression. Cloning is an `Arc` bump; kernels are `Send` and
/// `Sync`, so one can be shared by many threads.
pub struct Kernel<T> {
    code: Arc<Compiled>,
    n_args: usize,
    _ty: PhantomData<fn() -> T>,
}

impl<T> Clone for Kernel<T> {
    fn clone(&self) -> Self {
        Kernel {
            code: Arc::clone(&self.code),
            n_args: self.n_args,
            _ty: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Kernel<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("args", &self.n_args)
            .field("parts", &self.code.plan.parts.len())
            .finish()
    }
}

fn scalar_type<T: Element>() -> ScalarType {
    T::DTYPE.into()
}

impl<T: Element> Kernel<T> {
    /// Parses, type-checks and compiles `expr` (or finds it in the cache).
    pub fn compile(expr: &str, args: &[&str]) -> Result<Self, Error> {
        let graph = compile_str(expr, args, scalar_type::<T>())?;
        build::check_graph(&graph)?;
        let code = cache::get_or_build(&graph, T::DTYPE, || {
            build::build(plan::Plan::new(&graph)).map(Arc::new)
        })?;
        Ok(Kernel {
            code,
            n_args: args.len(),
            _ty: PhantomData,
        })
    }

    /// Evaluates the kernel on `inputs` (one per argument, broadcast
    /// together NumPy-style) into a new C-order array.
    pub fn eval(&self, inputs: &[ArrayView<'_, T>]) -> Result<Array<T>, Error> {
        self.check_count(inputs)?;
        let reduced = self.reductions(inputs)?;
        let part = self.code.plan.final_part();
        let ops = self.operands(part, inputs, &reduced)?;
        let shape = broadcast_all(ops.iter().map(|o| o.shape.as_slice()))?;
        // SAFETY: every element is written by `run_part` below before the
        // array is returned (or the array is dropped on error, unread).
        // An output the machine cannot hold is an `Error::Alloc`.
        let mut out = unsafe { Array::<T>::try_uninit(&shape, Order::C)? };
        let target = Operand::new(
            out.as_mut_ptr() as *mut u8,
            &shape,
            out.strides(),
            scalar_type::<T>(),
        )?;
        let stages = &self.code.stages[self.code.plan.parts.len() - 1];
        // SAFETY: the operands come from live views and arrays of the
        // right types, all broadcast to `shape`; `out` is fresh.
        unsafe { run_part(part, stages, &ops, &target)? };
        Ok(out)
    }

    /// Evaluates the kernel into `out`, whose shape the inputs must
    /// broadcast to.
    ///
    /// `out` cannot be a view of an input in safe code (it is an
    /// exclusive borrow); an input made from raw parts whose memory range
    /// meets out's is refused with an error, even if the elements
    /// themselves interleave without meeting.
    pub fn eval_into(
        &self,
        mut out: ArrayViewMut<'_, T>,
        inputs: &[ArrayView<'_, T>],
    ) -> Result<(), Error> {
        self.check_count(inputs)?;
        let reduced = self.reductions(inputs)?;
        let part = self.code.plan.final_part();
        let ops = self.operands(part, inputs, &reduced)?;
        let shape = broadcast_all(ops.iter().map(|o| o.shape.as_slice()))?;
        // Checks (naming shapes and axis) that `shape` stretches to out's.
        einkern_runtime::layout::broadcast_strides(&shape, &vec![0; shape.len()], out.shape())?;
        let ptr = out.as_mut_ptr() as *mut u8;
        let target = Operand::new(ptr, out.shape(), out.strides(), scalar_type::<T>())?;
        if !distinct_addresses(out.shape(), out.strides()) {
            return Err(Error::value(
                "eval_into: the output view has overlapping elements (a zero or repeated stride)",
            ));
        }
        // A safe caller cannot get here with an input overlapping `out`
        // (an `ArrayViewMut` is exclusive; tests/ui/jit_*.rs pin the
        // compile errors), but views made from raw parts could: refuse
        // any input whose memory range meets out's, rather than read
        // elements already overwritten. (This also refuses interleaved,
        // disjoint views of one buffer; copy one of them first.)
        let size = std::mem::size_of::<T>();
        if let Some(k) = (ops.iter()).position(|op| byte_ranges_meet(op, &target, size)) {
            return Err(Error::value(format!(
                "eval_into: the output view overlaps the memory of input {k}; \
                 evaluate into a new array (eval) instead"
            )));
        }
        let stages = &self.code.stages[self.code.plan.parts.len() - 1];
        // SAFETY: the operands come from live views and arrays of the
        // right types and broadcast to out's shape; `out` is an exclusive
        // view whose memory range meets no input's (checked above), and
        // reaches no element twice (checked above).
        unsafe { run_part(part, stages, &ops, &target) }
    }

    fn check_count(&self, inputs: &[ArrayView<'_, T>]) -> Result<(), Error> {
        if inputs.len() != self.n_args {
            return Err(Error::value(format!(
                "the kernel takes {} input{}, {} given",
                self.n_args,
                if self.n_args == 1 { "" } else { "s" },
                inputs.len()
            )));
        }
        Ok(())
    }

    /// The operands of `part`: arguments and reduction results.
    fn operands(
        &self,
        part: &plan::Part,
        inputs: &[ArrayView<'_, T>],
        reduced: &[Dense],
    ) -> Result<Vec<Operand>, Error> {
        part.sources
            .iter()
            .map(|s| match *s {
                Source::Arg(i) => Operand::new(
                    inputs[i].as_ptr() as *mut u8,
                    inputs[i].shape(),
                    inputs[i].strides(),
                    scalar_type::<T>(),
                ),
                Source::Reduced(r) => reduced[r].operand(),
            })
            .collect()
    }

    /// Evaluates every reduction, in plan order.
    fn reductions(&self, inputs: &[ArrayView<'_, T>]) -> Result<Vec<Dense>, Error> {
        let plan = &self.code.plan;
        let mut reduced: Vec<Dense> = Vec::with_capacity(plan.reductions.len());
        for r in &plan.reductions {
            let part = &plan.parts[r.part];
            let ops = self.operands(part, inputs, &reduced)?;
            let shape = broadcast_all(ops.iter().map(|o| o.shape.as_slice()))?;
            let mut tmp = Dense::try_zeros(&shape, part.graph.output_type())?;
            let target = tmp.operand_mut()?;
            // SAFETY: operands from live views and earlier temporaries,
            // broadcast to `shape`; `tmp` is fresh.
            unsafe { run_part(part, &self.code.stages[r.part], &ops, &target)? };
            reduced.push(reduce::reduce(&tmp, r.op, r.axis, r.keepdims)?);
        }
        Ok(reduced)
    }
}

/// The bytes `[lo, hi)` an operand of `size`-byte elements can reach, or
/// `None` if it is empty.
fn byte_range(op: &Operand, size: usize) -> Option<(usize, usize)> {
    let (lo, hi) = offset_bounds(&op.shape, &op.strides)?;
    // The operand is a view obeying the runtime's rule, so its byte span
    // fits in `isize` and these offsets stay inside its allocation.
    let lo = (op.ptr as usize).wrapping_add_signed(lo);
    let hi = (op.ptr as usize).wrapping_add_signed(hi).wrapping_add(size);
    Some((lo, hi))
}

/// Whether the memory ranges of two operands intersect.
fn byte_ranges_meet(a: &Operand, b: &Operand, size: usize) -> bool {
    match (byte_range(a, size), byte_range(b, size)) {
        (Some((a0, a1)), Some((b0, b1))) => a0 < b1 && b0 < a1,
        _ => false,
    }
}

/// Whether no two indices of a view address the same element.
fn distinct_addresses(shape: &[usize], strides: &[isize]) -> bool {
    let mut dims: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&n, _)| n > 1)
        .map(|(&n, &s)| (s.unsigned_abs(), n))
        .collect();
    if shape.contains(&0) {
        return true;
    }
    dims.sort_unstable();
    let mut extent = 1usize;
    for (s, n) in dims {
        if s < extent {
            return false;
        }
        extent = s.saturating_mul(n);
    }
    true
}

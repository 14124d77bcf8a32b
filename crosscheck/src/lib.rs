//! `#[kernel]` functions generated at build time from random expressions
//! over the whole language (see `build.rs`), each paired with the same
//! expression in the JIT's numexpr spelling. `tests/jit_vs_kernel.rs` runs
//! both on the same inputs: the two front ends, planners' paths and
//! back ends (LLVM through the proc-macro, Cranelift at run time) must
//! agree.

include!(concat!(env!("OUT_DIR"), "/cases.rs"));

/// One generated expression: the `#[kernel]` compiled ahead of time and the
/// same expression as a JIT string, both over arrays `x`, `y`, `z`.
pub struct Case {
    pub name: &'static str,
    pub kernel: fn(ArrayView<f64>, ArrayView<f64>, ArrayView<f64>) -> Array<f64>,
    pub jit: &'static str,
}

//! einkern-codegen: the compiler shared by the macros and the JIT.
//!
//! Data flows one way: parse (einsum subscripts, expressions) → IR → plan →
//! lowering (Rust tokens for the macros, Cranelift IR for the JIT).

pub mod einsum;
pub mod expr;
#[cfg(feature = "jit")]
pub mod jit;
pub mod kernel;

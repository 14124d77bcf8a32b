//! # einkern
//!
//! An ahead-of-time array kernel compiler for Rust: einsum strings, fused
//! elementwise expressions and reductions compiled to specialised loop nests
//! over a small strided-array runtime with NumPy's semantics.
//!
//! This facade is the only crate users name; it re-exports the runtime, the
//! compiler and the macros.

pub use einkern_runtime::*;

/// The hidden path generated code uses to reach runtime items, so that users
/// depend on `einkern` alone.
#[doc(hidden)]
pub mod __rt {
    pub use einkern_runtime::*;
}

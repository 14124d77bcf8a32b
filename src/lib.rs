//! # einkern
//!
//! An ahead-of-time array kernel compiler for Rust: einsum strings, fused
//! elementwise expressions and reductions compiled to specialised loop nests
//! over a small strided-array runtime with NumPy's semantics.
//!
//! This facade is the only crate users name; it re-exports the runtime, the
//! compiler and the macros.
//!
//! ```
//! use einkern::{einsum, try_einsum, Array};
//!
//! let a = Array::from_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])?;
//! let gram = einsum!("ij,kj->ik", &a, &a);
//! assert_eq!(gram.to_vec(), vec![14.0, 32.0, 32.0, 77.0]);
//! assert_eq!(einsum!("ij->j", a.view()).to_vec(), vec![5.0, 7.0, 9.0]);
//! assert!(try_einsum!("ij,jk", &a, &a).is_err()); // 3 != 2
//! # Ok::<(), einkern::Error>(())
//! ```

pub use einkern_runtime::*;

pub use einkern_macros::{einsum, kernel, try_einsum};

/// Evaluates an einsum given as a run-time string (NumPy's grammar); the
/// `einsum!` macros are the compile-time checked form.
pub use einkern_codegen::einsum::einsum as einsum_dyn;

/// Run-time kernels: expression strings and einsum specs compiled to
/// native code through Cranelift (`jit::compile::<f64>("exp(-x*x/2)*y",
/// &["x", "y"])?.eval(&[x, y])?`).
pub use einkern_codegen::jit;

/// The command line's argument parser (`src/cli/args.rs`), here so that the
/// fuzz target `cli_args` can call it; not an API.
#[doc(hidden)]
#[path = "cli/args.rs"]
pub mod __cli_args;

/// The hidden path generated code uses to reach runtime items, so that users
/// depend on `einkern` alone.
#[doc(hidden)]
pub mod __rt {
    pub use einkern_codegen::einsum::{
        einsum_compiled, CompiledSpec, CompiledSubscripts, OutputEpilogue, OutputInput, Prepared,
    };
    pub use einkern_runtime::*;
}

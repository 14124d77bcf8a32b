//! einkern-macros: `einsum!`, `try_einsum!` and `#[kernel]`.
//!
//! Thin shells: each macro turns syn syntax into einkern's IR, asks
//! einkern-codegen to plan and lower it, and turns any error into a
//! `compile_error!` at the offending span.

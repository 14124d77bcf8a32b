//! Compile-time errors of `einsum!` / `try_einsum!` and `#[kernel]`
//! (tests/ui/kernel_*.rs: loops, `if`, unknown functions, arity, mixed
//! element types, bad parameter or return types, unsupported methods, stray
//! statements, and an `einsum!` inside a kernel with bad subscripts, a wrong
//! operand count, mixed operand types or as `try_einsum!`, each pointing at
//! the offending token). For einsum: every kind of bad
//! subscript string is a `compile_error!` at the string literal, with the
//! column and a caret line, pinned in tests/ui/*.stderr. For the JIT
//! (tests/ui/jit_*.rs): `Kernel::eval_into` cannot be given an output that
//! overlaps one of its inputs (the same array, a view of the output view,
//! or one slice viewed both ways) — the borrow checker refuses each.

#[test]
fn einsum_macro_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

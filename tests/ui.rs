//! Compile-time errors of `einsum!` / `try_einsum!` and `#[kernel]`
//! (tests/ui/kernel_*.rs: loops, `if`, unknown functions, arity, mixed
//! element types, bad parameter or return types, unsupported methods, stray
//! statements, and an `einsum!` inside a kernel with bad subscripts, a wrong
//! operand count, mixed operand types or as `try_einsum!`, each pointing at
//! the offending token). Aliasing (tests/ui/alias_*.rs): a kernel's
//! `_into` given its output array as an input (as a view, as `&Array`, as
//! a view taken earlier, as a reborrow of the output view) and a prepared
//! einsum run into one of its operands are borrow errors; so is
//! `Kernel::eval_into` given an output that overlaps one of its inputs
//! (tests/ui/jit_*.rs: the same array, a view of the output view, or one
//! slice viewed both ways). For einsum: every kind of bad subscript string
//! is a `compile_error!` at the string literal, with the column and a caret
//! line, pinned in tests/ui/*.stderr.

#[test]
fn einsum_macro_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

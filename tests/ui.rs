//! Compile-time errors of `einsum!` / `try_einsum!`: every kind of bad
//! subscript string is a `compile_error!` at the string literal, with the
//! column and a caret line, pinned in tests/ui/*.stderr.

#[test]
fn einsum_macro_compile_errors() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}

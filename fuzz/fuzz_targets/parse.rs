//! The expression parser and type checker on arbitrary text: every input
//! is `Ok` or `Err`, never a panic, a stack overflow or a hang.
#![no_main]

use einkern_codegen::expr::{compile_str, parse::parse_expr, ScalarType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(src) = std::str::from_utf8(data) {
        let _ = parse_expr(src);
        for ty in [ScalarType::F64, ScalarType::I32] {
            let _ = compile_str(src, &["x", "y"], ty);
        }
    }
});

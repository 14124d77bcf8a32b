//! Properties of the expression front end: printing and parsing agree on
//! generated expressions over the whole language, and no input string —
//! however malformed — makes parsing or type checking panic.

use einkern_codegen::expr::parse::parse_expr;
use einkern_codegen::expr::{compile_str, ScalarType, FUNCS};
use proptest::prelude::*;

/// Random expression source text over the language.
fn expr_src() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        prop_oneof![Just("x"), Just("y"), Just("z")].prop_map(str::to_string),
        (0i64..1000).prop_map(|i| i.to_string()),
        (0.0f64..100.0).prop_map(|f| format!("{f:?}")),
    ];
    leaf.prop_recursive(5, 48, 3, |inner| {
        let names: Vec<&'static str> = FUNCS
            .iter()
            .filter(|f| f.arity == 1)
            .map(|f| f.name)
            .collect();
        prop_oneof![
            (
                inner.clone(),
                prop_oneof![Just("+"), Just("-"), Just("*"), Just("/"), Just("**")],
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("({a}) {op} ({b})")),
            inner.clone().prop_map(|a| format!("-({a})")),
            (prop::sample::select(names), inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, a, b)| format!("where(({c}) < ({a}), {a}, {b})")),
            (inner.clone(), -2i64..2).prop_map(|(a, ax)| format!("sum(({a}) + x, axis={ax})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("arctan2({a}, {b})")),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn print_then_parse_is_the_identity(src in expr_src()) {
        let printed = parse_expr(&src).expect("generated text parses").to_string();
        let again = parse_expr(&printed).expect("printed text parses").to_string();
        prop_assert_eq!(printed, again);
        // Everything generated is well typed over floats.
        prop_assert!(compile_str(&src, &["x", "y", "z"], ScalarType::F64).is_ok(), "{}", src);
    }

    #[test]
    fn arbitrary_text_never_panics(src in "[ -~]{0,40}") {
        let _ = compile_str(&src, &["x", "y"], ScalarType::F32);
        let _ = compile_str(&src, &["x", "y"], ScalarType::I64);
    }

    #[test]
    fn mangled_expressions_never_panic(src in expr_src(), cut in 0usize..200, junk in "[()*,=<!~]") {
        let cut = src.char_indices().map(|(i, _)| i).nth(cut).unwrap_or(src.len());
        let mangled = format!("{}{}{}", &src[..cut], junk, &src[cut..]);
        let _ = compile_str(&mangled, &["x", "y", "z"], ScalarType::F64);
    }
}

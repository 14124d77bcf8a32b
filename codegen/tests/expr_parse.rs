//! The numexpr-spelling parser: precedence, literals, calls, and errors
//! that point at the right column.

use einkern_codegen::expr::parse::parse_expr;
use einkern_runtime::Error;

fn p(src: &str) -> String {
    parse_expr(src)
        .unwrap_or_else(|e| panic!("{src}: {e}"))
        .to_string()
}

fn column_of(src: &str) -> (usize, String) {
    match parse_expr(src) {
        Err(Error::Parse {
            column, message, ..
        }) => (column, message),
        other => panic!("{src}: expected a parse error, got {other:?}"),
    }
}

#[test]
fn precedence_follows_python() {
    assert_eq!(p("a + b * c"), "(a + (b * c))");
    assert_eq!(p("a - b - c"), "((a - b) - c)");
    assert_eq!(p("a / b * c"), "((a / b) * c)");
    assert_eq!(p("-x**2"), "(-(x ** 2))");
    assert_eq!(p("x**-1"), "(x ** (-1))");
    assert_eq!(p("2**3**2"), "(2 ** (3 ** 2))");
    assert_eq!(p("exp(-x*x/2)*y"), "(exp((((-x) * x) / 2)) * y)");
    assert_eq!(
        p("(a < 1) | (b >= 2) & ~c"),
        "((a < 1) | ((b >= 2) & (~c)))"
    );
    assert_eq!(p("a < b | c"), "(a < (b | c))");
    assert_eq!(p("!(a == b)"), "(~(a == b))");
    assert_eq!(p("+a"), "a");
}

#[test]
fn literals_and_calls() {
    assert_eq!(
        p("1.5e3 + .5 + 2. + 7 + 1E-2"),
        "((((1500.0 + 0.5) + 2.0) + 7) + 0.01)"
    );
    assert_eq!(
        p("where(a < 0.2, 0.2, where(a > 0.8, 0.8, a))"),
        "where((a < 0.2), 0.2, where((a > 0.8), 0.8, a))"
    );
    assert_eq!(
        p("sum((p - q)**2, axis=-1)"),
        "sum(((p - q) ** 2), axis=(-1))"
    );
    assert_eq!(p("max(x, 1, keepdims=True)"), "max(x, 1, keepdims=True)");
    assert_eq!(p("f()"), "f()");
    assert_eq!(p("  x_1 "), "x_1");
}

#[test]
fn printing_round_trips() {
    for src in [
        "exp(-x*x/2.0)*y + sin(x)*3.25 - sqrt(y+3.0)",
        "where(a<b, a**2, -b) | c",
        "mean(x, axis=0, keepdims=False)",
    ] {
        let once = p(src);
        assert_eq!(p(&once), once);
    }
}

#[test]
fn errors_point_at_the_problem() {
    assert_eq!(column_of("a + * b").0, 4);
    assert_eq!(column_of("a + $b"), (4, "unexpected character '$'".into()));
    assert_eq!(
        column_of("(a + b"),
        (6, "expected ')' to close the '(' at column 1".into())
    );
    assert_eq!(column_of("a + b)"), (5, "unmatched ')'".into()));
    assert_eq!(column_of("a b").0, 2);
    assert_eq!(column_of("").1, "expected an expression, found the end");
    assert_eq!(column_of("a < b < c").0, 6);
    assert!(column_of("a < b < c").1.contains("parenthesise"));
    assert_eq!(column_of("f(a b)").0, 4);
    assert_eq!(column_of("f(x=1, 2)").0, 7);
    assert_eq!(column_of("f(x=1, x=2)").0, 7);
    assert_eq!(column_of("2x").0, 1);
    assert_eq!(column_of("99999999999999999999").0, 0);
    // Columns count characters, not bytes.
    assert_eq!(column_of("é + §").0, 4);
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "(".repeat(100_000) + "x" + &")".repeat(100_000);
    assert!(column_of(&deep).1.contains("nested too deeply"));
    let negs = "-".repeat(100_000) + "x";
    assert!(column_of(&negs).1.contains("nested too deeply"));
    let calls = "f(".repeat(100_000) + "x" + &")".repeat(100_000);
    assert!(column_of(&calls).1.contains("nested too deeply"));
    assert_eq!(p(&("(".repeat(50) + "x" + &")".repeat(50))), "x");
}

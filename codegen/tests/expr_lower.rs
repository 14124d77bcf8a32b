//! Lowering to the typed IR (names, arity, NumPy-2 weak literals, strict
//! mixing rules) and the reference interpreter's numbers.

use einkern_codegen::expr::reference::{evaluate, Value};
use einkern_codegen::expr::{compile_str, BinaryOp, Op, ScalarType};
use einkern_runtime::Error;

fn graph(src: &str, args: &[&str], ty: ScalarType) -> einkern_codegen::expr::Graph {
    compile_str(src, args, ty).unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn type_error(src: &str, args: &[&str], ty: ScalarType) -> (usize, String) {
    match compile_str(src, args, ty) {
        Err(Error::Parse {
            column, message, ..
        }) => (column, message),
        other => panic!("{src}: expected an error, got {other:?}"),
    }
}

fn eval(src: &str, args: &[&str], ty: ScalarType, inputs: &[Value]) -> Value {
    evaluate(&graph(src, args, ty), inputs).unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn literals_take_the_arrays_type() {
    let g = graph("2 * x + 0.5", &["x"], ScalarType::F32);
    assert_eq!(g.output_type(), ScalarType::F32);
    assert!(g.nodes().iter().all(|n| n.ty == ScalarType::F32));
    // Literal arithmetic folds before it meets an array.
    let g = graph("x * (1 / 2)", &["x"], ScalarType::F64);
    assert_eq!(g.nodes().len(), 3, "{:?}", g.nodes());
    // Integer powers become repeated multiplication.
    assert!(graph("x ** 2", &["x"], ScalarType::F64)
        .nodes()
        .iter()
        .any(|n| matches!(n.op, Op::Powi(_, 2))));
    assert!(graph("x ** 2.5", &["x"], ScalarType::F64)
        .nodes()
        .iter()
        .any(|n| matches!(n.op, Op::Binary(..))));
}

#[test]
fn a_float_to_an_integer_power_beyond_i32_is_a_general_pow() {
    // 355 ** 4 = 15882300625 does not fit the unrolled power's i32: floats
    // take pow (as NumPy does), integers still refuse it.
    let src = "x ** ((355) ** (4))";
    assert!(graph(src, &["x"], ScalarType::F64)
        .nodes()
        .iter()
        .any(|n| matches!(n.op, Op::Binary(BinaryOp::Pow, ..))));
    let x = [1.0, 1.0 + 1e-11, 1.0 - 1e-11, 0.5];
    let out = eval(src, &["x"], ScalarType::F64, &[v(&[4], &x)]);
    let want: Vec<f64> = x.iter().map(|x| x.powf(15_882_300_625.0)).collect();
    assert_eq!(out, v(&[4], &want));
    assert!(compile_str(src, &["x"], ScalarType::F32).is_ok());
    let (_, msg) = type_error(src, &["x"], ScalarType::I64);
    assert!(msg.contains("exponent 15882300625 is too large"), "{msg}");
}

#[test]
fn common_subexpressions_are_shared() {
    let g = graph("exp(x) + exp(x)", &["x"], ScalarType::F64);
    let exps = g
        .nodes()
        .iter()
        .filter(|n| matches!(n.op, Op::Func1(..)))
        .count();
    assert_eq!(exps, 1);
}

#[test]
fn type_and_name_errors_are_located_and_explained() {
    let (col, msg) = type_error("x + q", &["x"], ScalarType::F64);
    assert_eq!(
        (col, msg.as_str()),
        (4, "unknown name 'q' (known names: x)")
    );
    let (col, msg) = type_error("foo(x)", &["x"], ScalarType::F64);
    assert_eq!((col, msg.as_str()), (0, "unknown function 'foo'"));
    assert_eq!(
        type_error("exp(x, x)", &["x"], ScalarType::F64).1,
        "exp() takes 1 argument, 2 given"
    );
    assert_eq!(
        type_error("arctan2(x)", &["x"], ScalarType::F64).1,
        "arctan2() takes 2 arguments, 1 given"
    );
    assert!(type_error("exp(x)", &["x"], ScalarType::I32)
        .1
        .contains("not defined on int32"));
    assert!(type_error("x / 2", &["x"], ScalarType::I64)
        .1
        .contains("cast to a float"));
    assert!(type_error("x + 0.5", &["x"], ScalarType::I32)
        .1
        .contains("float literal"));
    assert!(type_error("x > 0", &["x"], ScalarType::F64)
        .1
        .contains("yields bool"));
    assert!(type_error("where(x, 1, 2)", &["x"], ScalarType::F64)
        .1
        .contains("condition"));
    assert!(type_error("(x > 0) + 1", &["x"], ScalarType::F64)
        .1
        .contains("cannot be used with bool"));
    assert!(type_error("(x > 0) + (x > 1)", &["x"], ScalarType::F64)
        .1
        .contains("not booleans"));
    assert!(type_error("~x", &["x"], ScalarType::F64)
        .1
        .contains("boolean"));
    assert!(type_error("sum(x, axis=y)", &["x", "y"], ScalarType::F64)
        .1
        .contains("integer literal"));
    assert!(type_error("sum(x, 1, axis=0)", &["x"], ScalarType::F64)
        .1
        .contains("twice"));
    assert!(type_error("exp(x, k=1)", &["x"], ScalarType::F64)
        .1
        .contains("keyword"));
    assert!(type_error("mean(x)", &["x"], ScalarType::I32)
        .1
        .contains("cast"));
    assert!(type_error("x + 3000000000", &["x"], ScalarType::I32)
        .1
        .contains("does not fit"));
    assert!(compile_str("x", &["x", "x"], ScalarType::F64).is_err());
    assert!(compile_str("x", &["1x"], ScalarType::F64).is_err());
}

fn v(shape: &[usize], data: &[f64]) -> Value {
    Value::new(shape, data.to_vec())
}

#[test]
fn the_interpreter_broadcasts_and_reduces_like_numpy() {
    // (X - mu) / sd with mu, sd broadcast over rows.
    let out = eval(
        "(X - mu) / sd",
        &["X", "mu", "sd"],
        ScalarType::F64,
        &[
            v(&[2, 2], &[1.0, 2.0, 3.0, 4.0]),
            v(&[2], &[1.0, 1.0]),
            v(&[2], &[2.0, 4.0]),
        ],
    );
    assert_eq!(out, v(&[2, 2], &[0.0, 0.25, 1.0, 0.75]));
    // Pairwise distances: p[:, None, :] - q[None, :, :] summed over the last axis.
    let out = eval(
        "sqrt(sum((p - q)**2, axis=-1))",
        &["p", "q"],
        ScalarType::F64,
        &[
            v(&[2, 1, 2], &[0.0, 0.0, 3.0, 0.0]),
            v(&[1, 2, 2], &[0.0, 0.0, 0.0, 4.0]),
        ],
    );
    assert_eq!(out, v(&[2, 2], &[0.0, 4.0, 3.0, 5.0]));
    let out = eval(
        "max(x, axis=0, keepdims=True)",
        &["x"],
        ScalarType::F64,
        &[v(&[2, 2], &[1.0, 5.0, 3.0, f64::NAN])],
    );
    assert_eq!(out.shape, vec![1, 2]);
    assert_eq!(out.data[0], 3.0);
    assert!(out.data[1].is_nan(), "max propagates NaN like NumPy");
    let out = eval(
        "mean(x)",
        &["x"],
        ScalarType::F64,
        &[v(&[4], &[1.0, 2.0, 3.0, 6.0])],
    );
    assert_eq!(out, v(&[], &[3.0]));
    let out = eval(
        "where(a < 0.2, 0.2, where(a > 0.8, 0.8, a))",
        &["a"],
        ScalarType::F64,
        &[v(&[3], &[0.1, 0.5, 0.9])],
    );
    assert_eq!(out, v(&[3], &[0.2, 0.5, 0.8]));
    let out = eval(
        "clip(a, 0, 1)",
        &["a"],
        ScalarType::F64,
        &[v(&[3], &[-1.0, 0.5, 2.0])],
    );
    assert_eq!(out, v(&[3], &[0.0, 0.5, 1.0]));
    assert!(evaluate(&graph("max(x)", &["x"], ScalarType::F64), &[v(&[0], &[])]).is_err());
    let e = evaluate(
        &graph("a + b", &["a", "b"], ScalarType::F64),
        &[v(&[2], &[1.0, 2.0]), v(&[3], &[1.0; 3])],
    );
    assert!(matches!(e, Err(Error::Shape { .. })));
}

#[test]
fn the_interpreter_rounds_to_each_type() {
    let out = eval(
        "x * 3",
        &["x"],
        ScalarType::I32,
        &[v(&[1], &[1_000_000_000.0])],
    );
    assert_eq!(out.data, vec![(1_000_000_000i32).wrapping_mul(3) as f64]);
    let out = eval("x / 3", &["x"], ScalarType::F32, &[v(&[1], &[1.0])]);
    assert_eq!(out.data, vec![(1.0f32 / 3.0) as f64]);
    let out = eval(
        "float32(int32(x) * 2)",
        &["x"],
        ScalarType::F32,
        &[v(&[2], &[2.7, -2.7])],
    );
    assert_eq!(out.data, vec![4.0, -4.0]);
}

#[test]
fn division_by_a_power_of_two_is_an_exact_multiply() {
    let divides = |src: &str, ty: ScalarType| {
        let g = graph(src, &["x"], ty);
        let div = g
            .nodes()
            .iter()
            .any(|n| matches!(n.op, Op::Binary(BinaryOp::Div, ..)));
        let consts: Vec<f64> = g
            .nodes()
            .iter()
            .filter_map(|n| match n.op {
                Op::Const(c) => Some(c.as_f64()),
                _ => None,
            })
            .collect();
        (div, consts)
    };
    assert_eq!(divides("x / 2", ScalarType::F64), (false, vec![0.5]));
    assert_eq!(divides("x / -0.125", ScalarType::F64), (false, vec![-8.0]));
    assert_eq!(divides("x / 0.25", ScalarType::F32), (false, vec![4.0]));
    // Not a power of two, or a reciprocal that would be subnormal (2¹⁰²³
    // in f64, 2¹²⁷ in f32) or overflow: a true division stays.
    assert!(divides("x / 3", ScalarType::F64).0);
    assert!(divides("x / 8.98846567431158e307", ScalarType::F64).0);
    assert!(divides("x / 1.7014118346046923e38", ScalarType::F32).0);
    assert!(divides("x / 5e-324", ScalarType::F64).0);
    assert!(divides("x / 0", ScalarType::F64).0);
    // Same numbers as dividing, at every edge.
    let edges = [
        0.0,
        -0.0,
        5e-324,
        -2.2250738585072014e-308,
        1.0,
        3.0,
        1.7976931348623157e308,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    for c in [2.0, 0.5, -1024.0] {
        let got = eval(
            &format!("x / {c:e}"),
            &["x"],
            ScalarType::F64,
            &[v(&[edges.len()], &edges)],
        );
        for (g, x) in got.data.iter().zip(edges) {
            let want = x / c;
            assert!(
                g.to_bits() == want.to_bits() || (g.is_nan() && want.is_nan()),
                "{x} / {c}"
            );
        }
    }
}

//! The JIT on hostile input (issue 20): expressions nested 10⁵ deep or
//! 10⁶ terms wide, wide expressions that used to compile in quadratic
//! time, views too large to evaluate, and outputs overlapping inputs.
//! Each is an `Err` or the right result, in bounded time and memory, on
//! the 2 MiB stack of a spawned thread, never a stack overflow or abort.
#![cfg(feature = "jit")]

use std::time::{Duration, Instant};

use einkern_codegen::expr::parse::{parse_expr, MAX_LEN, MAX_NESTING, MAX_TREE_DEPTH};
use einkern_codegen::expr::reference::{evaluate, Value};
use einkern_codegen::expr::{compile_str, ScalarType};
use einkern_codegen::jit::{Kernel, MAX_OPERATIONS, MAX_REDUCTIONS};
use einkern_runtime::{Array, ArrayView, ArrayViewMut, Error};

/// Runs `f` on a thread with the 2 MiB stack a spawned thread gets.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

/// The column and message of the parse error `src` must give.
fn parse_error(src: &str) -> (usize, String) {
    match parse_expr(src) {
        Err(Error::Parse {
            column, message, ..
        }) => (column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// A balanced sum of `x*k.5` terms, `lo <= k < hi`: no two terms are the
/// same subexpression, so nothing is merged.
fn balanced(lo: usize, hi: usize, out: &mut String) {
    if hi - lo == 1 {
        out.push_str(&format!("x*{lo}.5"));
        return;
    }
    let mid = (lo + hi) / 2;
    out.push('(');
    balanced(lo, mid, out);
    out.push('+');
    balanced(mid, hi, out);
    out.push(')');
}

fn balanced_sum(n: usize) -> String {
    let mut s = String::new();
    balanced(0, n, &mut s);
    s
}

/// Σ x·(k + 0.5) for k < n.
fn balanced_value(x: f64, n: usize) -> f64 {
    x * (n * n) as f64 / 2.0
}

#[test]
fn nesting_past_the_limit_is_an_error_at_the_opening_token() {
    on_small_stack(|| {
        let n = MAX_NESTING;
        // At the limit: fine, through every pass to machine code.
        let ok = format!("{}x{}", "(".repeat(n), ")".repeat(n));
        let k = Kernel::<f64>::compile(&ok, &["x"]).unwrap();
        let x = Array::from_vec(&[2], vec![1.5, -2.0]).unwrap();
        assert_eq!(k.eval(&[x.view()]).unwrap().to_vec(), [1.5, -2.0]);
        let negs = format!("{}x", "-".repeat(n));
        let k = Kernel::<f64>::compile(&negs, &["x"]).unwrap();
        assert_eq!(k.eval(&[x.view()]).unwrap().to_vec(), [1.5, -2.0]);
        // One more: the error points at the opener of the level too many.
        let src = format!("{}x{}", "(".repeat(n + 1), ")".repeat(n + 1));
        let (column, message) = parse_error(&src);
        assert_eq!(column, n);
        assert!(message.contains("nested too deeply"), "{message}");
        assert!(message.contains(&n.to_string()), "{message}");
        let src = format!("y + {}x", "-".repeat(n + 1));
        assert_eq!(parse_error(&src).0, 4 + n);
        let src = format!("{}x{}", "exp(".repeat(n + 1), ")".repeat(n + 1));
        assert_eq!(parse_error(&src).0, 4 * n + 3);
        let src = format!("x{}", "**x".repeat(n + 1));
        assert_eq!(parse_error(&src).0, 1 + 3 * n);
    });
}

#[test]
fn chains_count_toward_the_tree_depth() {
    on_small_stack(|| {
        // A chain of MAX_TREE_DEPTH operators is the deepest tree allowed:
        // lowering recurses down its whole left spine.
        let terms = MAX_TREE_DEPTH + 1;
        let sum = format!("x{}", "+x".repeat(terms - 1));
        let k = Kernel::<f64>::compile(&sum, &["x"]).unwrap();
        let x = Array::from_vec(&[1], vec![0.5]).unwrap();
        let want = 0.5 * terms as f64;
        assert_eq!(k.eval(&[x.view()]).unwrap().to_vec(), [want]);
        // Printing, cloning and comparing the tree recurse as deep.
        let tree = parse_expr(&sum).unwrap();
        assert_eq!(tree.clone(), tree);
        assert!(tree.to_string().len() > sum.len());
        assert!(format!("{tree:?}").contains("Binary"));
        // One operator more: the error is at that operator.
        let longer = format!("{sum}+x");
        let (column, message) = parse_error(&longer);
        assert_eq!(column, sum.len());
        assert!(message.contains("parenthesise long sums"), "{message}");
        // Nesting and chains add up: 150 parentheses deep, a chain of
        // MAX_TREE_DEPTH - 150 operators still fits, one more does not.
        let open = "(".repeat(150);
        let close = ")".repeat(150);
        let inner = |ops: usize| format!("{open}x{}{close}", "-x".repeat(ops));
        assert!(parse_expr(&inner(MAX_TREE_DEPTH - 150)).is_ok());
        assert!(parse_error(&inner(MAX_TREE_DEPTH - 149))
            .1
            .contains("nested too deeply"));
    });
}

/// Each of these is refused within a second or two (debug build), on a
/// 2 MiB stack, whatever its shape.
#[test]
fn hostile_expressions_are_refused_quickly() {
    let n = 100_000;
    let cases = vec![
        format!("{}x{}", "(".repeat(n), ")".repeat(n)),
        format!("{}x", "-".repeat(n)),
        format!("{}x", "~".repeat(n)),
        format!("{}x{}", "exp(".repeat(n), ")".repeat(n)),
        format!("x{}", "**x".repeat(n)),
        format!("x{}", "**-x".repeat(n)),
        format!("{}x{}", "where(x > 0, ".repeat(n), ", x)".repeat(n)),
        // 10⁶ terms wide: too long to read at all.
        format!("x{}", "+x".repeat(1_000_000)),
        balanced_sum(1_000_000),
        // 10⁵ terms: a chain too deep, and a balanced sum too large.
        format!("x{}", "+x".repeat(n)),
        balanced_sum(n),
    ];
    on_small_stack(move || {
        for src in &cases {
            let start = Instant::now();
            let r = Kernel::<f64>::compile(src, &["x"]);
            let took = start.elapsed();
            let e = r.expect_err("refused");
            assert!(
                took < Duration::from_secs(10),
                "{took:?} to refuse {}...: {}",
                &src[..40],
                e.message()
            );
            let m = e.message();
            assert!(
                m.contains("nested too deeply")
                    || m.contains("too large for the JIT")
                    || m.contains("bytes long"),
                "{m}"
            );
        }
    });
    assert!(parse_expr(&"x".repeat(MAX_LEN + 1))
        .unwrap_err()
        .message()
        .contains("limit"));
}

/// The expression that used to take minutes: a 200 KB balanced sum of
/// distinct terms (16 000 terms, 48 000 operations) compiles in well
/// under a second of CPU time, and computes the right sum.
#[test]
fn a_200kb_balanced_sum_compiles_quickly_and_correctly() {
    let n = 16_000;
    let src = balanced_sum(n);
    assert!(src.len() > 180_000, "{}", src.len());
    let start = Instant::now();
    let k = Kernel::<f64>::compile(&src, &["x"]).unwrap();
    let took = start.elapsed();
    // Generous for a loaded CI machine: it takes 0.4 s of CPU here.
    assert!(took < Duration::from_secs(20), "{took:?}");
    let x = Array::from_fn(&[5, 3], |i| (i[0] * 3 + i[1]) as f64 * 0.25 - 1.0);
    let got = k.eval(&[x.view()]).unwrap();
    for (g, &xv) in got.to_vec().iter().zip(&x.to_vec()) {
        let want = balanced_value(xv, n);
        assert!(
            (g - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{g} vs {want}"
        );
    }
}

/// Compiled with the single-pass register allocator (more than 2000
/// operations), a kernel whose two halves share every leaf still matches
/// the reference interpreter, in f32 and f64; so does a sum of
/// vector-math calls.
#[test]
fn large_kernels_match_the_reference() {
    let n = 1500;
    let left = balanced_sum(n);
    // The same leaves, summed in the other order and grouping.
    let right = (0..n)
        .rev()
        .collect::<Vec<_>>()
        .chunks(7)
        .map(|c| {
            let t: Vec<String> = c.iter().map(|k| format!("x*{k}.5")).collect();
            format!("({})", t.join("+"))
        })
        .collect::<Vec<_>>()
        .join("+");
    let calls = (0..1000)
        .map(|k| format!("exp(x*{})", k as f64 / 1000.0))
        .collect::<Vec<_>>()
        .chunks(10)
        .map(|c| format!("({})", c.join("+")))
        .collect::<Vec<_>>()
        .join("+");
    let xs: Vec<f64> = (0..37).map(|i| i as f64 * 0.1 - 1.7).collect();
    for src in [format!("({left}) * ({right}) + y"), format!("{calls} - y")] {
        let g = compile_str(&src, &["x", "y"], ScalarType::F64).unwrap();
        let want = evaluate(
            &g,
            &[Value::new(&[37], xs.clone()), Value::new(&[], vec![0.5])],
        )
        .unwrap();
        let k = Kernel::<f64>::compile(&src, &["x", "y"]).unwrap();
        let x = Array::from_vec(&[37], xs.clone()).unwrap();
        let y = Array::from_vec(&[], vec![0.5]).unwrap();
        let got = k.eval(&[x.view(), y.view()]).unwrap().to_vec();
        for (g, w) in got.iter().zip(&want.data) {
            assert!((g - w).abs() <= 1e-9 * w.abs().max(1.0), "{g} vs {w}");
        }
        let k = Kernel::<f32>::compile(&src, &["x", "y"]).unwrap();
        let x32 = Array::from_vec(&[37], xs.iter().map(|&v| v as f32).collect()).unwrap();
        let y32 = Array::from_vec(&[], vec![0.5f32]).unwrap();
        let got = k.eval(&[x32.view(), y32.view()]).unwrap().to_vec();
        for (g, w) in got.iter().zip(&want.data) {
            let tol = 1e-3 * w.abs().max(1.0);
            assert!((*g as f64 - w).abs() <= tol, "{g} vs {w}");
        }
    }
}

#[test]
fn size_limits_are_errors() {
    // Too many operations (60 000 terms, 180 000 nodes).
    let e = Kernel::<f64>::compile(&balanced_sum(60_000), &["x"]).unwrap_err();
    assert!(e.message().contains(&MAX_OPERATIONS.to_string()), "{e}");
    // Too many vector-math calls for the row function's buffers.
    let calls: Vec<String> = (0..3000).map(|k| format!("exp(x*{k}.5)")).collect();
    let calls: Vec<String> = calls
        .chunks(10)
        .map(|c| format!("({})", c.join("+")))
        .collect();
    let e = Kernel::<f64>::compile(&calls.join("+"), &["x"]).unwrap_err();
    assert!(e.message().contains("block buffers"), "{e}");
    // Too many reductions.
    let sums: Vec<String> = (0..=MAX_REDUCTIONS)
        .map(|k| format!("sum(x*{k}.5)"))
        .collect();
    let sums: Vec<String> = sums
        .chunks(10)
        .map(|c| format!("({})", c.join("+")))
        .collect();
    let e = Kernel::<f64>::compile(&sums.join("+"), &["x"]).unwrap_err();
    assert!(e.message().contains("reductions"), "{e}");
    // At the reduction limit it works.
    let sums: Vec<String> = (0..MAX_REDUCTIONS)
        .map(|k| format!("sum(x*{k}.0)"))
        .collect();
    let sums: Vec<String> = sums
        .chunks(16)
        .map(|c| format!("({})", c.join("+")))
        .collect();
    let k = Kernel::<f64>::compile(&sums.join("+"), &["x"]).unwrap();
    let x = Array::from_vec(&[2], vec![1.0, 2.0]).unwrap();
    let n = MAX_REDUCTIONS as f64;
    assert_eq!(
        k.eval(&[x.view()]).unwrap().to_vec(),
        [3.0 * n * (n - 1.0) / 2.0]
    );
}

/// 2⁶⁰ `f32` elements broadcast from one: legal (2⁶² bytes fit in
/// `isize`), but no machine holds the output or a reduction's temporary.
#[test]
fn views_too_large_to_evaluate_are_errors_not_aborts() {
    let one = Array::from_vec(&[1, 2], vec![1.0f32, 2.0]).unwrap();
    let huge = one.broadcast_to(&[1 << 59, 2]).unwrap();
    // The runtime refuses what would wrap (issue 20's (2⁶³ + 1, 2)).
    assert!(one.broadcast_to(&[(1 << 63) + 1, 2]).is_err());
    for src in [
        "x + 1",
        "sum(x, axis=0)",
        "sum(x)",
        "x - mean(x, axis=1, keepdims=True)",
    ] {
        let start = Instant::now();
        let k = Kernel::<f32>::compile(src, &["x"]).unwrap();
        let e = k.eval(&[huge.view()]).unwrap_err();
        assert!(matches!(e, Error::Alloc { .. }), "{src}: {e}");
        assert!(start.elapsed() < Duration::from_secs(5), "{src}");
    }
    // A reduction whose result is small still needs its whole argument.
    let k = Kernel::<f32>::compile("sum(x * 2, axis=0)", &["x"]).unwrap();
    assert!(k.eval(&[huge.view()]).is_err());
}

/// The row function's strided paths address a large view right: a
/// reduction over a zero-stride axis of 10⁶ elements.
#[test]
fn large_broadcast_reductions_are_exact() {
    let one = Array::from_vec(&[1, 3], vec![1.0f64, 2.0, 3.0]).unwrap();
    let wide = one.broadcast_to(&[1_000_000, 3]).unwrap();
    let k = Kernel::<f64>::compile("sum(x, axis=0)", &["x"]).unwrap();
    assert_eq!(k.eval(&[wide.view()]).unwrap().to_vec(), [1e6, 2e6, 3e6]);
}

/// `eval_into` refuses an output whose memory meets an input's. Safe code
/// cannot build such a pair (tests/ui/jit_*.rs); views from raw parts can.
#[test]
fn eval_into_refuses_overlapping_outputs() {
    let k = Kernel::<f64>::compile("x * 2 + 1", &["x"]).unwrap();
    let mut data = vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0];
    let p = data.as_mut_ptr();
    // SAFETY (of the test): both views lie inside `data`, which outlives
    // them; the call under test refuses to write, so nothing is written
    // through `out` while `input` is alive.
    let (out, input) = unsafe {
        (
            ArrayViewMut::from_raw_parts(p, &[3], &[1]),
            ArrayView::from_raw_parts(p.add(2) as *const f64, &[3], &[1]),
        )
    };
    let e = k.eval_into(out, &[input]).unwrap_err();
    assert!(
        e.message().contains("overlaps the memory of input 0"),
        "{e}"
    );
    // Exactly the same elements (evaluating in place): refused too.
    // SAFETY: as above.
    let (out, input) = unsafe {
        (
            ArrayViewMut::from_raw_parts(p, &[2, 3], &[3, 1]),
            ArrayView::from_raw_parts(p as *const f64, &[2, 3], &[3, 1]),
        )
    };
    assert!(k.eval_into(out, &[input]).is_err());
    assert_eq!(data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "nothing was written");

    // Disjoint views: fine, and the result is right.
    let x = Array::from_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let mut out = Array::<f64>::zeros(&[2, 3]);
    k.eval_into(out.view_mut(), &[x.view()]).unwrap();
    assert_eq!(out.to_vec(), [3.0, 5.0, 7.0, 9.0, 11.0, 13.0]);
    // Input and output halves of one buffer that do not meet.
    let mut both = vec![1.0f64, 2.0, 3.0, 0.0, 0.0, 0.0];
    let p = both.as_mut_ptr();
    // SAFETY: disjoint halves of `both`, which outlives them.
    let (out, input) = unsafe {
        (
            ArrayViewMut::from_raw_parts(p.add(3), &[3], &[1]),
            ArrayView::from_raw_parts(p as *const f64, &[3], &[1]),
        )
    };
    k.eval_into(out, &[input]).unwrap();
    assert_eq!(both, [1.0, 2.0, 3.0, 3.0, 5.0, 7.0]);
}

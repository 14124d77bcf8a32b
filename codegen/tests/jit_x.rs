//! The JIT against the reference interpreter: random expressions over the
//! whole language, random shapes and layouts, f32 and f64 (and integer
//! kernels), plus the API's promises (broadcasting, `eval_into`, errors,
//! caching, bounded memory).
#![cfg(feature = "jit")]

use einkern_codegen::expr::reference::{evaluate, Value};
use einkern_codegen::expr::{compile_str, ScalarType};
use einkern_codegen::jit::Kernel;
use einkern_runtime::{Array, ArrayView, Element};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A random expression in numexpr spelling over `x`, `y`, `z`.
struct Gen<'r> {
    rng: &'r mut StdRng,
    /// Whether reductions may appear (they change the result's shape).
    reductions: bool,
    ndim: usize,
}

impl Gen<'_> {
    fn num(&mut self, depth: u32) -> String {
        let r = &mut self.rng;
        if depth == 0 || r.random_range(0..10) < 2 {
            return match r.random_range(0..6) {
                0 => "x".into(),
                1 => "y".into(),
                2 => "z".into(),
                3 => format!("{:.3}", r.random_range(-3.0..3.0)),
                4 => format!("{}", r.random_range(-4..5)),
                _ => "x".into(),
            };
        }
        let d = depth - 1;
        match self.rng.random_range(0..16) {
            0 => format!("-{}", self.num(d)),
            1 | 2 => {
                let op = ["+", "-", "*", "/"][self.rng.random_range(0..4)];
                format!("({} {op} {})", self.num(d), self.num(d))
            }
            3 => {
                let f = [
                    "exp", "sin", "cos", "tan", "tanh", "arctan", "sinh", "cosh", "abs", "floor",
                    "ceil", "expm1",
                ][self.rng.random_range(0..12)];
                let scale = if matches!(f, "exp" | "sinh" | "cosh" | "expm1") {
                    "0.25*"
                } else {
                    ""
                };
                format!("{f}({scale}{})", self.num(d))
            }
            4 => {
                let f = ["log", "sqrt", "log1p"][self.rng.random_range(0..3)];
                format!("{f}(abs({}) + 0.5)", self.num(d))
            }
            5 => {
                let f = ["arcsin", "arccos"][self.rng.random_range(0..2)];
                format!("{f}(clip({}, -1, 1))", self.num(d))
            }
            6 => {
                let f = ["minimum", "maximum", "arctan2"][self.rng.random_range(0..3)];
                format!("{f}({}, {})", self.num(d), self.num(d))
            }
            7 => format!("where({}, {}, {})", self.cond(d), self.num(d), self.num(d)),
            8 => format!(
                "clip({}, -1.5, {:.2})",
                self.num(d),
                self.rng.random_range(-1.0..2.0)
            ),
            9 => format!("{}**{}", self.atom(d), self.rng.random_range(-2..4)),
            10 => format!("(abs({}) + 0.25)**{}", self.num(d), self.atom(d)),
            11 => {
                let t = ["float64", "float32", "int32", "int64"][self.rng.random_range(0..4)];
                format!("CAST({t}(y * {}))", self.num(d))
            }
            12 if self.reductions => {
                let f = ["sum", "prod", "max", "min", "mean"][self.rng.random_range(0..5)];
                let arg = if f == "prod" {
                    format!("(0.5 + 0.25*tanh(x * {}))", self.num(d))
                } else {
                    format!("(z + {})", self.num(d))
                };
                let axis = self
                    .rng
                    .random_range(-(self.ndim as i32)..self.ndim.max(1) as i32);
                if self.ndim == 0 || self.rng.random_range(0..4) == 0 {
                    format!("{f}({arg})")
                } else {
                    format!("{f}({arg}, axis={axis}, keepdims=True)")
                }
            }
            _ => format!("({} * {} + {})", self.num(d), self.num(d), self.num(d)),
        }
    }

    fn atom(&mut self, d: u32) -> String {
        format!("({})", self.num(d))
    }

    fn cond(&mut self, depth: u32) -> String {
        let d = depth.saturating_sub(1);
        match self.rng.random_range(0..5) {
            0 => format!("~({})", self.cond(d)),
            1 => format!("({}) & ({})", self.cond(d), self.cond(d)),
            2 => format!("({}) | ({})", self.cond(d), self.cond(d)),
            _ => {
                let op = ["<", "<=", ">", ">=", "==", "!="][self.rng.random_range(0..6)];
                format!("({} {op} {})", self.num(d), self.num(d))
            }
        }
    }
}

/// Replaces the CAST(...) markers: a cast to `t` and back to the kernel's
/// type `back` (so the expression keeps one type).
fn resolve_casts(src: &str, back: &str) -> String {
    src.replace("CAST(", &format!("{back}("))
}

/// A view of `values` (C order, `shape`) in a random layout: C, F,
/// padded, reversed axes, or stretched from a length-1 axis. Returns the
/// backing buffer and the view's (shape, strides, offset).
fn layout(
    rng: &mut StdRng,
    shape: &[usize],
    values: &[f64],
) -> (Vec<f64>, Vec<usize>, Vec<isize>, usize) {
    let nd = shape.len();
    let n: usize = shape.iter().product();
    // Element strides of a (possibly permuted, padded) dense layout.
    let mut order: Vec<usize> = (0..nd).collect();
    if rng.random_range(0..3) == 0 {
        order.reverse(); // F order
    }
    let pad = if rng.random_range(0..3) == 0 { 2 } else { 1 };
    let mut strides = vec![0isize; nd];
    let mut acc = pad as isize;
    for &k in order.iter().rev() {
        strides[k] = acc;
        acc *= shape[k].max(1) as isize;
    }
    let len = (acc as usize).max(1) + 1;
    let mut data = vec![f64::NAN; len];
    let mut offset = 0isize;
    for k in 0..nd {
        if shape[k] > 1 && rng.random_range(0..4) == 0 {
            offset += strides[k] * (shape[k] as isize - 1);
            strides[k] = -strides[k];
        }
    }
    // Scatter the logical values into the layout.
    let mut index = vec![0usize; nd];
    for v in values.iter().take(n) {
        let off: isize = offset
            + index
                .iter()
                .zip(&strides)
                .map(|(&i, &s)| i as isize * s)
                .sum::<isize>();
        data[off as usize] = *v;
        for k in (0..nd).rev() {
            index[k] += 1;
            if index[k] < shape[k] {
                break;
            }
            index[k] = 0;
        }
    }
    (data, shape.to_vec(), strides, offset as usize)
}

fn random_shape(rng: &mut StdRng, nd: usize) -> Vec<usize> {
    if nd > 0 && rng.random_range(0..6) == 0 {
        // Long rows: several blocks, the vector loop and its tail.
        let mut s = vec![1; nd];
        s[nd - 1] = rng.random_range(250..700);
        s[0] = s[0].max(rng.random_range(1..4));
        return s;
    }
    (0..nd)
        .map(|_| {
            let choices = if rng.random_range(0..20) == 0 { 8 } else { 6 };
            [1, 2, 3, 5, 7, 13, 0, 33][rng.random_range(0..choices)]
        })
        .collect()
}

/// An input shape that broadcasts to `out`: some axes set to 1, some
/// leading axes dropped.
fn broadcastable(rng: &mut StdRng, out: &[usize]) -> Vec<usize> {
    let drop = rng
        .random_range(0..=out.len())
        .min(if rng.random_bool(0.3) { out.len() } else { 0 });
    out[drop..]
        .iter()
        .map(|&n| if rng.random_range(0..4) == 0 { 1 } else { n })
        .collect()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= tol * (1.0 + b.abs())
}

/// Runs `src` through the JIT and the reference on random inputs; returns
/// the number of elements compared and mismatches.
fn check_one<T: Element>(
    rng: &mut StdRng,
    src: &str,
    shape: &[usize],
    tol: f64,
) -> Option<(usize, Vec<String>)> {
    let ty: ScalarType = T::DTYPE.into();
    let names = ["x", "y", "z"];
    // Literal-only corners the generator can reach (a cast of a float
    // literal to int) are rejected by the type checker, and by the JIT too.
    let graph = match compile_str(src, &names, ty) {
        Ok(g) => g,
        Err(e) => {
            assert_eq!(
                Kernel::<T>::compile(src, &names).unwrap_err().to_string(),
                e.to_string()
            );
            return None;
        }
    };
    let kernel = Kernel::<T>::compile(src, &names).unwrap();
    let mut bufs = Vec::new();
    let mut refs = Vec::new();
    for _ in 0..3 {
        let s = broadcastable(rng, shape);
        let n: usize = s.iter().product();
        let vals: Vec<f64> = (0..n)
            .map(|_| {
                let v: f64 = rng.random_range(-2.0..2.0);
                T::from_f64(if ty.is_int() { (v * 3.0).round() } else { v }).to_f64()
            })
            .collect();
        let (data, s, st, off) = layout(rng, &s, &vals);
        let data: Vec<T> = data.iter().map(|&v| T::from_f64(v)).collect();
        bufs.push((data, s, st, off));
    }
    // Some inputs arrive already stretched to the output shape: explicit
    // zero strides instead of length-1 axes.
    let stretch: Vec<bool> = (0..3).map(|_| rng.random_range(0..4) == 0).collect();
    let views: Vec<ArrayView<T>> = bufs
        .iter()
        .zip(&stretch)
        .map(|((d, s, st, off), &stretch)| {
            let v = ArrayView::as_strided(d, s, st, *off).unwrap();
            match v.broadcast_to(shape) {
                Ok(b) if stretch => b,
                _ => v,
            }
        })
        .collect();
    for v in &views {
        refs.push(Value::new(
            v.shape(),
            v.to_vec().iter().map(|x| x.to_f64()).collect(),
        ));
    }
    let want = evaluate(&graph, &refs);
    let got = kernel.eval(&views);
    match (want, got) {
        (Err(w), Err(g)) => {
            assert_eq!(w.to_string(), g.to_string(), "{src}");
            Some((0, vec![]))
        }
        (Ok(w), Ok(g)) => {
            assert_eq!(g.shape(), &w.shape[..], "{src}");
            let gv = g.to_vec();
            let bad: Vec<String> = gv
                .iter()
                .zip(&w.data)
                .enumerate()
                .filter(|(_, (a, b))| !close(a.to_f64(), **b, tol))
                .map(|(i, (a, b))| format!("[{i}] jit {a} reference {b}"))
                .collect();
            // eval_into a fresh array agrees with eval.
            let mut out = Array::<T>::zeros(g.shape());
            kernel.eval_into(out.view_mut(), &views).unwrap();
            assert_eq!(
                out.to_vec()
                    .iter()
                    .map(|v| v.to_f64().to_bits())
                    .collect::<Vec<_>>(),
                gv.iter().map(|v| v.to_f64().to_bits()).collect::<Vec<_>>(),
                "{src}"
            );
            Some((gv.len(), bad))
        }
        (w, g) => panic!(
            "{src}: reference {:?} but JIT {:?}",
            w.map(|v| v.shape),
            g.map(|a| a.shape().to_vec())
        ),
    }
}

fn differential<T: Element>(seed: u64, cases: usize, tol: f64, reductions: bool) {
    let mut rng = StdRng::seed_from_u64(seed);
    let back = if T::DTYPE == einkern_runtime::DType::F32 {
        "float32"
    } else {
        "float64"
    };
    let (mut total, mut skipped, mut bad_total) = (0usize, 0usize, Vec::new());
    for _ in 0..cases {
        let nd = rng.random_range(0..4);
        let shape = random_shape(&mut rng, nd);
        let src = {
            let mut g = Gen {
                rng: &mut rng,
                reductions,
                ndim: nd,
            };
            let depth = g.rng.random_range(1..5);
            resolve_casts(&g.num(depth), back)
        };
        let Some((n, bad)) = check_one::<T>(&mut rng, &src, &shape, tol) else {
            skipped += 1;
            continue;
        };
        total += n;
        if !bad.is_empty() {
            bad_total.push(format!(
                "{src} shape {shape:?}: {} of {n}: {:?}",
                bad.len(),
                &bad[..bad.len().min(3)]
            ));
        }
    }
    eprintln!(
        "{cases} expressions ({skipped} rejected by the type checker), {total} elements, {} with differences",
        bad_total.len()
    );
    assert!(
        skipped * 4 < cases,
        "the generator makes too many ill-typed expressions"
    );
    // Comparisons, floor/ceil and casts are discontinuous: an ULP of
    // difference (vector math, fused multiply-add) can flip them. Such
    // flips are rare and isolated; anything systematic fails here.
    assert!(
        bad_total.len() * 50 <= cases,
        "{} of {cases} expressions differ ({total} elements):\n{}",
        bad_total.len(),
        bad_total.join("\n")
    );
}

#[test]
fn f64_kernels_match_the_reference() {
    differential::<f64>(1, 400, 1e-9, false);
}

#[test]
fn f32_kernels_match_the_reference() {
    differential::<f32>(2, 400, 2e-4, false);
}

#[test]
fn reductions_match_the_reference() {
    differential::<f64>(3, 300, 1e-9, true);
    differential::<f32>(4, 200, 2e-4, true);
}

/// A random integer expression over `x`, `y`, `z` (wrapping arithmetic,
/// comparisons, `where`, `minimum`/`maximum`, `abs`, small powers).
fn int_expr(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.random_range(0..10) < 2 {
        return ["x", "y", "z", "3", "-2"][rng.random_range(0..5)].to_string();
    }
    let d = depth - 1;
    match rng.random_range(0..7) {
        0 => format!("-{}", int_expr(rng, d)),
        1 | 2 => {
            let op = ["+", "-", "*"][rng.random_range(0..3)];
            format!("({} {op} {})", int_expr(rng, d), int_expr(rng, d))
        }
        3 => format!("abs({})", int_expr(rng, d)),
        4 => {
            let f = ["minimum", "maximum"][rng.random_range(0..2)];
            format!("{f}({}, {})", int_expr(rng, d), int_expr(rng, d))
        }
        5 => format!("({})**{}", int_expr(rng, d), rng.random_range(0..4)),
        _ => format!(
            "where(({} < {}) | ~({} == 1), {}, {})",
            int_expr(rng, d),
            int_expr(rng, d),
            int_expr(rng, d),
            int_expr(rng, d),
            int_expr(rng, d)
        ),
    }
}

#[test]
fn integer_kernels_match_the_reference_exactly() {
    let mut rng = StdRng::seed_from_u64(5);
    for case in 0..200 {
        let nd = rng.random_range(0..3);
        let shape = random_shape(&mut rng, nd);
        let depth = rng.random_range(1..4);
        let src = int_expr(&mut rng, depth);
        let result = if case % 2 == 0 {
            check_one::<i32>(&mut rng, &src, &shape, 0.0)
        } else {
            check_one::<i64>(&mut rng, &src, &shape, 0.0)
        };
        let (_, bad) = result.unwrap_or_else(|| panic!("{src} is well typed"));
        assert!(bad.is_empty(), "{src}: {bad:?}");
    }
}

#[test]
fn casts_round_trip_through_every_type() {
    let x = Array::from_vec(&[6], vec![-2.7, -0.5, 0.0, 0.5, 1e10, f64::NAN]).unwrap();
    let k = Kernel::<f64>::compile("float64(int32(x)) + float64(float32(x)) * 0", &["x"]).unwrap();
    let got = k.eval(&[x.view()]).unwrap().to_vec();
    assert_eq!(&got[..5], &[-2.0, 0.0, 0.0, 0.0, i32::MAX as f64]);
    assert!(got[5].is_nan(), "NaN * 0 stays NaN");
    let k = Kernel::<f64>::compile("where(bool(x), 1.0, 2.0)", &["x"]).unwrap();
    assert_eq!(
        k.eval(&[x.view()]).unwrap().to_vec(),
        [1.0, 1.0, 2.0, 1.0, 1.0, 1.0]
    );
}

#[test]
fn broadcasting_follows_numpy_and_eval_into_writes_strided_outputs() {
    let x = Array::from_fn(&[4, 1], |i| i[0] as f64);
    let y = Array::from_fn(&[3], |i| 10.0 * i[0] as f64);
    let k = einkern_codegen::jit::compile::<f64>("x + y", &["x", "y"]).unwrap();
    let out = k.eval(&[x.view(), y.view()]).unwrap();
    assert_eq!(out.shape(), &[4, 3]);
    assert_eq!(out.get(&[2, 1]), Some(12.0));
    // Into the transpose of an F-order array: a strided output.
    let mut big = Array::<f64>::zeros(&[3, 4]);
    k.eval_into(big.view_mut().t(), &[x.view(), y.view()])
        .unwrap();
    assert_eq!(big.get(&[1, 2]), Some(12.0));
    // The inputs may broadcast to the output's shape, not the reverse.
    let mut small = Array::<f64>::zeros(&[3]);
    let err = k
        .eval_into(small.view_mut(), &[x.view(), y.view()])
        .unwrap_err();
    assert!(err.to_string().contains("(4, 3)"), "{err}");
}

#[test]
fn large_outputs_at_any_offset_and_stride_get_every_element() {
    // Outputs of 16 MiB and more (past the runtime's streaming threshold):
    // misaligned starts, rows that are not whole blocks, 4- and 8-byte
    // elements, a broadcast input (rows of 1000), and a strided output.
    let n = (16 << 20) / 8 + 13;
    let x = Array::from_fn(&[n], |i| (i[0] % 1000) as f64 * 0.001);
    let y = Array::from_fn(&[n], |i| (i[0] % 997) as f64 * 0.5);
    let k =
        einkern_codegen::jit::compile::<f64>("where(x > 0.5, x - y, 2*x)", &["x", "y"]).unwrap();
    let want: Vec<f64> = (0..n)
        .map(|i| {
            let (x, y) = ((i % 1000) as f64 * 0.001, (i % 997) as f64 * 0.5);
            if x > 0.5 {
                x - y
            } else {
                2.0 * x
            }
        })
        .collect();
    assert!(k.eval(&[x.view(), y.view()]).unwrap().to_vec() == want);
    let mut out = Array::<f64>::zeros(&[n + 1]);
    let tail = out.view_mut().slice(einkern_runtime::s![1..]).unwrap();
    k.eval_into(tail, &[x.view(), y.view()]).unwrap();
    assert!(out.to_vec()[1..] == want[..], "misaligned output");
    let mut wide = Array::<f64>::zeros(&[n, 2]);
    let col = wide.view_mut().slice(einkern_runtime::s![.., 0]).unwrap();
    k.eval_into(col, &[x.view(), y.view()]).unwrap();
    let got = wide.to_vec();
    assert!(
        (0..n).all(|i| got[2 * i] == want[i] && got[2 * i + 1] == 0.0),
        "strided output"
    );

    let rows = (16 << 20) / 4 / 1000 + 3;
    let a = Array::from_fn(&[rows, 1000], |i| (i[0] * 7 + i[1]) as i32 % 101);
    let b = Array::from_fn(&[1000], |i| i[0] as i32 - 500);
    let c = Array::from_fn(&[rows, 1000], |i| (i[0] % 13) as i32 - (i[1] % 5) as i32);
    // Two full-size inputs, so the JIT streams this output too.
    let k = einkern_codegen::jit::compile::<i32>("a * 3 - b + c", &["a", "b", "c"]).unwrap();
    for skip in 0..4 {
        let mut out = Array::<i32>::zeros(&[rows * 1000 + skip]);
        let flat = out.view_mut().slice(einkern_runtime::s![skip..]).unwrap();
        let target = flat.reshape(&[rows, 1000]).unwrap();
        k.eval_into(target, &[a.view(), b.view(), c.view()])
            .unwrap();
        let got = out.to_vec();
        for r in 0..rows {
            for c in 0..1000 {
                let want = ((r * 7 + c) as i32 % 101) * 3 - (c as i32 - 500)
                    + ((r % 13) as i32 - (c % 5) as i32);
                assert_eq!(
                    got[skip + r * 1000 + c],
                    want,
                    "i32 at ({r}, {c}), offset {skip}"
                );
            }
        }
    }
}

#[test]
fn bad_input_is_an_error_with_a_clear_message() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("x +* y", &["x", "y"], "column"),
        ("exp(x", &["x"], "column"),
        ("w + 1", &["x"], "unknown name 'w'"),
        ("exp(x, x)", &["x"], "takes 1 argument"),
        ("frobnicate(x)", &["x"], "unknown function"),
        ("x < 1", &["x"], "bool"),
        ("x & x", &["x"], "booleans"),
        ("sum(x, axis=y)", &["x", "y"], "integer literal"),
        ("x", &["x", "x"], "listed twice"),
        ("x", &["1x"], "not a valid argument name"),
        ("", &["x"], "column"),
    ];
    for (src, args, want) in cases {
        let err = Kernel::<f64>::compile(src, args).unwrap_err().to_string();
        assert!(err.contains(want), "{src}: {err}");
    }
    let err = Kernel::<i32>::compile("x / 2", &["x"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("float"), "{err}");

    let k = Kernel::<f64>::compile("x * y", &["x", "y"]).unwrap();
    let (a, b) = (Array::<f64>::zeros(&[2, 3]), Array::<f64>::zeros(&[4]));
    let err = k.eval(&[a.view(), b.view()]).unwrap_err().to_string();
    assert!(
        err.contains("(2, 3)") && err.contains("(4,)") && err.contains("axis -1"),
        "{err}"
    );
    let err = k.eval(&[a.view()]).unwrap_err().to_string();
    assert!(err.contains("takes 2 inputs, 1 given"), "{err}");
    let k = Kernel::<f64>::compile("max(x, axis=2)", &["x"]).unwrap();
    assert!(k
        .eval(&[a.view()])
        .unwrap_err()
        .to_string()
        .contains("axis"));
    let empty = Array::<f64>::zeros(&[0, 3]);
    let k = Kernel::<f64>::compile("max(x, axis=0)", &["x"]).unwrap();
    assert!(k.eval(&[empty.view()]).is_err());
    let k = Kernel::<f64>::compile("sum(x, axis=0) + 1", &["x"]).unwrap();
    assert_eq!(k.eval(&[empty.view()]).unwrap().to_vec(), [1.0, 1.0, 1.0]);
}

#[test]
fn kernels_are_shared_cached_and_thread_safe() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Kernel<f32>>();
    let a = Kernel::<f64>::compile("2*x + 1", &["x"]).unwrap();
    let b = Kernel::<f64>::compile(" 2 * x+1 ", &["x"]).unwrap();
    let x = Array::from_fn(&[1000], |i| i[0] as f64);
    let want = a.eval(&[x.view()]).unwrap().to_vec();
    assert_eq!(b.eval(&[x.view()]).unwrap().to_vec(), want);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let k = a.clone();
            let (x, want) = (&x, &want);
            s.spawn(move || assert_eq!(&k.eval(&[x.view()]).unwrap().to_vec(), want));
        }
    });
}

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn compiling_100k_distinct_expressions_keeps_memory_bounded() {
    let x = Array::from_fn(&[16], |i| i[0] as f64);
    let compile = |i: usize| {
        let k = Kernel::<f64>::compile(
            &format!("exp(-x*x/2.0)*x + sin(x)*{i}.5 - sqrt(x+3.0)"),
            &["x"],
        )
        .unwrap();
        assert_eq!(k.eval(&[x.view()]).unwrap().len(), 16);
    };
    for i in 0..5_000 {
        compile(i);
    }
    let warm = resident_bytes();
    for i in 5_000..100_000 {
        compile(i);
    }
    let grown = resident_bytes().saturating_sub(warm);
    assert!(
        grown < 16 << 20,
        "resident memory grew by {} MB over 95 000 compiles",
        grown >> 20
    );
    assert!(einkern_codegen::jit::cache_len() <= einkern_codegen::jit::CACHE_CAPACITY);
}

#[test]
fn jit_einsum_matches_the_reference() {
    let mut rng = StdRng::seed_from_u64(6);
    let specs = [
        "ij,jk->ik",
        "bij,bjk->bik",
        "ii->",
        "ij->ji",
        "i,j->ij",
        "ij,ij->",
        "ijk,kj->i",
        "...ij,...jk",
        "ij,jk,kl->il",
    ];
    for spec in specs {
        let dims = [3usize, 4, 5, 2];
        let ops: Vec<Array<f64>> = spec
            .split("->")
            .next()
            .unwrap()
            .split(',')
            .map(|s| {
                let shape: Vec<usize> = s
                    .chars()
                    .filter(|c| c.is_alphabetic())
                    .map(|c| {
                        if "ijkl".contains(c) {
                            dims["ijkl".find(c).unwrap()]
                        } else {
                            2
                        }
                    })
                    .collect();
                let shape = if s.starts_with("...") {
                    [vec![2], shape].concat()
                } else {
                    shape
                };
                let n: usize = shape.iter().product();
                Array::from_vec(
                    &shape,
                    (0..n).map(|_| rng.random_range(-1.0..1.0)).collect(),
                )
                .unwrap()
            })
            .collect();
        let views: Vec<ArrayView<f64>> = ops.iter().map(|a| a.view()).collect();
        let got = einkern_codegen::jit::einsum(spec, &views).unwrap();
        let data: Vec<Vec<f64>> = ops.iter().map(|a| a.to_vec()).collect();
        let strides: Vec<Vec<isize>> = ops
            .iter()
            .map(|a| {
                einkern_runtime::layout::contiguous_strides(a.shape(), einkern_runtime::Order::C)
            })
            .collect();
        let refs: Vec<einkern_codegen::einsum::RefOperand> = ops
            .iter()
            .enumerate()
            .map(|(k, a)| (&data[k][..], a.shape(), &strides[k][..], 0usize))
            .collect();
        let (shape, want) = einkern_codegen::einsum::einsum_reference_f64(spec, &refs).unwrap();
        assert_eq!(got.shape(), &shape[..], "{spec}");
        for (g, w) in got.to_vec().iter().zip(&want) {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{spec}: {g} vs {w}"
            );
        }
    }
    assert!(einkern_codegen::jit::einsum::<f64>("ij,jk", &[]).is_err());
}

fn x_small() -> Array<f64> {
    Array::from_vec(&[1], vec![1.0]).unwrap()
}

/// Inputs a fuzzer reaches first: very long and very deep expressions,
/// odd characters, huge literals and axes. Each is `Ok` or `Err`, never a
/// panic or a stack overflow.
#[test]
fn pathological_expressions_are_handled() {
    let long_sum = format!("x{}", "+x".repeat(50_000));
    let long_mul = format!("x{}", "*1.0".repeat(50_000));
    let deep = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
    let negs = format!("{}x", "-".repeat(100_000));
    let nots = format!("where({}(x > 0), x, 0)", "~".repeat(100_000));
    let pows = format!("x{}", "**x".repeat(10_000));
    let calls = format!("{}x{}", "exp(".repeat(10_000), ")".repeat(10_000));
    let mut cases = vec![long_sum, long_mul, deep, negs, nots, pows, calls];
    cases.extend(
        [
            "x ** 2147483647",
            "x ** -2147483648",
            "x ** 99999999999999999999",
            "sum(x, axis=9223372036854775807)",
            "sum(x, axis=-9223372036854775808)",
            "1e999 * x",
            "x\u{0}",
            "x é y",
            "ⅹ + 1",
            "where(x, x, x)",
            "sum(sum(x, axis=0), axis=0)",
            "mean(x, keepdims=True) - x",
            "2.5",
            "float64(True)",
        ]
        .map(String::from),
    );
    let run = move || {
        let x = Array::from_fn(&[3, 2], |i| i[0] as f64 - i[1] as f64);
        for src in &cases {
            if let Ok(k) = Kernel::<f64>::compile(src, &["x"]) {
                let _ = k.eval(&[x.view()]);
            }
        }
    };
    let k = Kernel::<f64>::compile("2.5", &[]).unwrap();
    let c = k.eval(&[]).unwrap();
    assert_eq!((c.shape().len(), c.to_vec()), (0, vec![2.5]));
    // A 150-term sum is fine; the depth bound only stops absurd chains.
    let terms = format!("x{}", "+x".repeat(149));
    let k = Kernel::<f64>::compile(&terms, &["x"]).unwrap();
    assert_eq!(k.eval(&[x_small().view()]).unwrap().to_vec(), [150.0]);
    // Run on a thread with the default 2 MiB stack users get.
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

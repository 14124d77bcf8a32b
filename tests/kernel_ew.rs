//! Differential tests of elementwise `#[kernel]`s against the reference
//! interpreter: every function and operator, f32 and f64, random shapes
//! with every broadcast pattern and random strides (negative, zero, F
//! order, padded), sizes 0, 1, primes and large rows.

mod kernel_common;

use einkern::{kernel, Array, ArrayView, ArrayViewMut, Element, Error};
use einkern_codegen::expr::ScalarType;
use kernel_common::*;

/// Declares `$name` (a one-argument kernel over `$t`) and returns a test
/// closure for it.
macro_rules! unary {
    ($name:ident, $t:ty, |$x:ident| $body:expr) => {
        #[kernel]
        fn $name($x: ArrayView<$t>) -> Result<Array<$t>, Error> {
            $body
        }
    };
}

unary!(f64_abs, f64, |x| x.abs());
unary!(f64_sqrt, f64, |x| x.sqrt());
unary!(f64_exp, f64, |x| x.exp());
unary!(f64_log, f64, |x| x.ln());
unary!(f64_log1p, f64, |x| x.ln_1p());
unary!(f64_expm1, f64, |x| x.exp_m1());
unary!(f64_sin, f64, |x| x.sin());
unary!(f64_cos, f64, |x| cos(x));
unary!(f64_tan, f64, |x| x.tan());
unary!(f64_tanh, f64, |x| x.tanh());
unary!(f64_sinh, f64, |x| sinh(x));
unary!(f64_cosh, f64, |x| x.cosh());
unary!(f64_asin, f64, |x| x.asin());
unary!(f64_acos, f64, |x| arccos(x));
unary!(f64_atan, f64, |x| x.atan());
unary!(f64_floor, f64, |x| x.floor());
unary!(f64_ceil, f64, |x| ceil(x));
unary!(f64_neg_powi, f64, |x| -x.powi(3) + x.powi(-2) + x.powi(0));
unary!(f32_abs, f32, |x| abs(x));
unary!(f32_sqrt, f32, |x| x.sqrt());
unary!(f32_exp, f32, |x| x.exp());
unary!(f32_log, f32, |x| log(x));
unary!(f32_log1p, f32, |x| x.ln_1p());
unary!(f32_expm1, f32, |x| expm1(x));
unary!(f32_sin, f32, |x| x.sin());
unary!(f32_cos, f32, |x| x.cos());
unary!(f32_tan, f32, |x| tan(x));
unary!(f32_tanh, f32, |x| x.tanh());
unary!(f32_sinh, f32, |x| x.sinh());
unary!(f32_cosh, f32, |x| x.cosh());
unary!(f32_asin, f32, |x| arcsin(x));
unary!(f32_acos, f32, |x| x.acos());
unary!(f32_atan, f32, |x| arctan(x));
unary!(f32_floor, f32, |x| x.floor());
unary!(f32_ceil, f32, |x| x.ceil());
unary!(f32_neg_powi, f32, |x| -x.powi(3) + x.powi(-2) + x.powi(0));

type Unary<T> = fn(ArrayView<'_, T>) -> Result<Array<T>, Error>;

fn check_unary<T: Element>(cases: &[(&str, Unary<T>)], ty: ScalarType, seed: u64) {
    let mut r = rng(seed);
    for &(src, f) in cases {
        for _ in 0..12 {
            let shape = random_shape(&mut r, 0, 4, true);
            let x = strided::<T>(&mut r, &shape, -3.0, 3.0, true);
            assert!(check(
                src,
                &["x"],
                ty,
                &[x],
                &[],
                8.0 * eps::<T>(),
                &|v, _| f(v[0].view())
            ));
        }
        // One long contiguous row (the vector path) and one long strided row.
        for zero in [false, true] {
            let x = strided::<T>(&mut r, &[1000 + zero as usize * 37], -3.0, 3.0, zero);
            check(src, &["x"], ty, &[x], &[], 8.0 * eps::<T>(), &|v, _| {
                f(v[0].view())
            });
        }
    }
}

#[test]
fn every_unary_function_f64() {
    let cases: &[(&str, Unary<f64>)] = &[
        ("abs(x)", f64_abs),
        ("sqrt(x)", f64_sqrt),
        ("exp(x)", f64_exp),
        ("log(x)", f64_log),
        ("log1p(x)", f64_log1p),
        ("expm1(x)", f64_expm1),
        ("sin(x)", f64_sin),
        ("cos(x)", f64_cos),
        ("tan(x)", f64_tan),
        ("tanh(x)", f64_tanh),
        ("sinh(x)", f64_sinh),
        ("cosh(x)", f64_cosh),
        ("arcsin(x)", f64_asin),
        ("arccos(x)", f64_acos),
        ("arctan(x)", f64_atan),
        ("floor(x)", f64_floor),
        ("ceil(x)", f64_ceil),
        ("-x**3 + x**-2 + x**0", f64_neg_powi),
    ];
    check_unary(cases, ScalarType::F64, 1);
}

#[test]
fn every_unary_function_f32() {
    let cases: &[(&str, Unary<f32>)] = &[
        ("abs(x)", f32_abs),
        ("sqrt(x)", f32_sqrt),
        ("exp(x)", f32_exp),
        ("log(x)", f32_log),
        ("log1p(x)", f32_log1p),
        ("expm1(x)", f32_expm1),
        ("sin(x)", f32_sin),
        ("cos(x)", f32_cos),
        ("tan(x)", f32_tan),
        ("tanh(x)", f32_tanh),
        ("sinh(x)", f32_sinh),
        ("cosh(x)", f32_cosh),
        ("arcsin(x)", f32_asin),
        ("arccos(x)", f32_acos),
        ("arctan(x)", f32_atan),
        ("floor(x)", f32_floor),
        ("ceil(x)", f32_ceil),
        ("-x**3 + x**-2 + x**0", f32_neg_powi),
    ];
    check_unary(cases, ScalarType::F32, 2);
}

#[kernel]
fn arith(
    x: ArrayView<f64>,
    y: &Array<f64>,
    z: ArrayView<f64>,
    s: f64,
) -> Result<Array<f64>, Error> {
    let t = (x - y) * 2.5 + y / (z + 4.0);
    t * s - x.atan2(z) + y.powf(x.abs()) - minimum(x, z) + y.max(z)
}

#[kernel]
fn arith_f32(
    x: ArrayView<f32>,
    y: &Array<f32>,
    z: ArrayView<f32>,
    s: f32,
) -> Result<Array<f32>, Error> {
    let t = (x - y) * 2.5 + y / (z + 4.0);
    t * s - arctan2(x, z) + y.powf(x.abs()) - x.min(z) + maximum(y, z)
}

#[kernel]
fn selects(x: ArrayView<f64>, y: ArrayView<f64>, lo: f64) -> Result<Array<f64>, Error> {
    let c = (x < lo) | (x > y) & !(y >= 0.5);
    where_(c, x, y * 2.0)
        + x.clamp(-0.5, 0.5)
        + clip(y, lo, 1.0)
        + where_(x == y, 1.0, 0.0)
        + where_(x != 0.25, 3.0, -1.0)
        + where_(x <= y, x, -y)
}

fn check_ternary<T: Element>(
    src: &str,
    ty: ScalarType,
    seed: u64,
    tol: f64,
    f: KernelFn<'_, T>,
    names: &[&str],
    scalar: T,
) {
    let mut r = rng(seed);
    let n_arrays = names.len() - 1;
    let mut compared = 0;
    for round in 0..150 {
        let shape = random_shape(&mut r, 0, 4, true);
        let mut inputs: Vec<Strided<T>> = (0..n_arrays)
            .map(|_| {
                let s = broadcastable(&mut r, &shape);
                strided::<T>(&mut r, &s, -2.0, 2.0, true)
            })
            .collect();
        if round % 10 == 0 {
            // A shape mismatch: the kernel must return an error too.
            inputs[0] = strided::<T>(&mut r, &[4], -2.0, 2.0, false);
            inputs[1] = strided::<T>(&mut r, &[3, 1], -2.0, 2.0, false);
            inputs[n_arrays - 1] = strided::<T>(&mut r, &[5], -2.0, 2.0, false);
        }
        compared += check(src, names, ty, &inputs, &[scalar], tol, f) as usize;
    }
    assert!(compared >= 120, "{compared} of 150 random cases broadcast");
    // Large rows: vector paths with and without staging.
    for zero in [false, true] {
        let inputs: Vec<Strided<T>> = (0..n_arrays)
            .map(|_| strided::<T>(&mut r, &[3, 1031], -2.0, 2.0, zero))
            .collect();
        assert!(check(src, names, ty, &inputs, &[scalar], tol, f));
    }
}

#[test]
fn arithmetic_and_binary_functions_broadcast_over_random_strides() {
    check_ternary::<f64>(
        "((x - y) * 2.5 + y / (z + 4.0)) * s - arctan2(x, z) + power(y, abs(x)) - minimum(x, z) + maximum(y, z)",
        ScalarType::F64,
        3,
        1e-13,
        &|v, s| arith(v[0].view(), &v[1].to_owned(), v[2].view(), s[0]),
        &["x", "y", "z", "s"],
        1.75,
    );
    check_ternary::<f32>(
        "((x - y) * 2.5 + y / (z + 4.0)) * s - arctan2(x, z) + power(y, abs(x)) - minimum(x, z) + maximum(y, z)",
        ScalarType::F32,
        4,
        1e-5,
        &|v, s| arith_f32(v[0].view(), &v[1].to_owned(), v[2].view(), s[0]),
        &["x", "y", "z", "s"],
        -0.5,
    );
}

#[test]
fn comparisons_booleans_and_where_are_selects() {
    check_ternary::<f64>(
        "where((x < lo) | (x > y) & ~(y >= 0.5), x, y * 2.0) + clip(x, -0.5, 0.5) + clip(y, lo, 1.0) \
         + where(x == y, 1.0, 0.0) + where(x != 0.25, 3.0, -1.0) + where(x <= y, x, -y)",
        ScalarType::F64,
        5,
        1e-15,
        &|v, s| selects(v[0].view(), v[1].view(), s[0]),
        &["x", "y", "lo"],
        0.2,
    );
}

#[kernel]
fn int_ops(a: ArrayView<i64>, b: ArrayView<i64>) -> Array<i64> {
    (a * b - a.powi(3) + b.abs()).max(a) + where_(a > b, a, -b)
}

#[kernel]
fn int32_ops(a: ArrayView<i32>, k: i32) -> Array<i32> {
    a * k + minimum(a, 3) - (a as f64 * 0.5).floor() as i32
}

#[kernel]
fn casts(x: ArrayView<f32>, y: ArrayView<f64>) -> Array<f64> {
    (x as f64) * y + ((y * 10.0) as i64) as f64 + (x.exp() as f64).sqrt()
}

#[test]
fn integer_kernels_wrap_and_casts_follow_rust() {
    let mut r = rng(6);
    for _ in 0..40 {
        let shape = random_shape(&mut r, 0, 3, true);
        let a = strided::<i64>(&mut r, &shape, -50.0, 50.0, true);
        let b_shape = broadcastable(&mut r, &shape);
        let b = strided::<i64>(&mut r, &b_shape, -50.0, 50.0, true);
        check(
            "maximum(a * b - a**3 + abs(b), a) + where(a > b, a, -b)",
            &["a", "b"],
            ScalarType::I64,
            &[a, b],
            &[],
            0.0,
            &|v, _| Ok(int_ops(v[0].view(), v[1].view())),
        );
        let a = strided::<i32>(&mut r, &shape, -1000.0, 1000.0, true);
        check(
            "a * k + minimum(a, 3) - int32(floor(float64(a) * 0.5))",
            &["a", "k"],
            ScalarType::I32,
            &[a],
            &[7],
            0.0,
            &|v, s| Ok(int32_ops(v[0].view(), s[0])),
        );
    }
    let x = Array::from_vec(&[3], vec![0.5f32, -1.25, 2.0]).unwrap();
    let y = Array::from_vec(&[2, 1], vec![0.37f64, -0.91]).unwrap();
    let got = casts(x.view(), y.view());
    let want: Vec<f64> = [0.37f64, -0.91]
        .iter()
        .flat_map(|&y| {
            [0.5f32, -1.25, 2.0]
                .iter()
                .map(move |&x| x as f64 * y + ((y * 10.0) as i64) as f64 + (x.exp() as f64).sqrt())
        })
        .collect();
    for (g, w) in got.to_vec().iter().zip(&want) {
        assert!((g - w).abs() < 1e-6, "{g} vs {w}");
    }
}

#[kernel]
fn normalize(x: ArrayView<f64>, mu: ArrayView<f64>, sd: ArrayView<f64>, eps: f64) -> Array<f64> {
    (x - mu) / (sd + eps)
}

#[test]
fn into_writes_any_strides_and_checks_the_shape() {
    let x = Array::from_fn(&[4, 5], |i| (i[0] * 5 + i[1]) as f64);
    let mu = Array::from_vec(&[5], vec![1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    let sd = Array::from_vec(&[4, 1], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let want = normalize(x.view(), mu.view(), sd.view(), 0.5);
    // An F-order output and a reversed (negative-stride) output.
    let mut f = Array::<f64>::zeros_with_order(&[4, 5], einkern::Order::F);
    normalize_into(f.view_mut(), x.view(), mu.view(), sd.view(), 0.5).unwrap();
    assert_eq!(f.to_vec(), want.to_vec());
    let mut buf = vec![0.0f64; 20];
    let out = ArrayViewMut::from_slice_mut(&mut buf, &[4, 5]).unwrap();
    let out = out.slice(einkern::s![..;-1, ..]).unwrap();
    normalize_into(out, x.view(), mu.view(), sd.view(), 0.5).unwrap();
    for i in 0..4 {
        for j in 0..5 {
            assert_eq!(buf[(3 - i) * 5 + j], want.to_vec()[i * 5 + j]);
        }
    }
    let mut small = Array::<f64>::zeros(&[5]);
    let e = normalize_into(small.view_mut(), x.view(), mu.view(), sd.view(), 0.5).unwrap_err();
    assert!(
        e.to_string().contains("(5,)") && e.to_string().contains("(4, 5)"),
        "{e}"
    );
}

#[test]
#[should_panic(expected = "could not be broadcast together with shapes")]
fn the_panicking_form_reports_the_shapes() {
    let x = Array::<f64>::zeros(&[4, 5]);
    let bad = Array::<f64>::zeros(&[4]);
    normalize(x.view(), bad.view(), bad.view(), 0.0);
}

#[kernel]
fn literal_only() -> Array<f64> {
    2.0 * std::f64::consts::PI
}

#[kernel]
fn with_scalar_only(a: f32) -> Array<f32> {
    a * 2.0
}

#[test]
fn zero_dimensional_kernels() {
    let got = literal_only();
    assert_eq!(got.shape(), &[] as &[usize]);
    assert_eq!(got.to_vec(), vec![std::f64::consts::TAU]);
    assert_eq!(with_scalar_only(1.5).to_vec(), vec![3.0f32]);
}

#[test]
fn large_outputs_split_across_threads_agree_with_one_thread() {
    let n = 1 << 19;
    let x = Array::from_fn(&[n], |i| (i[0] % 1000) as f64 / 1000.0);
    let y = Array::from_fn(&[2, 1], |i| i[0] as f64 + 0.5);
    let mut r = rng(9);
    let sd = strided::<f64>(&mut r, &[n], 0.5, 1.0, false);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    let many = pool.install(|| normalize(x.view(), y.view(), sd.view(), 0.1));
    let pool1 = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let one = pool1.install(|| normalize(x.view(), y.view(), sd.view(), 0.1));
    assert_eq!(many.to_vec(), one.to_vec());
    assert_eq!(many.shape(), &[2, n]);
}

#[kernel]
fn select_sub(a: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    where_(a > 0.5, a - b, a * 2.0)
}

#[kernel]
fn select_sub_f32(a: ArrayView<f32>, b: ArrayView<f32>) -> Array<f32> {
    where_(a > 0.5, a - b, a * 2.0)
}

#[test]
fn large_contiguous_outputs_are_streamed_past_the_caches_exactly() {
    // Outputs of 16 MiB and more are written with streaming stores in
    // blocks, after ordinary stores up to a 16-byte boundary and before a
    // ragged end: a misaligned output (offset by one element), lengths that
    // are not whole blocks, f64 and f32, allocating and `_into`, and an
    // output that is not contiguous (ordinary stores).
    let n = (16 << 20) / 8 + 45;
    let a: Vec<f64> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f64 / 1000.0)
        .collect();
    let b: Vec<f64> = (0..n)
        .map(|i| ((i * 104729) % 997) as f64 / 997.0)
        .collect();
    let want: Vec<f64> = (a.iter().zip(&b))
        .map(|(&x, &y)| if x > 0.5 { x - y } else { x * 2.0 })
        .collect();
    let (av, bv) = (
        Array::from_vec(&[n], a.clone()).unwrap(),
        Array::from_vec(&[n], b.clone()).unwrap(),
    );
    assert!(select_sub(av.view(), bv.view()).to_vec() == want);
    let mut out = Array::<f64>::zeros(&[n + 1]);
    let tail = out.view_mut().slice(einkern::s![1..]).unwrap();
    select_sub_into(tail, av.view(), bv.view()).unwrap();
    let got = out.to_vec();
    assert_eq!(got[0], 0.0);
    assert!(got[1..] == want[..], "misaligned output");
    let mut wide = Array::<f64>::zeros(&[n, 2]);
    let col = wide.view_mut().slice(einkern::s![.., 1]).unwrap();
    select_sub_into(col, av.view(), bv.view()).unwrap();
    let got = wide.to_vec();
    assert!(
        (0..n).all(|i| got[2 * i] == 0.0 && got[2 * i + 1] == want[i]),
        "strided output"
    );

    let n = (16 << 20) / 4 + 7;
    let a: Vec<f32> = (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let b: Vec<f32> = (0..n)
        .map(|i| ((i * 104729) % 997) as f32 / 997.0)
        .collect();
    let want: Vec<f32> = (a.iter().zip(&b))
        .map(|(&x, &y)| if x > 0.5 { x - y } else { x * 2.0 })
        .collect();
    let (av, bv) = (
        Array::from_vec(&[n], a).unwrap(),
        Array::from_vec(&[n], b).unwrap(),
    );
    for skip in 0..4 {
        let mut out = Array::<f32>::zeros(&[n + skip]);
        let tail = out.view_mut().slice(einkern::s![skip..]).unwrap();
        select_sub_f32_into(tail, av.view(), bv.view()).unwrap();
        assert!(
            out.to_vec()[skip..] == want[..],
            "f32 output offset by {skip}"
        );
    }
}

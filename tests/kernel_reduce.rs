//! Differential tests of reductions in `#[kernel]`s: every reduction, axis
//! (positive, negative, all), keepdims, fused arguments, reductions reused
//! in the body (softmax, std), reductions of reductions, f32 accuracy.

mod kernel_common;

use einkern::{kernel, s, Array, ArrayView, Element, Error};
use einkern_codegen::expr::ScalarType;
use kernel_common::*;
use rand::Rng;

#[kernel]
fn sum0(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum(x * y + 1.0, 0)
}

#[kernel]
fn sum_last_keep(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum_keepdims(x - y, -1)
}

#[kernel]
fn prod1(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    prod(x + y * 0.1, 1)
}

#[kernel]
fn max_all(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    max(x + y)
}

#[kernel]
fn min_keep0(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    min_keepdims(x * y, 0)
}

#[kernel]
fn mean_m2(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    mean((x - y).exp(), -2)
}

#[kernel]
fn nested(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum_keepdims(max_keepdims(x, -1), 0) + mean(y) - x.powi(2)
}

#[kernel]
fn std0(x: ArrayView<f64>, y: ArrayView<f64>) -> Result<Array<f64>, Error> {
    let d = x - mean_keepdims(x, 0);
    mean(d * d, 0).sqrt() + y
}

#[kernel]
fn sum1_f32(x: ArrayView<f32>, y: ArrayView<f32>) -> Result<Array<f32>, Error> {
    sum(x * y, 1) + max(y, 1)
}

#[kernel]
fn softmax(x: ArrayView<f32>, y: ArrayView<f32>) -> Result<Array<f32>, Error> {
    let e = (x - max_keepdims(x, -1)).exp();
    e / sum_keepdims(e, -1) + y
}

type Kernel2<T> = fn(ArrayView<'_, T>, ArrayView<'_, T>) -> Result<Array<T>, Error>;

fn run_cases<T: Element>(cases: &[(&str, Kernel2<T>)], ty: ScalarType, tol: f64, seed: u64) {
    let mut r = rng(seed);
    for &(src, f) in cases {
        let mut compared = 0;
        for round in 0..80 {
            let shape = random_shape(&mut r, 2, 4, round % 3 == 0);
            let x = strided::<T>(&mut r, &shape, 0.5, 1.5, true);
            let y_shape = broadcastable(&mut r, &shape);
            let y = strided::<T>(&mut r, &y_shape, 0.5, 1.5, true);
            compared += check(src, &["x", "y"], ty, &[x, y], &[], tol, &|v, _| {
                f(v[0].view(), v[1].view())
            }) as usize;
        }
        assert!(compared >= 50, "{src}: only {compared} cases compared");
        // Long reduced rows and columns, contiguous and strided.
        for shape in [[700usize, 300], [3, 4099], [4099, 3]] {
            for zero in [false, true] {
                let x = strided::<T>(&mut r, &shape, 0.5, 1.5, zero);
                let y = strided::<T>(&mut r, &[1, shape[1]], 0.5, 1.5, zero);
                let n = shape.iter().max().copied().unwrap_or(1) as f64;
                assert!(
                    check(
                        src,
                        &["x", "y"],
                        ty,
                        &[x, y],
                        &[],
                        tol * n.sqrt(),
                        &|v, _| f(v[0].view(), v[1].view())
                    ),
                    "{src}"
                );
            }
        }
    }
}

#[test]
fn every_reduction_axis_and_keepdims_f64() {
    let cases: &[(&str, Kernel2<f64>)] = &[
        ("sum(x * y + 1.0, axis=0)", sum0),
        ("sum(x - y, axis=-1, keepdims=True)", sum_last_keep),
        ("prod(x + y * 0.1, axis=1)", prod1),
        ("max(x + y)", max_all),
        ("min(x * y, axis=0, keepdims=True)", min_keep0),
        ("mean(exp(x - y), axis=-2)", mean_m2),
        ("sum(max(x, axis=-1, keepdims=True), axis=0, keepdims=True) + mean(y) - x**2", nested),
        (
            "sqrt(mean((x - mean(x, axis=0, keepdims=True)) * (x - mean(x, axis=0, keepdims=True)), axis=0)) + y",
            std0,
        ),
    ];
    run_cases(cases, ScalarType::F64, 1e-12, 11);
}

#[test]
fn reductions_and_softmax_f32() {
    let cases: &[(&str, Kernel2<f32>)] = &[
        ("sum(x * y, axis=1) + max(y, axis=1)", sum1_f32),
        (
            "exp(x - max(x, axis=-1, keepdims=True)) / sum(exp(x - max(x, axis=-1, keepdims=True)), axis=-1, keepdims=True) + y",
            softmax,
        ),
    ];
    run_cases(cases, ScalarType::F32, 2e-6, 12);
}

#[kernel]
fn total_f32(x: ArrayView<f32>) -> Array<f32> {
    sum(x)
}

#[kernel]
fn col_total_f32(x: ArrayView<f32>) -> Array<f32> {
    sum(x, 0)
}

#[test]
fn a_sum_of_ten_million_f32_is_as_accurate_as_pairwise() {
    let n = 10_000_000;
    let x = Array::full(&[n], 0.1f32);
    let exact = 0.1f32 as f64 * n as f64;
    let s = total_f32(x.view()).to_vec()[0] as f64;
    assert!(((s - exact) / exact).abs() < 1e-6, "{s} vs {exact}");
    // Strided: every other element of a 2n buffer, and reversed.
    let y = Array::full(&[2 * n], 0.1f32);
    let v = y.view().slice(einkern::s![..;-2]).unwrap();
    let s = total_f32(v).to_vec()[0] as f64;
    assert!(
        ((s - exact) / exact).abs() < 1e-6,
        "strided: {s} vs {exact}"
    );
    // Column sums of a tall matrix accumulate down the rows.
    let m = Array::full(&[100_000, 3], 0.1f32);
    let s = col_total_f32(m.view()).to_vec();
    assert!(
        s.iter()
            .all(|&c| ((c as f64 - 10_000.0) / 10_000.0).abs() < 1e-2),
        "{s:?}"
    );
}

#[kernel]
fn row_max(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    max(x, 1)
}

#[kernel]
fn pairdist(p: ArrayView<f64>, q: ArrayView<f64>) -> Array<f64> {
    sum((p - q).powi(2), -1).sqrt()
}

#[test]
fn reduction_errors_and_nan_and_broadcast_views() {
    let e = row_max(Array::<f64>::zeros(&[3, 0]).view()).unwrap_err();
    assert!(e.to_string().contains("empty"), "{e}");
    assert_eq!(
        row_max(Array::<f64>::zeros(&[0, 4]).view())
            .unwrap()
            .shape(),
        &[0]
    );
    let e = row_max(Array::<f64>::zeros(&[3]).view()).unwrap_err();
    assert!(e.to_string().contains("axis"), "{e}");
    let x = Array::from_vec(&[2, 3], vec![1.0, f64::NAN, 0.0, -1.0, 5.0, 2.0]).unwrap();
    let m = row_max(x.view()).unwrap().to_vec();
    assert!(m[0].is_nan() && m[1] == 5.0, "{m:?}");

    // Pairwise distances through broadcast views P[:, None, :], Q[None].
    let mut r = rng(13);
    let p = strided::<f64>(&mut r, &[37, 3], 0.0, 1.0, false);
    let q = strided::<f64>(&mut r, &[41, 3], 0.0, 1.0, false);
    let pv = p.view().insert_axis(1).unwrap();
    let qv = q.view().insert_axis(0).unwrap();
    let d = pairdist(pv, qv);
    assert_eq!(d.shape(), &[37, 41]);
    for i in 0..37 {
        for j in 0..41 {
            let want: f64 = (0..3)
                .map(|k| (p.view().get(&[i, k]).unwrap() - q.view().get(&[j, k]).unwrap()).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!((d.view().get(&[i, j]).unwrap() - want).abs() < 1e-14);
        }
    }
}

#[test]
fn reductions_write_into_strided_outputs() {
    let x = Array::from_fn(&[5, 4], |i| (i[0] * 4 + i[1]) as f64);
    let mut out = Array::<f64>::full(&[8], 99.0);
    let view = out.view_mut().slice(einkern::s![..;-2]).unwrap();
    row_max_into(view, x.view()).unwrap_err(); // shape (4,) vs (5,)
    let mut out = Array::<f64>::full(&[10], 99.0);
    let view = out.view_mut().slice(einkern::s![..;-2]).unwrap();
    row_max_into(view, x.view()).unwrap();
    assert_eq!(
        out.to_vec(),
        vec![99.0, 19.0, 99.0, 15.0, 99.0, 11.0, 99.0, 7.0, 99.0, 3.0]
    );
}

#[test]
fn epilogues_run_in_place_in_any_output_and_fall_back_when_shapes_differ() {
    let mut r = rng(14);
    let p = strided::<f64>(&mut r, &[29, 3], 0.0, 1.0, false);
    let q = strided::<f64>(&mut r, &[31, 3], 0.0, 1.0, false);
    let (pv, qv) = (
        p.view().insert_axis(1).unwrap(),
        q.view().insert_axis(0).unwrap(),
    );
    let want = pairdist(pv.view(), qv.view());
    // F order and reversed rows: the in-place epilogue reads each element
    // where it writes it.
    let mut f = Array::<f64>::zeros_with_order(&[29, 31], einkern::Order::F);
    pairdist_into(f.view_mut(), pv.view(), qv.view()).unwrap();
    assert_eq!(f.to_vec(), want.to_vec());
    let mut buf = Array::<f64>::zeros(&[29, 62]);
    let view = buf.view_mut().slice(einkern::s![..;-1, ..;2]).unwrap();
    pairdist_into(view, pv.view(), qv.view()).unwrap();
    let got = buf.view().slice(einkern::s![..;-1, ..;2]).unwrap().to_vec();
    assert_eq!(got, want.to_vec());
    // std0's result broadcasts against a larger `y`: the reduction goes to a
    // temporary instead.
    let x = strided::<f64>(&mut r, &[6, 5], 0.0, 1.0, false);
    let y = strided::<f64>(&mut r, &[4, 1, 5], 0.0, 1.0, false);
    let src = "sqrt(mean((x - mean(x, axis=0, keepdims=True)) * (x - mean(x, axis=0, keepdims=True)), axis=0)) + y";
    assert!(check(
        src,
        &["x", "y"],
        ScalarType::F64,
        &[x, y],
        &[],
        1e-12,
        &|v, _| std0(v[0].view(), v[1].view())
    ));
}

#[kernel]
fn window_mean(w: ArrayView<f64>) -> Array<f64> {
    mean(w, 1)
}

#[kernel]
fn window_max_plus(w: ArrayView<f64>, s: f64) -> Array<f64> {
    max(w * s, -1) + 1.0
}

#[test]
fn short_reductions_initialise_and_finish_per_tile() {
    // Rolling windows: rows of 64 and 5 along a reduced axis, over more
    // than one tile of outputs, with the mean's division and an epilogue
    // applied per tile.
    let mut r = rng(15);
    let x = strided::<f64>(&mut r, &[3000], -1.0, 1.0, false);
    for w in [64usize, 5] {
        let win = x.view().sliding_window(&[w]).unwrap();
        let got = window_mean(win.view()).to_vec();
        let xs = x.view().to_vec();
        assert_eq!(got.len(), 3000 - w + 1);
        for (i, g) in got.iter().enumerate() {
            let want = xs[i..i + w].iter().sum::<f64>() / w as f64;
            assert!((g - want).abs() < 1e-14, "window {w} at {i}: {g} vs {want}");
        }
        let got = window_max_plus(win.view(), -2.0).to_vec();
        for (i, g) in got.iter().enumerate() {
            let want = xs[i..i + w]
                .iter()
                .map(|v| v * -2.0)
                .fold(f64::NEG_INFINITY, f64::max)
                + 1.0;
            assert_eq!(*g, want, "window {w} at {i}");
        }
    }
}

#[kernel]
fn window_dist_f32(w: ArrayView<f32>, c: ArrayView<f32>) -> Array<f32> {
    sum((w - c).powi(2), 1)
}

#[kernel]
fn window_max(w: ArrayView<f64>) -> Array<f64> {
    max(w, 1)
}

#[test]
fn short_reductions_over_contiguous_tiles_keep_partial_results_in_registers() {
    // Contiguous windows take the tile functions (partial results of a
    // block of outputs kept across the reduced positions, a broadcast
    // operand splatted per position); lengths that are not multiples of
    // the register block or of the driver's tile, NaN propagation in max.
    let n = 5003;
    let x: Vec<f32> = (0..n)
        .map(|i| ((i * 37 % 101) as f32 - 50.0) / 7.0)
        .collect();
    let xa = Array::from_vec(&[n], x.clone()).unwrap();
    for w in [1usize, 3, 64] {
        let c: Vec<f32> = (0..w).map(|k| k as f32 * 0.25).collect();
        let ca = Array::from_vec(&[w], c.clone()).unwrap();
        let got = window_dist_f32(xa.view().sliding_window(&[w]).unwrap(), ca.view()).to_vec();
        assert_eq!(got.len(), n - w + 1);
        for (i, g) in got.iter().enumerate() {
            // The same order of additions as the kernel: position by position.
            let want = (0..w).fold(0.0f32, |acc, k| acc + (x[i + k] - c[k]).powi(2));
            assert_eq!(*g, want, "window {w} at {i}");
        }
    }
    let mut y: Vec<f64> = (0..n).map(|i| ((i * 53 % 97) as f64).sin()).collect();
    for at in [10, 2047, 2048, 4999] {
        y[at] = f64::NAN;
    }
    let ya = Array::from_vec(&[n], y.clone()).unwrap();
    for w in [2usize, 17, 64] {
        let got = window_max(ya.view().sliding_window(&[w]).unwrap()).to_vec();
        for (i, g) in got.iter().enumerate() {
            let win = &y[i..i + w];
            if win.iter().any(|v| v.is_nan()) {
                assert!(g.is_nan(), "window {w} at {i}: {g} should be NaN");
            } else {
                let want = win.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(*g, want, "window {w} at {i}");
            }
        }
    }
}

#[kernel]
fn sqdist_f32(p: ArrayView<f32>, q: ArrayView<f32>) -> Array<f32> {
    sum((p - q).powi(2), -1)
}

#[kernel]
fn sqdist_i32(p: ArrayView<i32>, q: ArrayView<i32>) -> Array<i32> {
    sum((p - q) * (p - q), -1)
}

#[kernel]
fn sqdist_i64(p: ArrayView<i64>, q: ArrayView<i64>) -> Array<i64> {
    sum((p - q) * (p - q), -1)
}

/// `sum((P[:, None, :] - Q[None, :, :])**2, -1)` by nested loops, in the
/// kernel's order of additions (position by position along the last axis).
fn sqdist_reference<T: Element>(p: &ArrayView<T>, q: &ArrayView<T>) -> Vec<f64> {
    let (n, m, k) = (p.shape()[0], q.shape()[0], p.shape()[1]);
    let mut out = Vec::with_capacity(n * m);
    for i in 0..n {
        for j in 0..m {
            let d = (0..k).fold(0.0, |acc, r| {
                let x = p.get(&[i, r]).unwrap().to_f64() - q.get(&[j, r]).unwrap().to_f64();
                acc + x * x
            });
            out.push(d);
        }
    }
    out
}

/// One random `sqdist`-like kernel over `P[:, None, :]` and `Q[None]`
/// (shapes `n×k` and `m×k`, random layouts) against the reference, with
/// `post` applied to the reference's squared distance and an absolute
/// tolerance `tol(want)`.
fn sqdist_case<T: Element>(
    r: &mut rand::rngs::StdRng,
    (n, m, k): (usize, usize, usize),
    kernel: fn(ArrayView<T>, ArrayView<T>) -> Array<T>,
    post: fn(f64) -> f64,
    tol: &dyn Fn(f64) -> f64,
    what: &str,
) {
    let (lo, hi) = if T::ZERO.to_f64() == 0.0 && T::from_f64(0.5).to_f64() == 0.0 {
        (-50.0, 50.0) // integers
    } else {
        (-2.0, 2.0)
    };
    let p = strided::<T>(r, &[n, k], lo, hi, false);
    let q = strided::<T>(r, &[m, k], lo, hi, false);
    let (pv, qv) = (p.view(), q.view());
    let want = sqdist_reference(&pv, &qv);
    let got = kernel(pv.insert_axis(1).unwrap(), qv.insert_axis(0).unwrap()).to_vec();
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(&want) {
        let (g, w) = (g.to_f64(), post(*w));
        assert!(
            (g - w).abs() <= tol(w),
            "{what} ({}): {g} vs {w}",
            std::any::type_name::<T>()
        );
    }
}

#[test]
fn operands_every_outer_index_reads_alike_are_packed_once_and_agree() {
    // Q[None, :, :] is read alike for every row of P; along the tile (Q's
    // rows) it is strided unless Q is F order, so the driver copies it once
    // into tile order. Random layouts of P and Q (negative, padded, F order),
    // reduced lengths on both sides of the short-reduction limit (64),
    // tiles of the driver (2048) crossed, 4- and 8-byte elements.
    let mut r = rng(29);
    for (case, &(n, m, k)) in [
        (5, 37, 3),
        (3, 2049, 2),
        (4, 100, 64),
        (2, 50, 65),
        (1, 1, 1),
        (7, 0, 3),
    ]
    .iter()
    .enumerate()
    {
        for round in 0..4 {
            let what = format!("case {case} round {round}: P {n}x{k}, Q {m}x{k}");
            let shape = (n, m, k);
            // Floats within rounding of the reduction length, integers exact.
            let tol = |eps: f64| move |w: f64| 4.0 * eps * k as f64 * w.max(1.0);
            let f64_tol = tol(f64::EPSILON);
            sqdist_case::<f64>(&mut r, shape, pairdist, f64::sqrt, &f64_tol, &what);
            let f32_tol = tol(f32::EPSILON as f64);
            sqdist_case::<f32>(&mut r, shape, sqdist_f32, |w| w, &f32_tol, &what);
            sqdist_case::<i32>(&mut r, shape, sqdist_i32, |w| w, &|_| 0.0, &what);
            sqdist_case::<i64>(&mut r, shape, sqdist_i64, |w| w, &|_| 0.0, &what);
        }
    }
    // A batch: Q varies along the outer batch axis (not packed) or is the
    // same for every batch (packed across two outer axes).
    let p = strided::<f64>(&mut r, &[3, 6, 4], -1.0, 1.0, false);
    for shared in [false, true] {
        let qb = if shared { 1 } else { 3 };
        let q = strided::<f64>(&mut r, &[qb, 9, 4], -1.0, 1.0, false);
        let got = pairdist(
            p.view().insert_axis(2).unwrap(),
            q.view().insert_axis(1).unwrap(),
        );
        assert_eq!(got.shape(), &[3, 6, 9]);
        for b in 0..3 {
            let pb = p.view().slice(s![b]).unwrap();
            let qv = q.view().slice(s![if shared { 0 } else { b }]).unwrap();
            let want = sqdist_reference(&pb, &qv);
            let gb = got.view().slice(s![b]).unwrap().to_vec();
            for (g, w) in gb.iter().zip(&want) {
                assert!((g - w.sqrt()).abs() <= 1e-14, "batch {b}, shared {shared}");
            }
        }
    }
}

#[kernel]
fn col_sum(x: ArrayView<f64>) -> Array<f64> {
    sum(x, 0)
}

#[kernel]
fn col_max_keep(x: ArrayView<f64>) -> Array<f64> {
    max_keepdims(x, 0)
}

#[kernel]
fn col_mean_sq_f32(x: ArrayView<f32>) -> Array<f32> {
    mean(x * x, 0)
}

#[test]
fn column_reductions_read_rows_in_pairs_and_keep_the_sequential_order() {
    // sum(x, 0) of a matrix whose rows are contiguous reads two rows side
    // by side; per column the additions stay in row order, so the result
    // is bit for bit the sequential fold. Data over twelve decades makes
    // any other order show. Odd and even row counts, a single row, columns
    // taken with a step (the pair declines: rows one by one), reversed
    // rows and columns, and a matrix large enough to be split across
    // threads.
    let mut r = rng(31);
    for &(n, m) in &[
        (1usize, 5usize),
        (2, 7),
        (3, 1000),
        (8, 33),
        (513, 300),
        (64, 2049),
    ] {
        let data: Vec<f64> = (0..n * 2 * m)
            .map(|_| {
                let mag = 10f64.powi(r.random_range(0..12));
                mag * r.random_range(-1.0..1.0)
            })
            .collect();
        let full = Array::from_vec(&[n, 2 * m], data).unwrap();
        let views = [
            full.view().slice(s![.., ..m]).unwrap(),
            full.view().slice(s![.., ..;2]).unwrap(),
            full.view().slice(s![..;-1, m..;-1]).unwrap(),
        ];
        for (k, v) in views.iter().enumerate() {
            let what = format!("{n}x{m}, view {k}");
            let (rows, cols) = (v.shape()[0], v.shape()[1]);
            let at = |i: usize, j: usize| v.get(&[i, j]).unwrap();
            let sums = col_sum(v.clone()).to_vec();
            let maxes = col_max_keep(v.clone());
            assert_eq!(maxes.shape(), &[1, cols], "{what}");
            let maxes = maxes.to_vec();
            for j in 0..cols {
                let want = (0..rows).fold(0.0f64, |acc, i| acc + at(i, j));
                assert_eq!(
                    sums[j].to_bits(),
                    want.to_bits(),
                    "{what}: sum of column {j}"
                );
                let want = (0..rows)
                    .map(|i| at(i, j))
                    .fold(f64::NEG_INFINITY, f64::max);
                assert_eq!(maxes[j], want, "{what}: max of column {j}");
            }
            let v32: Vec<f32> = v.to_vec().iter().map(|&x| (x * 1e-6) as f32).collect();
            let x32 = Array::from_vec(&[rows, cols], v32.clone()).unwrap();
            let got = col_mean_sq_f32(x32.view()).to_vec();
            for j in 0..cols {
                let s =
                    (0..rows).fold(0.0f32, |acc, i| acc + v32[i * cols + j] * v32[i * cols + j]);
                let want = s / rows as f32;
                assert_eq!(
                    got[j].to_bits(),
                    want.to_bits(),
                    "{what}: f32 mean of squares, column {j}"
                );
            }
        }
    }
}

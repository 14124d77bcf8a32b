//! `einsum!` inside `#[kernel]` bodies: the contraction and the elementwise
//! work around it (fused into the packed GEMM's write-back where it can
//! be, else run in place or as a pass of its own), checked element by
//! element against the naive einsum (`einsum_reference_f64`) followed by
//! the same arithmetic in plain Rust.

use einkern::{kernel, random, s, Array, ArrayView, ArrayViewMut, Error, Order};
use einkern_codegen::einsum::einsum_reference_f64;

fn rand(shape: &[usize], seed: u64) -> Array<f64> {
    random::uniform(shape, -1.0, 1.0, seed).expect("valid bounds")
}

/// The naive einsum of `spec` over views (read through a C-order copy).
fn naive(spec: &str, ops: &[ArrayView<'_, f64>]) -> Array<f64> {
    let owned: Vec<Array<f64>> = ops.iter().map(|o| o.to_owned()).collect();
    let strides: Vec<Vec<isize>> = owned.iter().map(|o| o.strides().to_vec()).collect();
    let refs: Vec<_> = (owned.iter().zip(&strides))
        .map(|(o, s)| (o.as_slice().expect("C order"), o.shape(), &s[..], 0))
        .collect();
    let (shape, data) = einsum_reference_f64(spec, &refs).expect("a valid einsum");
    Array::from_vec(&shape, data).expect("shape and data agree")
}

/// `got` equals `want` (same shape) to a tolerance scaled by the
/// contraction length `k`.
fn assert_close(got: &Array<f64>, want: &Array<f64>, k: usize, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    let tol = 1e-14 * (k as f64 + 4.0);
    for (i, (g, w)) in got.to_vec().iter().zip(want.to_vec()).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()) || (g.is_nan() && w.is_nan()),
            "{what}: element {i}: {g} vs {w}"
        );
    }
}

#[kernel]
fn linear_relu(x: ArrayView<f64>, w: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    (einsum!("ij,jk->ik", x, w) + b).max(0.0)
}

fn linear_relu_want(x: ArrayView<'_, f64>, w: ArrayView<'_, f64>, b: &Array<f64>) -> Array<f64> {
    let c = naive("ij,jk->ik", &[x, w]);
    let n = c.shape()[1];
    let cv = c.to_vec();
    let bv = b.to_vec();
    let data = (0..cv.len())
        .map(|i| (cv[i] + bv[i % n]).max(0.0))
        .collect();
    Array::from_vec(c.shape(), data).expect("same shape")
}

#[test]
fn fused_linear_relu_matches_the_reference_on_every_size() {
    for (m, k, n) in [
        (1, 1, 1),
        (0, 5, 3),
        (4, 0, 3),
        (37, 53, 29),
        (2, 97, 3),
        (131, 67, 257),
        (300, 300, 300),
    ] {
        let x = rand(&[m, k], 1);
        let w = rand(&[k, n], 2);
        let b = rand(&[n], 3);
        let got = linear_relu(x.view(), w.view(), b.view());
        let want = linear_relu_want(x.view(), w.view(), &b);
        assert_close(&got, &want, k, &format!("{m}x{k}x{n}"));
    }
}

#[test]
fn fused_epilogue_reads_operands_through_any_strides() {
    let (m, k, n) = (45, 61, 38);
    // x transposed, w in F order, b reversed; then x as a strided slice.
    let xt = rand(&[k, m], 4);
    let w = rand(&[k, n], 5).to_order(Order::F);
    let b_full = rand(&[n], 6);
    let b = b_full.slice(s![..;-1]).unwrap();
    let got = linear_relu(xt.view().t(), w.view(), b.clone());
    let want = linear_relu_want(xt.view().t(), w.view(), &b.to_owned());
    assert_close(&got, &want, k, "transposed x, F-order w, reversed b");
    let big = rand(&[2 * m, 3 * k], 7);
    let xs = big.slice(s![..;2, 1..;3]).unwrap();
    let got = linear_relu(xs.clone(), w.view(), b.clone());
    let want = linear_relu_want(xs, w.view(), &b.to_owned());
    assert_close(&got, &want, k, "strided x");
}

#[kernel]
fn scores(q: ArrayView<f64>, kk: ArrayView<f64>, mask: ArrayView<f64>, scale: f64) -> Array<f64> {
    einsum!("bhqd,bhkd->bhqk", q, kk) * scale + mask
}

#[test]
fn batched_scores_with_a_broadcast_mask() {
    let (b, h, q, k, d) = (2, 3, 17, 23, 8);
    let qa = rand(&[b, h, q, d], 8);
    let ka = rand(&[b, h, k, d], 9);
    let mask = rand(&[q, k], 10);
    let got = scores(qa.view(), ka.view(), mask.view(), 0.125);
    let c = naive("bhqd,bhkd->bhqk", &[qa.view(), ka.view()]);
    let want = Array::from_fn(&[b, h, q, k], |i| {
        c.get(i).unwrap() * 0.125 + mask.get(&[i[2], i[3]]).unwrap()
    });
    assert_close(&got, &want, d, "bhqk");
}

#[kernel]
fn matvec_tanh(a: ArrayView<f64>, v: ArrayView<f64>) -> Array<f64> {
    einsum!("ij,j->i", a, v).tanh() * 2.0
}

#[kernel]
fn trace_plus(a: ArrayView<f64>, s: f64) -> Array<f64> {
    einsum!("ii->", a) + s
}

#[test]
fn epilogues_of_contractions_that_are_not_packed_gemms_run_in_place() {
    // A matrix-vector product and a trace: no GEMM write-back to ride on.
    let a = rand(&[41, 29], 11);
    let v = rand(&[29], 12);
    let got = matvec_tanh(a.view(), v.view());
    let c = naive("ij,j->i", &[a.view(), v.view()]);
    let want = Array::from_fn(&[41], |i| c.get(i).unwrap().tanh() * 2.0);
    assert_close(&got, &want, 29, "matvec");
    let sq = rand(&[13, 13], 13);
    let got = trace_plus(sq.view(), 0.5);
    let t: f64 = (0..13).map(|i| sq.get(&[i, i]).unwrap()).sum();
    assert_eq!(got.shape(), &[] as &[usize]);
    assert!((got.get(&[]).unwrap() - (t + 0.5)).abs() < 1e-12);
}

#[kernel]
fn rowsum_broadcast(a: ArrayView<f64>, m: ArrayView<f64>) -> Array<f64> {
    einsum!("ij->i", a) + m
}

#[test]
fn an_einsum_result_broadcast_to_a_larger_output_is_a_temporary() {
    let a = rand(&[5, 7], 14);
    let m = rand(&[3, 5], 15);
    let got = rowsum_broadcast(a.view(), m.view());
    let r = naive("ij->i", &[a.view()]);
    let want = Array::from_fn(&[3, 5], |i| r.get(&[i[1]]).unwrap() + m.get(i).unwrap());
    assert_close(&got, &want, 7, "rowsum + m");
}

#[kernel]
fn of_expressions(x: ArrayView<f64>, w: ArrayView<f64>, s: f64) -> Array<f64> {
    let y = x * s;
    einsum!("ij,jk->ik", &y, w.exp()) - sum_keepdims(y, 1)
}

#[test]
fn operands_that_are_expressions_are_materialised_once() {
    let x = rand(&[19, 11], 16);
    let w = rand(&[11, 7], 17);
    let got = of_expressions(x.view(), w.view(), 3.0);
    let y = Array::from_fn(&[19, 11], |i| x.get(i).unwrap() * 3.0);
    let ew = Array::from_fn(&[11, 7], |i| w.get(i).unwrap().exp());
    let c = naive("ij,jk->ik", &[y.view(), ew.view()]);
    let want = Array::from_fn(&[19, 7], |i| {
        let rs: f64 = (0..11).map(|j| y.get(&[i[0], j]).unwrap()).sum();
        c.get(i).unwrap() - rs
    });
    assert_close(&got, &want, 11, "einsum of expressions");
}

#[kernel]
fn bmm(a: ArrayView<f64>, b: ArrayView<f64>) -> Result<Array<f64>, Error> {
    einsum!("bij,bjk->bik", a, b)
}

#[test]
fn an_einsum_alone_writes_the_output_and_into_takes_any_strides() {
    let a = rand(&[4, 9, 6], 18);
    let b = rand(&[4, 6, 5], 19);
    let want = naive("bij,bjk->bik", &[a.view(), b.view()]);
    assert_close(&bmm(a.view(), b.view()).unwrap(), &want, 6, "bmm");
    let mut out = Array::<f64>::zeros(&[4, 5, 9]);
    bmm_into(
        out.view_mut().permute_axes(&[0, 2, 1]).unwrap(),
        a.view(),
        b.view(),
    )
    .unwrap();
    let back = out.view().permute_axes(&[0, 2, 1]).unwrap().to_owned();
    assert_close(&back, &want, 6, "bmm_into a transposed view");
    let e = bmm(a.view(), rand(&[4, 7, 5], 20).view()).unwrap_err();
    assert!(
        e.to_string().contains('7') && e.to_string().contains('6'),
        "{e}"
    );
    let mut wrong = Array::<f64>::zeros(&[4, 9, 4]);
    assert!(bmm_into(wrong.view_mut(), a.view(), b.view()).is_err());
}

#[kernel]
fn linear_relu_into_target(x: ArrayView<f64>, w: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    (einsum!("ij,jk->ik", x, w) + b).max(0.0)
}

#[test]
fn a_fused_epilogue_writes_into_a_strided_output() {
    let x = rand(&[33, 40], 21);
    let w = rand(&[40, 27], 22);
    let b = rand(&[27], 23);
    let want = linear_relu_want(x.view(), w.view(), &b);
    let mut out = Array::<f64>::full(&[27, 66], f64::NAN);
    {
        let view: ArrayViewMut<'_, f64> = out.slice_mut(s![.., ..;-2]).unwrap();
        let view = view.permute_axes(&[1, 0]).unwrap();
        linear_relu_into_target_into(view, x.view(), w.view(), b.view()).unwrap();
    }
    let got = out.view().slice(s![.., ..;-2]).unwrap().t().to_owned();
    assert_close(&got, &want, 40, "into a reversed, transposed view");
    // The columns the view skips are untouched.
    assert!(out
        .view()
        .slice(s![.., -2..;-2])
        .unwrap()
        .to_vec()
        .iter()
        .all(|v| v.is_nan()));
}

#[kernel]
fn softmax_scores(q: ArrayView<f64>, kk: ArrayView<f64>) -> Array<f64> {
    let s = einsum!("qd,kd->qk", q, kk);
    let e = (s - max_keepdims(s, -1)).exp();
    e / sum_keepdims(e, -1)
}

#[kernel]
fn dot_of_sums(x: ArrayView<f64>, y: ArrayView<f64>) -> Array<f64> {
    einsum!("i,i->", sum(x, 0), y)
}

#[test]
fn einsums_and_reductions_feed_each_other() {
    let q = rand(&[21, 16], 24);
    let k = rand(&[34, 16], 25);
    let got = softmax_scores(q.view(), k.view());
    let s = naive("qd,kd->qk", &[q.view(), k.view()]);
    let want = Array::from_fn(&[21, 34], |i| {
        let row: Vec<f64> = (0..34).map(|j| s.get(&[i[0], j]).unwrap()).collect();
        let mx = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let z: f64 = row.iter().map(|v| (v - mx).exp()).sum();
        (s.get(i).unwrap() - mx).exp() / z
    });
    assert_close(&got, &want, 34, "softmax of scores");
    let x = rand(&[6, 9], 26);
    let y = rand(&[9], 27);
    let got = dot_of_sums(x.view(), y.view());
    let want: f64 = (0..9)
        .map(|j| (0..6).map(|i| x.get(&[i, j]).unwrap()).sum::<f64>() * y.get(&[j]).unwrap())
        .sum();
    assert!((got.get(&[]).unwrap() - want).abs() < 1e-12);
}

#[kernel]
fn int_affine(a: ArrayView<i64>, b: ArrayView<i64>) -> Array<i64> {
    einsum!("ij,jk->ik", a, b) * 3 - 1
}

#[kernel]
fn f32_linear(x: ArrayView<f32>, w: ArrayView<f32>, b: ArrayView<f32>) -> Array<f32> {
    (einsum!("ij,jk->ik", x, w) + b).max(0.0)
}

#[test]
fn integer_and_f32_kernels() {
    let a = Array::from_fn(&[23, 17], |i| (i[0] * 3 + i[1]) as i64 % 7 - 3);
    let b = Array::from_fn(&[17, 19], |i| (i[0] + 2 * i[1]) as i64 % 5 - 2);
    let got = int_affine(a.view(), b.view());
    let want = Array::from_fn(&[23, 19], |i| {
        let dot: i64 = (0..17)
            .map(|j| a.get(&[i[0], j]).unwrap() * b.get(&[j, i[1]]).unwrap())
            .sum();
        dot * 3 - 1
    });
    assert_eq!(got.to_vec(), want.to_vec());
    let (m, k, n) = (150, 260, 140);
    let x: Array<f32> = random::uniform(&[m, k], -1.0, 1.0, 28).unwrap();
    let w: Array<f32> = random::uniform(&[k, n], -1.0, 1.0, 29).unwrap();
    let bias: Array<f32> = random::uniform(&[n], -1.0, 1.0, 30).unwrap();
    let got = f32_linear(x.view(), w.view(), bias.view());
    let to64 = |a: &Array<f32>| Array::from_fn(a.shape(), |i| a.get(i).unwrap() as f64);
    let want = linear_relu_want(to64(&x).view(), to64(&w).view(), &to64(&bias));
    for (g, w) in got.to_vec().iter().zip(want.to_vec()) {
        assert!(
            (*g as f64 - w).abs() <= 1e-5 * k as f64 * (1.0 + w.abs()),
            "{g} vs {w}"
        );
    }
}

#[kernel]
fn scaled_by_scalar(s: f64, x: ArrayView<f64>) -> Array<f64> {
    einsum!(",ij->ji", s, x) + 1.0
}

#[test]
fn a_scalar_parameter_is_a_zero_dimensional_operand() {
    let x = rand(&[4, 6], 31);
    let got = scaled_by_scalar(2.5, x.view());
    let want = Array::from_fn(&[6, 4], |i| 2.5 * x.get(&[i[1], i[0]]).unwrap() + 1.0);
    assert_close(&got, &want, 1, "scalar operand");
}

//! `#[kernel]` rows of the compare bench: fused elementwise expressions,
//! broadcasting and reductions (../shared/bench/WORKLOADS.md). Peer
//! `einkern` allocates its output in the timed call; `einkern(into)`
//! writes into a preallocated array through the generated `_into` form.

use einkern::{kernel, Array, ArrayView};

use super::{rand_f64, rand_t, Harness, N10M};

#[kernel]
fn axpby(a: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    2.0 * a + 3.0 * b
}

#[kernel]
fn fma(a: ArrayView<f64>, b: ArrayView<f64>, c: ArrayView<f64>) -> Array<f64> {
    a * b + c
}

#[kernel]
fn gauss(a: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    (-a * a / 2.0).exp() * b
}

#[kernel]
fn clip_where(a: ArrayView<f64>) -> Array<f64> {
    where_(a < 0.2, 0.2, where_(a > 0.8, 0.8, a))
}

#[kernel]
fn normalize(x: ArrayView<f64>, mu: ArrayView<f64>, sd: ArrayView<f64>) -> Array<f64> {
    (x - mu) / sd
}

#[kernel]
fn pairdist(p: ArrayView<f64>, q: ArrayView<f64>) -> Array<f64> {
    sum((p - q).powi(2), -1).sqrt()
}

#[kernel]
fn softmax_rows(s: ArrayView<f32>) -> Array<f32> {
    let e = (s - max_keepdims(s, 1)).exp();
    e / sum_keepdims(e, 1)
}

#[kernel]
fn window_mean(w: ArrayView<f64>) -> Array<f64> {
    mean(w, 1)
}

#[kernel]
fn sum_axis0(m: ArrayView<f64>) -> Array<f64> {
    sum(m, 0)
}

#[kernel]
fn sum_axis1(m: ArrayView<f64>) -> Array<f64> {
    sum(m, 1)
}

#[kernel]
fn std_axis0(m: ArrayView<f64>) -> Array<f64> {
    let d = m - mean_keepdims(m, 0);
    mean(d * d, 0).sqrt()
}

#[kernel]
fn linear_relu(x: ArrayView<f32>, w: ArrayView<f32>, b: ArrayView<f32>) -> Array<f32> {
    (einsum!("ij,jk->ik", x, w) + b).max(0.0)
}

#[kernel]
fn bias_relu(c: ArrayView<f32>, b: ArrayView<f32>) -> Array<f32> {
    (c + b).max(0.0)
}

/// Times both forms of a kernel: allocating and `_into`.
macro_rules! both {
    ($h:expr, $row:literal, $shape:expr, $k:ident, $into:ident ($($arg:expr),*)) => {{
        $h.row($row, "einkern", || $k($($arg),*));
        let mut out = Array::zeros(&$shape);
        $h.row($row, "einkern(into)", || $into(out.view_mut(), $($arg),*).expect("shapes fit"));
    }};
}

pub fn rows(h: &Harness) {
    // Not a shared workload (no peer fuses it): a GEMM with its bias and
    // relu fused into the write-back, next to the same work as `einsum!`
    // followed by a second kernel over the result.
    if h.wants("linear_relu_f32_1024") {
        let x = rand_t::<f32>(&[1024, 1024], 41);
        let w = rand_t::<f32>(&[1024, 1024], 42);
        let b = rand_t::<f32>(&[1024], 43);
        let (x, w, b) = (x.view(), w.view(), b.view());
        h.row("linear_relu_f32_1024", "einkern", || {
            linear_relu(x.clone(), w.clone(), b.clone())
        });
        h.row("linear_relu_f32_1024", "einkern(two-pass)", || {
            let c = einkern::einsum!("ij,jk->ik", &x, &w);
            bias_relu(c.view(), b.clone())
        });
    }

    if h.wants("axpby_f64_10M")
        || h.wants("fma_f64_10M")
        || h.wants("gauss_f64_10M")
        || h.wants("clip_where_f64_10M")
    {
        let (a, b, c) = (
            rand_f64(&[N10M], 30),
            rand_f64(&[N10M], 31),
            rand_f64(&[N10M], 32),
        );
        let (a, b, c) = (a.view(), b.view(), c.view());
        if h.wants("axpby_f64_10M") {
            both!(
                h,
                "axpby_f64_10M",
                [N10M],
                axpby,
                axpby_into(a.view(), b.view())
            );
        }
        if h.wants("fma_f64_10M") {
            both!(
                h,
                "fma_f64_10M",
                [N10M],
                fma,
                fma_into(a.view(), b.view(), c.view())
            );
        }
        if h.wants("gauss_f64_10M") {
            both!(
                h,
                "gauss_f64_10M",
                [N10M],
                gauss,
                gauss_into(a.view(), b.view())
            );
        }
        if h.wants("clip_where_f64_10M") {
            both!(
                h,
                "clip_where_f64_10M",
                [N10M],
                clip_where,
                clip_where_into(a.view())
            );
        }
    }
    if h.wants("normalize_bcast_f64") {
        let x = rand_f64(&[4000, 2500], 33);
        let mu = rand_f64(&[2500], 34);
        let sd = Array::from_fn(&[2500], |i| 0.25 + (i[0] % 7) as f64 * 0.01);
        both!(
            h,
            "normalize_bcast_f64",
            [4000, 2500],
            normalize,
            normalize_into(x.view(), mu.view(), sd.view())
        );
    }
    if h.wants("pairdist_f64_2000") {
        let (p, q) = (rand_f64(&[2000, 3], 35), rand_f64(&[2000, 3], 36));
        let pv = p.view().insert_axis(1).expect("rank 2");
        let qv = q.view().insert_axis(0).expect("rank 2");
        both!(
            h,
            "pairdist_f64_2000",
            [2000, 2000],
            pairdist,
            pairdist_into(pv.view(), qv.view())
        );
    }
    if h.wants("softmax_rows_f32") {
        let s = rand_t::<f32>(&[4096, 1024], 37);
        both!(
            h,
            "softmax_rows_f32",
            [4096, 1024],
            softmax_rows,
            softmax_rows_into(s.view())
        );
    }
    if h.wants("rolling_mean64_f64_10M") {
        let r = rand_f64(&[N10M], 38);
        let w = r.view().sliding_window(&[64]).expect("window fits");
        both!(
            h,
            "rolling_mean64_f64_10M",
            [N10M - 63],
            window_mean,
            window_mean_into(w.view())
        );
    }
    if h.wants("sum_axis0_f64_4096")
        || h.wants("sum_axis1_f64_4096")
        || h.wants("std_axis0_f64_4096")
    {
        let m = rand_f64(&[4096, 4096], 39);
        if h.wants("sum_axis0_f64_4096") {
            both!(
                h,
                "sum_axis0_f64_4096",
                [4096],
                sum_axis0,
                sum_axis0_into(m.view())
            );
        }
        if h.wants("sum_axis1_f64_4096") {
            both!(
                h,
                "sum_axis1_f64_4096",
                [4096],
                sum_axis1,
                sum_axis1_into(m.view())
            );
        }
        if h.wants("std_axis0_f64_4096") {
            both!(
                h,
                "std_axis0_f64_4096",
                [4096],
                std_axis0,
                std_axis0_into(m.view())
            );
        }
    }
}

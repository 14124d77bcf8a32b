//! `einkern-jit` rows: the same workloads through `einkern::jit`, compiled
//! once outside the timed calls (except `jit_compile_expr10`, which times
//! the compiler itself with a new constant each call so no cache answers).

use einkern::{jit, Array, ArrayView, Element};

use super::{rand_f64, rand_t, Harness, N10M};

/// Times `expr` allocating (`einkern-jit`) and into a preallocated output
/// (`einkern-jit(into)`).
fn elementwise<T: Element>(
    h: &Harness,
    workload: &str,
    expr: &str,
    names: &[&str],
    inputs: &[Array<T>],
) {
    let k = jit::compile::<T>(expr, names).expect("the workload expression compiles");
    let views: Vec<ArrayView<T>> = inputs.iter().map(|a| a.view()).collect();
    h.row(workload, "einkern-jit", || {
        k.eval(&views).expect("shapes broadcast")
    });
    let mut out = k.eval(&views).expect("shapes broadcast");
    h.row(workload, "einkern-jit(into)", || {
        k.eval_into(out.view_mut(), &views)
            .expect("shapes broadcast")
    });
}

fn einsum_row<T: Element>(h: &Harness, workload: &str, spec: &str, inputs: &[Array<T>]) {
    let views: Vec<ArrayView<T>> = inputs.iter().map(|a| a.view()).collect();
    h.row(workload, "einkern-jit", || {
        jit::einsum(spec, &views).expect("valid einsum")
    });
}

pub fn rows(h: &Harness) {
    let two = || [rand_f64(&[N10M], 101), rand_f64(&[N10M], 102)];
    if h.wants("axpby_f64_10M") {
        elementwise(h, "axpby_f64_10M", "2*a + 3*b", &["a", "b"], &two());
    }
    if h.wants("fma_f64_10M") {
        let [a, b] = two();
        let c = rand_f64(&[N10M], 103);
        elementwise(h, "fma_f64_10M", "a*b + c", &["a", "b", "c"], &[a, b, c]);
    }
    if h.wants("gauss_f64_10M") {
        elementwise(h, "gauss_f64_10M", "exp(-a*a/2) * b", &["a", "b"], &two());
    }
    if h.wants("clip_where_f64_10M") {
        let [a, _] = two();
        let expr = "where(a<0.2, 0.2, where(a>0.8, 0.8, a))";
        elementwise(h, "clip_where_f64_10M", expr, &["a"], &[a]);
    }
    if h.wants("normalize_bcast_f64") {
        let x = rand_f64(&[4000, 2500], 104);
        let mu = rand_f64(&[2500], 105);
        let sd = rand_f64(&[2500], 106);
        elementwise(
            h,
            "normalize_bcast_f64",
            "(X - mu) / sd",
            &["X", "mu", "sd"],
            &[x, mu, sd],
        );
    }
    let square = |n: usize, seed: u64| rand_f64(&[n, n], seed);
    if h.wants("trace_f64_4096") {
        einsum_row(h, "trace_f64_4096", "ii->", &[square(4096, 107)]);
    }
    if h.wants("rowsum_f64_4096") {
        einsum_row(h, "rowsum_f64_4096", "ij->i", &[square(4096, 108)]);
    }
    if h.wants("colsum_f64_4096") {
        einsum_row(h, "colsum_f64_4096", "ij->j", &[square(4096, 109)]);
    }
    if h.wants("outer_f64_4096") {
        let v = [rand_f64(&[4096], 110), rand_f64(&[4096], 111)];
        einsum_row(h, "outer_f64_4096", "i,j->ij", &v);
    }
    if h.wants("dot_f64_10M") {
        einsum_row(h, "dot_f64_10M", "i,i->", &two());
    }
    if h.wants("matmul_f64_512") {
        einsum_row(
            h,
            "matmul_f64_512",
            "ij,jk->ik",
            &[square(512, 112), square(512, 113)],
        );
    }
    if h.wants("matmul_f32_1024") {
        let m = [
            rand_t::<f32>(&[1024, 1024], 114),
            rand_t::<f32>(&[1024, 1024], 115),
        ];
        einsum_row(h, "matmul_f32_1024", "ij,jk->ik", &m);
    }
    if h.wants("bmm_f32_64x64") {
        let m = [
            rand_t::<f32>(&[256, 64, 64], 116),
            rand_t::<f32>(&[256, 64, 64], 117),
        ];
        einsum_row(h, "bmm_f32_64x64", "bij,bjk->bik", &m);
    }
    if h.wants("attn_scores_f32") {
        let m = [
            rand_t::<f32>(&[4, 8, 128, 64], 118),
            rand_t::<f32>(&[4, 8, 128, 64], 119),
        ];
        einsum_row(h, "attn_scores_f32", "bhqd,bhkd->bhqk", &m);
    }
    if h.wants("chain3_f64") {
        let m = [
            rand_f64(&[64, 1024], 120),
            square(1024, 121),
            rand_f64(&[1024, 64], 122),
        ];
        einsum_row(h, "chain3_f64", "ij,jk,kl->il", &m);
    }
    if h.wants("tensor4_f64") {
        let m = [
            rand_f64(&[24, 24, 24, 24], 123),
            rand_f64(&[24, 24, 24, 24], 124),
        ];
        einsum_row(h, "tensor4_f64", "abcd,cdef->abef", &m);
    }
    if h.wants("jit_compile_expr10") {
        let mut k = 0u64;
        h.row("jit_compile_expr10", "einkern-jit", || {
            k += 1;
            let expr = format!("exp(-x*x/2.0)*y + sin(x)*{k}.25 - sqrt(y+3.0)");
            jit::compile::<f64>(&expr, &["x", "y"]).expect("compiles")
        });
    }
}

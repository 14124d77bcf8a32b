//! Times every `vmath` slice entry point on 10⁷ elements against a plain loop
//! over std's function, for f32 and f64, and the fused `gauss_f64_10M`
//! workload (`exp(-a*a/2)*b` into a preallocated output), multiversioned the
//! way generated kernels are.
//!
//! `cargo run --release -p einkern-runtime --example vmath_bench [-- FILTER]`
//! prints `<workload> <peer> <median_ms> <min_ms>` per line (1 warm-up call,
//! then 7 timed calls), like the shared workload table. `EINKERN_ISA` caps
//! the ISA (`baseline`, `avx2`).

use einkern_runtime::cpu::{self, Isa};
use einkern_runtime::vmath::{self, Fused, Real, Unfused};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 10_000_000;

fn time(mut f: impl FnMut()) -> (f64, f64) {
    f();
    let mut ms: Vec<f64> = (0..7)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (ms[3], ms[0])
}

fn report(workload: &str, peer: &str, (median, min): (f64, f64)) {
    println!("{workload} {peer} {median:.2} {min:.2}");
}

/// Deterministic uniform values in [lo, hi).
fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            lo + (hi - lo) * ((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

type Slice<T> = fn(&[T], &[T], &mut [T]);
type Std<T> = fn(T, T) -> T;

struct Bench<T> {
    name: &'static str,
    a: (f64, f64),
    b: (f64, f64),
    ours: Slice<T>,
    std: Std<T>,
}

macro_rules! benches {
    ($t:ty; $( $name:ident, $slice:ident, $a:expr, $b:expr, $std:expr; )*) => {
        vec![$(Bench::<$t> {
            name: stringify!($name),
            a: $a,
            b: $b,
            ours: |x, y, o| { let _ = y; vmath::$slice(x, o) },
            std: $std,
        }),*]
    };
}

macro_rules! all_benches {
    ($t:ty) => {{
        let mut v = benches! { $t;
            exp, exp_slice, (-50.0, 50.0), (0.0, 0.0), |x, _| x.exp();
            log, log_slice, (1e-3, 1e3), (0.0, 0.0), |x, _| x.ln();
            log1p, log1p_slice, (-0.5, 10.0), (0.0, 0.0), |x, _| x.ln_1p();
            expm1, expm1_slice, (-5.0, 5.0), (0.0, 0.0), |x, _| x.exp_m1();
            sin, sin_slice, (-10.0, 10.0), (0.0, 0.0), |x, _| x.sin();
            cos, cos_slice, (-10.0, 10.0), (0.0, 0.0), |x, _| x.cos();
            tan, tan_slice, (-10.0, 10.0), (0.0, 0.0), |x, _| x.tan();
            tanh, tanh_slice, (-5.0, 5.0), (0.0, 0.0), |x, _| x.tanh();
            sinh, sinh_slice, (-5.0, 5.0), (0.0, 0.0), |x, _| x.sinh();
            cosh, cosh_slice, (-5.0, 5.0), (0.0, 0.0), |x, _| x.cosh();
            asin, asin_slice, (-1.0, 1.0), (0.0, 0.0), |x, _| x.asin();
            acos, acos_slice, (-1.0, 1.0), (0.0, 0.0), |x, _| x.acos();
            atan, atan_slice, (-10.0, 10.0), (0.0, 0.0), |x, _| x.atan();
        };
        v.push(Bench::<$t> {
            name: "atan2",
            a: (-10.0, 10.0),
            b: (-10.0, 10.0),
            ours: vmath::atan2_slice,
            std: |y, x| y.atan2(x),
        });
        v.push(Bench::<$t> {
            name: "pow",
            a: (0.0, 10.0),
            b: (-5.0, 5.0),
            ours: vmath::pow_slice,
            std: |x, y| x.powf(y),
        });
        v
    }};
}

fn run<T: Real + Default>(benches: Vec<Bench<T>>, ty: &str, conv: fn(f64) -> T, filter: &str) {
    for b in benches {
        let workload = format!("{}_{ty}_10M", b.name);
        if !workload.contains(filter) {
            continue;
        }
        let x: Vec<T> = uniform(N, b.a.0, b.a.1, 1).into_iter().map(conv).collect();
        let y: Vec<T> = uniform(N, b.b.0, b.b.1, 2).into_iter().map(conv).collect();
        let mut out = vec![T::default(); N];
        report(
            &workload,
            "einkern-vmath(into)",
            time(|| (b.ours)(black_box(&x), &y, &mut out)),
        );
        let std = b.std;
        report(
            &workload,
            "std-loop(into)",
            time(|| {
                for ((o, &a), &c) in out.iter_mut().zip(black_box(&x)).zip(&y) {
                    *o = std(a, c);
                }
            }),
        );
        black_box(&out);
    }
}

// The fused gauss kernel exactly as the code generator emits it: one copy per
// ISA, the multiply-add policy matching the copy's target features.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
unsafe fn gauss_avx512(a: &[f64], b: &[f64], out: &mut [f64]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = vmath::exp::<Fused, _>(-a * a / 2.0) * b;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn gauss_avx2(a: &[f64], b: &[f64], out: &mut [f64]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = vmath::exp::<Fused, _>(-a * a / 2.0) * b;
    }
}

fn gauss_baseline(a: &[f64], b: &[f64], out: &mut [f64]) {
    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
        *o = vmath::exp::<Unfused, _>(-a * a / 2.0) * b;
    }
}

fn gauss(a: &[f64], b: &[f64], out: &mut [f64]) {
    match cpu::isa() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: cpu::isa() reports Avx512 only when every enabled feature is present.
        Isa::Avx512 => unsafe { gauss_avx512(a, b, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: cpu::isa() reports Avx2Fma only when avx2 and fma are present.
        Isa::Avx2Fma => unsafe { gauss_avx2(a, b, out) },
        _ => gauss_baseline(a, b, out),
    }
}

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    eprintln!("ISA: {:?}", cpu::isa());
    if "gauss_f64_10M".contains(filter.as_str()) {
        let a = uniform(N, 0.0, 1.0, 3);
        let b = uniform(N, 0.0, 1.0, 4);
        let mut out = vec![0.0; N];
        report(
            "gauss_f64_10M",
            "einkern-vmath(into)",
            time(|| gauss(black_box(&a), &b, &mut out)),
        );
        report(
            "gauss_f64_10M",
            "std-loop(into)",
            time(|| {
                for ((o, &a), &b) in out.iter_mut().zip(black_box(&a)).zip(&b) {
                    *o = (-a * a / 2.0).exp() * b;
                }
            }),
        );
        black_box(&out);
    }
    run(all_benches!(f64), "f64", |v| v, &filter);
    run(all_benches!(f32), "f32", |v| v as f32, &filter);
}

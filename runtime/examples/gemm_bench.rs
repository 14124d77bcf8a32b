//! Times the GEMM engine on the shared contraction workloads
//! (../shared/bench/WORKLOADS.md): one warm-up call, then 7 timed calls into
//! a preallocated output, inputs uniform in [0, 1).
//!
//! Prints `<workload> einkern-gemm <median_ms> <min_ms> <GFLOP/s at median>`.
//! Run single-threaded: `RAYON_NUM_THREADS=1 cargo run --release --example gemm_bench`.
//! `--only a,b` restricts the workloads. `--peak` first prints the core's
//! peak multiply-add rate (AVX2+FMA), the ceiling these GFLOP/s are
//! fractions of, and the f32 peak of all rayon threads running at once.

use std::time::Instant;

use einkern_runtime::gemm::{gemm, BatchDim, Contraction, GemmScalar, KDim, MDim, NDim};

/// Uniform [0, 1) from a fixed-seed xorshift, so runs are comparable.
fn uniform<T: GemmScalar>(len: usize, seed: u64) -> Vec<T> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            T::from_f64((s >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect()
}

/// CPU time consumed by this thread, in ms. On a shared machine the wall
/// clock also counts time spent descheduled; this does not.
fn thread_cpu_ms() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec to write into.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e3 + ts.tv_nsec as f64 / 1e6
}

/// Runs `f` once to warm up, then 7 times; prints the median and min wall
/// time, GFLOP/s at the median, and the minimum thread CPU time.
fn time(name: &str, flops: f64, mut f: impl FnMut()) {
    f();
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..7)
        .map(|_| {
            let (t, c) = (Instant::now(), thread_cpu_ms());
            f();
            (t.elapsed().as_secs_f64() * 1e3, thread_cpu_ms() - c)
        })
        .unzip();
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    let (median, min) = (wall[3], wall[0]);
    let gflops = flops / median / 1e6;
    println!(
        "{name} einkern-gemm {median:.3} {min:.3} {gflops:.1}GFLOP/s cpu_min={:.3}",
        cpu[0]
    );
}

/// Row-major `m × k · k × n` into a preallocated `m × n`.
fn matmul<T: GemmScalar>(name: &str, m: usize, k: usize, n: usize) {
    let (a, b) = (uniform::<T>(m * k, 1), uniform::<T>(k * n, 2));
    let mut c = vec![T::ZERO; m * n];
    time(name, 2.0 * (m * n * k) as f64, || {
        // SAFETY: a, b, c are dense row-major m×k, k×n, m×n.
        unsafe {
            gemm(
                m,
                n,
                k,
                T::ONE,
                a.as_ptr(),
                k as isize,
                1,
                b.as_ptr(),
                n as isize,
                1,
                T::ZERO,
                c.as_mut_ptr(),
                n as isize,
                1,
            )
        }
    });
}

/// Runs a contraction over dense buffers of the given lengths.
fn contract<T: GemmScalar>(name: &str, flops: f64, spec: &Contraction, lens: [usize; 3]) {
    let (a, b) = (uniform::<T>(lens[0], 1), uniform::<T>(lens[1], 2));
    let mut c = vec![T::ZERO; lens[2]];
    time(name, flops, || {
        // SAFETY: the strides in spec address only elements of a, b and c
        // (dense C-order tensors of these lengths).
        unsafe { spec.run(T::ONE, a.as_ptr(), b.as_ptr(), T::ZERO, c.as_mut_ptr()) }
    });
}

/// The single-core peak of 256-bit FMAs in GFLOP/s for f64 and f32: twelve
/// independent accumulator chains (more than latency × throughput) of
/// register-only `vfmadd`s, best of 7 runs.
#[cfg(target_arch = "x86_64")]
fn fma_peak() -> Option<(f64, f64)> {
    use std::arch::x86_64::*;
    use std::hint::black_box;
    if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
        return None;
    }
    const STEPS: usize = 20_000_000;
    macro_rules! chains {
        ($name:ident, $v:ty, $set1:ident, $fmadd:ident, $add:ident, $cvt:expr) => {
            #[target_feature(enable = "avx2,fma")]
            fn $name() -> f64 {
                let mut acc = [$set1(0.0); 12];
                // Opaque inputs and trip count, so the chains cannot be
                // folded at compile time.
                let (x, y) = ($set1(black_box(0.999_999)), $set1(black_box(1e-9)));
                for _ in 0..black_box(STEPS) {
                    for a in acc.iter_mut() {
                        *a = $fmadd(*a, x, y);
                    }
                }
                let sum: $v = acc.iter().fold(y, |s, &a| $add(s, a));
                $cvt(sum)
            }
        };
    }
    chains!(
        chains_f64,
        __m256d,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
        |v| _mm256_cvtsd_f64(v)
    );
    chains!(
        chains_f32,
        __m256,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        |v| f64::from(_mm256_cvtss_f32(v))
    );
    fn best(run: impl Fn() -> f64) -> f64 {
        (0..7)
            .map(|_| {
                let t = Instant::now();
                black_box(run());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    }
    // SAFETY (both calls): AVX2 and FMA were detected above.
    let (t64, t32) = (
        best(|| unsafe { chains_f64() }),
        best(|| unsafe { chains_f32() }),
    );
    // 12 FMAs per step, 2 flops per lane: 4 lanes of f64, 8 of f32.
    let flops = |lanes: usize, t: f64| (STEPS * 12 * lanes * 2) as f64 / t / 1e9;
    // The same f32 chains on every rayon thread at once: the ceiling of a
    // multi-threaded product (vCPUs that are SMT siblings share one core's
    // FMA units, so this need not be threads × the single-core peak).
    let threads = rayon::current_num_threads();
    let t_all = best(|| {
        std::thread::scope(|s| {
            for _ in 0..threads {
                // SAFETY: as above.
                s.spawn(|| unsafe { chains_f32() });
            }
        });
        0.0
    });
    println!(
        "# FMA peak of {threads} threads at once: {:.1} GFLOP/s f32",
        threads as f64 * flops(8, t_all)
    );
    Some((flops(4, t64), flops(8, t32)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    #[cfg(target_arch = "x86_64")]
    if args.iter().any(|a| a == "--peak") {
        match fma_peak() {
            Some((d, s)) => println!("# FMA peak per core: {d:.1} GFLOP/s f64, {s:.1} GFLOP/s f32"),
            None => println!("# FMA peak: this CPU has no AVX2+FMA"),
        }
    }
    let only: Option<Vec<String>> = args
        .iter()
        .position(|x| x == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').map(str::to_owned).collect());
    let want = |name: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == name));

    if want("matmul_f64_512") {
        matmul::<f64>("matmul_f64_512", 512, 512, 512);
    }
    if want("matmul_f32_1024") {
        matmul::<f32>("matmul_f32_1024", 1024, 1024, 1024);
    }
    if want("bmm_f32_64x64") {
        // bij,bjk->bik, 256 × 64 × 64, C order.
        let s = Contraction {
            batch: vec![BatchDim {
                len: 256,
                stride_a: 4096,
                stride_b: 4096,
                stride_c: 4096,
            }],
            m: vec![MDim {
                len: 64,
                stride_a: 64,
                stride_c: 64,
            }],
            n: vec![NDim {
                len: 64,
                stride_b: 1,
                stride_c: 1,
            }],
            k: vec![KDim {
                len: 64,
                stride_a: 1,
                stride_b: 64,
            }],
        };
        contract::<f32>(
            "bmm_f32_64x64",
            2.0 * 256.0 * 64.0 * 64.0 * 64.0,
            &s,
            [256 * 4096; 3],
        );
    }
    if want("attn_scores_f32") {
        // bhqd,bhkd->bhqk with b=4, h=8, q=k=128, d=64, C order.
        let s = Contraction {
            batch: vec![
                BatchDim {
                    len: 4,
                    stride_a: 8 * 128 * 64,
                    stride_b: 8 * 128 * 64,
                    stride_c: 8 * 128 * 128,
                },
                BatchDim {
                    len: 8,
                    stride_a: 128 * 64,
                    stride_b: 128 * 64,
                    stride_c: 128 * 128,
                },
            ],
            m: vec![MDim {
                len: 128,
                stride_a: 64,
                stride_c: 128,
            }],
            n: vec![NDim {
                len: 128,
                stride_b: 64,
                stride_c: 1,
            }],
            k: vec![KDim {
                len: 64,
                stride_a: 1,
                stride_b: 1,
            }],
        };
        let lens = [32 * 128 * 64, 32 * 128 * 64, 32 * 128 * 128];
        contract::<f32>(
            "attn_scores_f32",
            2.0 * 32.0 * 128.0 * 128.0 * 64.0,
            &s,
            lens,
        );
    }
    if want("tensor4_f64") {
        // abcd,cdef->abef, every dim 24, C order.
        let (d1, d2, d3) = (24isize, 24 * 24, 24 * 24 * 24);
        let s = Contraction {
            batch: vec![],
            m: vec![
                MDim {
                    len: 24,
                    stride_a: d3,
                    stride_c: d3,
                },
                MDim {
                    len: 24,
                    stride_a: d2,
                    stride_c: d2,
                },
            ],
            n: vec![
                NDim {
                    len: 24,
                    stride_b: d1,
                    stride_c: d1,
                },
                NDim {
                    len: 24,
                    stride_b: 1,
                    stride_c: 1,
                },
            ],
            k: vec![
                KDim {
                    len: 24,
                    stride_a: d1,
                    stride_b: d3,
                },
                KDim {
                    len: 24,
                    stride_a: 1,
                    stride_b: d2,
                },
            ],
        };
        let n4 = 24usize.pow(4);
        contract::<f64>("tensor4_f64", 2.0 * 576f64.powi(3), &s, [n4; 3]);
    }
    if want("chain3_f64") {
        // ij,jk,kl->il as (A·B)·C: 64×1024 · 1024² then · 1024×64.
        let (a, b, c) = (
            uniform::<f64>(64 * 1024, 1),
            uniform::<f64>(1024 * 1024, 2),
            uniform::<f64>(1024 * 64, 3),
        );
        let (mut t, mut out) = (vec![0.0f64; 64 * 1024], vec![0.0f64; 64 * 64]);
        let flops = 2.0 * (64.0 * 1024.0 * 1024.0 + 64.0 * 1024.0 * 64.0);
        time("chain3_f64", flops, || {
            // SAFETY: all buffers are dense row-major with the given shapes.
            unsafe {
                gemm(
                    64,
                    1024,
                    1024,
                    1.0,
                    a.as_ptr(),
                    1024,
                    1,
                    b.as_ptr(),
                    1024,
                    1,
                    0.0,
                    t.as_mut_ptr(),
                    1024,
                    1,
                );
                gemm(
                    64,
                    64,
                    1024,
                    1.0,
                    t.as_ptr(),
                    1024,
                    1,
                    c.as_ptr(),
                    64,
                    1,
                    0.0,
                    out.as_mut_ptr(),
                    64,
                    1,
                );
            }
        });
    }
}

//! `cargo bench --bench compare -- [--quick] [--only a,b]`
//!
//! Times the reference workloads of ../shared/bench/WORKLOADS.md on einkern
//! and prints `<workload> <peer> <median_ms> <min_ms>` per line, the format
//! of ../shared/bench/peers.py and rust-peers, so one run of each gives
//! ratios. Each row: one warm-up call, then 7 timed calls (3 with --quick).
//! Peer `einkern` allocates its output inside the timed call, as NumPy does;
//! `einkern(into)` writes into a preallocated array. Run single-threaded
//! with `RAYON_NUM_THREADS=1`.

use std::hint::black_box;
use std::time::Instant;

use einkern::{einsum, random, s, Array, Element, Order};

#[path = "rows/jit.rs"]
mod jit_rows;
#[path = "rows/kernel.rs"]
mod kernel_rows;

struct Harness {
    reps: usize,
    only: Vec<String>,
}

impl Harness {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut h = Harness {
            reps: 7,
            only: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--quick" => h.reps = 3,
                "--only" => {
                    let list = it.next().expect("--only needs a comma-separated list");
                    h.only = list.split(',').map(str::to_string).collect();
                }
                // cargo bench passes --bench; anything else is not ours.
                _ => {}
            }
        }
        h
    }

    fn wants(&self, workload: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|w| w == workload)
    }

    /// Times `f` and prints one row.
    fn row<R>(&self, workload: &str, peer: &str, mut f: impl FnMut() -> R) {
        black_box(f());
        let mut times: Vec<f64> = (0..self.reps)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{workload} {peer} {:.3} {:.3}",
            times[times.len() / 2],
            times[0]
        );
    }
}

fn rand_f64(shape: &[usize], seed: u64) -> Array<f64> {
    rand_t(shape, seed)
}

fn rand_t<T: Element>(shape: &[usize], seed: u64) -> Array<T> {
    random::uniform(shape, 0.0, 1.0, seed).expect("valid bounds")
}

const N10M: usize = 10_000_000;

fn main() {
    let h = Harness::from_args();
    kernel_rows::rows(&h);

    if h.wants("stream_copy_f64_10M") {
        let src = rand_f64(&[N10M], 1);
        let mut dst = Array::<f64>::zeros(&[N10M]);
        h.row("stream_copy_f64_10M", "einkern(into)", || {
            dst.view_mut().assign(&src.view()).expect("same shape")
        });
    }

    if h.wants("fill_fresh_f64_10M") {
        // The allocator's yardstick: a fresh output filled once vs a
        // preallocated one (page faults are the difference).
        h.row("fill_fresh_f64_10M", "einkern", || {
            let mut a = Array::<f64>::zeros(&[N10M]);
            a.fill(1.0);
            a
        });
        let mut a = Array::<f64>::zeros(&[N10M]);
        h.row("fill_fresh_f64_10M", "einkern(into)", || a.fill(1.0));
    }

    if h.wants("transpose_f64_4096") {
        let a = rand_f64(&[4096, 4096], 2);
        h.row("transpose_f64_4096", "einkern", || a.t().to_owned());
        let mut out = Array::<f64>::zeros(&[4096, 4096]);
        h.row("transpose_f64_4096", "einkern(into)", || {
            out.view_mut().assign(&a.t()).expect("same shape")
        });
    }

    // einsum rows: peer `einkern` is the `einsum!` macro, output allocated
    // inside the timed call.
    if h.wants("trace_f64_4096") {
        let a = rand_f64(&[4096, 4096], 3);
        h.row("trace_f64_4096", "einkern", || einsum!("ii->", &a));
    }
    if h.wants("rowsum_f64_4096") {
        let a = rand_f64(&[4096, 4096], 4);
        h.row("rowsum_f64_4096", "einkern", || einsum!("ij->i", &a));
    }
    if h.wants("colsum_f64_4096") {
        let a = rand_f64(&[4096, 4096], 5);
        h.row("colsum_f64_4096", "einkern", || einsum!("ij->j", &a));
    }
    if h.wants("outer_f64_4096") {
        let (x, y) = (rand_f64(&[4096], 6), rand_f64(&[4096], 7));
        h.row("outer_f64_4096", "einkern", || einsum!("i,j->ij", &x, &y));
    }
    if h.wants("dot_f64_10M") {
        let (x, y) = (rand_f64(&[N10M], 8), rand_f64(&[N10M], 9));
        h.row("dot_f64_10M", "einkern", || einsum!("i,i->", &x, &y));
    }
    if h.wants("matmul_f64_512") {
        let (a, b) = (rand_f64(&[512, 512], 10), rand_f64(&[512, 512], 11));
        h.row("matmul_f64_512", "einkern", || einsum!("ij,jk->ik", &a, &b));
    }
    // Not in the shared table: the same product with operands in other
    // layouts, which the packed GEMM reads through their strides (no copy).
    if h.wants("matmul_f64_512_layouts") {
        let (a, b) = (rand_f64(&[512, 512], 10), rand_f64(&[512, 512], 11));
        let at = a.view().t().to_owned();
        h.row("matmul_f64_512_layouts", "einkern[A transposed]", || {
            einsum!("ij,jk->ik", at.view().t(), &b)
        });
        let bf = b.to_order(Order::F);
        h.row("matmul_f64_512_layouts", "einkern[B F-order]", || {
            einsum!("ij,jk->ik", &a, &bf)
        });
        let wide = rand_f64(&[512, 1024], 12);
        let strided = wide.view().slice(s![.., ..;2]).expect("in range");
        h.row("matmul_f64_512_layouts", "einkern[B column step 2]", || {
            einsum!("ij,jk->ik", &a, strided.clone())
        });
    }
    if h.wants("matmul_f32_1024") {
        let a = rand_t::<f32>(&[1024, 1024], 12);
        let b = rand_t::<f32>(&[1024, 1024], 13);
        h.row("matmul_f32_1024", "einkern", || {
            einsum!("ij,jk->ik", &a, &b)
        });
    }
    if h.wants("bmm_f32_64x64") {
        let a = rand_t::<f32>(&[256, 64, 64], 14);
        let b = rand_t::<f32>(&[256, 64, 64], 15);
        h.row("bmm_f32_64x64", "einkern", || {
            einsum!("bij,bjk->bik", &a, &b)
        });
    }
    if h.wants("attn_scores_f32") {
        let q = rand_t::<f32>(&[4, 8, 128, 64], 16);
        let k = rand_t::<f32>(&[4, 8, 128, 64], 17);
        h.row("attn_scores_f32", "einkern", || {
            einsum!("bhqd,bhkd->bhqk", &q, &k)
        });
    }
    if h.wants("chain3_f64") {
        let a = rand_f64(&[64, 1024], 18);
        let b = rand_f64(&[1024, 1024], 19);
        let c = rand_f64(&[1024, 64], 20);
        h.row("chain3_f64", "einkern", || {
            einsum!("ij,jk,kl->il", &a, &b, &c)
        });
    }
    if h.wants("tensor4_f64") {
        let a = rand_f64(&[24, 24, 24, 24], 21);
        let b = rand_f64(&[24, 24, 24, 24], 22);
        h.row("tensor4_f64", "einkern", || {
            einsum!("abcd,cdef->abef", &a, &b)
        });
    }
    jit_rows::rows(&h);
}

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

use einkern::{random, Array};

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
    random::uniform(shape, 0.0, 1.0, seed).expect("valid bounds")
}

const N10M: usize = 10_000_000;

fn main() {
    let h = Harness::from_args();

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
}

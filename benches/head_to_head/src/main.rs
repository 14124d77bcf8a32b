//! The GEMM workloads of ../shared/bench/WORKLOADS.md, with einkern's
//! `einsum!` and its peers called in turn, round after round, in one
//! process.
//!
//! `benches/side_by_side.py` compares medians of separate processes run
//! seconds apart; on a shared machine whose speed changes by 15–30% from one
//! second to the next, that decides rows that are within a few percent. Here
//! every library sees the same moments: each round calls each library once,
//! so a slow phase slows all of them alike.
//!
//! ```text
//! cd benches/head_to_head
//! OPENBLAS_NUM_THREADS=1 \
//!     EINKERN_OPENBLAS=$(python3 -c 'import numpy, glob, os; print(glob.glob(os.path.join(os.path.dirname(numpy.__file__), "..", "numpy.libs", "libscipy_openblas64_*.so"))[0])') \
//!     cargo run --release -- [--rounds 30] [--only a,b] [--threads 1]
//! ```
//!
//! `--threads N` runs every library on N threads: einkern's rayon pool,
//! `faer::Par::rayon(N)`, `gemm::Parallelism::Rayon(N)` and OpenBLAS's own
//! (set through its API, so `OPENBLAS_NUM_THREADS` does not matter then). A
//! batch is split by matrix over the threads for every peer, one product
//! per thread, as einkern parallelises batch first. Set
//! `OPENBLAS_THREAD_TIMEOUT=4` then: OpenBLAS's threads otherwise keep
//! spinning after each call and take a core from the library called next
//! (measured on matmul f32 1024: einkern and faer then took about their
//! one-thread times on two threads; with the timeout, about half).
//!
//! Prints, per workload and library, the min, first quartile and median in
//! ms, and einkern's median over the best peer's. Peers write into a fresh
//! zeroed `Vec` per call, as ../shared/bench/rust-peers does; einkern
//! allocates its output, as its `einkern` rows do. `EINKERN_OPENBLAS` (the
//! path of NumPy's bundled OpenBLAS, ILP64 `scipy_` symbols) is optional.

use std::ffi::{c_void, CString};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use einkern::{einsum, random, Array, Element};

/// CBLAS `?gemm` with 64-bit integers: order, transposes, m, n, k, alpha,
/// A, lda, B, ldb, beta, C, ldc.
type Gemm<T> = unsafe extern "C" fn(
    i32,
    i32,
    i32,
    i64,
    i64,
    i64,
    T,
    *const T,
    i64,
    *const T,
    i64,
    T,
    *mut T,
    i64,
);
/// Threads every library runs on (`--threads`).
static THREADS: AtomicUsize = AtomicUsize::new(1);

fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

const ROW_MAJOR: i32 = 101;
const NO_TRANS: i32 = 111;
const TRANS: i32 = 112;

/// NumPy's OpenBLAS, loaded from `EINKERN_OPENBLAS` when it is set.
struct OpenBlas {
    dgemm: Gemm<f64>,
    sgemm: Gemm<f32>,
    /// `openblas_set_num_threads`, if the library has it.
    set_threads: Option<unsafe extern "C" fn(i32)>,
}

impl OpenBlas {
    /// Sets OpenBLAS's own thread count (if it can be set).
    fn use_threads(&self, n: usize) {
        if let Some(set) = self.set_threads {
            // SAFETY: OpenBLAS's `void openblas_set_num_threads(int)`.
            unsafe { set(n as i32) };
        }
    }

    fn load() -> Option<OpenBlas> {
        let path = std::env::var("EINKERN_OPENBLAS")
            .ok()
            .filter(|p| !p.is_empty())?;
        let path = CString::new(path).ok()?;
        // SAFETY: dlopen/dlsym with valid C strings; the symbols are
        // OpenBLAS's ILP64 CBLAS entry points and its thread setter, whose
        // C signatures the function types above spell out.
        unsafe {
            let lib = libc::dlopen(path.as_ptr(), libc::RTLD_NOW);
            if lib.is_null() {
                eprintln!("EINKERN_OPENBLAS: cannot load {path:?}");
                return None;
            }
            let d = libc::dlsym(lib, c"scipy_cblas_dgemm64_".as_ptr());
            let s = libc::dlsym(lib, c"scipy_cblas_sgemm64_".as_ptr());
            if d.is_null() || s.is_null() {
                eprintln!("EINKERN_OPENBLAS: no scipy_cblas_[ds]gemm64_ in {path:?}");
                return None;
            }
            let set = libc::dlsym(lib, c"scipy_openblas_set_num_threads64_".as_ptr());
            if set.is_null() && threads() > 1 {
                eprintln!("EINKERN_OPENBLAS: no scipy_openblas_set_num_threads64_; its threads are OPENBLAS_NUM_THREADS's");
            }
            let blas = OpenBlas {
                dgemm: std::mem::transmute::<*mut c_void, Gemm<f64>>(d),
                sgemm: std::mem::transmute::<*mut c_void, Gemm<f32>>(s),
                set_threads: (!set.is_null())
                    .then(|| std::mem::transmute::<*mut c_void, unsafe extern "C" fn(i32)>(set)),
            };
            blas.use_threads(threads());
            Some(blas)
        }
    }
}

/// A row-major `m × k` times `k × n` product by one peer, `b_t` if B is
/// given transposed (`n × k` row-major).
#[derive(Clone, Copy)]
struct Mm {
    m: usize,
    k: usize,
    n: usize,
    b_t: bool,
}

/// The float types the workloads use, with each peer's entry point.
trait Float: Element + faer::traits::ComplexField {
    fn one() -> Self;
    fn zero() -> Self;
    /// # Safety
    /// `a`, `b`, `c` hold the matrices `mm` describes.
    unsafe fn openblas(blas: &OpenBlas, mm: Mm, a: *const Self, b: *const Self, c: *mut Self);
}

macro_rules! impl_float {
    ($t:ty, $field:ident) => {
        impl Float for $t {
            fn one() -> Self {
                1.0
            }
            fn zero() -> Self {
                0.0
            }
            unsafe fn openblas(blas: &OpenBlas, mm: Mm, a: *const $t, b: *const $t, c: *mut $t) {
                let (tb, ldb) = if mm.b_t {
                    (TRANS, mm.k)
                } else {
                    (NO_TRANS, mm.n)
                };
                let (m, n, k) = (mm.m as i64, mm.n as i64, mm.k as i64);
                // SAFETY: the caller's guarantee.
                unsafe {
                    (blas.$field)(
                        ROW_MAJOR, NO_TRANS, tb, m, n, k, 1.0, a, k, b, ldb as i64, 0.0, c, n,
                    )
                };
            }
        }
    };
}
impl_float!(f64, dgemm);
impl_float!(f32, sgemm);

/// B's (row, column) strides in elements.
fn b_strides(mm: Mm) -> (isize, isize) {
    if mm.b_t {
        (1, mm.k as isize)
    } else {
        (mm.n as isize, 1)
    }
}

/// `batch` products `mm` into a fresh zeroed C, operands and outputs packed
/// one after another: `product(t, threads, c)` writes matrix `t` at `c`
/// using `threads` threads. With one thread, or one matrix, the products
/// run in turn on all [`threads`]; a batch on several threads is split by
/// matrix over the rayon pool, one thread per product, as einkern
/// parallelises batch first.
fn batched<T: Float>(
    batch: usize,
    mm: Mm,
    product: impl Fn(usize, usize, *mut T) + Sync,
) -> Vec<T> {
    let mut c = vec![T::zero(); batch * mm.m * mm.n];
    let size = mm.m * mm.n;
    if batch == 1 || threads() == 1 {
        for (t, ct) in c.chunks_mut(size).enumerate() {
            product(t, threads(), ct.as_mut_ptr());
        }
    } else {
        use rayon::prelude::*;
        c.par_chunks_mut(size)
            .enumerate()
            .for_each(|(t, ct)| product(t, 1, ct.as_mut_ptr()));
    }
    c
}

/// A pointer that may cross to rayon's threads: the operands are only read.
#[derive(Clone, Copy)]
struct Shared<T>(*const T);
// SAFETY: the pointee is read-only input that outlives every product.
unsafe impl<T> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The element `off` past the start (an address; read by the caller).
    fn at(self, off: usize) -> *const T {
        self.0.wrapping_add(off)
    }
}

/// [`batched`] with faer.
///
/// # Safety
/// `a`, `b` hold `batch` matrices each.
unsafe fn faer_batch<T: Float>(batch: usize, mm: Mm, a: *const T, b: *const T) -> Vec<T> {
    let (rsb, csb) = b_strides(mm);
    let (a, b) = (Shared(a), Shared(b));
    batched(batch, mm, |t, threads, c| {
        let par = match threads {
            1 => faer::Par::Seq,
            n => faer::Par::rayon(n),
        };
        // SAFETY: matrix t of each operand and of c, per the caller.
        unsafe {
            let a = faer::MatRef::<T>::from_raw_parts(
                a.at(t * mm.m * mm.k),
                mm.m,
                mm.k,
                mm.k as isize,
                1,
            );
            let b = faer::MatRef::<T>::from_raw_parts(b.at(t * mm.k * mm.n), mm.k, mm.n, rsb, csb);
            let c = faer::MatMut::<T>::from_raw_parts_mut(c, mm.m, mm.n, mm.n as isize, 1);
            faer::linalg::matmul::matmul(c, faer::Accum::Replace, a, b, T::one(), par);
        }
    })
}

/// [`batched`] with the gemm crate.
///
/// # Safety
/// As [`faer_batch`].
unsafe fn gemm_batch<T: Float>(batch: usize, mm: Mm, a: *const T, b: *const T) -> Vec<T> {
    let (rsb, csb) = b_strides(mm);
    let (a, b) = (Shared(a), Shared(b));
    batched(batch, mm, |t, threads, c| {
        let par = match threads {
            1 => gemm::Parallelism::None,
            n => gemm::Parallelism::Rayon(n),
        };
        // SAFETY: as in faer_batch. gemm takes (column, row) strides.
        unsafe {
            gemm::gemm(
                mm.m,
                mm.n,
                mm.k,
                c,
                1,
                mm.n as isize,
                false,
                a.at(t * mm.m * mm.k),
                1,
                mm.k as isize,
                b.at(t * mm.k * mm.n),
                csb,
                rsb,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                par,
            )
        };
    })
}

/// [`batched`] with OpenBLAS, its own threads set to the product's.
///
/// # Safety
/// As [`faer_batch`].
unsafe fn openblas_batch<T: Float>(
    blas: &OpenBlas,
    batch: usize,
    mm: Mm,
    a: *const T,
    b: *const T,
) -> Vec<T> {
    let split = batch > 1 && threads() > 1;
    if split {
        blas.use_threads(1);
    }
    let (a, b) = (Shared(a), Shared(b));
    let c = batched(batch, mm, |t, _, c| {
        // SAFETY: as in faer_batch.
        unsafe { T::openblas(blas, mm, a.at(t * mm.m * mm.k), b.at(t * mm.k * mm.n), c) };
    });
    if split {
        blas.use_threads(threads());
    }
    c
}

/// Calls every library once per round and prints each one's statistics.
fn race(workload: &str, rounds: usize, libs: &mut [(&str, &mut dyn FnMut())]) {
    for (_, f) in libs.iter_mut() {
        f();
    }
    let mut times = vec![Vec::with_capacity(rounds); libs.len()];
    for _ in 0..rounds {
        for ((_, f), t) in libs.iter_mut().zip(&mut times) {
            let start = Instant::now();
            f();
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let mut medians = Vec::new();
    for ((name, _), t) in libs.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let med = t[t.len() / 2];
        println!(
            "{workload:16} {name:9} min {:8.3} q1 {:8.3} median {:8.3}",
            t[0],
            t[t.len() / 4],
            med
        );
        medians.push(med);
    }
    let best_peer = medians[1..].iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{workload:16} einkern median / best peer median: {:.2}",
        medians[0] / best_peer
    );
}

/// einkern's `einsum!` call against the peers on `batch` products `mm`.
fn race_products<T: Float>(
    workload: &str,
    rounds: usize,
    blas: Option<&OpenBlas>,
    (batch, mm): (usize, Mm),
    (a, b): (&Array<T>, &Array<T>),
    einkern: &mut dyn FnMut(),
) {
    let (pa, pb) = (
        a.as_slice().expect("contiguous").as_ptr(),
        b.as_slice().expect("contiguous").as_ptr(),
    );
    // SAFETY (all three): a and b hold `batch` contiguous matrices `mm`.
    let mut faer = || drop(black_box(unsafe { faer_batch(batch, mm, pa, pb) }));
    let mut gemm = || drop(black_box(unsafe { gemm_batch(batch, mm, pa, pb) }));
    let mut libs: Vec<(&str, &mut dyn FnMut())> = vec![
        ("einkern", einkern),
        ("faer", &mut faer),
        ("gemm", &mut gemm),
    ];
    let mut openblas;
    if let Some(blas) = blas {
        openblas = move || {
            drop(black_box(unsafe {
                openblas_batch(blas, batch, mm, pa, pb)
            }))
        };
        libs.push(("openblas", &mut openblas));
    }
    race(workload, rounds, &mut libs);
}

fn uniform<T: Element>(shape: &[usize], seed: u64) -> Array<T> {
    random::uniform(shape, 0.0, 1.0, seed).expect("valid bounds")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let rounds: usize = arg("--rounds").map_or(30, |r| r.parse().expect("--rounds N"));
    let only: Vec<&str> = arg("--only").map_or(Vec::new(), |l| l.split(',').collect());
    let wants = |w: &str| only.is_empty() || only.contains(&w);
    let threads: usize = arg("--threads").map_or(1, |t| t.parse().expect("--threads N"));
    THREADS.store(threads.max(1), Ordering::Relaxed);
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build_global()
        .expect("the global rayon pool is built once, before any library uses it");
    let blas = OpenBlas::load();
    let blas = blas.as_ref();
    let square = |n| Mm {
        m: n,
        k: n,
        n,
        b_t: false,
    };
    // Two operands of the same shape, `batch` products `mm` of them.
    macro_rules! products {
        ($name:literal, $t:ty, $shape:expr, $spec:literal, $batch:expr, $mm:expr) => {
            if wants($name) {
                let (a, b) = (uniform::<$t>(&$shape, 1), uniform::<$t>(&$shape, 2));
                let mut e = || drop(black_box(einsum!($spec, &a, &b)));
                race_products($name, rounds, blas, ($batch, $mm), (&a, &b), &mut e);
            }
        };
    }
    products!(
        "matmul_f64_512",
        f64,
        [512, 512],
        "ij,jk->ik",
        1,
        square(512)
    );
    products!(
        "matmul_f32_1024",
        f32,
        [1024, 1024],
        "ij,jk->ik",
        1,
        square(1024)
    );
    products!(
        "bmm_f32_64x64",
        f32,
        [256, 64, 64],
        "bij,bjk->bik",
        256,
        square(64)
    );
    let attn = Mm {
        m: 128,
        k: 64,
        n: 128,
        b_t: true,
    };
    products!(
        "attn_scores_f32",
        f32,
        [4, 8, 128, 64],
        "bhqd,bhkd->bhqk",
        32,
        attn
    );
    // abcd,cdef->abef is a 576 × 576 × 576 product of the same buffers.
    products!(
        "tensor4_f64",
        f64,
        [24, 24, 24, 24],
        "abcd,cdef->abef",
        1,
        square(576)
    );
    if wants("chain3_f64") {
        let a = uniform::<f64>(&[64, 1024], 1);
        let b = uniform::<f64>(&[1024, 1024], 2);
        let c = uniform::<f64>(&[1024, 64], 3);
        let mut e = || drop(black_box(einsum!("ij,jk,kl->il", &a, &b, &c)));
        let (pa, pb, pc) = (
            a.as_slice().unwrap().as_ptr(),
            b.as_slice().unwrap().as_ptr(),
            c.as_slice().unwrap().as_ptr(),
        );
        let ab = Mm {
            m: 64,
            k: 1024,
            n: 1024,
            b_t: false,
        };
        let abc = Mm {
            m: 64,
            k: 1024,
            n: 64,
            b_t: false,
        };
        // (A·B)·C, the order NumPy's and opt_einsum's optimizers pick.
        // SAFETY (all three): the operands hold the matrices named.
        let mut faer = || {
            let t = unsafe { faer_batch(1, ab, pa, pb) };
            drop(black_box(unsafe { faer_batch(1, abc, t.as_ptr(), pc) }))
        };
        let mut gemm = || {
            let t = unsafe { gemm_batch(1, ab, pa, pb) };
            drop(black_box(unsafe { gemm_batch(1, abc, t.as_ptr(), pc) }))
        };
        let mut libs: Vec<(&str, &mut dyn FnMut())> = vec![
            ("einkern", &mut e),
            ("faer", &mut faer),
            ("gemm", &mut gemm),
        ];
        let mut openblas;
        if let Some(blas) = blas {
            openblas = move || {
                let t = unsafe { openblas_batch(blas, 1, ab, pa, pb) };
                drop(black_box(unsafe {
                    openblas_batch(blas, 1, abc, t.as_ptr(), pc)
                }))
            };
            libs.push(("openblas", &mut openblas));
        }
        race("chain3_f64", rounds, &mut libs);
    }
}

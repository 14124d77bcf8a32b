//! Differential tests: every kernel path against a naive triple loop.

use proptest::prelude::*;

use super::*;

/// Every kernel this CPU can run for `T`, with its default blocking and with
/// tiny blocking that forces several `mc`/`kc`/`nc` blocks on small sizes.
fn specs<T: GemmScalar>() -> Vec<(String, KernelSpec<T>)> {
    let mut isas = vec![Isa::Baseline];
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx2Fma);
        }
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            isas.push(Isa::Avx512);
        }
    }
    let mut out = Vec::new();
    for isa in isas {
        let spec = T::select(isa);
        out.push((format!("{isa:?}"), spec));
        // Tiny blocks, and always packed (the default reads small operands,
        // and K-contiguous B of any size, in place), so both operand paths
        // are covered.
        let tiny = Blocking {
            mc: 2 * spec.mr,
            kc: 5,
            nc: 2 * spec.nr,
            direct_bytes: 0,
        };
        out.push((
            format!("{isa:?}/tiny"),
            KernelSpec {
                blocking: tiny,
                reads_k_contiguous_b: false,
                ..spec
            },
        ));
        if spec.reads_k_contiguous_b {
            // Tiny blocks with a K-contiguous B read in place: several K
            // blocks and ragged panels over the unpacked operand.
            out.push((
                format!("{isa:?}/tiny-in-place"),
                KernelSpec {
                    blocking: tiny,
                    ..spec
                },
            ));
        }
    }
    out
}

/// A strided matrix inside a buffer padded on both sides; `base` is the
/// offset of element (0, 0), so negative strides stay in bounds.
struct Mat<T> {
    data: Vec<T>,
    base: isize,
    rs: isize,
    cs: isize,
}

/// Memory layouts the tests sweep (for a `rows × cols` matrix).
#[derive(Clone, Copy, Debug)]
enum Layout {
    RowMajor,
    ColMajor,
    /// A strided slice: every other row, columns 3 apart.
    Strided,
    /// Rows reversed (negative row stride), row-major.
    NegRows,
    /// Column-major with both strides negative.
    NegBoth,
    /// Every row the same (zero row stride): a broadcast operand.
    BroadcastRows,
}

const LAYOUTS: [Layout; 6] = [
    Layout::RowMajor,
    Layout::ColMajor,
    Layout::Strided,
    Layout::NegRows,
    Layout::NegBoth,
    Layout::BroadcastRows,
];

fn strides(layout: Layout, rows: usize, cols: usize) -> (isize, isize) {
    let (r, c) = (rows as isize, cols as isize);
    match layout {
        Layout::RowMajor => (c, 1),
        Layout::ColMajor => (1, r),
        Layout::Strided => (6 * c + 1, 3),
        Layout::NegRows => (-c, 1),
        Layout::NegBoth => (-1, -r),
        Layout::BroadcastRows => (0, 1),
    }
}

/// Small deterministic generator (tests must not depend on rand's API).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Values in [-1, 1) for floats; small integers in [-8, 8) for ints, so
    /// both exact and wrapping behaviour are exercised by the callers.
    fn value<T: GemmScalar>(&mut self) -> T {
        if T::DTYPE.is_float() {
            T::from_f64((self.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
        } else {
            T::from_f64(((self.next() >> 40) % 16) as f64 - 8.0)
        }
    }
}

impl<T: GemmScalar> Mat<T> {
    fn new(rows: usize, cols: usize, layout: Layout, fill: T, rng: &mut Rng) -> Self {
        let (rs, cs) = strides(layout, rows, cols);
        let ext = |s: isize, n: usize| s * (n.max(1) as isize - 1);
        let (lo, hi) = (
            ext(rs, rows).min(0) + ext(cs, cols).min(0),
            ext(rs, rows).max(0) + ext(cs, cols).max(0),
        );
        let pad = 7;
        let len = (hi - lo) as usize + 1 + 2 * pad;
        let mut data = vec![fill; len];
        let base = pad as isize - lo;
        for i in 0..rows {
            for j in 0..cols {
                data[(base + i as isize * rs + j as isize * cs) as usize] = rng.value();
            }
        }
        Mat { data, base, rs, cs }
    }
    fn at(&self, i: usize, j: usize) -> T {
        self.data[(self.base + i as isize * self.rs + j as isize * self.cs) as usize]
    }
    fn ptr(&self) -> *const T {
        // SAFETY: base is an index inside data.
        unsafe { self.data.as_ptr().offset(self.base) }
    }
    fn ptr_mut(&mut self) -> *mut T {
        // SAFETY: base is an index inside data.
        unsafe { self.data.as_mut_ptr().offset(self.base) }
    }
}

/// Checks `got` against the naive result: exact (wrapping) for integers; for
/// floats within a bound that scales with k and the magnitudes summed.
#[allow(clippy::too_many_arguments)]
fn check<T: GemmScalar>(
    what: &str,
    k: usize,
    alpha: T,
    a: &dyn Fn(usize, usize) -> T,
    b: &dyn Fn(usize, usize) -> T,
    beta: T,
    c0: &dyn Fn(usize, usize) -> T,
    got: &dyn Fn(usize, usize) -> T,
    (m, n): (usize, usize),
) {
    let eps = if T::DTYPE.size() == 4 {
        f32::EPSILON as f64
    } else {
        f64::EPSILON
    };
    for i in 0..m {
        for j in 0..n {
            let g = got(i, j);
            if T::DTYPE.is_float() {
                let (mut s, mut mag) = (0.0f64, 0.0f64);
                for p in 0..k {
                    let prod = a(i, p).to_f64() * b(p, j).to_f64();
                    s += prod;
                    mag += prod.abs();
                }
                let mut want = alpha.to_f64() * s;
                mag *= alpha.to_f64().abs();
                if beta != T::ZERO {
                    want += beta.to_f64() * c0(i, j).to_f64();
                    mag += (beta.to_f64() * c0(i, j).to_f64()).abs();
                }
                let tol = 4.0 * eps * (k as f64 + 2.0) * (mag + 1e-30);
                let ok = (g.to_f64() - want).abs() <= tol;
                assert!(ok, "{what}: C[{i},{j}] = {g} want {want} (tol {tol})");
            } else {
                let mut s = T::ZERO;
                for p in 0..k {
                    s = s.madd(a(i, p), b(p, j));
                }
                let mut want = T::ZERO.madd(alpha, s);
                if beta != T::ZERO {
                    want = want.madd(beta, c0(i, j));
                }
                assert_eq!(g, want, "{what}: C[{i},{j}]");
            }
        }
    }
}

/// One 2-D GEMM through `spec` against the naive loop. C starts NaN-filled
/// (or a garbage integer) when `beta == 0`.
#[allow(clippy::too_many_arguments)]
fn run_case<T: GemmScalar>(
    spec: &(String, KernelSpec<T>),
    (m, n, k): (usize, usize, usize),
    (la, lb, lc): (Layout, Layout, Layout),
    alpha: T,
    beta: T,
    seed: u64,
) {
    let mut rng = Rng(seed | 1);
    let garbage = T::from_f64(f64::NAN);
    let garbage = if T::DTYPE.is_float() {
        garbage
    } else {
        T::from_f64(123456.0)
    };
    let a = Mat::<T>::new(m, k, la, garbage, &mut rng);
    let b = Mat::<T>::new(k, n, lb, garbage, &mut rng);
    let mut c = Mat::<T>::new(m, n, lc, garbage, &mut rng);
    if beta == T::ZERO {
        for x in c.data.iter_mut() {
            *x = garbage;
        }
    }
    let c0 = Mat {
        data: c.data.clone(),
        ..c
    };
    let ao = Operand {
        ptr: a.ptr(),
        rows: Axis::Strided(a.rs),
        ks: Axis::Strided(a.cs),
    };
    let bo = Operand {
        ptr: b.ptr(),
        rows: Axis::Strided(b.cs),
        ks: Axis::Strided(b.rs),
    };
    let out = Out {
        ptr: c.ptr_mut(),
        m: Axis::Strided(c.rs),
        n: Axis::Strided(c.cs),
        epilogue: None,
    };
    // SAFETY: Mat::new made every addressed element part of its buffer; C's
    // layouts used here never repeat an address.
    unsafe { gemm_core(&spec.1, m, n, k, alpha, ao, bo, beta, out) };
    let what = format!(
        "{} {m}x{n}x{k} {la:?}/{lb:?}/{lc:?} alpha {alpha} beta {beta}",
        spec.0
    );
    check(
        &what,
        k,
        alpha,
        &|i, p| a.at(i, p),
        &|p, j| b.at(p, j),
        beta,
        &|i, j| c0.at(i, j),
        &|i, j| c.at(i, j),
        (m, n),
    );
    // Padding around C is untouched.
    for (idx, (x, y)) in c.data.iter().zip(&c0.data).enumerate() {
        let in_c = (0..m).any(|i| {
            (0..n).any(|j| (c.base + i as isize * c.rs + j as isize * c.cs) as usize == idx)
        });
        if !in_c {
            assert!(
                x == y || (x.to_f64().is_nan() && y.to_f64().is_nan()),
                "{what}: wrote outside C at {idx}"
            );
        }
    }
}

const C_LAYOUTS: [Layout; 5] = [
    Layout::RowMajor,
    Layout::ColMajor,
    Layout::Strided,
    Layout::NegRows,
    Layout::NegBoth,
];

fn boundary_sizes<T: GemmScalar>(spec: &KernelSpec<T>) -> Vec<usize> {
    let mut s = vec![0, 1, 2, 3, 5, 7, 13];
    for x in [spec.mr, spec.nr, 2 * spec.mr] {
        s.extend([x - 1, x, x + 1]);
    }
    s.sort_unstable();
    s.dedup();
    s
}

fn sweep_sizes<T: GemmScalar>(seed: u64) {
    for spec in specs::<T>() {
        let sizes = boundary_sizes(&spec.1);
        let mut case = seed;
        for &m in &sizes {
            for &n in &sizes {
                for &k in &[0usize, 1, 4, 5, 6, 11, 17] {
                    case += 1;
                    let la = LAYOUTS[case as usize % LAYOUTS.len()];
                    let lb = LAYOUTS[(case / 3) as usize % LAYOUTS.len()];
                    let lc = C_LAYOUTS[(case / 7) as usize % C_LAYOUTS.len()];
                    let (alpha, beta) = match case % 4 {
                        0 => (T::ONE, T::ZERO),
                        1 => (T::from_f64(2.0), T::ONE),
                        2 => (T::from_f64(-3.0), T::from_f64(2.0)),
                        _ => (T::ZERO, T::from_f64(-1.0)),
                    };
                    run_case(&spec, (m, n, k), (la, lb, lc), alpha, beta, case);
                }
            }
        }
    }
}

#[test]
fn f64_matches_naive_around_tile_and_block_edges() {
    sweep_sizes::<f64>(1);
}

#[test]
fn f32_matches_naive_around_tile_and_block_edges() {
    sweep_sizes::<f32>(2);
}

#[test]
fn i32_matches_naive_around_tile_and_block_edges() {
    sweep_sizes::<i32>(3);
}

#[test]
fn i64_matches_naive_around_tile_and_block_edges() {
    sweep_sizes::<i64>(4);
}

#[test]
fn every_layout_pair_and_beta_zero_with_nan_c() {
    for spec in specs::<f64>() {
        for la in LAYOUTS {
            for lb in LAYOUTS {
                for lc in C_LAYOUTS {
                    run_case(&spec, (37, 29, 23), (la, lb, lc), 1.5, 0.0, 11);
                }
            }
        }
    }
}

#[test]
fn large_sizes_cross_default_blocks() {
    // Default blocking: kc and mc boundaries are crossed by these sizes.
    for spec in specs::<f64>()
        .into_iter()
        .filter(|s| !s.0.ends_with("tiny"))
    {
        let Blocking { mc, kc, .. } = spec.1.blocking;
        run_case(
            &spec,
            (mc + 3, 2 * spec.1.nr + 5, kc + 1),
            (Layout::RowMajor, Layout::RowMajor, Layout::RowMajor),
            1.0,
            0.5,
            5,
        );
    }
    for spec in specs::<f32>()
        .into_iter()
        .filter(|s| !s.0.ends_with("tiny"))
    {
        let kc = spec.1.blocking.kc;
        run_case(
            &spec,
            (67, 131, kc + 9),
            (Layout::ColMajor, Layout::RowMajor, Layout::ColMajor),
            1.0,
            0.0,
            6,
        );
    }
}

#[test]
fn integer_products_wrap() {
    for spec in specs::<i32>() {
        let (m, n, k) = (5, 7, 3);
        let a = vec![i32::MAX; m * k];
        let b = vec![3i32; k * n];
        let mut c = vec![1i32; m * n];
        let ao = Operand {
            ptr: a.as_ptr(),
            rows: Axis::Strided(k as isize),
            ks: Axis::Strided(1),
        };
        let bo = Operand {
            ptr: b.as_ptr(),
            rows: Axis::Strided(1),
            ks: Axis::Strided(n as isize),
        };
        let out = Out {
            ptr: c.as_mut_ptr(),
            m: Axis::Strided(n as isize),
            n: Axis::Strided(1),
            epilogue: None,
        };
        // SAFETY: dense row-major buffers of the stated shapes.
        unsafe { gemm_core(&spec.1, m, n, k, 1, ao, bo, 1, out) };
        let want = i32::MAX.wrapping_mul(3).wrapping_mul(3).wrapping_add(1);
        assert!(c.iter().all(|&x| x == want), "{}: {c:?}", spec.0);
    }
}

#[test]
fn public_gemm_uses_the_selected_kernel() {
    // Under Miri (.ci/miri), sizes that still leave ragged 4×4 tiles.
    let (m, n, k) = if cfg!(miri) { (11, 7, 6) } else { (70, 50, 40) };
    let mut rng = Rng(9);
    let a: Vec<f32> = (0..m * k).map(|_| rng.value()).collect();
    let b: Vec<f32> = (0..k * n).map(|_| rng.value()).collect();
    let mut c = vec![f32::NAN; m * n];
    // SAFETY: dense row-major buffers of the stated shapes.
    unsafe {
        gemm(
            m,
            n,
            k,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            n as isize,
            1,
            0.0,
            c.as_mut_ptr(),
            n as isize,
            1,
        )
    };
    let at = |i: usize, p: usize| a[i * k + p];
    let bt = |p: usize, j: usize| b[p * n + j];
    check(
        "gemm",
        k,
        1.0,
        &at,
        &bt,
        0.0,
        &|_, _| 0.0,
        &|i, j| c[i * n + j],
        (m, n),
    );
}

/// Operands read in place from buffers exactly as long as their matrices:
/// after the last K step the portable kernel's A and B pointers lie past
/// the buffers (a column-major A panel starting at row 4 ends 4 elements
/// past its buffer), so stepping them must be wrapping arithmetic: with
/// `offset` it was UB, which Miri reports. Small enough to run under Miri.
#[test]
fn portable_kernel_steps_past_exact_in_place_operands_soundly() {
    let (m, n, k) = (9usize, 6usize, 5usize);
    // A column-major (a[i + p·m]); B row-major (b[p·n + j]) or
    // column-major (b[p + j·k]).
    let a: Vec<i32> = (0..m * k).map(|x| x as i32 - 20).collect();
    let b: Vec<i32> = (0..k * n).map(|x| 3 - x as i32).collect();
    for (name, spec) in specs::<i32>() {
        for b_col_major in [false, true] {
            let bat = |p: usize, j: usize| {
                if b_col_major {
                    b[p + j * k]
                } else {
                    b[p * n + j]
                }
            };
            let mut c = vec![0i32; m * n];
            let ao = Operand {
                ptr: a.as_ptr(),
                rows: Axis::Strided(1),
                ks: Axis::Strided(m as isize),
            };
            let bo = Operand {
                ptr: b.as_ptr(),
                rows: Axis::Strided(if b_col_major { k as isize } else { 1 }),
                ks: Axis::Strided(if b_col_major { 1 } else { n as isize }),
            };
            let out = Out {
                ptr: c.as_mut_ptr(),
                m: Axis::Strided(n as isize),
                n: Axis::Strided(1),
                epilogue: None,
            };
            // SAFETY: dense buffers of exactly the stated shapes and layouts.
            unsafe { gemm_core(&spec, m, n, k, 1, ao, bo, 0, out) };
            for i in 0..m {
                for j in 0..n {
                    let want: i32 = (0..k).map(|p| a[i + p * m] * bat(p, j)).sum();
                    assert_eq!(
                        c[i * n + j],
                        want,
                        "{name} B col-major {b_col_major} ({i}, {j})"
                    );
                }
            }
        }
    }
}

/// A K-contiguous B (each column a contiguous run of K, as in
/// `bhqd,bhkd->bhqk`) is read in place, its ragged last panel too. The
/// buffers are exactly as long as the matrices, so a read past the last
/// column is outside the allocation (valgrind reports it).
#[test]
fn k_contiguous_b_with_a_ragged_last_panel_is_read_within_bounds() {
    fn case<T: GemmScalar>(m: usize, n: usize, k: usize, seed: u64) {
        let mut rng = Rng(seed);
        let a: Vec<T> = (0..m * k).map(|_| rng.value()).collect();
        let b: Vec<T> = (0..n * k).map(|_| rng.value()).collect();
        let mut c = vec![T::ZERO; m * n];
        // SAFETY: A row-major m × k; B element (p, j) at j·k + p, inside
        // its n·k elements; C column-major m × n.
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
                1,
                k as isize,
                T::ZERO,
                c.as_mut_ptr(),
                1,
                m as isize,
            )
        };
        check(
            "k-contiguous B",
            k,
            T::ONE,
            &|i, p| a[i * k + p],
            &|p, j| b[j * k + p],
            T::ZERO,
            &|_, _| T::ZERO,
            &|i, j| c[i + j * m],
            (m, n),
        );
    }
    for n in [1, 4, 5, 7, 22, 23] {
        case::<f32>(16, n, 37, n as u64);
        case::<f64>(8, n, 37, n as u64);
        case::<f32>(33, n, 64, 100 + n as u64);
    }
}

/// Naive reference for a contraction: loops over every label.
fn naive_contraction(
    spec: &Contraction,
    a: &[f64],
    b: &[f64],
    beta: f64,
    c: &mut [f64],
    alpha: f64,
) {
    fn each(lens: &[usize], f: &mut dyn FnMut(&[usize])) {
        let total: usize = lens.iter().product();
        let mut idx = vec![0; lens.len()];
        for _ in 0..total {
            f(&idx);
            for d in (0..lens.len()).rev() {
                idx[d] += 1;
                if idx[d] < lens[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    let lens: Vec<usize> = spec
        .batch
        .iter()
        .map(|d| d.len)
        .chain(spec.m.iter().map(|d| d.len))
        .chain(spec.n.iter().map(|d| d.len))
        .collect();
    let klens: Vec<usize> = spec.k.iter().map(|d| d.len).collect();
    let (nb, nm) = (spec.batch.len(), spec.m.len());
    each(&lens, &mut |ix| {
        let (bi, rest) = ix.split_at(nb);
        let (mi, ni) = rest.split_at(nm);
        let dot = |it: &mut dyn Iterator<Item = isize>| it.sum::<isize>();
        let oa0 = dot(&mut bi
            .iter()
            .zip(&spec.batch)
            .map(|(&i, d)| i as isize * d.stride_a))
            + dot(&mut mi
                .iter()
                .zip(&spec.m)
                .map(|(&i, d)| i as isize * d.stride_a));
        let ob0 = dot(&mut bi
            .iter()
            .zip(&spec.batch)
            .map(|(&i, d)| i as isize * d.stride_b))
            + dot(&mut ni
                .iter()
                .zip(&spec.n)
                .map(|(&i, d)| i as isize * d.stride_b));
        let oc = dot(&mut bi
            .iter()
            .zip(&spec.batch)
            .map(|(&i, d)| i as isize * d.stride_c))
            + dot(&mut mi
                .iter()
                .zip(&spec.m)
                .map(|(&i, d)| i as isize * d.stride_c))
            + dot(&mut ni
                .iter()
                .zip(&spec.n)
                .map(|(&i, d)| i as isize * d.stride_c));
        let mut s = 0.0;
        each(&klens, &mut |ki| {
            let oa = oa0
                + dot(&mut ki
                    .iter()
                    .zip(&spec.k)
                    .map(|(&i, d)| i as isize * d.stride_a));
            let ob = ob0
                + dot(&mut ki
                    .iter()
                    .zip(&spec.k)
                    .map(|(&i, d)| i as isize * d.stride_b));
            s += a[oa as usize] * b[ob as usize];
        });
        let old = if beta == 0.0 {
            0.0
        } else {
            beta * c[oc as usize]
        };
        c[oc as usize] = alpha * s + old;
    });
}

/// C-order strides of a shape.
fn c_strides(shape: &[usize]) -> Vec<isize> {
    let mut s = vec![1isize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1] as isize;
    }
    s
}

/// Builds an einsum-like contraction over C-order operands: `labels` gives
/// each operand's label string, `len` each label's extent.
fn contraction_for(
    a: &str,
    b: &str,
    c: &str,
    len: &dyn Fn(char) -> usize,
) -> (Contraction, [usize; 3]) {
    let shape = |s: &str| s.chars().map(len).collect::<Vec<_>>();
    let (sa, sb, sc) = (
        c_strides(&shape(a)),
        c_strides(&shape(b)),
        c_strides(&shape(c)),
    );
    let st = |labels: &str, strides: &[isize], l: char| labels.find(l).map_or(0, |i| strides[i]);
    let mut spec = Contraction::default();
    let mut labels: Vec<char> = a.chars().chain(b.chars()).collect();
    labels.dedup();
    let mut seen = String::new();
    for l in labels {
        if seen.contains(l) {
            continue;
        }
        seen.push(l);
        let (ina, inb, inc) = (a.contains(l), b.contains(l), c.contains(l));
        let (x, y, z) = (st(a, &sa, l), st(b, &sb, l), st(c, &sc, l));
        match (ina, inb, inc) {
            (true, true, true) => spec.batch.push(BatchDim {
                len: len(l),
                stride_a: x,
                stride_b: y,
                stride_c: z,
            }),
            (true, false, true) => spec.m.push(MDim {
                len: len(l),
                stride_a: x,
                stride_c: z,
            }),
            (false, true, true) => spec.n.push(NDim {
                len: len(l),
                stride_b: y,
                stride_c: z,
            }),
            (true, true, false) => spec.k.push(KDim {
                len: len(l),
                stride_a: x,
                stride_b: y,
            }),
            _ => unreachable!("label {l} must appear in two operands"),
        }
    }
    let size = |s: &str| shape(s).iter().product::<usize>();
    (spec, [size(a), size(b), size(c)])
}

fn check_contraction(
    a: &str,
    b: &str,
    c: &str,
    len: &dyn Fn(char) -> usize,
    alpha: f64,
    beta: f64,
) {
    let (spec, sizes) = contraction_for(a, b, c, len);
    let mut rng = Rng(17);
    let av: Vec<f64> = (0..sizes[0]).map(|_| rng.value()).collect();
    let bv: Vec<f64> = (0..sizes[1]).map(|_| rng.value()).collect();
    let c0: Vec<f64> = (0..sizes[2])
        .map(|_| if beta == 0.0 { f64::NAN } else { rng.value() })
        .collect();
    let mut want = c0.clone();
    naive_contraction(&spec, &av, &bv, beta, &mut want, alpha);
    for ks in specs::<f64>() {
        let mut got = c0.clone();
        // SAFETY: the strides are C-order strides of the operands' shapes.
        unsafe {
            spec.run_with(
                &ks.1,
                alpha,
                av.as_ptr(),
                bv.as_ptr(),
                beta,
                got.as_mut_ptr(),
                None,
            )
        };
        let kk: usize = spec.k.iter().map(|d| d.len).product();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let tol = 8.0 * f64::EPSILON * (kk as f64 + 2.0) * (1.0 + w.abs()) * (kk as f64 + 1.0);
            assert!(
                (g - w).abs() <= tol,
                "{a},{b}->{c} {}: element {i}: {g} vs {w}",
                ks.0
            );
        }
    }
}

#[test]
fn contraction_tensor4_coalesces_and_matches_naive() {
    check_contraction("abcd", "cdef", "abef", &|_| 5, 1.0, 0.0);
}

#[test]
fn contraction_attention_scores_matches_naive() {
    let len = |l| match l {
        'b' => 2,
        'h' => 3,
        'q' => 19,
        'k' => 14,
        _ => 9,
    };
    check_contraction("bhqd", "bhkd", "bhqk", &len, 0.5, 2.0);
}

#[test]
fn contraction_with_non_nesting_groups_uses_tables() {
    // M = (i, j) appears transposed in C relative to A; K = (p, q) with q
    // outer in A but inner in B: no group collapses in every operand.
    let len = |l| match l {
        'i' => 5,
        'j' => 17,
        'p' => 3,
        'q' => 7,
        'b' => 2,
        _ => 13,
    };
    check_contraction("bqipj", "bpnq", "bjni", &len, 1.0, 0.0);
    check_contraction("iqjp", "pqn", "nji", &len, -1.0, 1.0);
}

#[test]
fn contraction_edge_groups() {
    // Outer product (empty K group), a scalar result (empty M and N), and a
    // zero-length K dimension (C = beta · C).
    check_contraction("ib", "jb", "ibj", &|_| 4, 1.0, 0.0);
    check_contraction("ab", "ab", "", &|_| 6, 1.0, 0.0);
    check_contraction(
        "ikb",
        "kjb",
        "bij",
        &|l| if l == 'k' { 0 } else { 3 },
        1.0,
        3.0,
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_f64_gemms_match_naive(
        m in 0usize..70, n in 0usize..40, k in 0usize..40,
        la in 0usize..6, lb in 0usize..6, lc in 0usize..5,
        ab in 0usize..4, which in 0usize..6, seed in any::<u64>(),
    ) {
        let specs = specs::<f64>();
        let spec = &specs[which % specs.len()];
        let (alpha, beta) = [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (1.0, -1.0)][ab];
        run_case(spec, (m, n, k), (LAYOUTS[la], LAYOUTS[lb], C_LAYOUTS[lc]), alpha, beta, seed);
    }

    #[test]
    fn random_f32_gemms_match_naive(
        m in 0usize..90, n in 0usize..30, k in 0usize..30,
        la in 0usize..6, lb in 0usize..6, lc in 0usize..5,
        which in 0usize..6, seed in any::<u64>(),
    ) {
        let specs = specs::<f32>();
        let spec = &specs[which % specs.len()];
        run_case(spec, (m, n, k), (LAYOUTS[la], LAYOUTS[lb], C_LAYOUTS[lc]), 1.0, 0.0, seed);
    }
}

/// Runs `f` inside a rayon pool of `threads` workers.
fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool")
        .install(f)
}

#[test]
fn threaded_gemm_is_bitwise_equal_to_single_threaded() {
    // Above PAR_MIN_WORK, so the 2- and 3-thread runs split the product.
    let (m, n, k) = (230, 190, 110);
    assert!(m * n * k >= PAR_MIN_WORK);
    let mut rng = Rng(21);
    let a: Vec<f64> = (0..m * k).map(|_| rng.value()).collect();
    let b: Vec<f64> = (0..k * n).map(|_| rng.value()).collect();
    let run = |threads: usize, col_major_c: bool| {
        with_threads(threads, || {
            let mut c = vec![f64::NAN; m * n];
            let (rsc, csc) = if col_major_c {
                (1, m as isize)
            } else {
                (n as isize, 1)
            };
            // SAFETY: dense buffers of the stated shapes; C's strides are a
            // permutation of a dense layout.
            unsafe {
                gemm(
                    m,
                    n,
                    k,
                    1.0,
                    a.as_ptr(),
                    k as isize,
                    1,
                    b.as_ptr(),
                    n as isize,
                    1,
                    0.0,
                    c.as_mut_ptr(),
                    rsc,
                    csc,
                )
            };
            c
        })
    };
    for col_major_c in [false, true] {
        let one = run(1, col_major_c);
        let at = |i: usize, p: usize| a[i * k + p];
        let bt = |p: usize, j: usize| b[p * n + j];
        let got = |i: usize, j: usize| {
            if col_major_c {
                one[i + j * m]
            } else {
                one[i * n + j]
            }
        };
        check(
            "single-threaded",
            k,
            1.0,
            &at,
            &bt,
            0.0,
            &|_, _| 0.0,
            &got,
            (m, n),
        );
        for threads in [2, 3] {
            let many = run(threads, col_major_c);
            assert!(
                one.iter()
                    .zip(&many)
                    .all(|(x, y)| x.to_bits() == y.to_bits()),
                "{threads} threads differ"
            );
        }
    }
}

#[test]
fn threaded_batches_match_naive_and_single_threaded() {
    let len = |l| match l {
        'b' => 6,
        'i' => 70,
        'j' => 90,
        _ => 130,
    };
    let (spec, sizes) = contraction_for("bik", "bkj", "bij", &len);
    let mut rng = Rng(5);
    let av: Vec<f64> = (0..sizes[0]).map(|_| rng.value()).collect();
    let bv: Vec<f64> = (0..sizes[1]).map(|_| rng.value()).collect();
    let mut want = vec![0.0; sizes[2]];
    naive_contraction(&spec, &av, &bv, 0.0, &mut want, 1.0);
    let run = |threads| {
        with_threads(threads, || {
            let mut got = vec![f64::NAN; sizes[2]];
            // SAFETY: C-order strides of the operands' shapes.
            unsafe { spec.run(1.0, av.as_ptr(), bv.as_ptr(), 0.0, got.as_mut_ptr()) };
            got
        })
    };
    let one = run(1);
    for (g, w) in one.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-12 * 130.0, "{g} vs {w}");
    }
    let two = run(2);
    assert!(one
        .iter()
        .zip(&two)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
}

/// Runs `a,b->c` with an epilogue `C ← 2·C + bias − other`, where `bias`
/// varies along C's last label only (zero strides elsewhere) and `other`
/// has C's shape laid out in F order (reversed strides), and checks every
/// element against the naive contraction put through the same formula: an
/// element the epilogue missed, or saw twice, is wrong.
fn check_epilogue(a: &str, b: &str, c: &str, len: &dyn Fn(char) -> usize, threads: usize) {
    let (spec, sizes) = contraction_for(a, b, c, len);
    let mut rng = Rng(29);
    let av: Vec<f64> = (0..sizes[0]).map(|_| rng.value()).collect();
    let bv: Vec<f64> = (0..sizes[1]).map(|_| rng.value()).collect();
    let mut want = vec![0.0; sizes[2]];
    naive_contraction(&spec, &av, &bv, 0.0, &mut want, 1.0);
    let shape: Vec<usize> = c.chars().map(len).collect();
    let cs = c_strides(&shape);
    // `other` in F order over C's labels; `bias` along C's last label.
    let mut fs = vec![1isize; shape.len()];
    for d in 1..shape.len() {
        fs[d] = fs[d - 1] * shape[d - 1] as isize;
    }
    let last = c.chars().last();
    let bias_len = last.map_or(1, len);
    let other: Vec<f64> = (0..sizes[2]).map(|_| rng.value()).collect();
    let bias: Vec<f64> = (0..bias_len).map(|_| rng.value()).collect();
    let label_of = |pos: usize| c.chars().nth(pos).expect("a label of C");
    let byte = |s: isize| s * 8;
    let strides_for = |l: char| {
        let pos = c.find(l).expect("an output label");
        let o = byte(fs[pos]);
        let bb = if Some(l) == last { 8 } else { 0 };
        (o, bb)
    };
    let mut other_s = [Vec::new(), Vec::new(), Vec::new()];
    let mut bias_s = [Vec::new(), Vec::new(), Vec::new()];
    // The contraction's dims, by their C strides, back to labels.
    let dims_c: [Vec<isize>; 3] = [
        spec.batch.iter().map(|d| d.stride_c).collect(),
        spec.m.iter().map(|d| d.stride_c).collect(),
        spec.n.iter().map(|d| d.stride_c).collect(),
    ];
    for g in 0..3 {
        for (di, &sc) in dims_c[g].iter().enumerate() {
            let lens: [Vec<usize>; 3] = [
                spec.batch.iter().map(|d| d.len).collect(),
                spec.m.iter().map(|d| d.len).collect(),
                spec.n.iter().map(|d| d.len).collect(),
            ];
            // The label whose C stride and length match this dim.
            let pos = (0..shape.len())
                .find(|&p| cs[p] == sc && shape[p] == lens[g][di])
                .expect("every C dim is a label of C");
            let (o, bb) = strides_for(label_of(pos));
            other_s[g].push(o);
            bias_s[g].push(bb);
        }
    }
    let inputs = vec![
        EpilogueInput::Output,
        EpilogueInput::Array {
            ptr: bias.as_ptr().cast(),
            batch: bias_s[0].clone(),
            m: bias_s[1].clone(),
            n: bias_s[2].clone(),
        },
        EpilogueInput::Array {
            ptr: other.as_ptr().cast(),
            batch: other_s[0].clone(),
            m: other_s[1].clone(),
            n: other_s[2].clone(),
        },
    ];
    let row = |len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| {
        for i in 0..len as isize {
            // SAFETY: the GEMM passes `len` valid elements per input.
            unsafe {
                let at = |k: usize| *(ins[k].offset(i * st[k]) as *const f64);
                *(out.offset(i * os) as *mut f64) = 2.0 * at(0) + at(1) - at(2);
            }
        }
    };
    let epilogue = Epilogue { inputs, row: &row };
    let got = with_threads(threads, || {
        let mut got = vec![f64::NAN; sizes[2]];
        // SAFETY: C-order operands; the epilogue's inputs cover C's shape.
        unsafe {
            spec.run_with_epilogue(
                1.0,
                av.as_ptr(),
                bv.as_ptr(),
                0.0,
                got.as_mut_ptr(),
                &epilogue,
            )
        };
        got
    });
    let kk: usize = spec.k.iter().map(|d| d.len).product();
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..sizes[2] {
        let oc: isize = idx.iter().zip(&cs).map(|(&i, &s)| i as isize * s).sum();
        let of: isize = idx.iter().zip(&fs).map(|(&i, &s)| i as isize * s).sum();
        let ob = idx.last().copied().unwrap_or(0);
        let w = 2.0 * want[oc as usize] + bias[ob] - other[of as usize];
        let g = got[oc as usize];
        let tol = 1e-13 * (kk as f64 + 1.0) * (1.0 + w.abs());
        assert!((g - w).abs() <= tol, "{a},{b}->{c} at {idx:?}: {g} vs {w}");
        for d in (0..idx.len()).rev() {
            idx[d] += 1;
            if idx[d] < shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

#[test]
fn epilogue_sees_every_element_once_with_its_inputs() {
    let len = |l| match l {
        'b' => 3,
        'i' => 37,
        'j' => 29,
        'p' => 3,
        'q' => 7,
        'n' => 11,
        _ => 23,
    };
    check_epilogue("ik", "kj", "ij", &len, 1);
    // C's columns are the tighter direction: computed as Cᵀ.
    check_epilogue("ik", "kj", "ji", &len, 1);
    check_epilogue("bik", "bkj", "bij", &len, 1);
    // Groups that do not nest: C and the inputs addressed through tables.
    check_epilogue("bqipj", "bpnq", "bjni", &len, 1);
    // An outer product (no K) and a zero-length K (C = 0, then the epilogue).
    check_epilogue("ib", "jb", "ibj", &len, 1);
    check_epilogue("ik", "kj", "ij", &|l| if l == 'k' { 0 } else { 5 }, 1);
}

#[test]
fn epilogue_runs_on_blocks_across_threads() {
    // Large enough to cross the default blocks (K included: the epilogue
    // must wait for the last K block) and to be split over threads, by
    // slabs and by batch elements.
    let len = |l| match l {
        'b' => 2,
        'i' => 300,
        'j' => 260,
        _ => 600,
    };
    check_epilogue("ik", "kj", "ij", &len, 2);
    check_epilogue("ik", "kj", "ji", &len, 2);
    check_epilogue("bik", "bkj", "bij", &len, 2);
}

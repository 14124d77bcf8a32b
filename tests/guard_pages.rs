//! The JIT's guarantee, tested with the hardware: compiled kernels and
//! `jit::einsum` never read or write outside the arrays they are given.
//!
//! Every input (and `eval_into`'s output) lives in its own anonymous mapping
//! whose neighbouring pages are `PROT_NONE`, placed flush against the guard
//! after it (first run) or before it (second run), so that an access one
//! element past either end of the view's byte span is a SIGSEGV, which kills
//! the test binary and so fails the test. Negative strides put the view's
//! origin at the top of its span, zero strides broadcast, permuted and
//! stepped strides make F-order and non-contiguous views. The results are
//! compared with the same computation on contiguous copies in ordinary
//! memory. `GUARD_PAGES_VERBOSE=1` prints each case to stderr before it runs
//! (uncaptured, so the last line names the case that faulted).
#![cfg(unix)]

use std::io::Write;

use einkern::{jit, Array, ArrayView, ArrayViewMut, DType, Element};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// An anonymous mapping of whole pages with a `PROT_NONE` page on each side.
struct Guarded {
    map: *mut u8,
    map_len: usize,
    /// The first and one-past-the-last accessible byte.
    lo: *mut u8,
    hi: *mut u8,
}

fn page_size() -> usize {
    // SAFETY: sysconf reads a constant of the system; no memory is touched.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(p).expect("a positive page size")
}

impl Guarded {
    /// At least `bytes` accessible bytes between two guard pages.
    fn new(bytes: usize) -> Guarded {
        let page = page_size();
        let usable = bytes.max(1).div_ceil(page) * page;
        let map_len = usable + 2 * page;
        // SAFETY: a fresh private anonymous mapping with no address hint
        // touches no existing memory.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(map, libc::MAP_FAILED, "mmap of {map_len} bytes failed");
        let map = map.cast::<u8>();
        // SAFETY: both pages lie inside the mapping just made, which nothing
        // else references yet.
        unsafe {
            assert_eq!(libc::mprotect(map.cast(), page, libc::PROT_NONE), 0);
            assert_eq!(
                libc::mprotect(map.add(page + usable).cast(), page, libc::PROT_NONE),
                0
            );
        }
        Guarded {
            map,
            map_len,
            // SAFETY: `page` and `page + usable` are inside (or one past the
            // end of the accessible part of) the mapping.
            lo: unsafe { map.add(page) },
            // SAFETY: as above.
            hi: unsafe { map.add(page + usable) },
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        // SAFETY: the mapping was made in `new`, and every view of it was
        // dropped before (they borrow the `Placed` that owns this).
        unsafe { libc::munmap(self.map.cast(), self.map_len) };
    }
}

/// How a view's strides are made from its shape.
#[derive(Clone, Debug)]
struct Layout {
    /// Axes from the fastest-varying in memory to the slowest (a
    /// permutation: identity reversed is C order, identity is F order).
    order: Vec<usize>,
    /// Gap factor per axis (1 contiguous, 2 or 3 skip elements).
    steps: Vec<usize>,
    /// Axes walked backwards (negative strides).
    flips: Vec<bool>,
    /// Axes with stride 0 (broadcast; only for read-only views).
    zeros: Vec<bool>,
}

impl Layout {
    fn strides(&self, shape: &[usize]) -> Vec<isize> {
        let mut strides = vec![0isize; shape.len()];
        let mut acc = 1usize;
        for &ax in &self.order {
            if self.zeros[ax] {
                continue;
            }
            let s = acc * self.steps[ax];
            strides[ax] = if self.flips[ax] {
                -(s as isize)
            } else {
                s as isize
            };
            acc = s * shape[ax].max(1);
        }
        strides
    }
}

/// Which end of its mapping a view is flush against.
#[derive(Clone, Copy, Debug)]
enum Flush {
    Start,
    End,
}

/// A view's memory: the mapping and the view's origin in it.
struct Placed<T> {
    /// Owns the mapping (unmapped on drop); views borrow `self`.
    _guard: Guarded,
    origin: *mut T,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl<T: Element> Placed<T> {
    /// Maps the byte span of `shape`/`strides` flush against `flush` and
    /// fills every element of it with `value(k)`.
    fn new(shape: &[usize], strides: &[isize], flush: Flush, value: impl Fn(usize) -> T) -> Self {
        let item = std::mem::size_of::<T>();
        let empty = shape.contains(&0);
        let (min, max) = if empty {
            (0, -1)
        } else {
            shape
                .iter()
                .zip(strides)
                .fold((0isize, 0isize), |(lo, hi), (&n, &s)| {
                    let reach = (n as isize - 1) * s;
                    (lo + reach.min(0), hi + reach.max(0))
                })
        };
        let count = (max - min + 1) as usize;
        let guard = Guarded::new(count * item);
        let low = match flush {
            // SAFETY: `count * item` bytes fit below `hi` (the mapping holds
            // at least that many); the result is `T`-aligned (page-aligned
            // `hi` minus a multiple of `item`).
            Flush::End => unsafe { guard.hi.sub(count * item) },
            Flush::Start => guard.lo,
        }
        .cast::<T>();
        for k in 0..count {
            // SAFETY: element `k` of the span lies in the accessible pages.
            unsafe { low.add(k).write(value(k)) };
        }
        // An empty view flush against the end has its origin on the guard page:
        // any access through it faults.
        // SAFETY: `-min` elements above `low` is the origin, inside the span.
        let origin = unsafe { low.offset(-min) };
        Placed {
            _guard: guard,
            origin,
            shape: shape.to_vec(),
            strides: strides.to_vec(),
        }
    }

    fn view(&self) -> ArrayView<'_, T> {
        // SAFETY: every element the shape and strides reach lies in the span
        // written in `new`, inside the mapping `self._guard` owns for as long
        // as the view borrows `self`; nothing writes it meanwhile. The span
        // is at most a few MB, so it obeys `check_extent`.
        unsafe { ArrayView::from_raw_parts(self.origin, &self.shape, &self.strides) }
    }

    fn view_mut(&mut self) -> ArrayViewMut<'_, T> {
        // SAFETY: as `view`, and exclusive through `&mut self`; the layout
        // of an output has no zero strides, so no two indices meet.
        unsafe { ArrayViewMut::from_raw_parts(self.origin, &self.shape, &self.strides) }
    }
}

fn say(line: std::fmt::Arguments<'_>) {
    if std::env::var_os("GUARD_PAGES_VERBOSE").is_some() {
        // Not `eprintln!`: the test harness captures that and loses it when
        // the process dies.
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// A small test value for element `k`: moderate floats (products of a few
/// thousand stay finite), small integers.
fn value<T: Element>(seed: u64, k: usize) -> T {
    let h = (k as u64 ^ seed)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17);
    if T::DTYPE.is_float() {
        T::from_f64(0.75 + (h % 1000) as f64 / 2000.0)
    } else {
        T::from_f64((h % 7) as f64 - 3.0)
    }
}

fn assert_close<T: Element>(got: &Array<T>, want: &Array<T>, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}: shapes");
    for (g, w) in got.iter().zip(want.iter()) {
        let (g, w) = (g.to_f64(), w.to_f64());
        // Reductions may sum in another order over another layout: f32
        // sums of ~10⁴ terms differ in the last few digits.
        let tol = match T::DTYPE {
            DType::F32 => 5e-3 * w.abs().max(1.0),
            DType::F64 => 1e-9 * w.abs().max(1.0),
            _ => 0.0,
        };
        let same = (g - w).abs() <= tol || (g.is_nan() && w.is_nan()) || g == w;
        assert!(same, "{what}: got {g}, expected {w}");
    }
}

/// One generated case: shapes, layouts, expression and placement.
#[derive(Clone, Debug)]
struct Case {
    x_shape: Vec<usize>,
    x_layout: Layout,
    /// `y`'s shape keeps x's trailing `y_ndim` axes, each as it is or 1.
    y_ndim: usize,
    y_ones: Vec<bool>,
    y_layout: Layout,
    out_layout: Layout,
    expr: usize,
    op: usize,
    axis: Option<isize>,
    keepdims: bool,
    seed: u64,
}

const ELEMENTWISE: [&str; 5] = [
    "x + y",
    "x * y - 2 * x",
    "abs(x - y) + y",
    "where(x > y, x, y) * 3",
    "x",
];
const FLOAT_ONLY: [&str; 3] = [
    "exp(-x * x) * y",
    "sqrt(abs(x)) + y / (abs(x) + 1)",
    "x / y",
];
const REDUCTIONS: [&str; 5] = ["sum", "prod", "max", "min", "mean"];

fn dim() -> impl Strategy<Value = usize> {
    prop_oneof![
        1 => Just(0usize),
        3 => Just(1usize),
        8 => 2usize..=7,
        3 => prop::sample::select(vec![11usize, 13, 31, 97]),
        1 => prop::sample::select(vec![1999usize, 4099]),
    ]
}

fn layout(ndim: usize, zeros: bool) -> impl Strategy<Value = Layout> {
    (
        Just((0..ndim).collect::<Vec<_>>()).prop_shuffle(),
        prop::collection::vec(prop_oneof![4 => Just(1usize), 1 => 2usize..=3], ndim),
        prop::collection::vec(prop::bool::weighted(0.3), ndim),
        prop::collection::vec(prop::bool::weighted(if zeros { 0.2 } else { 0.0 }), ndim),
    )
        .prop_map(|(order, steps, flips, zeros)| Layout {
            order,
            steps,
            flips,
            zeros,
        })
}

fn case() -> impl Strategy<Value = Case> {
    prop::collection::vec(dim(), 0..=4)
        .prop_map(|mut shape| {
            // Keep a case small enough for debug builds: at most ~40k elements.
            while shape.iter().product::<usize>() > 40_000 {
                let big = (0..shape.len()).max_by_key(|&k| shape[k]).unwrap();
                shape[big] = (shape[big] / 7).max(1);
            }
            shape
        })
        .prop_flat_map(|shape| {
            let n = shape.len();
            (
                Just(shape),
                layout(n, true),
                0..=n,
                prop::collection::vec(prop::bool::weighted(0.3), n),
                layout(n, true),
                layout(n, false),
                0usize..16,
                0usize..REDUCTIONS.len(),
                prop_oneof![
                    Just(None),
                    (-(n as isize).max(1)..(n as isize).max(1)).prop_map(Some)
                ],
                any::<bool>(),
                any::<u64>(),
            )
        })
        .prop_map(
            |(
                x_shape,
                x_layout,
                y_ndim,
                y_ones,
                y_layout,
                out_layout,
                expr,
                op,
                axis,
                keepdims,
                seed,
            )| Case {
                x_shape,
                x_layout,
                y_ndim,
                y_ones,
                y_layout,
                out_layout,
                expr,
                op,
                axis,
                keepdims,
                seed,
            },
        )
}

impl Case {
    fn y_shape(&self) -> Vec<usize> {
        let n = self.x_shape.len();
        (n - self.y_ndim..n)
            .map(|k| if self.y_ones[k] { 1 } else { self.x_shape[k] })
            .collect()
    }

    /// The expression for element type `T`: an elementwise one, or a
    /// reduction (of `x` or of `x * y`, alone or inside an elementwise one).
    fn expr<T: Element>(&self) -> String {
        let ops: Vec<&str> = if T::DTYPE.is_float() {
            ELEMENTWISE.iter().chain(&FLOAT_ONLY).copied().collect()
        } else {
            ELEMENTWISE.to_vec()
        };
        if self.expr < 8 {
            return ops[self.expr % ops.len()].to_string();
        }
        let op = match REDUCTIONS[self.op] {
            "mean" if !T::DTYPE.is_float() => "sum",
            op => op,
        };
        let mut args = String::new();
        if let Some(a) = self.axis {
            args += &format!(", axis={a}");
        }
        if self.keepdims {
            args += ", keepdims=True";
        }
        match self.expr % 4 {
            0 => format!("{op}(x{args})"),
            1 => format!("{op}(x * y{args})"),
            2 => format!("{op}(x - y{args}) + 1"),
            _ => format!("x - {op}(x{args}) * 2"),
        }
    }
}

/// Runs `case` for `T` with every view flush against `flush`: `eval` on the
/// guarded inputs, `eval_into` a guarded output, both against `eval` on
/// contiguous copies.
fn run_kernel<T: Element>(case: &Case, flush: Flush) {
    let expr = case.expr::<T>();
    let y_shape = case.y_shape();
    say(format_args!(
        "guard_pages: {} {expr:?} x {:?} y {:?} {flush:?} {case:?}",
        T::DTYPE,
        case.x_shape,
        y_shape
    ));
    let Ok(kernel) = jit::compile::<T>(&expr, &["x", "y"]) else {
        panic!("{expr:?} does not compile for {}", T::DTYPE);
    };
    let x = Placed::<T>::new(
        &case.x_shape,
        &case.x_layout.strides(&case.x_shape),
        flush,
        |k| value(case.seed, k),
    );
    // y's layout: its own memory order over x's trailing axes.
    let off = case.x_shape.len() - y_shape.len();
    let y_layout = Layout {
        order: case
            .y_layout
            .order
            .iter()
            .filter(|&&a| a >= off)
            .map(|&a| a - off)
            .collect(),
        steps: case.y_layout.steps[off..].to_vec(),
        flips: case.y_layout.flips[off..].to_vec(),
        zeros: case.y_layout.zeros[off..].to_vec(),
    };
    let y = Placed::<T>::new(&y_shape, &y_layout.strides(&y_shape), flush, |k| {
        value(case.seed ^ 0xABCD, k)
    });
    let (xc, yc) = (x.view().to_owned(), y.view().to_owned());
    let want = kernel.eval(&[xc.view(), yc.view()]);
    let got = kernel.eval(&[x.view(), y.view()]);
    match (&got, &want) {
        (Ok(g), Ok(w)) => assert_close(g, w, &expr),
        (Err(_), Err(_)) => return,
        _ => panic!("{expr:?}: guarded {got:?}, contiguous {want:?}"),
    }
    let want = want.unwrap();
    let shape = want.shape().to_vec();
    let out_layout = Layout {
        order: (0..shape.len()).rev().collect(),
        steps: vec![1; shape.len()],
        flips: vec![false; shape.len()],
        zeros: vec![false; shape.len()],
    };
    let out_layout = if shape.len() == case.x_shape.len() {
        case.out_layout.clone()
    } else {
        out_layout
    };
    let mut out = Placed::<T>::new(&shape, &out_layout.strides(&shape), flush, |_| {
        T::from_f64(-7.0)
    });
    kernel
        .eval_into(out.view_mut(), &[x.view(), y.view()])
        .unwrap_or_else(|e| panic!("{expr:?}: eval_into failed: {e}"));
    assert_close(&out.view().to_owned(), &want, &format!("{expr} into"));
}

const SPECS: [(&str, bool); 10] = [
    ("ij,jk->ik", true),
    ("ij,kj->ik", true),
    ("ij->j", false),
    ("ij->i", false),
    ("ij->ji", false),
    ("ii->i", false),
    ("ij->", false),
    ("i,i->", true),
    ("i,j->ij", true),
    ("bij,bjk->bik", true),
];

/// `jit::einsum` over guarded operands against contiguous copies.
fn run_einsum<T: Element>(case: &Case, flush: Flush) {
    let (spec, two) = SPECS[case.expr % SPECS.len()];
    let (ins, _) = spec.split_once("->").unwrap();
    let subs: Vec<&str> = ins.split(',').collect();
    // Sizes per label from x's dims (cycled), at most 97 so products stay small.
    let dims: Vec<usize> = (0..3)
        .map(|k| {
            let d = case.x_shape.get(k).copied().unwrap_or(k + 2);
            d.min(97)
        })
        .collect();
    let size = |c: char| match c {
        'i' | 'b' => dims[0],
        'j' => dims[1],
        _ => dims[2],
    };
    let shapes: Vec<Vec<usize>> = subs.iter().map(|s| s.chars().map(size).collect()).collect();
    say(format_args!(
        "guard_pages: einsum {} {spec} {shapes:?} {flush:?} {case:?}",
        T::DTYPE
    ));
    let layouts = [&case.x_layout, &case.y_layout];
    let placed: Vec<Placed<T>> = shapes
        .iter()
        .enumerate()
        .map(|(n, shape)| {
            let base = layouts[n % 2];
            let d = shape.len();
            let lay = Layout {
                order: (0..d).rev().collect(),
                steps: (0..d)
                    .map(|k| base.steps.get(k).copied().unwrap_or(1))
                    .collect(),
                flips: (0..d)
                    .map(|k| base.flips.get(k).copied().unwrap_or(false))
                    .collect(),
                zeros: (0..d)
                    .map(|k| base.zeros.get(k).copied().unwrap_or(false))
                    .collect(),
            };
            Placed::new(shape, &lay.strides(shape), flush, |k| {
                value(case.seed + n as u64, k)
            })
        })
        .collect();
    assert_eq!(placed.len(), if two { 2 } else { 1 });
    let views: Vec<ArrayView<T>> = placed.iter().map(Placed::view).collect();
    let copies: Vec<Array<T>> = views.iter().map(ArrayView::to_owned).collect();
    let copy_views: Vec<ArrayView<T>> = copies.iter().map(Array::view).collect();
    let got = jit::einsum(spec, &views);
    let want = jit::einsum(spec, &copy_views);
    match (got, want) {
        (Ok(g), Ok(w)) => assert_close(&g, &w, spec),
        (Err(_), Err(_)) => {}
        (g, w) => panic!("{spec}: guarded {g:?}, contiguous {w:?}"),
    }
}

fn run_all(case: &Case) {
    for flush in [Flush::End, Flush::Start] {
        run_kernel::<f32>(case, flush);
        run_kernel::<f64>(case, flush);
        run_kernel::<i32>(case, flush);
        run_kernel::<i64>(case, flush);
        run_einsum::<f64>(case, flush);
        run_einsum::<i32>(case, flush);
    }
}

fn config() -> Config {
    // PROPTEST_CASES, when set, overrides this (a few seconds in debug).
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn jit_kernels_stay_inside_guarded_arrays(case in case()) {
        run_all(&case);
    }
}

fn plain(ndim: usize) -> Layout {
    Layout {
        order: (0..ndim).rev().collect(),
        steps: vec![1; ndim],
        flips: vec![false; ndim],
        zeros: vec![false; ndim],
    }
}

/// Fixed cases at the edges every run sees: every reduction over each axis
/// and all axes, with and without keepdims, on a flipped F-order input with a
/// broadcast `y`; empty and one-element arrays; a long row.
#[test]
fn every_reduction_and_edge_shape_stays_inside() {
    let flipped = |n: usize| Layout {
        order: (0..n).collect(),
        steps: vec![1; n],
        flips: vec![true; n],
        zeros: vec![false; n],
    };
    let mut cases = Vec::new();
    for op in 0..REDUCTIONS.len() {
        for axis in [None, Some(0), Some(1), Some(-1)] {
            for keepdims in [false, true] {
                for expr in 8..12 {
                    cases.push(Case {
                        x_shape: vec![5, 13],
                        x_layout: flipped(2),
                        y_ndim: 1,
                        y_ones: vec![false, false],
                        y_layout: plain(2),
                        out_layout: flipped(2),
                        expr,
                        op,
                        axis,
                        keepdims,
                        seed: 1,
                    });
                }
            }
        }
    }
    for (x_shape, y_ndim) in [
        (vec![], 0),
        (vec![0], 1),
        (vec![1], 1),
        (vec![3, 0], 2),
        (vec![0, 4099], 1),
        (vec![4099], 1),
        (vec![1, 1, 1], 3),
    ] {
        for expr in [0, 5, 8, 11] {
            let n = x_shape.len();
            cases.push(Case {
                x_layout: flipped(n),
                y_ndim,
                y_ones: vec![false; n],
                y_layout: plain(n),
                out_layout: plain(n),
                expr,
                op: 0,
                axis: None,
                keepdims: false,
                seed: 2,
                x_shape: x_shape.clone(),
            });
        }
    }
    for case in &cases {
        run_all(case);
    }
}

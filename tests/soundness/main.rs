//! The soundness suite: every public constructor and geometry operation on
//! extreme inputs, then every entry point that consumes a view on what they
//! made. Each must give an `Err` or the right result: never a panic where
//! a `Result` is promised, a crash, a hang, or a view that reaches outside
//! its memory. CI runs it in debug and in release (overflow checks on and
//! off).
//!
//! - [`extremes`]: the tables of extreme lengths, strides and bounds.
//! - [`geometry`]: constructors and geometry operations, checked against
//!   the rule and against an independent model of NumPy's semantics.
//! - [`consumers`]: copies, iteration, display, assignment, `#[kernel]`,
//!   the JIT and einsum on the views `geometry` makes, and on the largest
//!   legal views.
//! - [`files`]: hostile `.npy` headers, in the library and in the CLI.
//!
//! Every check computes its expectation in `i128` from the raw pointer,
//! shape and strides, independently of the library's own arithmetic.

mod consumers;
mod extremes;
mod files;
mod geometry;

use einkern::{ArrayView, Element};

/// The element count of `shape`, exact below `i128::MAX` and saturated
/// there (an empty axis makes it 0 whatever its siblings).
pub fn count(shape: &[usize]) -> i128 {
    if shape.contains(&0) {
        return 0;
    }
    shape
        .iter()
        .fold(1i128, |acc, &d| acc.saturating_mul(d as i128))
}

/// Where a view's origin lies in `data`, in elements.
pub fn origin<T: Element>(v: &ArrayView<'_, T>, data: &[T]) -> i128 {
    let item = std::mem::size_of::<T>() as i128;
    let bytes = v.as_ptr() as usize as i128 - data.as_ptr() as usize as i128;
    assert_eq!(bytes % item, 0, "a view's origin is not on an element");
    bytes / item
}

/// The lowest and highest element offsets a non-empty view reaches,
/// relative to its origin.
pub fn span(shape: &[usize], strides: &[isize]) -> (i128, i128) {
    shape
        .iter()
        .zip(strides)
        .fold((0, 0), |(lo, hi), (&d, &s)| {
            let reach = (d as i128 - 1) * s as i128;
            (lo + reach.min(0), hi + reach.max(0))
        })
}

/// Asserts that a view the library made over `data` is sound: it obeys the
/// construction rule (its size and its span in bytes fit in `isize`) and
/// every element it can reach lies inside `data`.
#[track_caller]
pub fn assert_sound<T: Element>(v: &ArrayView<'_, T>, data: &[T], what: &str) {
    let item = std::mem::size_of::<T>() as i128;
    assert_eq!(v.shape().len(), v.strides().len(), "{what}: axes");
    let n = count(v.shape());
    assert!(
        n.saturating_mul(item) <= isize::MAX as i128,
        "{what}: shape {:?} of {item}-byte elements exists but its size overflows isize",
        v.shape()
    );
    if n == 0 {
        return;
    }
    let (lo, hi) = span(v.shape(), v.strides());
    assert!(
        (hi - lo) * item <= isize::MAX as i128,
        "{what}: strides {:?} span more than isize bytes",
        v.strides()
    );
    let o = origin(v, data);
    assert!(
        o + lo >= 0 && o + hi < data.len() as i128,
        "{what}: shape {:?} strides {:?} at element {o} reaches {}..={} outside {} elements",
        v.shape(),
        v.strides(),
        o + lo,
        o + hi,
        data.len()
    );
}

/// The elements of a sound, small view over `data` in C order, read by
/// index arithmetic of our own.
pub fn elements<T: Element>(v: &ArrayView<'_, T>, data: &[T]) -> Vec<T> {
    let n = count(v.shape()) as usize;
    let o = origin(v, data);
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; v.ndim()];
    for _ in 0..n {
        let off: i128 = index
            .iter()
            .zip(v.strides())
            .map(|(&i, &s)| i as i128 * s as i128)
            .sum();
        out.push(data[(o + off) as usize]);
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < v.shape()[k] {
                break;
            }
            index[k] = 0;
        }
    }
    out
}

/// Views small enough to check element by element.
pub const SMALL: i128 = 4096;

/// The data every base view looks into: `0, 1, 2, ...` (exact in every
/// element type).
pub fn data<T: Element>(n: usize) -> Vec<T> {
    (0..n).map(|k| T::from_f64(k as f64)).collect()
}

/// Base views of every layout over 64 elements: C and F order, reversed,
/// sliced, broadcast (zero stride), 1-d, 0-d, empty, and a length-1 axis
/// carrying a huge stride.
pub fn bases<T: Element>(data: &[T]) -> Vec<(String, ArrayView<'_, T>)> {
    let cases: [(&str, &[usize], &[isize], usize); 9] = [
        ("C (4, 4, 4)", &[4, 4, 4], &[16, 4, 1], 0),
        ("F (4, 4, 4)", &[4, 4, 4], &[1, 4, 16], 0),
        ("reversed (4, 4, 4)", &[4, 4, 4], &[-16, -4, -1], 63),
        ("sliced (2, 4)", &[2, 4], &[32, 2], 1),
        ("zero stride (3, 5)", &[3, 5], &[0, 1], 2),
        ("1-d (64,)", &[64], &[1], 0),
        ("0-d ()", &[], &[], 5),
        ("empty (0, 4)", &[0, 4], &[4, 1], 0),
        ("huge stride (1, 3)", &[1, 3], &[isize::MAX, 1], 0),
    ];
    cases
        .iter()
        .map(|&(name, shape, strides, offset)| {
            let v = ArrayView::as_strided(data, shape, strides, offset)
                .unwrap_or_else(|e| panic!("base {name}: {e}"));
            (name.to_string(), v)
        })
        .collect()
}

/// Runs `f` and returns its panic message, if it panicked.
pub fn panic_message(f: impl FnOnce() + std::panic::UnwindSafe) -> Option<String> {
    std::panic::catch_unwind(f).err().map(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

//! NumPy-style slicing: the [`s!`](crate::s) macro and what it builds.
//!
//! `s![.., 2..8;2, -1, NewAxis]` is `a[:, 2:8:2, -1, np.newaxis]`. Ranges
//! follow Python: bounds may be negative (counted from the end), they clamp to
//! the axis, and a negative step walks backwards (`..;-1` reverses). An
//! integer index drops its axis and must be in range.

use std::ops::{Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// Inserts a new axis of length 1 (NumPy's `np.newaxis`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewAxis;

/// One entry of a slice expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceElem {
    /// `start:end:step` on one axis; `None` bounds mean "from the edge".
    Range {
        start: Option<isize>,
        end: Option<isize>,
        step: isize,
    },
    /// A single position; the axis is removed.
    Index(isize),
    /// An index whose value does not fit in `isize` (`s![usize::MAX]`):
    /// out of bounds for every axis, since no axis is longer than
    /// `isize::MAX`, so slicing with it is an index error naming the value
    /// (a cast would have made `usize::MAX` mean -1, the last element).
    IndexOutOfRange(i128),
    /// A new axis of length 1.
    NewAxis,
}

impl SliceElem {
    /// The same range with another step (`s![a..b;step]`). Has no effect on
    /// an index or a new axis, which `s!` never gives a step.
    pub fn step_by(self, step: isize) -> Self {
        match self {
            SliceElem::Range { start, end, .. } => SliceElem::Range { start, end, step },
            other => other,
        }
    }
}

/// A whole slice expression: one [`SliceElem`] per entry of `s![...]`.
/// Axes not mentioned at the end are taken whole.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SliceInfo {
    pub elems: Vec<SliceElem>,
}

impl SliceInfo {
    pub fn new(elems: Vec<SliceElem>) -> Self {
        SliceInfo { elems }
    }
}

impl From<Vec<SliceElem>> for SliceInfo {
    fn from(elems: Vec<SliceElem>) -> Self {
        SliceInfo { elems }
    }
}

impl From<&[SliceElem]> for SliceInfo {
    fn from(elems: &[SliceElem]) -> Self {
        SliceInfo {
            elems: elems.to_vec(),
        }
    }
}

impl<const N: usize> From<[SliceElem; N]> for SliceInfo {
    fn from(elems: [SliceElem; N]) -> Self {
        SliceInfo {
            elems: elems.to_vec(),
        }
    }
}

impl From<RangeFull> for SliceElem {
    fn from(_: RangeFull) -> Self {
        SliceElem::Range {
            start: None,
            end: None,
            step: 1,
        }
    }
}

impl From<NewAxis> for SliceElem {
    fn from(_: NewAxis) -> Self {
        SliceElem::NewAxis
    }
}

/// The integer types a slice bound, index or step may have, converted to
/// `isize` without ever changing their meaning (never with `as`, which made
/// `usize::MAX` mean -1 and `..=isize::MAX` wrap to an empty range).
pub trait SliceInt: Copy {
    /// The value, if it fits in `isize`.
    fn exact(self) -> Option<isize>;
    /// The value as an `i128`, for error messages.
    fn wide(self) -> i128;
    /// The value, or the end of `isize` on its side when it does not fit.
    /// No axis is longer than `isize::MAX`, so for a bound (which clamps to
    /// the axis) and for a step (which, that large, leaves one element)
    /// this keeps Python's meaning exactly.
    fn saturate(self) -> isize {
        self.exact().unwrap_or(if self.wide() < 0 {
            isize::MIN
        } else {
            isize::MAX
        })
    }
}

macro_rules! slice_int {
    ($($t:ty),*) => {$(
        impl SliceInt for $t {
            #[inline]
            fn exact(self) -> Option<isize> {
                isize::try_from(self).ok()
            }
            #[inline]
            fn wide(self) -> i128 {
                // Lossless for every type but u128 above i128::MAX, which
                // saturates (its sign, all `saturate` looks at, is kept).
                i128::try_from(self).unwrap_or(i128::MAX)
            }
        }
    )*};
}
slice_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

/// An index: out of range when it does not fit in `isize`.
fn index_of(i: impl SliceInt) -> SliceElem {
    match i.exact() {
        Some(i) => SliceElem::Index(i),
        None => SliceElem::IndexOutOfRange(i.wide()),
    }
}

/// The exclusive end of an inclusive range ending at `e`: Python has no
/// inclusive range; `a..=-1` means "to the last element inclusive", so an
/// inclusive end of -1 is open, and so is one past whose successor no axis
/// reaches (`..=isize::MAX`, `..=usize::MAX`).
fn inclusive_end(e: impl SliceInt) -> Option<isize> {
    match e.exact() {
        Some(-1) => None,
        Some(e) => e.checked_add(1),
        None if e.wide() < 0 => Some(isize::MIN),
        None => None,
    }
}

/// The step of `s![..;step]`, for the macro: see [`SliceInt::saturate`].
#[doc(hidden)]
pub fn step_of(step: impl SliceInt) -> isize {
    step.saturate()
}

macro_rules! slice_elem_from_ints {
    ($($t:ty),*) => {$(
        impl From<$t> for SliceElem {
            fn from(i: $t) -> Self {
                index_of(i)
            }
        }
        impl From<Range<$t>> for SliceElem {
            fn from(r: Range<$t>) -> Self {
                SliceElem::Range { start: Some(r.start.saturate()), end: Some(r.end.saturate()), step: 1 }
            }
        }
        impl From<RangeFrom<$t>> for SliceElem {
            fn from(r: RangeFrom<$t>) -> Self {
                SliceElem::Range { start: Some(r.start.saturate()), end: None, step: 1 }
            }
        }
        impl From<RangeTo<$t>> for SliceElem {
            fn from(r: RangeTo<$t>) -> Self {
                SliceElem::Range { start: None, end: Some(r.end.saturate()), step: 1 }
            }
        }
        impl From<RangeInclusive<$t>> for SliceElem {
            fn from(r: RangeInclusive<$t>) -> Self {
                SliceElem::Range { start: Some(r.start().saturate()), end: inclusive_end(*r.end()), step: 1 }
            }
        }
        impl From<RangeToInclusive<$t>> for SliceElem {
            fn from(r: RangeToInclusive<$t>) -> Self {
                SliceElem::Range { start: None, end: inclusive_end(r.end), step: 1 }
            }
        }
    )*};
}
slice_elem_from_ints!(i32, i64, isize, usize, u32);

/// Builds a [`SliceInfo`]: `s![.., 1..;2, -1, NewAxis]`.
///
/// Each comma-separated entry is a range (`a..b`, `a..`, `..b`, `..`,
/// `a..=b`), optionally followed by `;step`, an integer index, or `NewAxis`.
/// Values of any integer type keep their meaning: bounds and steps beyond
/// `isize` clamp as Python's do, and an index beyond `isize` is an error
/// when the slice is applied (never a reinterpretation as a negative one).
#[macro_export]
macro_rules! s {
    (@acc [$($acc:expr,)*]) => {
        $crate::SliceInfo::new(vec![$($acc,)*])
    };
    (@acc [$($acc:expr,)*] $r:expr ; $step:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($acc,)* $crate::SliceElem::from($r).step_by($crate::slice::step_of($step)),] $($rest)*)
    };
    (@acc [$($acc:expr,)*] $r:expr ; $step:expr) => {
        $crate::s!(@acc [$($acc,)* $crate::SliceElem::from($r).step_by($crate::slice::step_of($step)),])
    };
    (@acc [$($acc:expr,)*] $e:expr , $($rest:tt)*) => {
        $crate::s!(@acc [$($acc,)* $crate::SliceElem::from($e),] $($rest)*)
    };
    (@acc [$($acc:expr,)*] $e:expr) => {
        $crate::s!(@acc [$($acc,)* $crate::SliceElem::from($e),])
    };
    ($($t:tt)*) => {
        $crate::s!(@acc [] $($t)*)
    };
}

/// Python's `slice.indices(len)`: resolves a range against an axis of
/// length `len` to `(start, count, step)`, clamping out-of-range bounds.
pub(crate) fn resolve_range(
    start: Option<isize>,
    end: Option<isize>,
    step: isize,
    len: usize,
) -> (isize, usize) {
    let len = len as isize;
    let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let clamp = |b: isize| {
        if b < 0 {
            (b + len).max(lower)
        } else {
            b.min(upper)
        }
    };
    let start = start.map_or(if step < 0 { upper } else { lower }, clamp);
    let end = end.map_or(if step < 0 { lower } else { upper }, clamp);
    // `start` and `end` are clamped to the axis, so their difference is
    // small; dividing before adding keeps any step (even `isize::MIN`,
    // whose negation overflows) from overflowing.
    let count = if step > 0 && end > start {
        (end - start - 1) as usize / step.unsigned_abs() + 1
    } else if step < 0 && start > end {
        (start - end - 1) as usize / step.unsigned_abs() + 1
    } else {
        0
    };
    (start, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's list slicing, written out naively, as the oracle.
    fn python(start: Option<isize>, end: Option<isize>, step: isize, len: usize) -> Vec<isize> {
        let (s, n) = resolve_range(start, end, step, len);
        (0..n as isize).map(|k| s + k * step).collect()
    }

    #[test]
    fn ranges_resolve_like_python() {
        // Values checked against CPython's range(10)[a:b:c].
        assert_eq!(python(Some(2), Some(8), 2, 10), vec![2, 4, 6]);
        assert_eq!(python(None, None, -1, 4), vec![3, 2, 1, 0]);
        assert_eq!(python(Some(-3), None, 1, 10), vec![7, 8, 9]);
        assert_eq!(python(Some(8), Some(2), -3, 10), vec![8, 5]);
        assert_eq!(python(Some(-100), Some(100), 1, 3), vec![0, 1, 2]);
        assert_eq!(python(Some(5), Some(1), 1, 10), Vec::<isize>::new());
        assert_eq!(python(None, Some(-100), -1, 3), vec![2, 1, 0]);
        assert_eq!(python(Some(100), None, -2, 5), vec![4, 2, 0]);
        assert_eq!(python(None, None, 1, 0), Vec::<isize>::new());
    }

    #[test]
    fn the_macro_builds_what_it_says() {
        let last = -1;
        let s = s![.., 2..8;2, -1, NewAxis, ..;-1, 1..=last];
        assert_eq!(
            s.elems,
            vec![
                SliceElem::Range {
                    start: None,
                    end: None,
                    step: 1
                },
                SliceElem::Range {
                    start: Some(2),
                    end: Some(8),
                    step: 2
                },
                SliceElem::Index(-1),
                SliceElem::NewAxis,
                SliceElem::Range {
                    start: None,
                    end: None,
                    step: -1
                },
                SliceElem::Range {
                    start: Some(1),
                    end: None,
                    step: 1
                },
            ]
        );
        let i = 3usize;
        assert_eq!(s![i].elems, vec![SliceElem::Index(3)]);
        assert_eq!(s![].elems, vec![]);
    }
}

//! Shapes and strides: the arithmetic every view operation is built from.
//!
//! Strides are in elements (`isize`): negative after a reversed slice, zero
//! after broadcasting. Nothing here touches memory; it only decides where
//! elements are and whether a layout is legal.

use crate::error::Error;

/// Memory order of a freshly allocated array.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Order {
    /// Row-major: the last axis varies fastest (NumPy's default).
    #[default]
    C,
    /// Column-major: the first axis varies fastest (Fortran, BLAS).
    F,
}

/// Number of elements of `shape`, or `None` if it overflows `usize`. An
/// empty axis makes it 0 whatever its siblings: `(0, 2^40, 2^40)` is empty,
/// not an overflow.
pub fn checked_size(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Number of elements of `shape`, or a shape error naming it.
pub fn size_of(shape: &[usize]) -> Result<usize, Error> {
    check_dims(shape)?;
    checked_size(shape)
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| Error::shape(format!("shape {} has too many elements", fmt_shape(shape))))
}

/// Every axis length fits in `isize`, even in an empty shape whose size is
/// 0 (NumPy: "Maximum allowed dimension exceeded"), so that an axis length
/// can be an index or an offset (`len as isize`) without changing sign.
fn check_dims(shape: &[usize]) -> Result<(), Error> {
    match shape.iter().position(|&d| d > isize::MAX as usize) {
        None => Ok(()),
        Some(axis) => Err(Error::shape(format!(
            "shape {} has too many elements: axis {axis} has length {}, more than isize::MAX",
            fmt_shape(shape),
            shape[axis]
        ))),
    }
}

/// **The one rule of every array and view einkern makes**, checked when it
/// is made: its element count times the element size fits in `isize`, and
/// so does the byte distance between the lowest and the highest element it
/// can reach, and so does every axis length (even when another axis is 0).
/// This is Rust's own limit for one allocation and NumPy's for one array
/// (`size * itemsize <= intp max`, broadcast views included).
///
/// Every view constructor and geometry operation goes through it (views
/// through [`crate::ArrayView`]'s and [`crate::ArrayViewMut`]'s one
/// `with` each, owned arrays through their allocation, files through the
/// `.npy` header before any allocation). So for an existing view, the
/// element count, any index times its stride and any sum of such offsets
/// fit in `isize`, and the kernels that address it unchecked cannot
/// overflow. Code downstream still multiplies extents with the checked
/// helpers of this module ([`checked_size`], [`size_of`], [`bytes_of`]),
/// so that a broken invariant is an error rather than a wrapped size.
///
/// Returns the element count.
pub fn check_extent(shape: &[usize], strides: &[isize], item: usize) -> Result<usize, Error> {
    check_one_stride_per_axis(shape, strides)?;
    let n = bytes_of(shape, item)? / item.max(1);
    if n == 0 {
        return Ok(0);
    }
    let span = shape
        .iter()
        .zip(strides)
        .try_fold(0usize, |acc, (&d, &s)| {
            (d - 1)
                .checked_mul(s.unsigned_abs())?
                .checked_mul(item.max(1))
                .and_then(|b| acc.checked_add(b))
        })
        .filter(|&b| b <= isize::MAX as usize);
    match span {
        Some(_) => Ok(n),
        None => Err(Error::shape(format!(
            "a view of shape {} with strides {strides:?} spans more bytes than fit in isize \
             ({item}-byte elements)",
            fmt_shape(shape)
        ))),
    }
}

/// An error unless `strides` has one entry per axis of `shape`.
pub fn check_one_stride_per_axis(shape: &[usize], strides: &[isize]) -> Result<(), Error> {
    if shape.len() == strides.len() {
        return Ok(());
    }
    Err(Error::shape(format!(
        "shape {} has {} axes but {} strides were given",
        fmt_shape(shape),
        shape.len(),
        strides.len()
    )))
}

/// The size in bytes of `shape`'s elements of `item` bytes each, or a shape
/// error when it does not fit in `isize` (no array can hold them).
pub fn bytes_of(shape: &[usize], item: usize) -> Result<usize, Error> {
    check_dims(shape)?;
    checked_size(shape)
        .and_then(|n| n.checked_mul(item.max(1)))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::shape(format!(
                "shape {} has too many elements: their size in bytes ({item} each) does not fit in isize",
                fmt_shape(shape)
            ))
        })
}

/// Contiguous strides for `shape` in `order`. Axes of length 0 or 1 still
/// get the stride they would have if they were longer, as NumPy does.
pub fn contiguous_strides(shape: &[usize], order: Order) -> Vec<isize> {
    let mut strides = vec![0isize; shape.len()];
    let mut acc: isize = 1;
    // Wrapping: for a shape an array may have the product fits (it is at
    // most the element count); only an empty shape with huge siblings can
    // wrap, and its strides address nothing.
    let mut set = |i: usize| {
        strides[i] = acc;
        acc = acc.wrapping_mul(shape[i].max(1) as isize);
    };
    match order {
        Order::C => (0..shape.len()).rev().for_each(&mut set),
        Order::F => (0..shape.len()).for_each(&mut set),
    }
    strides
}

/// NumPy's C_CONTIGUOUS flag: an empty array is contiguous, and axes of
/// length 1 are ignored (their stride is never used to address memory).
pub fn is_c_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    is_contiguous_in(shape, strides, (0..shape.len()).rev())
}

/// NumPy's F_CONTIGUOUS flag, the mirror image of [`is_c_contiguous`].
pub fn is_f_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    is_contiguous_in(shape, strides, 0..shape.len())
}

fn is_contiguous_in(
    shape: &[usize],
    strides: &[isize],
    fastest_first: impl Iterator<Item = usize>,
) -> bool {
    if shape.contains(&0) {
        return true;
    }
    let mut expected: isize = 1;
    for i in fastest_first {
        if shape[i] == 1 {
            continue;
        }
        if strides[i] != expected {
            return false;
        }
        // The running product is at most the element count, which fits
        // for any view (check_extent); saturating keeps a broken invariant
        // from wrapping into a false match.
        expected = expected.saturating_mul(shape[i] as isize);
    }
    true
}

/// The lowest and highest element offsets a view can reach, relative to its
/// first element; `None` for an empty view (it reaches nothing).
pub fn offset_bounds(shape: &[usize], strides: &[isize]) -> Option<(isize, isize)> {
    if shape.contains(&0) {
        return None;
    }
    // Unchecked: these are distances inside the view, which fit in isize
    // for any view that exists (check_extent bounds its byte span).
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&d, &s) in shape.iter().zip(strides) {
        let span = (d as isize - 1) * s;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    Some((lo, hi))
}

/// Offset of multi-index `index` (assumed in bounds): a distance inside
/// the view, so it fits in isize ([`check_extent`]).
#[inline]
pub fn offset_of(index: &[usize], strides: &[isize]) -> isize {
    index
        .iter()
        .zip(strides)
        .map(|(&i, &s)| i as isize * s)
        .sum()
}

/// Formats a shape the way NumPy prints a tuple: `(3,)`, `(2, 3)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// The shape that `a` and `b` broadcast to, by NumPy's rules: align from the
/// last axis; two sizes agree when equal or when one of them is 1.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, Error> {
    let n = a.len().max(b.len());
    let mut out = vec![0usize; n];
    for k in 0..n {
        let da = if k < n - a.len() {
            1
        } else {
            a[k - (n - a.len())]
        };
        let db = if k < n - b.len() {
            1
        } else {
            b[k - (n - b.len())]
        };
        out[k] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            (x, y) => {
                return Err(Error::shape(format!(
                    "operands could not be broadcast together with shapes {} and {}: \
                     axis {} has size {x} in the first and {y} in the second",
                    fmt_shape(a),
                    fmt_shape(b),
                    k as isize - n as isize
                )))
            }
        };
    }
    Ok(out)
}

/// The shape all of `shapes` broadcast to (the empty list broadcasts to `()`).
pub fn broadcast_all<'s>(
    shapes: impl IntoIterator<Item = &'s [usize]>,
) -> Result<Vec<usize>, Error> {
    shapes
        .into_iter()
        .try_fold(Vec::new(), |acc, s| broadcast_shapes(&acc, s))
}

/// Strides that make a `(shape, strides)` view read as if it had shape
/// `target`: missing leading axes and stretched length-1 axes get stride 0.
pub fn broadcast_strides(
    shape: &[usize],
    strides: &[isize],
    target: &[usize],
) -> Result<Vec<isize>, Error> {
    let err = |axis: usize| {
        Error::shape(format!(
            "cannot broadcast an array of shape {} to shape {}: axis {axis} has size {} where {} is needed",
            fmt_shape(shape),
            fmt_shape(target),
            shape[axis],
            target[target.len() - shape.len() + axis]
        ))
    };
    if shape.len() > target.len() {
        return Err(Error::shape(format!(
            "cannot broadcast an array of shape {} to shape {}: it has more axes ({} > {})",
            fmt_shape(shape),
            fmt_shape(target),
            shape.len(),
            target.len()
        )));
    }
    let lead = target.len() - shape.len();
    let mut out = vec![0isize; target.len()];
    for (i, (&d, &s)) in shape.iter().zip(strides).enumerate() {
        let t = target[lead + i];
        out[lead + i] = if d == t {
            s
        } else if d == 1 {
            0
        } else {
            return Err(err(i));
        };
    }
    Ok(out)
}

/// Checks that `axis` is a valid axis of an `ndim`-dimensional array.
pub fn check_axis(axis: usize, ndim: usize) -> Result<(), Error> {
    if axis < ndim {
        Ok(())
    } else {
        Err(Error::index(format!(
            "axis {axis} is out of bounds for an array of dimension {ndim}"
        )))
    }
}

/// Resolves a possibly negative `axis` (counting from the end) to an index.
pub fn normalize_axis(axis: isize, ndim: usize) -> Result<usize, Error> {
    let a = if axis < 0 { axis + ndim as isize } else { axis };
    if a >= 0 && (a as usize) < ndim {
        Ok(a as usize)
    } else {
        Err(Error::index(format!(
            "axis {axis} is out of bounds for an array of dimension {ndim}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguity_follows_numpy() {
        assert!(is_c_contiguous(&[2, 3], &[3, 1]));
        assert!(!is_f_contiguous(&[2, 3], &[3, 1]));
        assert!(is_f_contiguous(&[2, 3], &[1, 2]));
        // A 1-d contiguous array is both.
        assert!(is_c_contiguous(&[5], &[1]) && is_f_contiguous(&[5], &[1]));
        // Length-1 axes never break contiguity, whatever their stride.
        assert!(is_c_contiguous(&[1, 3, 1], &[99, 1, -7]));
        assert!(is_f_contiguous(&[1, 3, 1], &[99, 1, -7]));
        // Empty arrays are contiguous.
        assert!(is_c_contiguous(&[0, 3], &[1, 5]));
        assert!(!is_c_contiguous(&[3], &[-1]));
        assert!(!is_c_contiguous(&[3], &[0]));
        assert!(is_c_contiguous(&[], &[]));
    }

    #[test]
    fn strides_for_both_orders() {
        assert_eq!(contiguous_strides(&[2, 3, 4], Order::C), vec![12, 4, 1]);
        assert_eq!(contiguous_strides(&[2, 3, 4], Order::F), vec![1, 2, 6]);
        assert_eq!(contiguous_strides(&[2, 0, 4], Order::C), vec![4, 4, 1]);
    }

    #[test]
    fn bounds_cover_negative_strides() {
        assert_eq!(offset_bounds(&[3, 4], &[-4, 1]), Some((-8, 3)));
        assert_eq!(offset_bounds(&[3, 0], &[1, 1]), None);
        assert_eq!(offset_bounds(&[], &[]), Some((0, 0)));
    }

    #[test]
    fn broadcasting_rules() {
        assert_eq!(
            broadcast_shapes(&[4, 1, 3], &[5, 1]).unwrap(),
            vec![4, 5, 3]
        );
        assert_eq!(broadcast_shapes(&[], &[2]).unwrap(), vec![2]);
        assert_eq!(broadcast_shapes(&[0], &[1]).unwrap(), vec![0]);
        let e = broadcast_shapes(&[2, 3], &[4]).unwrap_err().to_string();
        assert!(
            e.contains("(2, 3)") && e.contains("(4,)") && e.contains("axis -1"),
            "{e}"
        );
        assert_eq!(
            broadcast_strides(&[3, 1], &[1, 1], &[2, 3, 5]).unwrap(),
            vec![0, 1, 0]
        );
        let e = broadcast_strides(&[3], &[1], &[4]).unwrap_err().to_string();
        assert!(
            e.contains("(3,)") && e.contains("(4,)") && e.contains("axis 0"),
            "{e}"
        );
    }

    #[test]
    fn axes_and_shapes_format() {
        assert_eq!(fmt_shape(&[]), "()");
        assert_eq!(fmt_shape(&[3]), "(3,)");
        assert_eq!(normalize_axis(-1, 3).unwrap(), 2);
        assert!(normalize_axis(3, 3).is_err());
        assert!(normalize_axis(-4, 3).is_err());
        assert!(size_of(&[usize::MAX, 2]).is_err());
    }
}

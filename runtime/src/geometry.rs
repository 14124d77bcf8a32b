//! View operations as pure geometry: each takes a view's shape and strides
//! and returns the new view's, plus the element offset of its first element.
//!
//! [`ArrayView`](crate::ArrayView) and [`ArrayViewMut`](crate::ArrayViewMut)
//! share these, so a rule (Python's slice clamping, NumPy's no-copy reshape)
//! is written once. None of them moves memory.

use crate::error::Error;
use crate::layout::{broadcast_strides, checked_size, fmt_shape};
use crate::slice::{resolve_range, SliceElem, SliceInfo};

/// A view's geometry relative to its parent's first element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Element offset of the new view's first element.
    pub offset: isize,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
}

impl Geometry {
    fn at_origin(shape: Vec<usize>, strides: Vec<isize>) -> Self {
        Geometry {
            offset: 0,
            shape,
            strides,
        }
    }
}

/// `a[s]` with NumPy's basic indexing.
pub fn slice(shape: &[usize], strides: &[isize], info: &SliceInfo) -> Result<Geometry, Error> {
    let used = info
        .elems
        .iter()
        .filter(|e| !matches!(e, SliceElem::NewAxis))
        .count();
    if used > shape.len() {
        return Err(Error::index(format!(
            "too many indices: the array has {} dimensions but {used} were indexed",
            shape.len()
        )));
    }
    let mut g = Geometry::at_origin(Vec::new(), Vec::new());
    let mut axis = 0;
    for elem in &info.elems {
        match *elem {
            SliceElem::NewAxis => {
                g.shape.push(1);
                g.strides.push(0);
            }
            SliceElem::Index(i) => {
                // An axis length fits in isize: the view's element count does.
                let len = shape[axis] as isize;
                let j = if i < 0 { i + len } else { i };
                if j < 0 || j >= len {
                    return Err(Error::index(format!(
                        "index {i} is out of bounds for axis {axis} with size {len}"
                    )));
                }
                g.offset = advance(g.offset, j, strides[axis], shape, strides)?;
                axis += 1;
            }
            SliceElem::IndexOutOfRange(i) => {
                return Err(Error::index(format!(
                    "index {i} is out of bounds for axis {axis} with size {}",
                    shape[axis]
                )));
            }
            SliceElem::Range { start, end, step } => {
                if step == 0 {
                    return Err(Error::value(format!(
                        "slice step cannot be zero (axis {axis})"
                    )));
                }
                let (first, count) = resolve_range(start, end, step, shape[axis]);
                if count > 0 {
                    g.offset = advance(g.offset, first, strides[axis], shape, strides)?;
                }
                g.shape.push(count);
                // With two or more elements taken the product is a distance
                // inside the view, so it fits; it overflows only for a huge
                // step that leaves at most one element (or in an empty
                // view), where the stride addresses nothing: 0 then.
                g.strides.push(strides[axis].checked_mul(step).unwrap_or(0));
                axis += 1;
            }
        }
    }
    g.shape.extend_from_slice(&shape[axis..]);
    g.strides.extend_from_slice(&strides[axis..]);
    Ok(g)
}

/// `offset + index * stride`, checked. For an index inside an existing view
/// it cannot overflow ([`crate::layout::check_extent`]: the sum is a
/// distance inside the view); an error names the view if it ever does.
fn advance(
    offset: isize,
    index: isize,
    stride: isize,
    shape: &[usize],
    strides: &[isize],
) -> Result<isize, Error> {
    index
        .checked_mul(stride)
        .and_then(|d| offset.checked_add(d))
        .ok_or_else(|| {
            Error::index(format!(
                "an index into the view of shape {} with strides {strides:?} overflows isize",
                fmt_shape(shape)
            ))
        })
}

/// Reorders axes: axis `i` of the result is axis `axes[i]` of the input.
pub fn permute(shape: &[usize], strides: &[isize], axes: &[usize]) -> Result<Geometry, Error> {
    let n = shape.len();
    let mut seen = vec![false; n];
    let ok = axes.len() == n
        && axes.iter().all(|&a| {
            let fresh = a < n && !seen[a];
            if fresh {
                seen[a] = true;
            }
            fresh
        });
    if !ok {
        return Err(Error::value(format!(
            "axes {axes:?} are not a permutation of the {n} axes of an array of shape {}",
            fmt_shape(shape)
        )));
    }
    Ok(Geometry::at_origin(
        axes.iter().map(|&a| shape[a]).collect(),
        axes.iter().map(|&a| strides[a]).collect(),
    ))
}

/// Reverses the axes (`a.T`).
pub fn transpose(shape: &[usize], strides: &[isize]) -> Geometry {
    Geometry::at_origin(
        shape.iter().rev().copied().collect(),
        strides.iter().rev().copied().collect(),
    )
}

/// Inserts a length-1 axis before position `axis` (`axis == ndim` appends).
pub fn insert_axis(shape: &[usize], strides: &[isize], axis: usize) -> Result<Geometry, Error> {
    if axis > shape.len() {
        return Err(Error::index(format!(
            "cannot insert an axis at position {axis} of an array of dimension {}",
            shape.len()
        )));
    }
    let mut g = Geometry::at_origin(shape.to_vec(), strides.to_vec());
    g.shape.insert(axis, 1);
    g.strides.insert(axis, 0);
    Ok(g)
}

/// Removes every axis of length 1.
pub fn squeeze(shape: &[usize], strides: &[isize]) -> Geometry {
    let keep: Vec<usize> = (0..shape.len()).filter(|&i| shape[i] != 1).collect();
    Geometry::at_origin(
        keep.iter().map(|&i| shape[i]).collect(),
        keep.iter().map(|&i| strides[i]).collect(),
    )
}

/// Reshapes in C order without copying, as NumPy does when it can; an error
/// when the data would have to be copied.
///
/// The rule: split both shapes into runs with equal element counts; each
/// old run must be contiguous among itself (in C order), and its new axes
/// then get strides carved out of that run's innermost stride.
pub fn reshape(shape: &[usize], strides: &[isize], new_shape: &[usize]) -> Result<Geometry, Error> {
    // Under the construction rule a view's size fits; an overflowing one
    // (a broken invariant) is reported rather than matched by chance.
    let old_size = checked_size(shape);
    match checked_size(new_shape) {
        Some(n) if Some(n) == old_size => {}
        _ => {
            return Err(Error::shape(format!(
                "cannot reshape an array of shape {} ({} elements) into shape {}",
                fmt_shape(shape),
                old_size.map_or("too many".to_string(), |n| n.to_string()),
                fmt_shape(new_shape)
            )))
        }
    }
    if old_size == Some(0) {
        return Ok(Geometry::at_origin(
            new_shape.to_vec(),
            crate::layout::contiguous_strides(new_shape, crate::layout::Order::C),
        ));
    }
    // Length-1 axes carry no layout information.
    let (od, os): (Vec<usize>, Vec<isize>) = shape
        .iter()
        .zip(strides)
        .filter(|(&d, _)| d != 1)
        .map(|(&d, &s)| (d, s))
        .unzip();
    let mut out = vec![0isize; new_shape.len()];
    let (mut oi, mut ni) = (0usize, 0usize);
    while ni < new_shape.len() {
        if new_shape[ni] == 1 {
            // Any stride works for a length-1 axis; pick the contiguous one.
            out[ni] = 0;
            ni += 1;
            continue;
        }
        // Grow one run on each side until the element counts agree.
        let (o0, n0) = (oi, ni);
        let (mut op, mut np) = (od[oi], new_shape[ni]);
        oi += 1;
        ni += 1;
        while op != np {
            if op < np {
                op *= od[oi];
                oi += 1;
            } else {
                // Length-1 new axes inside a run are absorbed as they come.
                np *= new_shape[ni];
                ni += 1;
            }
        }
        for k in o0..oi - 1 {
            // Checked: a product that overflows cannot equal the stride.
            if os[k + 1].checked_mul(od[k + 1] as isize) != Some(os[k]) {
                return Err(Error::shape(format!(
                    "cannot reshape a view of shape {} with strides {:?} into shape {} without copying; \
                     copy it first (to_owned)",
                    fmt_shape(shape),
                    strides,
                    fmt_shape(new_shape)
                )));
            }
        }
        // The new axes' strides, innermost first: each is the run's
        // innermost stride times the lengths inside it, a distance within
        // the run (so it fits); the product past the outermost axis is
        // never formed.
        let mut s = os[oi - 1];
        for k in (n0..ni).rev() {
            out[k] = s;
            if k > n0 {
                s = s.checked_mul(new_shape[k] as isize).ok_or_else(|| {
                    Error::shape(format!(
                        "reshaping the view of shape {} with strides {strides:?} into shape {} \
                         overflows isize",
                        fmt_shape(shape),
                        fmt_shape(new_shape)
                    ))
                })?;
            }
        }
    }
    Ok(Geometry::at_origin(new_shape.to_vec(), out))
}

/// A read-only view of `shape` broadcast to `target` (zero strides).
pub fn broadcast_to(
    shape: &[usize],
    strides: &[isize],
    target: &[usize],
) -> Result<Geometry, Error> {
    Ok(Geometry::at_origin(
        target.to_vec(),
        broadcast_strides(shape, strides, target)?,
    ))
}

/// `numpy.lib.stride_tricks.sliding_window_view(x, window)`: one window
/// length per axis; the result has the window positions first, then the
/// window axes.
pub fn sliding_window(
    shape: &[usize],
    strides: &[isize],
    window: &[usize],
) -> Result<Geometry, Error> {
    if window.len() != shape.len() {
        return Err(Error::value(format!(
            "a window of {} lengths was given for an array of dimension {}; give one per axis",
            window.len(),
            shape.len()
        )));
    }
    let mut g = Geometry::at_origin(Vec::new(), strides.to_vec());
    for (axis, (&d, &w)) in shape.iter().zip(window).enumerate() {
        if w > d {
            return Err(Error::value(format!(
                "window length {w} is larger than axis {axis} of shape {}",
                fmt_shape(shape)
            )));
        }
        g.shape.push(d - w + 1);
    }
    g.shape.extend_from_slice(window);
    g.strides.extend_from_slice(strides);
    Ok(g)
}

/// `a.diagonal()`: the main diagonal of axes 0 and 1, appended as the last
/// axis of what remains (NumPy's rule for more than two dimensions).
pub fn diagonal(shape: &[usize], strides: &[isize]) -> Result<Geometry, Error> {
    if shape.len() < 2 {
        return Err(Error::value(format!(
            "diagonal needs at least two dimensions, the array has shape {}",
            fmt_shape(shape)
        )));
    }
    let mut g = Geometry::at_origin(shape[2..].to_vec(), strides[2..].to_vec());
    let len = shape[0].min(shape[1]);
    g.shape.push(len);
    // With two or more diagonal elements the sum is a distance inside the
    // view, so it fits; it overflows only when an axis of length 1 carries
    // a huge stride (after `..;isize::MAX`), and then the diagonal has at
    // most one element and its stride addresses nothing: 0 then.
    g.strides.push(match strides[0].checked_add(strides[1]) {
        Some(s) => s,
        None if len <= 1 => 0,
        None => {
            return Err(Error::shape(format!(
                "the diagonal of the view of shape {} with strides {strides:?} overflows isize",
                fmt_shape(shape)
            )))
        }
    });
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{s, NewAxis};

    #[test]
    fn slicing_offsets_and_strides() {
        let g = slice(&[4, 5], &[5, 1], &s![1..;2, ..;-1]).unwrap();
        assert_eq!(
            g,
            Geometry {
                offset: 5 + 4,
                shape: vec![2, 5],
                strides: vec![10, -1]
            }
        );
        let g = slice(&[4, 5], &[5, 1], &s![-1, NewAxis]).unwrap();
        assert_eq!(
            g,
            Geometry {
                offset: 15,
                shape: vec![1, 5],
                strides: vec![0, 1]
            }
        );
        assert!(slice(&[4], &[1], &s![4]).is_err());
        assert!(slice(&[4], &[1], &s![-5]).is_err());
        assert!(slice(&[4], &[1], &s![1, 2]).is_err());
        assert!(slice(&[4], &[1], &s![..;0]).is_err());
        // An empty range does not move the origin.
        let g = slice(&[4], &[1], &s![10..]).unwrap();
        assert_eq!((g.offset, g.shape), (0, vec![0]));
    }

    #[test]
    fn reshape_views_when_numpy_can() {
        assert_eq!(
            reshape(&[2, 3], &[3, 1], &[3, 2]).unwrap().strides,
            vec![2, 1]
        );
        assert_eq!(reshape(&[2, 3], &[3, 1], &[6]).unwrap().strides, vec![1]);
        assert_eq!(
            reshape(&[6], &[2], &[2, 1, 3]).unwrap().strides,
            vec![6, 6, 2]
        );
        // A transposed 2x3 cannot be flattened without a copy...
        assert!(reshape(&[3, 2], &[1, 3], &[6]).is_err());
        // ...but its axes can be split.
        assert_eq!(
            reshape(&[3, 2], &[1, 3], &[3, 2, 1]).unwrap().strides,
            vec![1, 3, 0]
        );
        assert_eq!(
            reshape(&[4, 6], &[-6, 1], &[4, 2, 3]).unwrap().strides,
            vec![-6, 3, 1]
        );
        assert!(reshape(&[2, 3], &[3, 1], &[4]).is_err());
        assert_eq!(
            reshape(&[0, 3], &[3, 1], &[3, 0]).unwrap().shape,
            vec![3, 0]
        );
        assert_eq!(reshape(&[], &[], &[1, 1]).unwrap().shape, vec![1, 1]);
    }

    #[test]
    fn windows_and_diagonals() {
        let g = sliding_window(&[10], &[1], &[3]).unwrap();
        assert_eq!((g.shape, g.strides), (vec![8, 3], vec![1, 1]));
        assert!(sliding_window(&[2], &[1], &[3]).is_err());
        assert!(sliding_window(&[2, 2], &[2, 1], &[1]).is_err());
        let g = diagonal(&[3, 4, 5], &[20, 5, 1]).unwrap();
        assert_eq!((g.shape, g.strides), (vec![5, 3], vec![1, 25]));
        assert!(diagonal(&[3], &[1]).is_err());
    }

    #[test]
    fn permutations_are_validated() {
        assert!(permute(&[2, 3], &[3, 1], &[1, 1]).is_err());
        assert!(permute(&[2, 3], &[3, 1], &[0]).is_err());
        assert_eq!(
            permute(&[2, 3, 4], &[12, 4, 1], &[2, 0, 1])
                .unwrap()
                .strides,
            vec![1, 12, 4]
        );
    }
}

//! Run-time geometry of one kernel pass, shared by generated kernels (AOT
//! and JIT): the broadcast iteration shape, each operand's byte strides in
//! it, and the shapes and strides of reductions.

use crate::element::Element;
use crate::error::Error;
use crate::layout::{broadcast_all, broadcast_strides, fmt_shape, normalize_axis};
use crate::view::{ArrayView, ArrayViewMut};

/// The shape a pass iterates over: every operand's shape broadcast
/// together (NumPy's rules; the error names both shapes and the axis).
pub fn pass_shape(shapes: &[&[usize]]) -> Result<Vec<usize>, Error> {
    broadcast_all(shapes.iter().copied())
}

/// An input of a pass: its first element and its byte strides broadcast to
/// the pass shape `shape`.
pub fn bind<T: Element>(
    view: &ArrayView<'_, T>,
    shape: &[usize],
) -> Result<(*const u8, Vec<isize>), Error> {
    let strides = broadcast_strides(view.shape(), view.strides(), shape)?;
    Ok((view.as_ptr() as *const u8, to_bytes::<T>(&strides)))
}

/// The output of a pass whose iteration shape is the output's own shape.
pub fn bind_out<T: Element>(view: &mut ArrayViewMut<'_, T>) -> (*mut u8, Vec<isize>) {
    let strides = to_bytes::<T>(view.strides());
    (view.as_mut_ptr() as *mut u8, strides)
}

/// Checks that a caller's output (`_into` kernels) has the result's shape.
pub fn check_out_shape(out: &[usize], result: &[usize]) -> Result<(), Error> {
    if out == result {
        Ok(())
    } else {
        Err(Error::shape(format!(
            "the output has shape {} but the kernel's result has shape {}",
            fmt_shape(out),
            fmt_shape(result)
        )))
    }
}

fn to_bytes<T>(strides: &[isize]) -> Vec<isize> {
    let size = std::mem::size_of::<T>() as isize;
    strides.iter().map(|&s| s.wrapping_mul(size)).collect()
}

/// One reduction `op(arg, axis, keepdims)` over an argument of known shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reduction {
    /// The reduced axis of the argument (`None`: every axis).
    axis: Option<usize>,
    keepdims: bool,
    /// The argument's shape: the iteration shape of the reduction's pass.
    arg_shape: Vec<usize>,
    /// The result's shape.
    shape: Vec<usize>,
    /// How many elements fold into each result element.
    count: usize,
}

impl Reduction {
    /// Plans reduction `name` (for messages) of an argument of shape
    /// `arg_shape`. With `needs_elements` (max, min: no identity), an empty
    /// reduced axis is an error, as in NumPy (even when the result is empty
    /// too).
    pub fn new(
        name: &str,
        arg_shape: &[usize],
        axis: Option<isize>,
        keepdims: bool,
        needs_elements: bool,
    ) -> Result<Reduction, Error> {
        let nd = arg_shape.len();
        let axis = axis.map(|a| normalize_axis(a, nd)).transpose()?;
        let reduced = |k: usize| axis.is_none_or(|a| a == k);
        let shape: Vec<usize> = (0..nd)
            .filter_map(|k| match (reduced(k), keepdims) {
                (false, _) => Some(arg_shape[k]),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let count = (0..nd)
            .filter(|&k| reduced(k))
            .map(|k| arg_shape[k])
            .product();
        if needs_elements && count == 0 {
            return Err(Error::value(format!(
                "{name}() of an empty axis has no identity (argument shape {})",
                fmt_shape(arg_shape)
            )));
        }
        Ok(Reduction {
            axis,
            keepdims,
            arg_shape: arg_shape.to_vec(),
            shape,
            count,
        })
    }

    /// The result's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The iteration shape of the pass: the argument's shape.
    pub fn arg_shape(&self) -> &[usize] {
        &self.arg_shape
    }

    /// Elements folded into each result element (the divisor of `mean`).
    pub fn count(&self) -> usize {
        self.count
    }

    /// The target (of shape [`Reduction::shape`]) as the output of the
    /// pass: its first element and byte strides over the argument's axes,
    /// 0 along reduced axes, so that row functions accumulate.
    pub fn bind_target<T: Element>(
        &self,
        target: &mut ArrayViewMut<'_, T>,
    ) -> (*mut u8, Vec<isize>) {
        debug_assert_eq!(target.shape(), self.shape.as_slice());
        let (ptr, kept) = bind_out(target);
        let nd = self.arg_shape.len();
        let mut strides = Vec::with_capacity(nd);
        let mut kept = kept.into_iter();
        for k in 0..nd {
            let reduced = self.axis.is_none_or(|a| a == k);
            if reduced {
                if self.keepdims {
                    kept.next();
                }
                strides.push(0);
            } else {
                strides.push(kept.next().expect("one target axis per kept axis"));
            }
        }
        (ptr, strides)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Array;

    #[test]
    fn reductions_map_target_strides_onto_the_argument() {
        let r = Reduction::new("sum", &[3, 4, 5], Some(-2), false, false).unwrap();
        assert_eq!(r.shape(), &[3, 5]);
        assert_eq!(r.count(), 4);
        let mut t = Array::<f64>::zeros(&[3, 5]);
        assert_eq!(r.bind_target(&mut t.view_mut()).1, vec![40, 0, 8]);
        let r = Reduction::new("sum", &[3, 4, 5], Some(1), true, false).unwrap();
        assert_eq!(r.shape(), &[3, 1, 5]);
        let mut t = Array::<f32>::zeros(&[3, 1, 5]);
        assert_eq!(r.bind_target(&mut t.view_mut()).1, vec![20, 0, 4]);
        let r = Reduction::new("sum", &[3, 4], None, false, false).unwrap();
        assert_eq!((r.shape(), r.count()), (&[][..], 12));
        let mut t = Array::<f64>::zeros(&[]);
        assert_eq!(r.bind_target(&mut t.view_mut()).1, vec![0, 0]);
    }

    #[test]
    fn errors_name_shapes() {
        let e = Reduction::new("max", &[3, 0], Some(1), false, true).unwrap_err();
        assert!(e.to_string().contains("(3, 0)"), "{e}");
        assert!(Reduction::new("max", &[0, 3], Some(0), false, true).is_err());
        assert!(Reduction::new("max", &[0, 0], Some(1), false, true).is_err());
        assert!(Reduction::new("max", &[0, 3], Some(1), false, true).is_ok());
        assert!(Reduction::new("sum", &[3], Some(1), false, false).is_err());
        let e = pass_shape(&[&[2, 3], &[4]]).unwrap_err();
        assert!(
            e.to_string().contains("(2, 3)") && e.to_string().contains("(4,)"),
            "{e}"
        );
        let e = check_out_shape(&[2], &[3]).unwrap_err();
        assert!(e.to_string().contains("(3,)"), "{e}");
        let a = Array::<f64>::zeros(&[3]);
        assert_eq!(bind(&a.view(), &[2, 3]).unwrap().1, vec![0, 8]);
    }
}

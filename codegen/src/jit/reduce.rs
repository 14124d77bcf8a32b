//! Reductions between parts: a dense temporary in, a dense result out.
//!
//! Floats accumulate in `f64` (so `f32` sums keep their precision, as the
//! reference does) and integers in wrapping `i64`; `max`/`min` propagate
//! NaN like NumPy's.

use einkern_runtime::layout::normalize_axis;
use einkern_runtime::Error;

use super::run::{size_of, Operand};
use crate::expr::{ReduceOp, ScalarType};

/// A C-order temporary of any element type.
pub struct Dense {
    pub shape: Vec<usize>,
    pub ty: ScalarType,
    /// The elements, 8-byte aligned.
    data: Vec<u64>,
}

impl Dense {
    pub fn zeros(shape: &[usize], ty: ScalarType) -> Dense {
        let n: usize = shape.iter().product();
        Dense {
            shape: shape.to_vec(),
            ty,
            data: vec![0; (n * size_of(ty)).div_ceil(8)],
        }
    }

    fn len(&self) -> usize {
        self.shape.iter().product()
    }

    fn strides(&self) -> Vec<isize> {
        let mut strides = vec![1isize; self.shape.len()];
        for k in (0..self.shape.len().saturating_sub(1)).rev() {
            strides[k] = strides[k + 1] * self.shape[k + 1] as isize;
        }
        strides
    }

    /// The temporary as an operand to write.
    pub fn operand_mut(&mut self) -> Operand {
        let strides = self.strides();
        Operand::new(
            self.data.as_mut_ptr() as *mut u8,
            &self.shape,
            &strides,
            self.ty,
        )
    }

    /// The temporary as an operand to read (never written through).
    pub fn operand(&self) -> Operand {
        Operand::new(
            self.data.as_ptr() as *mut u8,
            &self.shape,
            &self.strides(),
            self.ty,
        )
    }

    fn get(&self, i: usize) -> f64 {
        let p = self.data.as_ptr() as *const u8;
        // SAFETY: `i < self.len()` (callers iterate within the shape) and
        // `data` holds `len` elements of `ty`, suitably aligned.
        unsafe {
            match self.ty {
                ScalarType::F32 => *(p as *const f32).add(i) as f64,
                ScalarType::F64 => *(p as *const f64).add(i),
                ScalarType::I32 => *(p as *const i32).add(i) as f64,
                _ => *(p as *const i64).add(i) as f64,
            }
        }
    }

    fn get_int(&self, i: usize) -> i64 {
        let p = self.data.as_ptr() as *const u8;
        // SAFETY: as in `get`.
        unsafe {
            match self.ty {
                ScalarType::I32 => *(p as *const i32).add(i) as i64,
                _ => *(p as *const i64).add(i),
            }
        }
    }

    fn set(&mut self, i: usize, x: f64, int: i64) {
        let p = self.data.as_mut_ptr() as *mut u8;
        // SAFETY: as in `get`, for writing.
        unsafe {
            match self.ty {
                ScalarType::F32 => *(p as *mut f32).add(i) = x as f32,
                ScalarType::F64 => *(p as *mut f64).add(i) = x,
                ScalarType::I32 => *(p as *mut i32).add(i) = int as i32,
                _ => *(p as *mut i64).add(i) = int,
            }
        }
    }
}

/// Reduces `d` along `axis` (every axis if `None`).
pub fn reduce(
    d: &Dense,
    op: ReduceOp,
    axis: Option<isize>,
    keepdims: bool,
) -> Result<Dense, Error> {
    let nd = d.shape.len();
    let (outer, n, inner, axes) = match axis {
        Some(a) => {
            let k = normalize_axis(a, nd)?;
            let outer: usize = d.shape[..k].iter().product();
            let inner: usize = d.shape[k + 1..].iter().product();
            (outer, d.shape[k], inner, vec![k])
        }
        None => (1, d.len(), 1, (0..nd).collect()),
    };
    if n == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        return Err(Error::value(format!(
            "{}() of an empty axis has no identity",
            op.name()
        )));
    }
    let shape: Vec<usize> = (0..nd)
        .filter_map(|k| match (axes.contains(&k), keepdims) {
            (false, _) => Some(d.shape[k]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let mut out = Dense::zeros(&shape, d.ty);
    let int = d.ty.is_int();
    for o in 0..outer {
        for i in 0..inner {
            let at = |j: usize| (o * n + j) * inner + i;
            let (x, k) = if int {
                let mut acc: i64 = if op == ReduceOp::Prod { 1 } else { 0 };
                for j in 0..n {
                    let v = d.get_int(at(j));
                    acc = match op {
                        ReduceOp::Sum | ReduceOp::Mean => acc.wrapping_add(v),
                        ReduceOp::Prod => acc.wrapping_mul(v),
                        ReduceOp::Max if j == 0 => v,
                        ReduceOp::Min if j == 0 => v,
                        ReduceOp::Max => acc.max(v),
                        ReduceOp::Min => acc.min(v),
                    };
                }
                (acc as f64, acc)
            } else {
                let mut acc: f64 = match op {
                    ReduceOp::Prod => 1.0,
                    ReduceOp::Max => f64::NEG_INFINITY,
                    ReduceOp::Min => f64::INFINITY,
                    _ => 0.0,
                };
                for j in 0..n {
                    let v = d.get(at(j));
                    acc = match op {
                        ReduceOp::Sum | ReduceOp::Mean => acc + v,
                        ReduceOp::Prod => acc * v,
                        _ if v.is_nan() || acc.is_nan() => f64::NAN,
                        ReduceOp::Max => acc.max(v),
                        ReduceOp::Min => acc.min(v),
                    };
                }
                if op == ReduceOp::Mean {
                    acc /= n as f64;
                }
                (acc, 0)
            };
            out.set(o * inner + i, x, k);
        }
    }
    Ok(out)
}

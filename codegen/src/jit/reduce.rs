//! Reductions between parts: a dense temporary in, a dense result out.
//!
//! Floats accumulate in `f64` (so `f32` sums keep their precision, as the
//! reference does) and integers in wrapping `i64`; `max`/`min` propagate
//! NaN like NumPy's.

use einkern_runtime::alloc::RawBuffer;
use einkern_runtime::layout::{self, bytes_of, checked_size, contiguous_strides, normalize_axis};
use einkern_runtime::{Error, Order};

use super::run::{size_of, Operand};
use crate::expr::{ReduceOp, ScalarType};

/// A C-order temporary of any element type.
pub struct Dense {
    pub shape: Vec<usize>,
    pub ty: ScalarType,
    /// The elements, 8-byte aligned (the runtime's buffers are more).
    data: RawBuffer<u64>,
}

impl Dense {
    /// A temporary of zeros, or an error when its size overflows `isize`
    /// or the memory cannot be had (never an abort: `Kernel::eval` sizes
    /// these from its inputs' broadcast shape, which can be huge).
    pub fn try_zeros(shape: &[usize], ty: ScalarType) -> Result<Dense, Error> {
        let bytes = bytes_of(shape, size_of(ty))?;
        Ok(Dense {
            shape: shape.to_vec(),
            ty,
            data: RawBuffer::try_zeroed(bytes.div_ceil(8))?,
        })
    }

    /// The element count; it fits (checked when the buffer was made).
    fn len(&self) -> usize {
        checked_size(&self.shape).expect("checked by try_zeros")
    }

    /// C-order element strides; they fit in `isize` (the byte size does).
    fn strides(&self) -> Vec<isize> {
        contiguous_strides(&self.shape, Order::C)
    }

    /// The temporary as an operand to write.
    pub fn operand_mut(&mut self) -> Result<Operand, Error> {
        let strides = self.strides();
        Operand::new(
            self.data.as_mut_ptr() as *mut u8,
            &self.shape,
            &strides,
            self.ty,
        )
    }

    /// The temporary as an operand to read (never written through).
    pub fn operand(&self) -> Result<Operand, Error> {
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
            let outer = layout::size_of(&d.shape[..k])?;
            let inner = layout::size_of(&d.shape[k + 1..])?;
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
    let mut out = Dense::try_zeros(&shape, d.ty)?;
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

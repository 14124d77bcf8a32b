//! The naive reference interpreter: the test oracle every generated
//! kernel, AOT or JIT, is checked against.
//!
//! It evaluates a [`Graph`] node by node into whole arrays (materialising
//! every temporary — exactly what kernels avoid), with NumPy broadcasting
//! and reductions. Values are held as `f64` and rounded to each node's type
//! after every operation, so `f32` nodes see `f32` rounding and `i32` nodes
//! wrap; `i64` values beyond 2⁵³ are not exact, so tests keep integers small.

use einkern_runtime::layout::{
    broadcast_shapes, broadcast_strides, contiguous_strides, normalize_axis,
};
use einkern_runtime::{Error, Order};

use super::ast::BinaryOp;
use super::ir::{Graph, Op, ReduceOp, ScalarType};
use crate::einsum::{einsum_reference_f64, RefOperand};

/// A C-order array of values, as the interpreter holds them.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
}

impl Value {
    pub fn new(shape: &[usize], data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Value {
            shape: shape.to_vec(),
            data,
        }
    }

    /// The elements of `self` broadcast to `shape`, in C order.
    fn broadcast(&self, shape: &[usize]) -> Result<Vec<f64>, Error> {
        let strides = broadcast_strides(
            &self.shape,
            &contiguous_strides(&self.shape, Order::C),
            shape,
        )?;
        let n: usize = shape.iter().product();
        let mut out = Vec::with_capacity(n);
        let mut index = vec![0usize; shape.len()];
        for _ in 0..n {
            let off: isize = index
                .iter()
                .zip(&strides)
                .map(|(&i, &s)| i as isize * s)
                .sum();
            out.push(self.data[off as usize]);
            for k in (0..shape.len()).rev() {
                index[k] += 1;
                if index[k] < shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        Ok(out)
    }
}

/// Rounds `x` to what a value of type `ty` can hold.
fn round_to(ty: ScalarType, x: f64) -> f64 {
    match ty {
        ScalarType::Bool => (x != 0.0) as u8 as f64,
        ScalarType::I32 => (x as i64) as i32 as f64,
        ScalarType::I64 => (x as i64) as f64,
        ScalarType::F32 => x as f32 as f64,
        ScalarType::F64 => x,
    }
}

/// Evaluates `graph` on `inputs` (one per graph input, in order).
pub fn evaluate(graph: &Graph, inputs: &[Value]) -> Result<Value, Error> {
    if inputs.len() != graph.inputs().len() {
        return Err(Error::value(format!(
            "the kernel takes {} inputs, {} given",
            graph.inputs().len(),
            inputs.len()
        )));
    }
    let mut vals: Vec<Value> = Vec::with_capacity(graph.nodes().len());
    for node in graph.nodes() {
        let ty = node.ty;
        let get = |id: super::ir::NodeId| &vals[id.0 as usize];
        let v = match node.op {
            Op::Input(i) => Value {
                shape: inputs[i].shape.clone(),
                data: inputs[i].data.iter().map(|&x| round_to(ty, x)).collect(),
            },
            Op::Const(c) => Value::new(&[], vec![round_to(ty, c.as_f64())]),
            Op::Neg(a) => map(get(a), |x| {
                if ty.is_int() {
                    wrap_int(ty, -(x as i64) as f64)
                } else {
                    -x
                }
            }),
            Op::Not(a) => map(get(a), |x| (x == 0.0) as u8 as f64),
            Op::Powi(a, n) => map(get(a), |x| {
                if ty.is_int() {
                    wrap_int(ty, (x as i64).wrapping_pow(n as u32) as f64)
                } else {
                    round_to(ty, x.powi(n))
                }
            }),
            Op::Func1(f, a) => map(get(a), |x| round_to(ty, (f.info().eval)(&[x]))),
            Op::Cast(a) => {
                let from = graph.node(a).ty;
                map(get(a), |x| cast(from, ty, x))
            }
            Op::Binary(op, a, b) => {
                let operand_ty = graph.node(a).ty;
                zip(get(a), get(b), |x, y| binary(op, operand_ty, ty, x, y))?
            }
            Op::Func2(f, a, b) => zip(get(a), get(b), |x, y| {
                round_to(ty, (f.info().eval)(&[x, y]))
            })?,
            Op::Where(c, a, b) => {
                let shape = broadcast_shapes(
                    &broadcast_shapes(&get(c).shape, &get(a).shape)?,
                    &get(b).shape,
                )?;
                let (cv, av, bv) = (
                    get(c).broadcast(&shape)?,
                    get(a).broadcast(&shape)?,
                    get(b).broadcast(&shape)?,
                );
                let data = (0..cv.len())
                    .map(|i| if cv[i] != 0.0 { av[i] } else { bv[i] })
                    .collect();
                Value { shape, data }
            }
            Op::Reduce {
                op,
                arg,
                axis,
                keepdims,
            } => reduce(get(arg), op, axis, keepdims, ty)?,
            Op::Einsum(e) => {
                let einsum = graph.einsum(e);
                let strides: Vec<Vec<isize>> = (einsum.args.iter())
                    .map(|&a| contiguous_strides(&get(a).shape, Order::C))
                    .collect();
                let operands: Vec<RefOperand<'_>> = (einsum.args.iter().zip(&strides))
                    .map(|(&a, s)| (&get(a).data[..], &get(a).shape[..], &s[..], 0))
                    .collect();
                let (shape, data) = einsum_reference_f64(&einsum.spec, &operands)?;
                Value {
                    shape,
                    data: data.into_iter().map(|x| round_to(ty, x)).collect(),
                }
            }
        };
        vals.push(v);
    }
    Ok(vals.swap_remove(graph.root().0 as usize))
}

fn map(v: &Value, f: impl Fn(f64) -> f64) -> Value {
    Value {
        shape: v.shape.clone(),
        data: v.data.iter().map(|&x| f(x)).collect(),
    }
}

fn zip(a: &Value, b: &Value, f: impl Fn(f64, f64) -> f64) -> Result<Value, Error> {
    let shape = broadcast_shapes(&a.shape, &b.shape)?;
    let (x, y) = (a.broadcast(&shape)?, b.broadcast(&shape)?);
    Ok(Value {
        data: x.iter().zip(&y).map(|(&p, &q)| f(p, q)).collect(),
        shape,
    })
}

fn wrap_int(ty: ScalarType, x: f64) -> f64 {
    match ty {
        ScalarType::I32 => (x as i64) as i32 as f64,
        _ => x,
    }
}

/// Rust's `as` between element types: floats to ints truncate and
/// saturate (NaN → 0); ints to narrower ints wrap.
fn cast(from: ScalarType, to: ScalarType, x: f64) -> f64 {
    match (from.is_float(), to) {
        (true, ScalarType::I32) => x as i32 as f64,
        (true, ScalarType::I64) => x as i64 as f64,
        _ => round_to(to, x),
    }
}

fn binary(op: BinaryOp, operands: ScalarType, ty: ScalarType, x: f64, y: f64) -> f64 {
    use BinaryOp::*;
    if operands.is_int() && matches!(op, Add | Sub | Mul) {
        let (a, b) = (x as i64, y as i64);
        let r = match op {
            Add => a.wrapping_add(b),
            Sub => a.wrapping_sub(b),
            _ => a.wrapping_mul(b),
        };
        return wrap_int(ty, r as f64);
    }
    let r = match op {
        Add => x + y,
        Sub => x - y,
        Mul => x * y,
        Div => x / y,
        Pow => x.powf(y),
        Lt => (x < y) as u8 as f64,
        Le => (x <= y) as u8 as f64,
        Gt => (x > y) as u8 as f64,
        Ge => (x >= y) as u8 as f64,
        Eq => (x == y) as u8 as f64,
        Ne => (x != y) as u8 as f64,
        And => (x != 0.0 && y != 0.0) as u8 as f64,
        Or => (x != 0.0 || y != 0.0) as u8 as f64,
    };
    round_to(ty, r)
}

fn reduce(
    v: &Value,
    op: ReduceOp,
    axis: Option<isize>,
    keepdims: bool,
    ty: ScalarType,
) -> Result<Value, Error> {
    let nd = v.shape.len();
    let axes: Vec<usize> = match axis {
        Some(a) => vec![normalize_axis(a, nd)?],
        None => (0..nd).collect(),
    };
    let out_shape: Vec<usize> = (0..nd)
        .filter_map(|k| match (axes.contains(&k), keepdims) {
            (false, _) => Some(v.shape[k]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let count: usize = axes.iter().map(|&k| v.shape[k]).product();
    if count == 0 && matches!(op, ReduceOp::Max | ReduceOp::Min) {
        return Err(Error::value(format!(
            "{}() of an empty axis has no identity",
            op.name()
        )));
    }
    let n_out: usize = out_shape.iter().product();
    let mut acc: Vec<Vec<f64>> = vec![Vec::with_capacity(count); n_out];
    let strides = contiguous_strides(&v.shape, Order::C);
    for (flat, &x) in v.data.iter().enumerate() {
        // The output slot: this element's index with the reduced axes dropped.
        let (mut slot, mut mul) = (0usize, 1usize);
        for k in (0..nd).rev() {
            let i = (flat / strides[k] as usize) % v.shape[k];
            if !axes.contains(&k) {
                slot += i * mul;
                mul *= v.shape[k];
            }
        }
        acc[slot].push(x);
    }
    let data = acc
        .into_iter()
        .map(|xs| {
            let r = match op {
                ReduceOp::Sum if ty.is_int() => {
                    xs.iter().fold(0i64, |s, &x| s.wrapping_add(x as i64)) as f64
                }
                ReduceOp::Prod if ty.is_int() => {
                    xs.iter().fold(1i64, |s, &x| s.wrapping_mul(x as i64)) as f64
                }
                ReduceOp::Sum => xs.iter().sum(),
                ReduceOp::Prod => xs.iter().product(),
                ReduceOp::Mean => xs.iter().sum::<f64>() / xs.len() as f64,
                ReduceOp::Max => xs.iter().copied().fold(f64::NEG_INFINITY, nan_max),
                ReduceOp::Min => xs.iter().copied().fold(f64::INFINITY, nan_min),
            };
            round_to(ty, r)
        })
        .collect();
    Ok(Value {
        shape: out_shape,
        data,
    })
}

/// NumPy's `max` propagates NaN.
fn nan_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

fn nan_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

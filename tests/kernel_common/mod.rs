//! Shared harness of the kernel differential tests: random shapes with
//! every broadcast pattern, random strided views (C, F, padded, negative,
//! zero strides), and comparison with the reference interpreter.

#![allow(dead_code)]

use einkern::{Array, ArrayView, Element, Error};
use einkern_codegen::expr::reference::{evaluate, Value};
use einkern_codegen::expr::{compile_str, ScalarType};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A buffer and a view geometry over it.
pub struct Strided<T> {
    pub data: Vec<T>,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    pub offset: usize,
}

impl<T: Element> Strided<T> {
    pub fn view(&self) -> ArrayView<'_, T> {
        ArrayView::as_strided(&self.data, &self.shape, &self.strides, self.offset).unwrap()
    }
    pub fn value(&self) -> Value {
        Value::new(
            &self.shape,
            self.view().to_vec().iter().map(|x| x.to_f64()).collect(),
        )
    }
}

/// Random data in `[lo, hi)` laid out with random strides: a random axis
/// order, random padding, random negative axes and (if `zero`) sometimes a
/// zero-stride axis.
pub fn strided<T: Element>(
    rng: &mut StdRng,
    shape: &[usize],
    lo: f64,
    hi: f64,
    zero: bool,
) -> Strided<T> {
    let nd = shape.len();
    let mut order: Vec<usize> = (0..nd).collect();
    match rng.random_range(0..4) {
        0 => {}               // C order
        1 => order.reverse(), // F order
        _ => {
            for i in (1..nd).rev() {
                order.swap(i, rng.random_range(0..=i));
            }
        }
    }
    let mut strides = vec![0isize; nd];
    let mut step = rng.random_range(1..=2i64) as isize;
    for &ax in order.iter().rev() {
        if zero && shape[ax] > 1 && rng.random_bool(0.15) {
            continue; // stride 0: every element along this axis is the same
        }
        strides[ax] = step;
        step *= shape[ax].max(1) as isize * rng.random_range(1..=2i64) as isize;
    }
    let mut offset = 0usize;
    for k in 0..nd {
        if rng.random_bool(0.25) {
            strides[k] = -strides[k];
            offset += (-strides[k]) as usize * shape[k].saturating_sub(1);
        }
    }
    let max: usize = offset
        + (0..nd)
            .filter(|&k| strides[k] > 0)
            .map(|k| strides[k] as usize * shape[k].saturating_sub(1))
            .sum::<usize>();
    let data = (0..=max)
        .map(|_| T::from_f64(rng.random_range(lo..hi)))
        .collect();
    Strided {
        data,
        shape: shape.to_vec(),
        strides,
        offset,
    }
}

/// A random output shape of rank `lo..=hi` with small, prime, 0 and 1 sizes.
pub fn random_shape(rng: &mut StdRng, lo: usize, hi: usize, empty: bool) -> Vec<usize> {
    let nd = rng.random_range(lo..=hi);
    let sizes: &[usize] = if empty {
        &[0, 1, 2, 3, 5, 7, 13]
    } else {
        &[1, 2, 3, 5, 7, 13]
    };
    (0..nd)
        .map(|_| sizes[rng.random_range(0..sizes.len())])
        .collect()
}

/// A shape that broadcasts to `shape`: some leading axes dropped, some axes
/// set to 1.
pub fn broadcastable(rng: &mut StdRng, shape: &[usize]) -> Vec<usize> {
    let drop = if rng.random_bool(0.3) {
        rng.random_range(0..=shape.len())
    } else {
        0
    };
    shape[drop..]
        .iter()
        .map(|&d| if rng.random_bool(0.2) { 1 } else { d })
        .collect()
}

/// Compares a kernel's result with the reference result, with a tolerance
/// `tol` relative to max(1, |want|).
pub fn assert_close<T: Element>(got: &ArrayView<'_, T>, want: &Value, tol: f64, what: &str) {
    assert_eq!(got.shape(), want.shape.as_slice(), "{what}: shape");
    for (i, (g, w)) in got.to_vec().iter().zip(&want.data).enumerate() {
        let g = g.to_f64();
        let ok = (g.is_nan() && w.is_nan()) || g == *w || (g - w).abs() <= tol * w.abs().max(1.0);
        assert!(ok, "{what}: element {i}: got {g}, want {w} (tol {tol})");
    }
}

/// The reference result of `src` (numexpr spelling) on `inputs`.
pub fn reference(
    src: &str,
    names: &[&str],
    ty: ScalarType,
    inputs: &[Value],
) -> Result<Value, Error> {
    let graph = compile_str(src, names, ty).unwrap_or_else(|e| panic!("{src}: {e}"));
    evaluate(&graph, inputs)
}

/// Machine epsilon of `T` as f64.
pub fn eps<T: Element>() -> f64 {
    match T::DTYPE {
        einkern::DType::F32 => f32::EPSILON as f64,
        einkern::DType::F64 => f64::EPSILON,
        _ => 0.0,
    }
}

/// A kernel under test, called with its array inputs and its scalars.
pub type KernelFn<'k, T> = &'k dyn Fn(&[ArrayView<'_, T>], &[T]) -> Result<Array<T>, Error>;

/// Runs a kernel on inputs and checks it against the reference. Returns
/// whether values were compared (false when both reported an error).
pub fn check<T: Element>(
    src: &str,
    names: &[&str],
    ty: ScalarType,
    inputs: &[Strided<T>],
    scalars: &[T],
    tol: f64,
    kernel: KernelFn<'_, T>,
) -> bool {
    let mut values: Vec<Value> = inputs.iter().map(Strided::value).collect();
    values.extend(scalars.iter().map(|s| Value::new(&[], vec![s.to_f64()])));
    let views: Vec<ArrayView<'_, T>> = inputs.iter().map(Strided::view).collect();
    let shapes: Vec<&[usize]> = inputs.iter().map(|s| s.shape.as_slice()).collect();
    let what = format!("{src} on shapes {shapes:?}");
    match (kernel(&views, scalars), reference(src, names, ty, &values)) {
        (Ok(got), Ok(want)) => {
            assert_close(&got.view(), &want, tol, &what);
            true
        }
        (Err(_), Err(_)) => false,
        (got, want) => panic!(
            "{what}: kernel {:?} vs reference {:?}",
            got.map(|a| a.shape().to_vec()),
            want.map(|v| v.shape)
        ),
    }
}

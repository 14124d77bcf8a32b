//! The naive einsum: the test oracle every einkern kernel is checked against.
//!
//! One loop nest over every label, no planning, no blocking, no fast paths:
//! slow on purpose, so that it is obviously right.

use einkern_runtime::Error;

use super::equation::Equation;
use super::parse::{Label, Spec};

/// One operand of [`einsum_reference_f64`]: `(data, shape, strides, offset)`,
/// strides in elements (negative and zero allowed), `offset` the index in
/// `data` of the element at all-zero indices.
pub type RefOperand<'a> = (&'a [f64], &'a [usize], &'a [isize], usize);

/// Evaluates `spec` over `operands` with one nested loop over all labels and
/// returns the result as `(shape, data in C order)`.
///
/// This is the oracle for tests: every kernel path (views, reductions, GEMM,
/// JIT) must agree with it. It follows NumPy's semantics exactly (implicit
/// output, `...`, diagonals, size-1 label broadcasting) and reports the same
/// errors as the planner. It never reads outside `data`: an operand whose
/// strides would leave its buffer is an [`Error::Index`].
pub fn einsum_reference_f64(
    spec: &str,
    operands: &[RefOperand<'_>],
) -> Result<(Vec<usize>, Vec<f64>), Error> {
    let spec = Spec::parse_for(spec, operands.len())?;
    for (k, &(data, shape, strides, offset)) in operands.iter().enumerate() {
        if shape.len() != strides.len() {
            return Err(Error::shape(format!(
                "operand {k} has shape {shape:?} but {} strides",
                strides.len()
            )));
        }
        check_in_bounds(k, data.len(), shape, strides, offset)?;
    }
    let ranks: Vec<usize> = operands.iter().map(|o| o.1.len()).collect();
    let equation = Equation::from_spec(&spec, &ranks)?;
    let shapes: Vec<&[usize]> = operands.iter().map(|o| o.1).collect();
    let bound = equation.bind(&shapes)?;

    // Loop labels: the output's first (so the output index is a prefix), then
    // the summed ones.
    let mut loops: Vec<Label> = equation.output().to_vec();
    loops.extend(equation.summed_labels());
    let lens: Vec<usize> = loops.iter().map(|&l| bound.sizes().size(l)).collect();
    let strides: Vec<Vec<isize>> = operands
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let by_label = bound.label_strides(k, o.2);
            loops
                .iter()
                .map(|l| by_label.iter().find(|(x, _)| x == l).map_or(0, |&(_, s)| s))
                .collect()
        })
        .collect();

    let out_shape = bound.output_shape().to_vec();
    let n = einkern_runtime::layout::size_of(&out_shape)?;
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| {
        Error::alloc(format!(
            "cannot allocate the {out_shape:?} result: out of memory"
        ))
    })?;
    out.resize(n, 0.0);
    if lens.contains(&0) {
        return Ok((out_shape, out));
    }
    let n_out = equation.output().len();
    let mut index = vec![0usize; loops.len()];
    loop {
        let mut product = 1.0;
        for (k, o) in operands.iter().enumerate() {
            let at = index
                .iter()
                .zip(&strides[k])
                .fold(o.3 as isize, |acc, (&i, &s)| acc + i as isize * s);
            product *= o.0[at as usize];
        }
        let flat = index[..n_out]
            .iter()
            .zip(&lens[..n_out])
            .fold(0, |acc, (&i, &n)| acc * n + i);
        out[flat] += product;
        // Odometer: the last label runs fastest.
        let mut d = loops.len();
        loop {
            if d == 0 {
                return Ok((out_shape, out));
            }
            d -= 1;
            index[d] += 1;
            if index[d] < lens[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

/// Checks that every element the view can address lies inside `data`.
fn check_in_bounds(
    k: usize,
    len: usize,
    shape: &[usize],
    strides: &[isize],
    offset: usize,
) -> Result<(), Error> {
    if shape.contains(&0) {
        return Ok(());
    }
    let (mut lo, mut hi) = (offset as i128, offset as i128);
    for (&n, &s) in shape.iter().zip(strides) {
        let reach = (n as i128 - 1) * s as i128;
        if reach < 0 {
            lo += reach;
        } else {
            hi += reach;
        }
    }
    if lo < 0 || hi >= len as i128 {
        return Err(Error::index(format!(
            "operand {k} with shape {shape:?}, strides {strides:?} and offset {offset} addresses \
             elements {lo}..={hi}, outside its buffer of {len}"
        )));
    }
    Ok(())
}

//! Every subscript-string example of the numpy.einsum documentation: parsed,
//! bound, planned, and evaluated by the reference oracle, against the values
//! NumPy 2.4 prints for it.

use einkern_codegen::einsum::{
    einsum_reference_f64, path_with, Equation, Label, LabelSizes, Plan, Spec, StepKind, Strategy,
};

/// `np.arange(n).reshape(shape)` as (data, shape, C strides).
fn arange(shape: &[usize]) -> (Vec<f64>, Vec<usize>, Vec<isize>) {
    let n: usize = shape.iter().product();
    let mut strides = vec![1isize; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1] as isize;
    }
    ((0..n).map(|x| x as f64).collect(), shape.to_vec(), strides)
}

/// Runs the reference on C-ordered operands; checks the shape and values.
fn check(
    spec: &str,
    operands: &[&(Vec<f64>, Vec<usize>, Vec<isize>)],
    shape: &[usize],
    values: &[f64],
) {
    let ops: Vec<_> = operands
        .iter()
        .map(|(d, s, st)| (d.as_slice(), s.as_slice(), st.as_slice(), 0))
        .collect();
    let (out_shape, out) = einsum_reference_f64(spec, &ops).unwrap();
    assert_eq!(out_shape, shape, "{spec}");
    assert_eq!(out, values, "{spec}");
}

/// The kind of the plan's only step for a 1- or 2-operand example.
fn kind(spec: &str, ranks: &[usize]) -> StepKind {
    let eq = Equation::from_spec(&Spec::parse(spec).unwrap(), ranks).unwrap();
    let plan = Plan::for_ranks(&eq).unwrap();
    assert_eq!(plan.steps().len(), 1);
    plan.steps()[0].kind()
}

fn labels(s: &str) -> Vec<Label> {
    s.chars().map(|c| Label::letter(c).unwrap()).collect()
}

#[test]
fn trace() {
    let a = arange(&[5, 5]);
    check("ii", &[&a], &[], &[60.0]);
    assert_eq!(kind("ii", &[2]), StepKind::Reduction);
}

#[test]
fn diagonal() {
    let a = arange(&[5, 5]);
    check("ii->i", &[&a], &[5], &[0.0, 6.0, 12.0, 18.0, 24.0]);
    let eq = Equation::from_spec(&Spec::parse("ii->i").unwrap(), &[2]).unwrap();
    let plan = Plan::for_ranks(&eq).unwrap();
    assert_eq!(plan.steps()[0].kind(), StepKind::View);
    // The diagonal is one label whose stride is the sum of both axes' strides.
    let bound = eq.bind(&[&[5, 5]]).unwrap();
    assert_eq!(bound.label_strides(0, &[5, 1]), vec![(labels("i")[0], 6)]);
}

#[test]
fn sum_over_an_axis() {
    let a = arange(&[5, 5]);
    let rows = [10.0, 35.0, 60.0, 85.0, 110.0];
    check("ij->i", &[&a], &[5], &rows);
    check("...j->...", &[&a], &[5], &rows);
    assert_eq!(kind("ij->i", &[2]), StepKind::Reduction);
    assert_eq!(kind("...j->...", &[2]), StepKind::Reduction);
}

#[test]
fn transpose() {
    let c = arange(&[2, 3]);
    let t = [0.0, 3.0, 1.0, 4.0, 2.0, 5.0];
    check("ji", &[&c], &[3, 2], &t);
    check("ij->ji", &[&c], &[3, 2], &t);
    assert_eq!(kind("ji", &[2]), StepKind::View);
}

#[test]
fn inner_product() {
    let b = arange(&[5]);
    check("i,i", &[&b, &b], &[], &[30.0]);
    assert_eq!(kind("i,i", &[1, 1]), StepKind::Gemm);
}

#[test]
fn matrix_vector() {
    let (a, b) = (arange(&[5, 5]), arange(&[5]));
    let mv = [30.0, 80.0, 130.0, 180.0, 230.0];
    check("ij,j", &[&a, &b], &[5], &mv);
    check("...j,j", &[&a, &b], &[5], &mv);
    assert_eq!(kind("ij,j", &[2, 1]), StepKind::Gemm);
}

#[test]
fn scalar_multiplication() {
    let three = (vec![3.0], vec![], vec![]);
    let c = arange(&[2, 3]);
    let tripled = [0.0, 3.0, 6.0, 9.0, 12.0, 15.0];
    check("..., ...", &[&three, &c], &[2, 3], &tripled);
    check(",ij", &[&three, &c], &[2, 3], &tripled);
    assert_eq!(kind(",ij", &[0, 2]), StepKind::Elementwise);
    assert_eq!(kind("..., ...", &[0, 2]), StepKind::Elementwise);
}

#[test]
fn outer_product() {
    let (x, b) = ((vec![1.0, 2.0], vec![2], vec![1]), arange(&[5]));
    check(
        "i,j",
        &[&x, &b],
        &[2, 5],
        &[0.0, 1.0, 2.0, 3.0, 4.0, 0.0, 2.0, 4.0, 6.0, 8.0],
    );
    assert_eq!(kind("i,j", &[1, 1]), StepKind::Outer);
}

#[test]
fn tensor_contraction() {
    let (a, b) = (arange(&[3, 4, 5]), arange(&[4, 3, 2]));
    check(
        "ijk,jil->kl",
        &[&a, &b],
        &[5, 2],
        &[
            4400.0, 4730.0, 4532.0, 4874.0, 4664.0, 5018.0, 4796.0, 5162.0, 4928.0, 5306.0,
        ],
    );
    let eq = Equation::from_spec(&Spec::parse("ijk,jil->kl").unwrap(), &[3, 3]).unwrap();
    let plan = Plan::for_ranks(&eq).unwrap();
    let einkern_codegen::einsum::Step::Pair { class, .. } = &plan.steps()[0] else {
        panic!("two operands make a pairwise step");
    };
    assert_eq!(class.kind, StepKind::Gemm);
    assert_eq!(class.groups.k, labels("ij"));
    assert_eq!(class.groups.m, labels("k"));
    assert_eq!(class.groups.n, labels("l"));
    assert!(class.groups.batch.is_empty());
}

#[test]
fn writeable_diagonal_is_a_view() {
    let zeros = (vec![0.0; 9], vec![3, 3], vec![3, 1]);
    check("ii->i", &[&zeros], &[3], &[0.0; 3]);
    assert_eq!(kind("ii->i", &[2]), StepKind::View);
}

#[test]
fn ellipsis_broadcasting() {
    let (a, b) = (arange(&[3, 2]), arange(&[4, 3]));
    let expected = [10.0, 28.0, 46.0, 64.0, 13.0, 40.0, 67.0, 94.0];
    check("ki,jk->ij", &[&a, &b], &[2, 4], &expected);
    check("ki,...k->i...", &[&a, &b], &[2, 4], &expected);
    check("k...,jk", &[&a, &b], &[2, 4], &expected);
    // The implicit output of "k...,jk" is "...j", the ellipsis first.
    assert_eq!(
        Spec::parse("k...,jk").unwrap().to_explicit_string(),
        "k...,jk->...j"
    );
}

#[test]
fn chained_contraction_and_its_optimal_path() {
    let a = (vec![1.0; 64], vec![2, 4, 8], vec![32, 8, 1]);
    let spec = "ijk,ilm,njm,nlk,abc->";
    check(spec, &[&a, &a, &a, &a, &a], &[], &[262144.0]);
    let eq = Equation::from_spec(&Spec::parse(spec).unwrap(), &[3; 5]).unwrap();
    let shape: &[usize] = &[2, 4, 8];
    let bound = eq.bind(&[shape; 5]).unwrap();
    let sizes: &LabelSizes = bound.sizes();
    // np.einsum_path(..., optimize="optimal") and opt_einsum report 2304 flops.
    let path = path_with(Strategy::Optimal, eq.inputs(), eq.output(), sizes);
    assert_eq!(path.cost().flops, 2304);
    assert_eq!(path.cost().largest_intermediate, 64);
    let plan = Plan::new(&eq, sizes);
    assert_eq!(plan.steps().len(), 4);
    assert_eq!(plan.cost(), path.cost());
}

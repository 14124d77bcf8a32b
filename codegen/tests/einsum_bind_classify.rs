//! Binding shapes to labels (axes, diagonals, size-1 broadcasting, strides)
//! and classifying steps into kernel kinds with GEMM label groups.

use einkern_codegen::einsum::{
    classify_pair, classify_single, Dim, Equation, Label, LabelAxes, Spec, StepKind, Subscripts,
};

fn l(s: &str) -> Vec<Label> {
    s.chars().map(|c| Label::letter(c).unwrap()).collect()
}

fn bound(spec: &str, shapes: &[&[usize]]) -> (Equation, einkern_codegen::einsum::Bound) {
    let ranks: Vec<usize> = shapes.iter().map(|s| s.len()).collect();
    let eq = Equation::from_spec(&Spec::parse(spec).unwrap(), &ranks).unwrap();
    let b = eq.bind(shapes).unwrap();
    (eq, b)
}

#[test]
fn repeated_labels_list_all_their_axes_and_add_strides() {
    let (_, b) = bound("iji->j", &[&[3, 4, 3]]);
    assert_eq!(
        b.operand(0),
        &[
            LabelAxes {
                label: l("i")[0],
                axes: vec![0, 2],
                broadcast: false
            },
            LabelAxes {
                label: l("j")[0],
                axes: vec![1],
                broadcast: false
            },
        ]
    );
    assert_eq!(
        b.label_strides(0, &[12, 3, 1]),
        vec![(l("i")[0], 13), (l("j")[0], 3)]
    );
    assert_eq!(b.output_shape(), &[4]);
}

#[test]
fn size_one_label_broadcasts_against_the_other_operands() {
    // numpy.einsum("ij,jk->ik", ones((2, 1)), ones((3, 4))) sums j over 3.
    let (_, b) = bound("ij,jk->ik", &[&[2, 1], &[3, 4]]);
    assert_eq!(b.sizes().get(l("j")[0]), Some(3));
    assert!(b.operand(0)[1].broadcast);
    assert!(!b.operand(1)[0].broadcast);
    assert_eq!(
        b.label_strides(0, &[1, 1]),
        vec![(l("i")[0], 1), (l("j")[0], 0)]
    );
    assert_eq!(b.output_shape(), &[2, 4]);
}

#[test]
fn size_one_broadcasts_against_size_zero() {
    // numpy.einsum("ij,jk->ik", ones((2, 0)), ones((1, 4))) has shape (2, 4).
    let (_, b) = bound("ij,jk->ik", &[&[2, 0], &[1, 4]]);
    assert_eq!(b.sizes().get(l("j")[0]), Some(0));
    assert_eq!(b.output_shape(), &[2, 4]);
}

#[test]
fn ellipsis_dimensions_are_right_aligned_fresh_labels() {
    // numpy.einsum("...i,...j", ones((3, 1, 2)), ones((5, 2))).shape == (3, 5, 2, 2)
    let (eq, b) = bound("...i,...j", &[&[3, 1, 2], &[5, 2]]);
    assert_eq!(eq.broadcast_rank(), 2);
    let (d0, d1) = (Label::broadcast(0), Label::broadcast(1));
    assert_eq!(eq.inputs()[0], vec![d0, d1, l("i")[0]]);
    assert_eq!(eq.inputs()[1], vec![d1, l("j")[0]]);
    assert_eq!(eq.output(), &[d0, d1, l("i")[0], l("j")[0]]);
    assert_eq!(b.output_shape(), &[3, 5, 2, 2]);
    assert_eq!(d1.broadcast_dim(), Some(1));
    assert_eq!(d1.to_string(), "'...' dimension 1");
}

#[test]
fn equation_label_sets() {
    let (eq, _) = bound("bij,bjk->bik", &[&[2, 3, 4], &[2, 4, 5]]);
    assert_eq!(eq.labels(), l("bijk"));
    assert_eq!(eq.summed_labels(), l("j"));
    assert_eq!(eq.unique_labels(1), l("bjk"));
}

#[test]
fn equation_new_checks_the_output() {
    assert!(Equation::new(vec![l("ij")], l("ji")).is_ok());
    let e = Equation::new(vec![l("ij")], l("ik")).unwrap_err();
    assert_eq!(e.message(), "output label 'k' does not appear in any input");
    let e = Equation::new(vec![l("ij")], l("ii")).unwrap_err();
    assert_eq!(e.message(), "output label 'i' appears more than once");
}

#[test]
fn spec_from_parts_applies_the_same_rules_as_the_parser() {
    let ij = Subscripts::new(l("ij"), None);
    let jk = Subscripts::new(l("jk"), Some(0));
    let spec = Spec::from_parts(vec![ij.clone(), jk.clone()], None).unwrap();
    assert_eq!(spec, Spec::parse("ij,...jk").unwrap());
    assert_eq!(spec.to_explicit_string(), "ij,...jk->...ik");
    let bad = Spec::from_parts(vec![ij], Some(Subscripts::new(l("iz"), None)));
    assert_eq!(
        bad.unwrap_err().message(),
        "output label 'z' does not appear in any input"
    );
}

#[test]
fn single_operand_kinds() {
    let view = classify_single(&l("ij"), &l("ji"));
    assert_eq!((view.kind, view.diagonal), (StepKind::View, false));
    let diag = classify_single(&l("ii"), &l("i"));
    assert_eq!((diag.kind, diag.diagonal), (StepKind::View, true));
    let trace = classify_single(&l("ii"), &[]);
    assert_eq!(
        (trace.kind, trace.diagonal, trace.summed),
        (StepKind::Reduction, true, l("i"))
    );
    let rows = classify_single(&l("ijk"), &l("j"));
    assert_eq!((rows.kind, rows.summed), (StepKind::Reduction, l("ik")));
}

#[test]
fn pair_kinds() {
    assert_eq!(
        classify_pair(&l("ij"), &l("ij"), &l("ij")).kind,
        StepKind::Elementwise
    );
    assert_eq!(
        classify_pair(&l("ij"), &l("j"), &l("ij")).kind,
        StepKind::Elementwise
    );
    assert_eq!(
        classify_pair(&[], &l("ij"), &l("ij")).kind,
        StepKind::Elementwise
    );
    assert_eq!(
        classify_pair(&l("i"), &l("j"), &l("ij")).kind,
        StepKind::Outer
    );
    assert_eq!(
        classify_pair(&l("bi"), &l("bj"), &l("bij")).kind,
        StepKind::Outer
    );
    assert_eq!(classify_pair(&l("i"), &l("i"), &[]).kind, StepKind::Gemm);
    assert_eq!(
        classify_pair(&l("ij"), &l("jk"), &l("ik")).kind,
        StepKind::Gemm
    );
}

#[test]
fn gemm_groups_including_pre_summed_labels() {
    // A: b i j p q, B: b k j r, C: b k i. p, q only in A, r only in B.
    let step = classify_pair(&l("bijpq"), &l("bkjr"), &l("bki"));
    assert_eq!(step.kind, StepKind::Gemm);
    let g = &step.groups;
    assert_eq!(
        (&g.batch, &g.m, &g.n, &g.k),
        (&l("b"), &l("i"), &l("k"), &l("j"))
    );
    assert_eq!((&g.sum_a, &g.sum_b), (&l("pq"), &l("r")));
}

#[test]
fn gemm_groups_ignore_diagonal_repeats() {
    let step = classify_pair(&l("iij"), &l("jk"), &l("ik"));
    assert_eq!(step.groups.m, l("i"));
    assert_eq!(step.groups.k, l("j"));
}

#[test]
fn gemm_dims_carry_lengths_and_strides_per_tensor() {
    // C[b,i,k] = sum_j A[b,i,j] B[b,j,k], all C-contiguous, A transposed view.
    let (_, b) = bound("bij,bjk->bik", &[&[2, 3, 4], &[2, 4, 5]]);
    let step = classify_pair(&l("bij"), &l("bjk"), &l("bik"));
    let a = b.label_strides(0, &[12, 1, 3]);
    let bb = b.label_strides(1, &[20, 5, 1]);
    let c: Vec<(Label, isize)> = l("bik").into_iter().zip([15, 5, 1]).collect();
    let dims = step.groups.dims(b.sizes(), &a, &bb, &c);
    assert_eq!(
        dims.batch,
        vec![Dim {
            len: 2,
            strides: [12, 20, 15]
        }]
    );
    assert_eq!(
        dims.m,
        vec![Dim {
            len: 3,
            strides: [1, 0, 5]
        }]
    );
    assert_eq!(
        dims.n,
        vec![Dim {
            len: 5,
            strides: [0, 1, 1]
        }]
    );
    assert_eq!(
        dims.k,
        vec![Dim {
            len: 4,
            strides: [3, 5, 0]
        }]
    );
    assert!(dims.sum_a.is_empty() && dims.sum_b.is_empty());
}

//! What kind of kernel one step of a plan needs, decided from labels alone
//! (so the proc-macro can do it at compile time for 1- and 2-operand specs).
//!
//! A pairwise step `A, B -> C` splits its labels into the groups a
//! BLIS/TBLIS-style engine wants:
//!
//! | group   | in A | in B | in C | role                                  |
//! |---------|------|------|------|---------------------------------------|
//! | batch   | yes  | yes  | yes  | independent GEMMs                     |
//! | m       | yes  | no   | yes  | rows of C                             |
//! | n       | no   | yes  | yes  | columns of C                          |
//! | k       | yes  | yes  | no   | the summed inner dimension            |
//! | sum_a   | yes  | no   | no   | summed over A alone before the product|
//! | sum_b   | no   | yes  | no   | summed over B alone before the product|
//!
//! A repeated label inside one operand is a diagonal: a strided view, so the
//! classification only sees distinct labels.

use super::bind::LabelSizes;
use super::equation::unique;
use super::parse::Label;

/// The kind of kernel a step is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum StepKind {
    /// One operand, nothing summed: a permutation and/or diagonal of the
    /// input's axes. No arithmetic; can be returned as a strided view.
    View,
    /// One operand with summed labels (`"ij->i"`, the trace `"ii->"`).
    Reduction,
    /// Two operands, nothing contracted, and one side's kept labels are a
    /// subset of the other's: a Hadamard product, possibly broadcast
    /// (`"ij,ij->ij"`, `"ij,j->ij"`, `",ij->ij"`).
    Elementwise,
    /// Two operands, nothing contracted, each with kept labels the other
    /// lacks: an outer product, possibly batched (`"i,j->ij"`, `"bi,bj->bij"`).
    Outer,
    /// Two operands sharing a summed label: a (batched) GEMM in disguise.
    Gemm,
}

/// The label groups of a pairwise step; see the module table. `batch`, `m`
/// and `n` are in output order, `k` and `sum_a` in A's order, `sum_b` in B's.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Groups {
    pub batch: Vec<Label>,
    pub m: Vec<Label>,
    pub n: Vec<Label>,
    pub k: Vec<Label>,
    pub sum_a: Vec<Label>,
    pub sum_b: Vec<Label>,
}

/// A single-operand step, classified.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SingleStep {
    /// [`StepKind::View`] or [`StepKind::Reduction`].
    pub kind: StepKind,
    /// The summed labels, in input order.
    pub summed: Vec<Label>,
    /// The input repeats a label (reads a diagonal).
    pub diagonal: bool,
}

/// A pairwise step, classified.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PairStep {
    /// [`StepKind::Elementwise`], [`StepKind::Outer`] or [`StepKind::Gemm`].
    pub kind: StepKind,
    /// The label groups.
    pub groups: Groups,
}

/// Classifies `input -> output` (input labels per axis, repeats allowed).
pub fn classify_single(input: &[Label], output: &[Label]) -> SingleStep {
    let distinct = unique(input);
    let summed: Vec<Label> = distinct
        .iter()
        .copied()
        .filter(|l| !output.contains(l))
        .collect();
    SingleStep {
        kind: if summed.is_empty() {
            StepKind::View
        } else {
            StepKind::Reduction
        },
        summed,
        diagonal: distinct.len() < input.len(),
    }
}

/// Classifies `a, b -> output` (labels per axis, repeats allowed).
pub fn classify_pair(a: &[Label], b: &[Label], output: &[Label]) -> PairStep {
    let (a, b) = (unique(a), unique(b));
    let pick = |from: &[Label], in_a: bool, in_b: bool, in_c: bool| -> Vec<Label> {
        from.iter()
            .copied()
            .filter(|l| {
                a.contains(l) == in_a && b.contains(l) == in_b && output.contains(l) == in_c
            })
            .collect()
    };
    let groups = Groups {
        batch: pick(output, true, true, true),
        m: pick(output, true, false, true),
        n: pick(output, false, true, true),
        k: pick(&a, true, true, false),
        sum_a: pick(&a, true, false, false),
        sum_b: pick(&b, false, true, false),
    };
    let kind = if !groups.k.is_empty() {
        StepKind::Gemm
    } else if !groups.m.is_empty() && !groups.n.is_empty() {
        StepKind::Outer
    } else {
        StepKind::Elementwise
    };
    PairStep { kind, groups }
}

/// One loop dimension handed to the engine: its length and its stride in A,
/// B and C (0 where the tensor does not have the label).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Dim {
    pub len: usize,
    /// Strides in elements, `[a, b, c]`.
    pub strides: [isize; 3],
}

/// [`Groups`] with lengths and strides filled in: what a TBLIS-style GEMM
/// takes (each group a list of `(len, strides)` dims, no transposition copies).
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct GemmDims {
    pub batch: Vec<Dim>,
    pub m: Vec<Dim>,
    pub n: Vec<Dim>,
    pub k: Vec<Dim>,
    pub sum_a: Vec<Dim>,
    pub sum_b: Vec<Dim>,
}

impl Groups {
    /// Attaches sizes and per-label strides of A, B and C (as produced by
    /// [`Bound::label_strides`](super::Bound::label_strides)).
    ///
    /// # Panics
    /// If a label of a group has no size.
    pub fn dims(
        &self,
        sizes: &LabelSizes,
        a: &[(Label, isize)],
        b: &[(Label, isize)],
        c: &[(Label, isize)],
    ) -> GemmDims {
        let stride = |of: &[(Label, isize)], l: Label| {
            of.iter().find(|(x, _)| *x == l).map_or(0, |&(_, s)| s)
        };
        let dims = |labels: &[Label]| -> Vec<Dim> {
            labels
                .iter()
                .map(|&l| Dim {
                    len: sizes.size(l),
                    strides: [stride(a, l), stride(b, l), stride(c, l)],
                })
                .collect()
        };
        GemmDims {
            batch: dims(&self.batch),
            m: dims(&self.m),
            n: dims(&self.n),
            k: dims(&self.k),
            sum_a: dims(&self.sum_a),
            sum_b: dims(&self.sum_b),
        }
    }
}

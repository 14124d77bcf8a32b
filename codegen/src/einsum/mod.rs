//! The einsum front end and planner: pure data, no arrays.
//!
//! The stages keep spec-level decisions apart from size-level ones, so the
//! proc-macro can run the first two at compile time and the generated code
//! (or the JIT) the rest at run time:
//!
//! | stage | knows | produces | module |
//! |---|---|---|---|
//! | parse | the string | [`Spec`]: subscripts per operand, output (implicit rule applied) | `parse` |
//! | expand | + ranks | [`Equation`]: one [`Label`] per axis, `...` expanded | `equation` |
//! | classify | labels | [`StepKind`] and GEMM [`Groups`] per step | `classify` |
//! | bind | + shapes | [`Bound`]: [`LabelSizes`], axes and strides per label | `bind` |
//! | path | + sizes | [`ContractionPath`] for 3+ operands (cache it by [`LabelSizes`]) | `path` |
//! | plan | all | [`Plan`]: the classified steps in order | here |
//! | execute | + arrays | the result: [`einsum`], [`einsum_compiled`] | `exec` |
//!
//! [`einsum_reference_f64`] is the naive oracle the kernels are tested against.
//!
//! ```
//! use einkern_codegen::einsum::{Equation, Plan, Spec, StepKind};
//!
//! // Implicit output: the labels that occur once, so `b` is summed too.
//! assert_eq!(Spec::parse("bij,bjk")?.to_explicit_string(), "bij,bjk->ik");
//! let spec = Spec::parse("bij,bjk->bik")?;
//! let eq = Equation::from_spec(&spec, &[3, 3])?;
//! let plan = Plan::for_ranks(&eq).expect("two operands need no sizes");
//! assert_eq!(plan.steps()[0].kind(), StepKind::Gemm); // batch b, M i, N k, K j
//! # Ok::<(), einkern_runtime::Error>(())
//! ```

mod bind;
mod classify;
mod equation;
mod exec;
mod parse;
mod path;
mod reference;

pub use bind::{Bound, LabelAxes, LabelSizes};
pub use classify::{
    classify_pair, classify_single, Dim, GemmDims, Groups, PairStep, SingleStep, StepKind,
};
pub use equation::{Equation, MAX_BROADCAST_RANK};
pub use exec::{
    contract_gemm, einsum, einsum_compiled, einsum_equation, CompiledSpec, CompiledSubscripts,
    OutputEpilogue, OutputInput, Prepared, MAX_OPERANDS,
};
pub use parse::{Label, Spec, Subscripts};
pub use path::{
    contraction_path, path_with, ContractionPath, Cost, PathStep, Strategy, OPTIMAL_MAX_OPERANDS,
};
pub use reference::{einsum_reference_f64, RefOperand};

/// One step of a [`Plan`]. Operands are numbered as in [`PathStep`]: inputs
/// `0..n`, step `i`'s result `n + i`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Step {
    /// A single-operand step (only when the equation has one operand).
    Single {
        input: usize,
        /// Labels of the result, in axis order.
        labels: Vec<Label>,
        class: SingleStep,
    },
    /// A pairwise step.
    Pair {
        lhs: usize,
        rhs: usize,
        /// Labels of the result, in axis order.
        labels: Vec<Label>,
        class: PairStep,
    },
}

impl Step {
    /// The kind of kernel the step needs.
    pub fn kind(&self) -> StepKind {
        match self {
            Step::Single { class, .. } => class.kind,
            Step::Pair { class, .. } => class.kind,
        }
    }

    /// The labels of the step's result, in axis order.
    pub fn labels(&self) -> &[Label] {
        match self {
            Step::Single { labels, .. } | Step::Pair { labels, .. } => labels,
        }
    }
}

/// An equation's classified steps, in execution order; the last step's
/// result is the output.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Plan {
    steps: Vec<Step>,
    cost: Cost,
}

impl Plan {
    /// Plans `equation` for bound sizes, choosing the path by
    /// [`Strategy::Auto`].
    pub fn new(equation: &Equation, sizes: &LabelSizes) -> Plan {
        let path = contraction_path(equation.inputs(), equation.output(), sizes);
        Plan::with_path(equation, &path)
    }

    /// Plans a 1- or 2-operand equation, whose steps do not depend on sizes
    /// (what the proc-macro can decide at compile time); `None` for 3+.
    pub fn for_ranks(equation: &Equation) -> Option<Plan> {
        (equation.operand_count() <= 2)
            .then(|| Plan::with_path(equation, &ContractionPath::default()))
    }

    /// Plans `equation` along `path` (e.g. one cached for these sizes). For a
    /// 2-operand equation an empty path means "contract 0 with 1".
    ///
    /// # Panics
    /// If `path` does not belong to the equation.
    pub fn with_path(equation: &Equation, path: &ContractionPath) -> Plan {
        let inputs = equation.inputs();
        let steps = match inputs.len() {
            0 => Vec::new(),
            1 => vec![Step::Single {
                input: 0,
                labels: equation.output().to_vec(),
                class: classify_single(&inputs[0], equation.output()),
            }],
            2 if path.steps().is_empty() => vec![Step::Pair {
                lhs: 0,
                rhs: 1,
                labels: equation.output().to_vec(),
                class: classify_pair(&inputs[0], &inputs[1], equation.output()),
            }],
            n => {
                let labels_of = |id: usize| -> &[Label] {
                    if id < n {
                        &inputs[id]
                    } else {
                        &path.steps()[id - n].labels
                    }
                };
                path.steps()
                    .iter()
                    .map(|s| Step::Pair {
                        lhs: s.lhs,
                        rhs: s.rhs,
                        labels: s.labels.clone(),
                        class: classify_pair(labels_of(s.lhs), labels_of(s.rhs), &s.labels),
                    })
                    .collect()
            }
        };
        Plan {
            steps,
            cost: path.cost(),
        }
    }

    /// The steps in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The contraction path's cost (zero for 1 or 2 operands planned by rank).
    pub fn cost(&self) -> Cost {
        self.cost
    }
}

//! A spec with the operand ranks known: `...` expanded into broadcast-dimension
//! labels, one label per axis. This is the form the planner works on, and the
//! proc-macro can build it at compile time (it knows ranks, not sizes).

use einkern_runtime::Error;

use super::parse::{Label, Spec, Subscripts};

/// The most dimensions `...` may stand for (far above any real array's rank;
/// it only keeps [`Label`] small).
pub const MAX_BROADCAST_RANK: usize = 4096;

/// An einsum with one label per operand axis and per output axis.
///
/// A label repeated within one operand is a diagonal of that operand; a label
/// in the inputs but not the output is summed. The broadcast dimensions that
/// `...` stood for are labels [`Label::broadcast`]`(0..broadcast_rank)`,
/// right-aligned across operands as in NumPy.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Equation {
    inputs: Vec<Vec<Label>>,
    output: Vec<Label>,
    broadcast_rank: usize,
}

impl Equation {
    /// Expands `spec` for operands of the given ranks.
    ///
    /// Errors (as [`Error::Shape`]) if the rank count differs from the operand
    /// count, an operand's rank does not fit its subscripts, or `...` covers
    /// dimensions but the explicit output has no `...` to receive them.
    pub fn from_spec(spec: &Spec, ranks: &[usize]) -> Result<Equation, Error> {
        if ranks.len() != spec.operand_count() {
            return Err(Error::shape(format!(
                "the subscripts '{spec}' name {} operand{}, but {} {} given",
                spec.operand_count(),
                if spec.operand_count() == 1 { "" } else { "s" },
                ranks.len(),
                if ranks.len() == 1 { "was" } else { "were" }
            )));
        }
        let mut extra = Vec::with_capacity(ranks.len());
        for (k, (s, &rank)) in spec.inputs().iter().zip(ranks).enumerate() {
            let named = s.labels().len();
            if rank < named {
                return Err(Error::shape(format!(
                    "operand {k} has {rank} dimension{}, but its subscripts '{s}' name {named}",
                    if rank == 1 { "" } else { "s" }
                )));
            }
            if rank > named && !s.has_ellipsis() {
                return Err(Error::shape(format!(
                    "operand {k} has {rank} dimensions, but its subscripts '{s}' name only {named} \
                     and have no '...' to cover the rest"
                )));
            }
            extra.push(rank - named);
        }
        let broadcast_rank = extra.iter().copied().max().unwrap_or(0);
        if broadcast_rank > MAX_BROADCAST_RANK {
            return Err(Error::shape(format!(
                "'...' covers {broadcast_rank} dimensions; einsum supports at most {MAX_BROADCAST_RANK}"
            )));
        }
        if broadcast_rank > 0 && !spec.output().has_ellipsis() {
            let k = extra.iter().position(|&e| e == broadcast_rank).unwrap_or(0);
            return Err(Error::shape(format!(
                "operand {k} has {broadcast_rank} dimension{} under '...', but the output '{}' has no \
                 '...' to receive {}",
                if broadcast_rank == 1 { "" } else { "s" },
                spec.output(),
                if broadcast_rank == 1 { "it" } else { "them" }
            )));
        }
        let inputs = spec
            .inputs()
            .iter()
            .zip(&extra)
            .map(|(s, &e)| expand(s, broadcast_rank - e, broadcast_rank))
            .collect();
        let output = expand(spec.output(), 0, broadcast_rank);
        Ok(Equation {
            inputs,
            output,
            broadcast_rank,
        })
    }

    /// Builds an equation directly from per-axis labels (for front ends other
    /// than the subscript string, and for tests). Every output label must
    /// occur in some input, and only once in the output.
    pub fn new(inputs: Vec<Vec<Label>>, output: Vec<Label>) -> Result<Equation, Error> {
        for (n, l) in output.iter().enumerate() {
            if output[..n].contains(l) {
                return Err(Error::value(format!("output {l} appears more than once")));
            }
            if !inputs.iter().any(|i| i.contains(l)) {
                return Err(Error::value(format!(
                    "output {l} does not appear in any input"
                )));
            }
        }
        let broadcast_rank = inputs
            .iter()
            .flatten()
            .filter_map(|l| l.broadcast_dim())
            .map(|d| d + 1)
            .max()
            .unwrap_or(0);
        Ok(Equation {
            inputs,
            output,
            broadcast_rank,
        })
    }

    /// Per operand, the label of each axis (repeats mean a diagonal).
    pub fn inputs(&self) -> &[Vec<Label>] {
        &self.inputs
    }

    /// The label of each output axis, in order; no repeats.
    pub fn output(&self) -> &[Label] {
        &self.output
    }

    /// How many dimensions `...` stands for after broadcasting the operands.
    pub fn broadcast_rank(&self) -> usize {
        self.broadcast_rank
    }

    /// The number of operands.
    pub fn operand_count(&self) -> usize {
        self.inputs.len()
    }

    /// Operand `k`'s distinct labels, in order of first appearance.
    pub fn unique_labels(&self, k: usize) -> Vec<Label> {
        unique(&self.inputs[k])
    }

    /// Every distinct label of the equation, sorted.
    pub fn labels(&self) -> Vec<Label> {
        let mut all: Vec<Label> = self.inputs.iter().flatten().copied().collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// The labels that are summed: in some input, not in the output; sorted.
    pub fn summed_labels(&self) -> Vec<Label> {
        self.labels()
            .into_iter()
            .filter(|l| !self.output.contains(l))
            .collect()
    }
}

/// Distinct labels in order of first appearance.
pub(crate) fn unique(labels: &[Label]) -> Vec<Label> {
    let mut out = Vec::with_capacity(labels.len());
    for &l in labels {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// Replaces `...` by broadcast dimensions `first..last`.
fn expand(s: &Subscripts, first: usize, last: usize) -> Vec<Label> {
    let labels = s.labels();
    match s.ellipsis() {
        None => labels.to_vec(),
        Some(at) => labels[..at]
            .iter()
            .copied()
            .chain((first..last).map(Label::broadcast))
            .chain(labels[at..].iter().copied())
            .collect(),
    }
}

//! Staging: cutting a kernel's graph into passes over memory.
//!
//! Every reduction is one pass that folds its argument's expression into a
//! result array; every `einsum!` is a step that contracts its operands into
//! a result array (an operand that is an expression rather than an array is
//! first materialised by a pass of its own); the rest of the graph is the
//! final pass, writing the output. A pass evaluates the expression below its
//! value per element and stops at reductions and einsums, whose results it
//! reads back as arrays (so softmax's `max` and `sum` are computed once each
//! and broadcast into the divide).

use crate::expr::{Graph, NodeId, Op};

/// A value a pass reads rather than computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Array argument `k`.
    Array(usize),
    /// The result array of an earlier reduction pass.
    Temp(NodeId),
}

/// What a pass does with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassKind {
    /// Folds `value` into the result of this `Reduce` node (whose argument
    /// is `value`).
    Reduce(NodeId),
    /// Runs the `Einsum` node `value` on `leaves`, its operands in order:
    /// a contraction, not a row function.
    Einsum,
    /// Writes `value` into a temporary (`Leaf::Temp(value)`): an einsum
    /// operand that is an expression.
    Materialize,
    /// Writes `value` to the kernel's output (the last pass).
    Final,
}

/// One pass over memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pass {
    /// The value computed per element of the iteration space (for an
    /// einsum step, the einsum node).
    pub value: NodeId,
    pub kind: PassKind,
    /// Arrays read, in the order the row function receives them.
    pub leaves: Vec<Leaf>,
    /// Scalar arguments read (argument numbers).
    pub scalars: Vec<usize>,
    /// Nodes evaluated per element, operands first; neither leaves nor
    /// scalars.
    pub nodes: Vec<NodeId>,
}

impl Pass {
    /// The `Reduce` node of a reduction pass.
    pub fn reduce(&self) -> Option<NodeId> {
        match self.kind {
            PassKind::Reduce(r) => Some(r),
            _ => None,
        }
    }

    /// The node whose value the pass leaves in an array read as
    /// `Leaf::Temp` (`None` for the final pass, which writes the output).
    pub fn result(&self) -> Option<NodeId> {
        match self.kind {
            PassKind::Reduce(r) => Some(r),
            PassKind::Einsum | PassKind::Materialize => Some(self.value),
            PassKind::Final => None,
        }
    }
}

/// The passes of `graph` in execution order. `is_array[k]` tells whether
/// argument `k` is an array (else a scalar). The last pass produces the
/// kernel's result.
pub fn plan(graph: &Graph, is_array: &[bool]) -> Vec<Pass> {
    let mut passes: Vec<Pass> = Vec::new();
    let live = live(graph);
    for (i, node) in graph.nodes().iter().enumerate() {
        let id = NodeId(i as u32);
        if !live[i] {
            continue;
        }
        match node.op {
            Op::Reduce { arg, .. } => {
                passes.push(pass(graph, is_array, arg, PassKind::Reduce(id)));
            }
            Op::Einsum(e) => {
                let mut leaves = Vec::new();
                for &arg in &graph.einsum(e).args {
                    leaves.push(match graph.node(arg).op {
                        Op::Input(k) if is_array[k] => Leaf::Array(k),
                        Op::Reduce { .. } | Op::Einsum(_) => Leaf::Temp(arg),
                        _ => {
                            let done = |p: &Pass| p.result() == Some(arg);
                            if !passes.iter().any(done) {
                                let m = pass(graph, is_array, arg, PassKind::Materialize);
                                passes.push(m);
                            }
                            Leaf::Temp(arg)
                        }
                    });
                }
                passes.push(Pass {
                    value: id,
                    kind: PassKind::Einsum,
                    leaves,
                    scalars: vec![],
                    nodes: vec![],
                });
            }
            _ => {}
        }
    }
    let root = graph.root();
    if !matches!(graph.node(root).op, Op::Reduce { .. } | Op::Einsum(_)) {
        passes.push(pass(graph, is_array, root, PassKind::Final));
    }
    passes
}

/// The reduction or einsum whose result can be computed straight into the
/// output, the final pass then running in place over it (`sqrt(sum(..))`,
/// `mean(..) / n`, `relu(einsum!(..) + b)`): a result read only by the
/// final (elementwise) pass, of the output's element type. Its pass is
/// moved just before the final one (nothing else depends on it). Whether
/// the shapes allow it is decided at run time (the result must have the
/// output's shape).
pub fn epilogue_candidate(graph: &Graph, passes: &mut Vec<Pass>) -> Option<NodeId> {
    let last = passes.last()?;
    if last.kind != PassKind::Final {
        return None;
    }
    let out_ty = graph.node(last.value).ty;
    let candidate = last.leaves.iter().find_map(|l| match *l {
        Leaf::Temp(r)
            if graph.node(r).ty == out_ty
                && passes[..passes.len() - 1]
                    .iter()
                    .all(|p| !p.leaves.contains(&Leaf::Temp(r))) =>
        {
            Some(r)
        }
        _ => None,
    })?;
    let at = passes.iter().position(|p| p.result() == Some(candidate))?;
    let pass = passes.remove(at);
    let n = passes.len();
    passes.insert(n - 1, pass);
    Some(candidate)
}

/// Which nodes the root depends on (through any path).
fn live(graph: &Graph) -> Vec<bool> {
    let mut seen = vec![false; graph.nodes().len()];
    let mut stack = vec![graph.root()];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut seen[n.0 as usize], true) {
            stack.extend(graph.operands(n));
        }
    }
    seen
}

fn pass(graph: &Graph, is_array: &[bool], value: NodeId, kind: PassKind) -> Pass {
    let mut seen = vec![false; graph.nodes().len()];
    let mut stack = vec![value];
    while let Some(n) = stack.pop() {
        if std::mem::replace(&mut seen[n.0 as usize], true) {
            continue;
        }
        if !matches!(graph.node(n).op, Op::Reduce { .. } | Op::Einsum(_)) {
            stack.extend(graph.node(n).op.operands());
        }
    }
    let mut p = Pass {
        value,
        kind,
        leaves: vec![],
        scalars: vec![],
        nodes: vec![],
    };
    // Node order is a topological order.
    for (i, node) in graph.nodes().iter().enumerate() {
        let id = NodeId(i as u32);
        if !seen[i] {
            continue;
        }
        match node.op {
            Op::Input(k) if is_array[k] => p.leaves.push(Leaf::Array(k)),
            Op::Input(k) => p.scalars.push(k),
            Op::Reduce { .. } | Op::Einsum(_) => p.leaves.push(Leaf::Temp(id)),
            _ => p.nodes.push(id),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{compile_str, ScalarType};

    #[test]
    fn softmax_is_three_passes_reusing_the_reductions() {
        let g = compile_str(
            "exp(x - max(x, axis=-1, keepdims=True)) / sum(exp(x - max(x, axis=-1, keepdims=True)), axis=-1, keepdims=True)",
            &["x"],
            ScalarType::F32,
        )
        .unwrap();
        let passes = plan(&g, &[true]);
        assert_eq!(passes.len(), 3);
        assert_eq!(passes[0].leaves, vec![Leaf::Array(0)]);
        let max = passes[0].reduce().unwrap();
        assert_eq!(passes[1].leaves, vec![Leaf::Array(0), Leaf::Temp(max)]);
        let sum = passes[1].reduce().unwrap();
        assert_eq!(
            passes[2].leaves,
            vec![Leaf::Array(0), Leaf::Temp(max), Leaf::Temp(sum)]
        );
        assert_eq!(passes[2].kind, PassKind::Final);
    }

    #[test]
    fn only_a_reduction_read_by_the_final_pass_alone_is_an_epilogue_candidate() {
        let g = compile_str(
            "sqrt(sum(x * x, axis=-1)) + max(x)",
            &["x"],
            ScalarType::F64,
        )
        .unwrap();
        let mut passes = plan(&g, &[true]);
        let r = epilogue_candidate(&g, &mut passes).unwrap();
        assert_eq!(passes[1].reduce(), Some(r));
        let g = compile_str(
            "x / sum(x, axis=0) + max(sum(x, axis=0))",
            &["x"],
            ScalarType::F64,
        )
        .unwrap();
        let mut passes = plan(&g, &[true]);
        let sum = passes[0].reduce();
        assert!(sum.is_some());
        assert_ne!(
            epilogue_candidate(&g, &mut passes),
            sum,
            "sum is also read by max"
        );
        let g = compile_str("x + 1.0", &["x"], ScalarType::F64).unwrap();
        assert_eq!(epilogue_candidate(&g, &mut plan(&g, &[true])), None);
    }

    #[test]
    fn a_reduction_at_the_root_is_the_last_pass_and_scalars_are_not_leaves() {
        let g = compile_str("sum(x * a, axis=0)", &["x", "a"], ScalarType::F64).unwrap();
        let passes = plan(&g, &[true, false]);
        assert_eq!(passes.len(), 1);
        assert_eq!(passes[0].reduce(), Some(g.root()));
        assert_eq!(passes[0].leaves, vec![Leaf::Array(0)]);
        assert_eq!(passes[0].scalars, vec![1]);
        assert_eq!(passes[0].nodes.len(), 1);
    }
}

//! How a typed expression graph is cut into JIT-compilable pieces.
//!
//! Two cuts, both decided once at compile time:
//!
//! * **Reductions** need their whole argument before anything downstream can
//!   run, so every `Reduce` node splits the graph: its argument becomes an
//!   elementwise [`Part`] of its own, evaluated into a temporary and reduced,
//!   and the result enters the parts that use it as an extra input
//!   ([`Source::Reduced`]).
//! * **Transcendentals** run on the runtime's vectorised math
//!   (`vmath::*_slice`, AVX2/AVX-512 at run time), one block of elements at
//!   a time, because Cranelift only has 128-bit vectors. Within a part, each
//!   call node gets a *level* (1 + the deepest call below it) and the part
//!   becomes a sequence of [`Stage`]s: stage `s` computes the arguments of
//!   the level-`s + 1` calls into scratch slots, the calls run, and the last
//!   stage computes the result. Cheap arithmetic shared between stages is
//!   recomputed rather than stored.

use std::collections::HashMap;

use crate::expr::ast::BinaryOp;
use crate::expr::{Func, Graph, Node, NodeId, Op, ReduceOp, ScalarType};

/// Where an input of a [`Part`] comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The kernel's argument number `i`.
    Arg(usize),
    /// The result of reduction number `r`.
    Reduced(usize),
}

/// One reduction: the part computing its argument, and what to do with it.
#[derive(Clone, Debug)]
pub struct Reduction {
    pub part: usize,
    pub op: ReduceOp,
    pub axis: Option<isize>,
    pub keepdims: bool,
}

/// A call into the runtime's vector math between two stages.
#[derive(Clone, Copy, Debug)]
pub struct Call {
    pub func: Func,
    /// Slots holding the arguments (the second is ignored for unary
    /// functions).
    pub args: [usize; 2],
    pub result: usize,
    pub ty: ScalarType,
}

/// One JIT-compiled loop: the nodes it stores and the slot of each.
#[derive(Clone, Debug)]
pub struct Stage {
    pub outputs: Vec<(NodeId, usize)>,
}

/// An elementwise graph without reductions, staged around its calls.
///
/// Slots number the contiguous block buffers a stage reads and writes:
/// `0..inputs` are the inputs, then call arguments and results, and
/// [`Part::out_slot`] is the result.
#[derive(Clone, Debug)]
pub struct Part {
    pub graph: Graph,
    pub sources: Vec<Source>,
    pub stages: Vec<Stage>,
    /// `calls[s]` run after stage `s`.
    pub calls: Vec<Vec<Call>>,
    /// Call nodes whose results a stage loads instead of computing.
    pub results: HashMap<NodeId, usize>,
    pub slot_types: Vec<ScalarType>,
    pub out_slot: usize,
}

/// A whole kernel: reductions (argument parts first) and the final part.
#[derive(Clone, Debug)]
pub struct Plan {
    pub parts: Vec<Part>,
    pub reductions: Vec<Reduction>,
}

impl Plan {
    pub fn new(graph: &Graph) -> Plan {
        let mut cx = Splitter {
            graph,
            parts: Vec::new(),
            reductions: Vec::new(),
            reduced: HashMap::new(),
        };
        let (g, sources) = cx.extract(graph.root());
        let last = Part::new(g, sources);
        let mut parts = cx.parts;
        parts.push(last);
        Plan {
            parts,
            reductions: cx.reductions,
        }
    }

    /// The part that computes the kernel's result.
    pub fn final_part(&self) -> &Part {
        self.parts.last().expect("a plan has a final part")
    }
}

struct Splitter<'g> {
    graph: &'g Graph,
    parts: Vec<Part>,
    reductions: Vec<Reduction>,
    /// Reduce node of the source graph → reduction number.
    reduced: HashMap<NodeId, usize>,
}

impl Splitter<'_> {
    /// The subgraph computing `root`, with reductions below it replaced by
    /// inputs (and planned first).
    fn extract(&mut self, root: NodeId) -> (Graph, Vec<Source>) {
        // Which nodes `root` needs, stopping at reductions.
        let mut needed = vec![false; root.0 as usize + 1];
        needed[root.0 as usize] = true;
        for i in (0..=root.0 as usize).rev() {
            if !needed[i] {
                continue;
            }
            let node = self.graph.nodes()[i];
            if let Op::Reduce { arg, .. } = node.op {
                if !self.reduced.contains_key(&NodeId(i as u32)) {
                    self.plan_reduction(NodeId(i as u32), node, arg);
                }
            } else {
                for o in node.op.operands() {
                    needed[o.0 as usize] = true;
                }
            }
        }
        let source_of = |i: usize, op: Op| match op {
            Op::Input(a) => Some(Source::Arg(a)),
            Op::Reduce { .. } => Some(Source::Reduced(self.reduced[&NodeId(i as u32)])),
            _ => None,
        };
        let mut sources = Vec::new();
        let mut inputs = Vec::new();
        for (i, node) in self.graph.nodes()[..=root.0 as usize].iter().enumerate() {
            if let Some(s) = needed[i].then(|| source_of(i, node.op)).flatten() {
                inputs.push((format!("in{}", sources.len()), node.ty));
                sources.push(s);
            }
        }
        let mut g = Graph::new(inputs);
        let mut map: HashMap<NodeId, NodeId> = HashMap::new();
        let mut next_input = 0;
        for (i, node) in self.graph.nodes()[..=root.0 as usize].iter().enumerate() {
            if !needed[i] {
                continue;
            }
            let op = match source_of(i, node.op) {
                Some(_) => {
                    next_input += 1;
                    Op::Input(next_input - 1)
                }
                None => remap(node.op, &map),
            };
            let id = g.add(Node { op, ty: node.ty });
            map.insert(NodeId(i as u32), id);
        }
        g.set_root(map[&root]);
        (g, sources)
    }

    fn plan_reduction(&mut self, id: NodeId, node: Node, arg: NodeId) {
        let Op::Reduce {
            op, axis, keepdims, ..
        } = node.op
        else {
            unreachable!("called on reductions only")
        };
        let (g, sources) = self.extract(arg);
        self.parts.push(Part::new(g, sources));
        self.reductions.push(Reduction {
            part: self.parts.len() - 1,
            op,
            axis,
            keepdims,
        });
        self.reduced.insert(id, self.reductions.len() - 1);
    }
}

fn remap(op: Op, map: &HashMap<NodeId, NodeId>) -> Op {
    let m = |id: NodeId| map[&id];
    match op {
        Op::Input(_) | Op::Const(_) | Op::Reduce { .. } => op,
        Op::Einsum(_) => unreachable!("the JIT's language has no einsum! (see jit::einsum)"),
        Op::Neg(a) => Op::Neg(m(a)),
        Op::Not(a) => Op::Not(m(a)),
        Op::Binary(b, x, y) => Op::Binary(b, m(x), m(y)),
        Op::Powi(a, n) => Op::Powi(m(a), n),
        Op::Func1(f, a) => Op::Func1(f, m(a)),
        Op::Func2(f, a, b) => Op::Func2(f, m(a), m(b)),
        Op::Where(c, a, b) => Op::Where(m(c), m(a), m(b)),
        Op::Cast(a) => Op::Cast(m(a)),
    }
}

/// The runtime vector-math function a node calls, if it is not lowered to
/// Cranelift instructions directly.
pub fn call_of(op: Op) -> Option<(Func, Vec<NodeId>)> {
    match op {
        Op::Func1(f, a) if f.is_vector_math() => Some((f, vec![a])),
        Op::Func2(f, a, b) if f.is_vector_math() => Some((f, vec![a, b])),
        Op::Binary(BinaryOp::Pow, a, b) => Some((Func::Pow, vec![a, b])),
        _ => None,
    }
}

impl Part {
    fn new(graph: Graph, sources: Vec<Source>) -> Part {
        let nodes = graph.nodes();
        let mut level = vec![0usize; nodes.len()];
        for (i, n) in nodes.iter().enumerate() {
            let below =
                n.op.operands()
                    .iter()
                    .map(|o| level[o.0 as usize])
                    .max()
                    .unwrap_or(0);
            level[i] = below + call_of(n.op).is_some() as usize;
        }
        let depth = level[graph.root().0 as usize];
        let mut slot_types: Vec<ScalarType> = graph.inputs().iter().map(|(_, t)| *t).collect();
        let mut stages = vec![Stage { outputs: vec![] }; depth + 1];
        let mut calls = vec![Vec::new(); depth + 1];
        let mut arg_slots: HashMap<NodeId, usize> = HashMap::new();
        let mut results = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            let Some((func, args)) = call_of(n.op) else {
                continue;
            };
            let stage = level[i] - 1;
            let mut slots = [0usize; 2];
            for (k, a) in args.iter().enumerate() {
                slots[k] = *arg_slots.entry(*a).or_insert_with(|| {
                    slot_types.push(nodes[a.0 as usize].ty);
                    stages[stage].outputs.push((*a, slot_types.len() - 1));
                    slot_types.len() - 1
                });
            }
            if args.len() == 1 {
                slots[1] = slots[0];
            }
            slot_types.push(n.ty);
            let result = slot_types.len() - 1;
            results.insert(NodeId(i as u32), result);
            calls[stage].push(Call {
                func,
                args: slots,
                result,
                ty: n.ty,
            });
        }
        slot_types.push(graph.output_type());
        let out_slot = slot_types.len() - 1;
        stages[depth].outputs.push((graph.root(), out_slot));
        Part {
            graph,
            sources,
            stages,
            calls,
            results,
            slot_types,
            out_slot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::compile_str;

    #[test]
    fn calls_split_stages_and_reductions_split_parts() {
        let g = compile_str("exp(sin(x) * 2.0) + y", &["x", "y"], ScalarType::F64).unwrap();
        let plan = Plan::new(&g);
        assert_eq!(plan.parts.len(), 1);
        let p = plan.final_part();
        assert_eq!(p.stages.len(), 3);
        assert_eq!(p.calls.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1, 0]);

        let g = compile_str(
            "x - mean(x, axis=1, keepdims=True)",
            &["x"],
            ScalarType::F64,
        )
        .unwrap();
        let plan = Plan::new(&g);
        assert_eq!(plan.parts.len(), 2);
        assert_eq!(plan.reductions[0].part, 0);
        assert_eq!(
            plan.final_part().sources,
            [Source::Arg(0), Source::Reduced(0)]
        );
    }
}

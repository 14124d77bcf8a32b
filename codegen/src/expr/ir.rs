//! The typed expression IR: a DAG of [`Node`]s in a [`Graph`].
//!
//! Plain data, Cranelift-style: nodes are stored in one vector and refer to
//! each other by [`NodeId`]; a node's operands always come before it, so a
//! forward walk is a valid evaluation order. Building goes through
//! [`Graph::add`], which deduplicates identical nodes (common
//! subexpressions are computed once). The IR says *what* is computed;
//! shapes, loop order and vector width are the planner's business.

use std::collections::HashMap;

use einkern_runtime::DType;

use super::ast::BinaryOp;
use super::funcs::Func;

/// The type of every element an expression node produces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarType {
    Bool,
    I32,
    I64,
    F32,
    F64,
}

impl ScalarType {
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::I32 => "int32",
            ScalarType::I64 => "int64",
            ScalarType::F32 => "float32",
            ScalarType::F64 => "float64",
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }
    pub fn is_int(self) -> bool {
        matches!(self, ScalarType::I32 | ScalarType::I64)
    }
    /// The cast function that converts to this type (`float64(x)`).
    pub fn by_name(name: &str) -> Option<ScalarType> {
        [
            ScalarType::Bool,
            ScalarType::I32,
            ScalarType::I64,
            ScalarType::F32,
            ScalarType::F64,
        ]
        .into_iter()
        .find(|t| t.name() == name)
    }
}

impl From<DType> for ScalarType {
    fn from(d: DType) -> Self {
        match d {
            DType::F32 => ScalarType::F32,
            DType::F64 => ScalarType::F64,
            DType::I32 => ScalarType::I32,
            DType::I64 => ScalarType::I64,
        }
    }
}

impl std::fmt::Display for ScalarType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Index of a node in its [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

/// A constant, stored exactly: floats by their bits so that nodes can be
/// hashed and compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Constant {
    Bool(bool),
    Int(i64),
    /// `f64::to_bits` of the value (an `F32` node's value is exactly
    /// representable in `f32`).
    Float(u64),
}

impl Constant {
    pub fn float(x: f64) -> Self {
        Constant::Float(x.to_bits())
    }
    /// The value as an `f64` (exact for bools, floats and |ints| ≤ 2⁵³).
    pub fn as_f64(self) -> f64 {
        match self {
            Constant::Bool(b) => b as u8 as f64,
            Constant::Int(i) => i as f64,
            Constant::Float(bits) => f64::from_bits(bits),
        }
    }
}

/// Reductions along an axis (or over everything).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    Sum,
    Prod,
    Max,
    Min,
    Mean,
}

impl ReduceOp {
    pub fn by_name(name: &str) -> Option<ReduceOp> {
        Some(match name {
            "sum" => ReduceOp::Sum,
            "prod" => ReduceOp::Prod,
            "max" => ReduceOp::Max,
            "min" => ReduceOp::Min,
            "mean" => ReduceOp::Mean,
            _ => return None,
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
            ReduceOp::Mean => "mean",
        }
    }
}

/// What a node computes from its operands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Argument number `i`.
    Input(usize),
    Const(Constant),
    Neg(NodeId),
    Not(NodeId),
    /// Arithmetic (`Pow` only on floats), comparisons, `&`, `|`.
    Binary(BinaryOp, NodeId, NodeId),
    /// `x ** n` for an integer constant `n`: repeated multiplication.
    Powi(NodeId, i32),
    Func1(Func, NodeId),
    Func2(Func, NodeId, NodeId),
    /// `where(cond, a, b)`, elementwise and branch-free.
    Where(NodeId, NodeId, NodeId),
    /// Conversion to the node's type.
    Cast(NodeId),
    /// Reduction of `arg` along `axis` (negative counts from the end;
    /// `None` reduces every axis), keeping it with length 1 if `keepdims`.
    Reduce {
        op: ReduceOp,
        arg: NodeId,
        axis: Option<isize>,
        keepdims: bool,
    },
    /// An einsum over array-valued operands (`#[kernel]` only): its spec
    /// and operands are in the graph's table ([`Graph::einsum`]).
    Einsum(EinsumId),
}

/// Index of an einsum in its [`Graph`]'s table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EinsumId(pub u32);

/// An einsum node's data: the subscripts as written and the operands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Einsum {
    pub spec: String,
    pub args: Vec<NodeId>,
}

impl Op {
    /// The operands held in the node, in order; an einsum's are in its
    /// graph's table, see [`Graph::operands`].
    pub fn operands(&self) -> Vec<NodeId> {
        match *self {
            Op::Input(_) | Op::Const(_) | Op::Einsum(_) => vec![],
            Op::Neg(a) | Op::Not(a) | Op::Powi(a, _) | Op::Func1(_, a) | Op::Cast(a) => vec![a],
            Op::Reduce { arg, .. } => vec![arg],
            Op::Binary(_, a, b) | Op::Func2(_, a, b) => vec![a, b],
            Op::Where(c, a, b) => vec![c, a, b],
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Node {
    pub op: Op,
    pub ty: ScalarType,
}

/// A whole kernel: its arguments, its nodes, and the node it returns.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    inputs: Vec<(String, ScalarType)>,
    nodes: Vec<Node>,
    dedup: HashMap<Node, NodeId>,
    einsums: Vec<Einsum>,
    root: Option<NodeId>,
}

impl Graph {
    pub fn new(inputs: Vec<(String, ScalarType)>) -> Self {
        Graph {
            inputs,
            ..Graph::default()
        }
    }

    /// Adds `node`, or returns the existing identical one.
    pub fn add(&mut self, node: Node) -> NodeId {
        debug_assert!(node
            .op
            .operands()
            .iter()
            .all(|o| (o.0 as usize) < self.nodes.len()));
        if let Some(&id) = self.dedup.get(&node) {
            return id;
        }
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(node);
        self.dedup.insert(node, id);
        id
    }

    /// Adds an einsum node of element type `ty`, or returns the identical
    /// one already there.
    pub fn add_einsum(&mut self, einsum: Einsum, ty: ScalarType) -> NodeId {
        let at = match self.einsums.iter().position(|e| *e == einsum) {
            Some(at) => at,
            None => {
                self.einsums.push(einsum);
                self.einsums.len() - 1
            }
        };
        self.add(Node {
            op: Op::Einsum(EinsumId(at as u32)),
            ty,
        })
    }

    /// The spec and operands of an einsum node.
    pub fn einsum(&self, id: EinsumId) -> &Einsum {
        &self.einsums[id.0 as usize]
    }

    /// The operands of node `id`, einsums' included.
    pub fn operands(&self, id: NodeId) -> Vec<NodeId> {
        match self.node(id).op {
            Op::Einsum(e) => self.einsum(e).args.clone(),
            op => op.operands(),
        }
    }

    pub fn set_root(&mut self, root: NodeId) {
        self.root = Some(root);
    }

    /// The node whose value the kernel returns.
    pub fn root(&self) -> NodeId {
        self.root.expect("a lowered graph has a root")
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id.0 as usize]
    }

    /// Every node, operands before users.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn inputs(&self) -> &[(String, ScalarType)] {
        &self.inputs
    }

    /// The type of the result.
    pub fn output_type(&self) -> ScalarType {
        self.node(self.root()).ty
    }

    /// Whether any node reduces (the kernel then needs more than one
    /// elementwise pass).
    pub fn has_reductions(&self) -> bool {
        self.nodes.iter().any(|n| matches!(n.op, Op::Reduce { .. }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_nodes_are_shared() {
        let mut g = Graph::new(vec![("x".into(), ScalarType::F64)]);
        let x = g.add(Node {
            op: Op::Input(0),
            ty: ScalarType::F64,
        });
        let a = g.add(Node {
            op: Op::Func1(Func::Exp, x),
            ty: ScalarType::F64,
        });
        let b = g.add(Node {
            op: Op::Func1(Func::Exp, x),
            ty: ScalarType::F64,
        });
        assert_eq!(a, b);
        assert_eq!(g.nodes().len(), 2);
        let c = g.add(Node {
            op: Op::Const(Constant::float(-0.0)),
            ty: ScalarType::F64,
        });
        let d = g.add(Node {
            op: Op::Const(Constant::float(0.0)),
            ty: ScalarType::F64,
        });
        assert_ne!(c, d, "-0.0 and 0.0 are different constants");
        g.set_root(a);
        assert_eq!(g.output_type(), ScalarType::F64);
        assert!(!g.has_reductions());
    }
}

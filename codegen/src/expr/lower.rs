//! From syntax to the typed IR: name resolution and type checking.
//!
//! Typing follows NumPy 2 (NEP 50) with one strictness: literals are
//! "weak" — `2 * x` has `x`'s type — but two arrays of different element
//! types never combine silently; the user writes a cast. So `f32` data stays
//! `f32` and a precision change is always visible in the source.

use std::collections::HashMap;

use super::ast::{BinaryOp, Expr, ExprKind, Program, UnaryOp};
use super::funcs::Func;
use super::ir::{Constant, Einsum, Graph, Node, NodeId, Op, ReduceOp, ScalarType};
use crate::einsum::Spec;

/// A type or name error at `loc` (see [`Expr::loc`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LowerError {
    pub loc: usize,
    pub message: String,
}

type Result<T> = std::result::Result<T, LowerError>;

fn err<T>(loc: usize, message: impl Into<String>) -> Result<T> {
    Err(LowerError {
        loc,
        message: message.into(),
    })
}

/// A value during lowering: a typed node, or a literal whose type is
/// decided by what it meets.
#[derive(Clone, Copy, Debug)]
enum Val {
    Node(NodeId, ScalarType),
    Lit(Lit),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Lit {
    Bool(bool),
    Int(i64),
    Float(f64),
}

impl Lit {
    fn as_f64(self) -> f64 {
        match self {
            Lit::Bool(b) => b as u8 as f64,
            Lit::Int(i) => i as f64,
            Lit::Float(x) => x,
        }
    }
    fn describe(self) -> &'static str {
        match self {
            Lit::Bool(_) => "a boolean literal",
            Lit::Int(_) => "an integer literal",
            Lit::Float(_) => "a float literal",
        }
    }
}

/// Lowers `program` whose arguments have the given names and types. With
/// `output = Some(t)`, the result must have type `t` (a literal result is
/// converted to it).
pub fn lower(
    program: &Program,
    inputs: &[(String, ScalarType)],
    output: Option<ScalarType>,
) -> Result<Graph> {
    let mut cx = Lowering {
        graph: Graph::new(inputs.to_vec()),
        scope: HashMap::new(),
        default: output.filter(|t| *t != ScalarType::Bool),
    };
    for (i, (name, ty)) in inputs.iter().enumerate() {
        let id = cx.graph.add(Node {
            op: Op::Input(i),
            ty: *ty,
        });
        cx.scope.insert(name.clone(), Val::Node(id, *ty));
    }
    for (name, value) in &program.lets {
        let v = cx.expr(value)?;
        cx.scope.insert(name.clone(), v);
    }
    let loc = program.result.loc;
    let root = match (cx.expr(&program.result)?, output) {
        (Val::Node(_, ty), Some(want)) if ty != want => {
            return err(
                loc,
                format!(
                    "the expression yields {ty} values but the kernel returns {want}; add a cast"
                ),
            )
        }
        (Val::Node(id, _), _) => id,
        (Val::Lit(l), want) => {
            let ty = want.unwrap_or(match l {
                Lit::Bool(_) => ScalarType::Bool,
                Lit::Int(_) => ScalarType::I64,
                Lit::Float(_) => ScalarType::F64,
            });
            cx.constant(l, ty, loc)?
        }
    };
    cx.graph.set_root(root);
    Ok(cx.graph)
}

struct Lowering {
    graph: Graph,
    scope: HashMap<String, Val>,
    /// The type literal-only values take when nothing else decides it (the
    /// kernel's result type), so `where(c, 0, 1)` in a float kernel is float.
    default: Option<ScalarType>,
}

impl Lowering {
    fn add(&mut self, op: Op, ty: ScalarType) -> Val {
        Val::Node(self.graph.add(Node { op, ty }), ty)
    }

    /// A literal as a node of type `ty`, if it fits that type.
    fn constant(&mut self, lit: Lit, ty: ScalarType, loc: usize) -> Result<NodeId> {
        let c = match (lit, ty) {
            (Lit::Bool(b), ScalarType::Bool) => Constant::Bool(b),
            (Lit::Int(i), ScalarType::I32) if i32::try_from(i).is_ok() => Constant::Int(i),
            (Lit::Int(i), ScalarType::I32) => {
                return err(loc, format!("{i} does not fit in int32"))
            }
            (Lit::Int(i), ScalarType::I64) => Constant::Int(i),
            (Lit::Int(_) | Lit::Float(_), ScalarType::F32) => {
                Constant::float(lit.as_f64() as f32 as f64)
            }
            (Lit::Int(_) | Lit::Float(_), ScalarType::F64) => Constant::float(lit.as_f64()),
            _ => {
                return err(
                    loc,
                    format!(
                        "{} cannot be used with {ty} values without a cast",
                        lit.describe()
                    ),
                )
            }
        };
        Ok(self.graph.add(Node {
            op: Op::Const(c),
            ty,
        }))
    }

    /// Brings two values to one type: a literal takes the other side's
    /// type; two typed values must agree.
    fn unify(
        &mut self,
        a: Val,
        b: Val,
        loc: usize,
        what: &str,
    ) -> Result<(NodeId, NodeId, ScalarType)> {
        match (a, b) {
            (Val::Node(x, tx), Val::Node(y, ty)) => {
                if tx != ty {
                    return err(
                        loc,
                        format!("{what} mixes {tx} and {ty} values; cast one side so both have the same type"),
                    );
                }
                Ok((x, y, tx))
            }
            (Val::Node(x, t), Val::Lit(l)) => Ok((x, self.constant(l, t, loc)?, t)),
            (Val::Lit(l), Val::Node(y, t)) => Ok((self.constant(l, t, loc)?, y, t)),
            (Val::Lit(_), Val::Lit(_)) => unreachable!("literal pairs are folded by the caller"),
        }
    }

    fn expr(&mut self, e: &Expr) -> Result<Val> {
        match &e.kind {
            ExprKind::Var(name) => self.scope.get(name).copied().map_or_else(
                || {
                    let mut known: Vec<&str> = self.scope.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    err(
                        e.loc,
                        format!("unknown name '{name}' (known names: {})", known.join(", ")),
                    )
                },
                Ok,
            ),
            ExprKind::Int(i) => Ok(Val::Lit(Lit::Int(*i))),
            ExprKind::Float(x) => Ok(Val::Lit(Lit::Float(*x))),
            ExprKind::Bool(b) => Ok(Val::Lit(Lit::Bool(*b))),
            ExprKind::Unary(op, a) => {
                let v = self.expr(a)?;
                self.unary(*op, v, e.loc)
            }
            ExprKind::Binary(op, a, b) => {
                let (va, vb) = (self.expr(a)?, self.expr(b)?);
                self.binary(*op, va, vb, e.loc)
            }
            ExprKind::Call { name, args, kwargs } => self.call(name, args, kwargs, e.loc),
            ExprKind::Einsum {
                spec,
                spec_loc,
                args,
            } => self.einsum(spec, *spec_loc, args),
        }
    }

    /// An einsum: the subscripts checked against the operand count (as
    /// `einsum!` checks them), operands of one numeric element type.
    fn einsum(&mut self, spec: &str, spec_loc: usize, args: &[Expr]) -> Result<Val> {
        Spec::parse_for(spec, args.len())
            .or_else(|e| err(spec_loc, format!("invalid einsum subscripts: {e}")))?;
        let mut ids = Vec::with_capacity(args.len());
        let mut ty: Option<ScalarType> = None;
        for a in args {
            let (id, t) = match self.expr(a)? {
                Val::Node(id, t) => (id, t),
                Val::Lit(l) => {
                    return err(
                        a.loc,
                        format!("einsum! of {}: its operands are arrays", l.describe()),
                    )
                }
            };
            if t == ScalarType::Bool {
                return err(a.loc, "einsum! of booleans: cast them to a number type");
            }
            match ty {
                Some(first) if first != t => {
                    return err(
                        a.loc,
                        format!(
                            "einsum! operands of different types ({first} and {t}); add a cast"
                        ),
                    )
                }
                _ => ty = Some(t),
            }
            ids.push(id);
        }
        let ty = ty.expect("the spec was checked to have at least one operand");
        let einsum = Einsum {
            spec: spec.to_string(),
            args: ids,
        };
        Ok(Val::Node(self.graph.add_einsum(einsum, ty), ty))
    }

    fn unary(&mut self, op: UnaryOp, v: Val, loc: usize) -> Result<Val> {
        match (op, v) {
            (UnaryOp::Neg, Val::Lit(Lit::Int(i))) => Ok(Val::Lit(Lit::Int(i.wrapping_neg()))),
            (UnaryOp::Neg, Val::Lit(Lit::Float(x))) => Ok(Val::Lit(Lit::Float(-x))),
            (UnaryOp::Not, Val::Lit(Lit::Bool(b))) => Ok(Val::Lit(Lit::Bool(!b))),
            (UnaryOp::Neg, Val::Node(x, t)) if t != ScalarType::Bool => Ok(self.add(Op::Neg(x), t)),
            (UnaryOp::Not, Val::Node(x, ScalarType::Bool)) => {
                Ok(self.add(Op::Not(x), ScalarType::Bool))
            }
            (UnaryOp::Neg, _) => err(loc, "'-' needs a number, not a boolean"),
            (UnaryOp::Not, _) => err(
                loc,
                "logical not needs a boolean (a comparison), not a number",
            ),
        }
    }

    fn binary(&mut self, op: BinaryOp, a: Val, b: Val, loc: usize) -> Result<Val> {
        if let (Val::Lit(x), Val::Lit(y)) = (a, b) {
            return fold(op, x, y, loc).map(Val::Lit);
        }
        // x ** n with an integer literal n: repeated multiplication, exact
        // for integers and faster than pow for floats. A float raised to an
        // n beyond i32 takes the general pow below, as NumPy computes it.
        if let (BinaryOp::Pow, Val::Node(x, t), Val::Lit(Lit::Int(n))) = (op, a, b) {
            if t == ScalarType::Bool {
                return err(loc, "'**' needs numbers, not booleans");
            }
            match i32::try_from(n) {
                Ok(n) if n < 0 && t.is_int() => {
                    return err(loc, "integers cannot be raised to a negative power");
                }
                Ok(n) => return Ok(self.add(Op::Powi(x, n), t)),
                Err(_) if t.is_int() => return err(loc, format!("exponent {n} is too large")),
                Err(_) => {}
            }
        }
        if let (BinaryOp::Div, Val::Node(_, t), Val::Lit(c)) = (op, a, b) {
            if let Some(r) = exact_reciprocal(c.as_f64(), t) {
                return self.binary(BinaryOp::Mul, a, Val::Lit(Lit::Float(r)), loc);
            }
        }
        let what = format!("'{}'", op.symbol());
        let (x, y, t) = self.unify(a, b, loc, &what)?;
        match op {
            BinaryOp::And | BinaryOp::Or => {
                if t != ScalarType::Bool {
                    return err(
                        loc,
                        format!("{what} combines booleans (comparisons), not {t} values"),
                    );
                }
                Ok(self.add(Op::Binary(op, x, y), t))
            }
            _ if t == ScalarType::Bool => err(loc, format!("{what} needs numbers, not booleans")),
            _ if op.is_comparison() => Ok(self.add(Op::Binary(op, x, y), ScalarType::Bool)),
            BinaryOp::Div if t.is_int() => err(
                loc,
                format!(
                    "'/' on {t} values: cast to a float type first (true division gives fractions)"
                ),
            ),
            BinaryOp::Pow if t.is_int() => err(
                loc,
                "'**' on integers needs a non-negative integer literal exponent",
            ),
            _ => Ok(self.add(Op::Binary(op, x, y), t)),
        }
    }

    fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        kwargs: &[(String, Expr)],
        loc: usize,
    ) -> Result<Val> {
        if let Some(op) = ReduceOp::by_name(name) {
            return self.reduce(op, args, kwargs, loc);
        }
        if let Some((kw, v)) = kwargs.first() {
            return err(v.loc, format!("{name}() takes no keyword argument '{kw}'"));
        }
        let arity = |n: usize| -> Result<()> {
            if args.len() == n {
                Ok(())
            } else {
                err(
                    loc,
                    format!(
                        "{name}() takes {n} argument{}, {} given",
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
            }
        };
        if let Some(t) = ScalarType::by_name(name) {
            arity(1)?;
            return match self.expr(&args[0])? {
                Val::Lit(l) => Ok(Val::Node(self.constant(l, t, loc)?, t)),
                Val::Node(x, from) if from == t => Ok(Val::Node(x, t)),
                Val::Node(x, _) => Ok(self.add(Op::Cast(x), t)),
            };
        }
        match name {
            "where" => {
                arity(3)?;
                let c = self.expr(&args[0])?;
                let c = match c {
                    Val::Node(c, ScalarType::Bool) => c,
                    Val::Lit(Lit::Bool(b)) => self.constant(Lit::Bool(b), ScalarType::Bool, loc)?,
                    _ => {
                        return err(
                            args[0].loc,
                            "the condition of where() must be a boolean (a comparison)",
                        )
                    }
                };
                let (a, b) = (self.expr(&args[1])?, self.expr(&args[2])?);
                let (a, b, t) = match (a, b) {
                    (Val::Lit(x), Val::Lit(y)) => {
                        // Two literal branches: the kernel's type if it can hold
                        // both, else the wider kind (float over int).
                        let any_float = matches!(x, Lit::Float(_)) || matches!(y, Lit::Float(_));
                        let t = match self.default {
                            Some(t) if t.is_float() || !any_float => t,
                            _ if any_float => ScalarType::F64,
                            _ => ScalarType::I64,
                        };
                        (self.constant(x, t, loc)?, self.constant(y, t, loc)?, t)
                    }
                    (a, b) => self.unify(a, b, loc, "where()")?,
                };
                Ok(self.add(Op::Where(c, a, b), t))
            }
            "clip" => {
                // NumPy: clip(x, lo, hi) == minimum(maximum(x, lo), hi).
                arity(3)?;
                let (x, lo, hi) = (
                    self.expr(&args[0])?,
                    self.expr(&args[1])?,
                    self.expr(&args[2])?,
                );
                let low = self.func(Func::Maximum, &[x, lo], loc)?;
                self.func(Func::Minimum, &[low, hi], loc)
            }
            _ => {
                let Some(f) = Func::by_name(name) else {
                    return err(loc, format!("unknown function '{name}'"));
                };
                arity(f.info().arity)?;
                let vals = args
                    .iter()
                    .map(|a| self.expr(a))
                    .collect::<Result<Vec<_>>>()?;
                self.func(f, &vals, loc)
            }
        }
    }

    fn func(&mut self, f: Func, args: &[Val], loc: usize) -> Result<Val> {
        let info = f.info();
        if args.iter().all(|a| matches!(a, Val::Lit(_))) {
            let xs: Vec<f64> = args
                .iter()
                .map(|a| if let Val::Lit(l) = a { l.as_f64() } else { 0.0 })
                .collect();
            let int_result =
                !info.float_only && args.iter().all(|a| matches!(a, Val::Lit(Lit::Int(_))));
            let y = (info.eval)(&xs);
            return Ok(Val::Lit(if int_result {
                Lit::Int(y as i64)
            } else {
                Lit::Float(y)
            }));
        }
        let (ids, t) = match args {
            [a] => match *a {
                Val::Node(x, t) => (vec![x], t),
                Val::Lit(_) => unreachable!("handled above"),
            },
            [a, b] => {
                let (x, y, t) = self.unify(*a, *b, loc, &format!("{}()", info.name))?;
                (vec![x, y], t)
            }
            _ => unreachable!("the table has arities 1 and 2"),
        };
        if t == ScalarType::Bool || (info.float_only && t.is_int()) {
            return err(
                loc,
                format!(
                    "{}() is not defined on {t} values; cast to a float type first",
                    info.name
                ),
            );
        }
        Ok(match ids[..] {
            [x] => self.add(Op::Func1(f, x), t),
            [x, y] => self.add(Op::Func2(f, x, y), t),
            _ => unreachable!(),
        })
    }

    fn reduce(
        &mut self,
        op: ReduceOp,
        args: &[Expr],
        kwargs: &[(String, Expr)],
        loc: usize,
    ) -> Result<Val> {
        let name = op.name();
        if args.is_empty() || args.len() > 2 {
            return err(
                loc,
                format!(
                    "{name}() takes the values and an optional axis, {} arguments given",
                    args.len()
                ),
            );
        }
        let mut axis_expr = args.get(1);
        let mut keepdims = false;
        for (kw, v) in kwargs {
            match kw.as_str() {
                "axis" if axis_expr.is_none() => axis_expr = Some(v),
                "axis" => return err(v.loc, format!("{name}() got the axis twice")),
                "keepdims" => match v.kind {
                    ExprKind::Bool(b) => keepdims = b,
                    _ => return err(v.loc, "keepdims must be True or False"),
                },
                _ => return err(v.loc, format!("{name}() takes no keyword argument '{kw}'")),
            }
        }
        let axis = match axis_expr.map(|a| (&a.kind, a.loc)) {
            None => None,
            Some((ExprKind::Int(i), _)) => Some(*i as isize),
            Some((ExprKind::Unary(UnaryOp::Neg, inner), l)) => match inner.kind {
                ExprKind::Int(i) => Some(-(i as isize)),
                _ => return err(l, "the axis must be an integer literal"),
            },
            Some((_, l)) => return err(l, "the axis must be an integer literal"),
        };
        let (x, t) = match self.expr(&args[0])? {
            Val::Node(x, t) => (x, t),
            Val::Lit(_) => {
                return err(
                    args[0].loc,
                    format!("{name}() of a literal; reduce an array"),
                )
            }
        };
        if t == ScalarType::Bool {
            return err(
                loc,
                format!("{name}() of booleans: use where(cond, 1, 0) to count"),
            );
        }
        if op == ReduceOp::Mean && t.is_int() {
            return err(
                loc,
                format!("mean() of {t} values: cast to a float type first"),
            );
        }
        Ok(self.add(
            Op::Reduce {
                op,
                arg: x,
                axis,
                keepdims,
            },
            t,
        ))
    }
}

/// Evaluates an operator on two literals (`2 * 3.5`, `1 < 2`).
fn fold(op: BinaryOp, a: Lit, b: Lit, loc: usize) -> Result<Lit> {
    use BinaryOp::*;
    if let (Lit::Bool(x), Lit::Bool(y)) = (a, b) {
        return match op {
            And => Ok(Lit::Bool(x && y)),
            Or => Ok(Lit::Bool(x || y)),
            Eq => Ok(Lit::Bool(x == y)),
            Ne => Ok(Lit::Bool(x != y)),
            _ => err(
                loc,
                format!("'{}' needs numbers, not booleans", op.symbol()),
            ),
        };
    }
    if matches!(a, Lit::Bool(_)) || matches!(b, Lit::Bool(_)) || matches!(op, And | Or) {
        return err(
            loc,
            format!("'{}' cannot combine a boolean and a number", op.symbol()),
        );
    }
    if let (Lit::Int(x), Lit::Int(y)) = (a, b) {
        match op {
            Add => return Ok(Lit::Int(x.wrapping_add(y))),
            Sub => return Ok(Lit::Int(x.wrapping_sub(y))),
            Mul => return Ok(Lit::Int(x.wrapping_mul(y))),
            Pow if y >= 0 => return Ok(Lit::Int(x.wrapping_pow(y.min(u32::MAX as i64) as u32))),
            _ => {}
        }
    }
    let (x, y) = (a.as_f64(), b.as_f64());
    Ok(match op {
        Add => Lit::Float(x + y),
        Sub => Lit::Float(x - y),
        Mul => Lit::Float(x * y),
        Div => Lit::Float(x / y),
        Pow => Lit::Float(x.powf(y)),
        Lt => Lit::Bool(x < y),
        Le => Lit::Bool(x <= y),
        Gt => Lit::Bool(x > y),
        Ge => Lit::Bool(x >= y),
        Eq => Lit::Bool(x == y),
        Ne => Lit::Bool(x != y),
        And | Or => unreachable!("checked above"),
    })
}

/// `1 / c` when `c = ±2^k` and its reciprocal is a normal `ty` value: then
/// `x / c` and `x · (1 / c)` are the same correctly rounded number for every
/// `x`, and a multiply costs a fraction of a divide. (LLVM makes this rewrite
/// in the compiled kernels by itself; Cranelift does not, and the JIT's
/// `exp(-a*a/2)` spent most of a stage in `vdivpd`.)
fn exact_reciprocal(c: f64, ty: ScalarType) -> Option<f64> {
    let r = match ty {
        ScalarType::F64 if c.is_normal() && c.to_bits() << 12 == 0 => 1.0 / c,
        ScalarType::F32 if (c as f32).is_normal() && (c as f32).to_bits() << 9 == 0 => {
            f64::from(1.0 / c as f32)
        }
        _ => return None,
    };
    let normal = match ty {
        ScalarType::F32 => (r as f32).is_normal(),
        _ => r.is_normal(),
    };
    normal.then_some(r)
}

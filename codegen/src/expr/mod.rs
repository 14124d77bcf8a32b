//! The elementwise expression language shared by `#[kernel]` bodies and JIT
//! strings: syntax ([`ast`]), the numexpr-spelling parser ([`parse`]), the
//! one table of functions ([`funcs`]), the typed IR ([`ir`]), the lowering
//! from syntax to IR with type checking ([`lower`]), and the naive
//! interpreter every kernel is tested against ([`reference`]).

pub mod ast;
pub mod funcs;
pub mod ir;
pub mod lower;
pub mod parse;
pub mod reference;

use einkern_runtime::Error;

pub use ast::{BinaryOp, Expr, ExprKind, Program, UnaryOp};
pub use funcs::{Func, FuncInfo, FUNCS};
pub use ir::{Constant, Graph, Node, NodeId, Op, ReduceOp, ScalarType};
pub use lower::{lower, LowerError};

/// Parses and type-checks a JIT expression string whose arguments all have
/// type `ty` and whose result must have type `ty` too.
pub fn compile_str(src: &str, args: &[&str], ty: ScalarType) -> Result<Graph, Error> {
    let mut seen = std::collections::HashSet::new();
    for a in args {
        if !is_identifier(a) {
            return Err(Error::value(format!("'{a}' is not a valid argument name")));
        }
        if !seen.insert(*a) {
            return Err(Error::value(format!("argument '{a}' is listed twice")));
        }
    }
    let expr = parse::parse_expr(src)?;
    let program = Program {
        lets: vec![],
        result: expr,
    };
    let inputs: Vec<(String, ScalarType)> = args.iter().map(|a| (a.to_string(), ty)).collect();
    lower(&program, &inputs, Some(ty)).map_err(|e| Error::parse(e.message, src, e.loc))
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

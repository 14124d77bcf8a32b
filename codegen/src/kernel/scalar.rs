//! One IR node as a Rust scalar expression.
//!
//! The expressions are written so that LLVM vectorises them inside the row
//! loops: comparisons and `where` are plain selects, transcendentals call
//! the runtime's branch-free vector math (`vmath::exp::<M, T>`, with `M`
//! the row function's multiply-add policy), integer arithmetic wraps.

use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use crate::expr::{BinaryOp, Constant, Func, Graph, NodeId, Op, ScalarType};

/// The Rust type of an element of type `ty`.
pub fn rust_type(ty: ScalarType) -> TokenStream {
    match ty {
        ScalarType::Bool => quote!(bool),
        ScalarType::I32 => quote!(i32),
        ScalarType::I64 => quote!(i64),
        ScalarType::F32 => quote!(f32),
        ScalarType::F64 => quote!(f64),
    }
}

/// A constant of type `ty`, exactly (floats through their bits, so NaN,
/// ±∞ and -0.0 survive).
pub fn constant(c: Constant, ty: ScalarType) -> TokenStream {
    match ty {
        ScalarType::Bool => {
            let b = c.as_f64() != 0.0;
            quote!(#b)
        }
        ScalarType::I32 => {
            let v = Literal::i32_suffixed(c.as_f64() as i32);
            quote!(#v)
        }
        ScalarType::I64 => {
            let v = match c {
                Constant::Int(i) => i,
                other => other.as_f64() as i64,
            };
            let v = Literal::i64_suffixed(v);
            quote!(#v)
        }
        ScalarType::F32 => {
            let bits = Literal::u32_suffixed((c.as_f64() as f32).to_bits());
            quote!(<f32>::from_bits(#bits))
        }
        ScalarType::F64 => {
            let bits = Literal::u64_suffixed(c.as_f64().to_bits());
            quote!(<f64>::from_bits(#bits))
        }
    }
}

/// The expression computing node `id` from its operands, named by `name`.
/// `m` is the multiply-add policy type parameter of the row function.
pub fn node_expr(
    graph: &Graph,
    id: NodeId,
    name: &dyn Fn(NodeId) -> Ident,
    m: &Ident,
) -> TokenStream {
    let node = graph.node(id);
    let ty = node.ty;
    let t = rust_type(ty);
    let red = quote!(::einkern::__rt::ew::reduce::Reducible);
    let vm = quote!(::einkern::__rt::vmath);
    match node.op {
        Op::Input(_) | Op::Reduce { .. } | Op::Einsum(_) => {
            unreachable!("leaves are loaded, not computed")
        }
        Op::Const(c) => constant(c, ty),
        Op::Neg(a) => {
            let a = name(a);
            if ty.is_int() {
                quote!(#a.wrapping_neg())
            } else {
                quote!(-#a)
            }
        }
        Op::Not(a) => {
            let a = name(a);
            quote!(!#a)
        }
        Op::Binary(op, a, b) => {
            let operand_ty = graph.node(a).ty;
            let (a, b) = (name(a), name(b));
            binary(op, operand_ty, quote!(#a), quote!(#b), m)
        }
        Op::Powi(a, n) => {
            let a = name(a);
            if ty.is_int() {
                let n = n as u32;
                quote!(#a.wrapping_pow(#n))
            } else {
                let p = powi(quote!(#a), n.unsigned_abs());
                if n < 0 {
                    quote!(1.0 / (#p))
                } else {
                    p
                }
            }
        }
        Op::Func1(f, a) => {
            let a = name(a);
            match f {
                Func::Abs if ty.is_int() => quote!(#a.wrapping_abs()),
                Func::Abs => quote!(#a.abs()),
                Func::Sqrt => quote!(#a.sqrt()),
                Func::Floor => quote!(#a.floor()),
                Func::Ceil => quote!(#a.ceil()),
                _ => {
                    let f = vmath_name(f);
                    quote!(#vm::#f::<#m, #t>(#a))
                }
            }
        }
        Op::Func2(f, a, b) => {
            let (a, b) = (name(a), name(b));
            match f {
                Func::Minimum => quote!(<#t as #red>::min_nan(#a, #b)),
                Func::Maximum => quote!(<#t as #red>::max_nan(#a, #b)),
                Func::Arctan2 => quote!(#vm::atan2::<#m, #t>(#a, #b)),
                Func::Pow => quote!(#vm::pow::<#m, #t>(#a, #b)),
                _ => unreachable!("binary functions are minimum, maximum, arctan2, pow"),
            }
        }
        Op::Where(c, a, b) => {
            let (c, a, b) = (name(c), name(a), name(b));
            quote!(if #c { #a } else { #b })
        }
        Op::Cast(a) => {
            let from = graph.node(a).ty;
            let a = name(a);
            match (from, ty) {
                (ScalarType::Bool, _) => quote!((#a as u8) as #t),
                (from, ScalarType::Bool) => {
                    let zero = constant(Constant::Int(0), from);
                    quote!(#a != #zero)
                }
                _ => quote!(#a as #t),
            }
        }
    }
}

fn binary(
    op: BinaryOp,
    operands: ScalarType,
    a: TokenStream,
    b: TokenStream,
    m: &Ident,
) -> TokenStream {
    let t = rust_type(operands);
    let int = operands.is_int();
    match op {
        BinaryOp::Add if int => quote!(#a.wrapping_add(#b)),
        BinaryOp::Sub if int => quote!(#a.wrapping_sub(#b)),
        BinaryOp::Mul if int => quote!(#a.wrapping_mul(#b)),
        BinaryOp::Add => quote!(#a + #b),
        BinaryOp::Sub => quote!(#a - #b),
        BinaryOp::Mul => quote!(#a * #b),
        BinaryOp::Div => quote!(#a / #b),
        BinaryOp::Pow => quote!(::einkern::__rt::vmath::pow::<#m, #t>(#a, #b)),
        BinaryOp::Lt => quote!(#a < #b),
        BinaryOp::Le => quote!(#a <= #b),
        BinaryOp::Gt => quote!(#a > #b),
        BinaryOp::Ge => quote!(#a >= #b),
        BinaryOp::Eq => quote!(#a == #b),
        BinaryOp::Ne => quote!(#a != #b),
        // Non-short-circuit: both sides are already computed values.
        BinaryOp::And => quote!(#a & #b),
        BinaryOp::Or => quote!(#a | #b),
    }
}

/// `x^n` by repeated squaring, unrolled at compile time.
fn powi(x: TokenStream, n: u32) -> TokenStream {
    match n {
        0 => quote!(1.0),
        1 => x,
        _ if n % 2 == 0 => {
            let h = powi(x, n / 2);
            quote!({ let __h = #h; __h * __h })
        }
        _ => {
            let h = powi(x.clone(), n - 1);
            quote!((#h) * #x)
        }
    }
}

/// The runtime's vector-math function for a table function.
fn vmath_name(f: Func) -> Ident {
    let name = match f {
        Func::Exp => "exp",
        Func::Log => "log",
        Func::Log1p => "log1p",
        Func::Expm1 => "expm1",
        Func::Sin => "sin",
        Func::Cos => "cos",
        Func::Tan => "tan",
        Func::Tanh => "tanh",
        Func::Sinh => "sinh",
        Func::Cosh => "cosh",
        Func::Arcsin => "asin",
        Func::Arccos => "acos",
        Func::Arctan => "atan",
        other => unreachable!("{other:?} is not in vmath"),
    };
    Ident::new(name, proc_macro2::Span::call_site())
}

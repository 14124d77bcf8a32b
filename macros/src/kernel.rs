//! `#[kernel]`: a Rust function body → the shared expression AST → typed IR
//! (einkern-codegen's `expr::lower`) → Rust tokens (`codegen::kernel`).
//!
//! This file only adapts syn syntax: it maps the Rust spelling of the
//! language (methods, `where_`, `as` casts, `sum_keepdims`) onto the AST,
//! records a span per node so that type errors found by the lowering point
//! at the offending token, and rejects everything outside the language with
//! a `syn::Error` on that token.

use crate::einsum::Args as EinsumArgs;
use einkern_codegen::expr::{self, ast, Func, ScalarType};
use einkern_codegen::kernel::{emit_body, KernelParam};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::spanned::Spanned;
use syn::{
    BinOp, Expr, FnArg, GenericArgument, ItemFn, Lit, Pat, PathArguments, ReturnType, Stmt, Type,
    UnOp,
};

/// Expands `#[kernel]` on `item`; errors become `compile_error!`.
pub fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new_spanned(attr, "#[kernel] takes no arguments").to_compile_error();
    }
    let f = match syn::parse2::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error(),
    };
    match kernel(&f) {
        Ok(tokens) => tokens,
        Err(e) => {
            // Keep the function's signature so that callers see no second
            // error ("cannot find function"), only the one that matters.
            let error = e.to_compile_error();
            let (attrs, vis, sig) = (&f.attrs, &f.vis, &f.sig);
            quote! {
                #error
                #(#attrs)*
                #[allow(unused_variables)]
                #vis #sig {
                    ::core::unreachable!("this #[kernel] did not compile")
                }
            }
        }
    }
}

/// A parameter's element type and whether it is an array.
struct Param {
    ident: syn::Ident,
    ty: ScalarType,
    is_array: bool,
}

fn kernel(f: &ItemFn) -> syn::Result<TokenStream> {
    let sig = &f.sig;
    if let Some(g) = sig.generics.params.first() {
        return Err(syn::Error::new_spanned(
            g,
            "#[kernel] functions cannot be generic: write one kernel per element type",
        ));
    }
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new_spanned(
            a,
            "#[kernel] functions cannot be async",
        ));
    }
    let params = sig
        .inputs
        .iter()
        .map(param)
        .collect::<syn::Result<Vec<_>>>()?;
    let (out_ty, returns_result) = return_type(&sig.output, sig.fn_token.span)?;
    let mut spans = Vec::new();
    let program = body(&f.block, &mut spans)?;
    let inputs: Vec<(String, ScalarType)> =
        params.iter().map(|p| (p.ident.to_string(), p.ty)).collect();
    let graph = expr::lower(&program, &inputs, Some(out_ty))
        .map_err(|e| syn::Error::new(spans[e.loc], e.message))?;
    let out = format_ident!("__einkern_out");
    let kparams: Vec<KernelParam> = params
        .iter()
        .map(|p| KernelParam {
            ident: p.ident.clone(),
            is_array: p.is_array,
        })
        .collect();
    let body = emit_body(&graph, &kparams, &out);

    let t = element_type(out_ty);
    let vis = &f.vis;
    let attrs = &f.attrs;
    let name = &sig.ident;
    let into = format_ident!("{}_into", name);
    let inner = format_ident!("__einkern_kernel_{}", name);
    let inputs = &sig.inputs;
    let args: Vec<&syn::Ident> = params.iter().map(|p| &p.ident).collect();
    let output = &sig.output;
    let rt = quote!(::einkern::__rt);
    let call = quote!(#inner(::core::option::Option::None #(, #args)*));
    let allocated = quote! {
        match #call {
            ::core::result::Result::Ok(::core::option::Option::Some(a)) => ::core::result::Result::Ok(a),
            ::core::result::Result::Ok(::core::option::Option::None) => {
                ::core::unreachable!("a kernel given no output allocates one")
            }
            ::core::result::Result::Err(e) => ::core::result::Result::Err(e),
        }
    };
    let result = if returns_result {
        allocated
    } else {
        quote! {
            match #allocated {
                ::core::result::Result::Ok(a) => a,
                ::core::result::Result::Err(e) => ::core::panic!("{}", e),
            }
        }
    };
    let into_doc = format!(
        "`{name}` writing into `out` (any strides; its shape must be the result's) instead of allocating."
    );
    Ok(quote! {
        #(#attrs)*
        #vis fn #name(#inputs) #output {
            #result
        }

        #[doc = #into_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn #into(out: #rt::ArrayViewMut<'_, #t>, #inputs) -> ::core::result::Result<(), #rt::Error> {
            #inner(::core::option::Option::Some(out) #(, #args)*).map(|_| ())
        }

        #[doc(hidden)]
        #[allow(clippy::too_many_arguments, clippy::all, unused_mut, non_snake_case)]
        fn #inner(
            #out: ::core::option::Option<#rt::ArrayViewMut<'_, #t>>,
            #inputs
        ) -> ::core::result::Result<::core::option::Option<#rt::Array<#t>>, #rt::Error> {
            #body
        }
    })
}

fn element_type(t: ScalarType) -> TokenStream {
    match t {
        ScalarType::F32 => quote!(f32),
        ScalarType::F64 => quote!(f64),
        ScalarType::I32 => quote!(i32),
        ScalarType::I64 => quote!(i64),
        ScalarType::Bool => quote!(bool),
    }
}

/// The type inside invisible groups (types passed through `macro_rules!`)
/// and parentheses.
fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

/// `f32`, `f64`, `i32` or `i64`.
fn scalar_type(ty: &Type) -> Option<ScalarType> {
    let Type::Path(p) = ungroup(ty) else {
        return None;
    };
    if p.qself.is_some() {
        return None;
    }
    let ident = p.path.get_ident()?;
    match ident.to_string().as_str() {
        "f32" => Some(ScalarType::F32),
        "f64" => Some(ScalarType::F64),
        "i32" => Some(ScalarType::I32),
        "i64" => Some(ScalarType::I64),
        _ => None,
    }
}

/// The last segment of a type path if it is `name<..., T>`: returns `T`.
fn generic_arg<'t>(ty: &'t Type, name: &str) -> Option<&'t Type> {
    let Type::Path(p) = ungroup(ty) else {
        return None;
    };
    let seg = p.path.segments.last()?;
    if seg.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &seg.arguments else {
        return None;
    };
    args.args.iter().rev().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

const PARAM_HELP: &str =
    "a #[kernel] parameter must be an array view (`ArrayView<T>`, `&Array<T>`, \
                          `&ArrayView<T>`) or a scalar `T`, with T one of f32, f64, i32, i64";

fn param(arg: &FnArg) -> syn::Result<Param> {
    let FnArg::Typed(pt) = arg else {
        return Err(syn::Error::new_spanned(
            arg,
            "#[kernel] functions take no `self`",
        ));
    };
    let Pat::Ident(pi) = &*pt.pat else {
        return Err(syn::Error::new_spanned(
            &pt.pat,
            "#[kernel] parameters must be plain names",
        ));
    };
    let ident = pi.ident.clone();
    if let Some(ty) = scalar_type(&pt.ty) {
        return Ok(Param {
            ident,
            ty,
            is_array: false,
        });
    }
    let array = match ungroup(&pt.ty) {
        Type::Reference(r) if r.mutability.is_none() => {
            generic_arg(&r.elem, "Array").or_else(|| generic_arg(&r.elem, "ArrayView"))
        }
        ty => generic_arg(ty, "ArrayView"),
    };
    match array.and_then(scalar_type) {
        Some(ty) => Ok(Param {
            ident,
            ty,
            is_array: true,
        }),
        None => Err(syn::Error::new_spanned(&pt.ty, PARAM_HELP)),
    }
}

/// The element type of `Array<T>` or `Result<Array<T>, Error>`.
fn return_type(ret: &ReturnType, fn_span: Span) -> syn::Result<(ScalarType, bool)> {
    const HELP: &str = "a #[kernel] returns `Array<T>` or `Result<Array<T>, Error>`";
    let ReturnType::Type(_, ty) = ret else {
        return Err(syn::Error::new(fn_span, HELP));
    };
    if let Some(t) = generic_arg(ty, "Array").and_then(scalar_type) {
        return Ok((t, false));
    }
    let result_arg = match ungroup(ty) {
        Type::Path(p) => p.path.segments.last().and_then(|s| match &s.arguments {
            PathArguments::AngleBracketed(a) if s.ident == "Result" => a.args.first(),
            _ => None,
        }),
        _ => None,
    };
    if let Some(GenericArgument::Type(inner)) = result_arg {
        if let Some(t) = generic_arg(inner, "Array").and_then(scalar_type) {
            return Ok((t, true));
        }
    }
    Err(syn::Error::new_spanned(ty, HELP))
}

/// `let` bindings and a final expression.
fn body(block: &syn::Block, spans: &mut Vec<Span>) -> syn::Result<ast::Program> {
    let mut lets = Vec::new();
    let mut result = None;
    let n = block.stmts.len();
    for (i, stmt) in block.stmts.iter().enumerate() {
        match stmt {
            Stmt::Local(local) => {
                let name = match &local.pat {
                    Pat::Ident(pi) if pi.subpat.is_none() => pi.ident.to_string(),
                    Pat::Type(pt) => match &*pt.pat {
                        Pat::Ident(pi) => pi.ident.to_string(),
                        other => {
                            return Err(syn::Error::new_spanned(
                                other,
                                "bind plain names with `let`",
                            ))
                        }
                    },
                    other => {
                        return Err(syn::Error::new_spanned(
                            other,
                            "bind plain names with `let`",
                        ))
                    }
                };
                let Some(init) = &local.init else {
                    return Err(syn::Error::new_spanned(
                        local,
                        "a `let` in a #[kernel] needs a value",
                    ));
                };
                if let Some((_, diverge)) = &init.diverge {
                    return Err(syn::Error::new_spanned(
                        diverge,
                        "`let ... else` is not allowed in a #[kernel]",
                    ));
                }
                lets.push((name, expr(&init.expr, spans)?));
            }
            Stmt::Expr(e, None) if i + 1 == n => result = Some(expr(e, spans)?),
            Stmt::Expr(e, _) => {
                // Loops and `if` get their own message.
                expr(e, spans)?;
                return Err(syn::Error::new_spanned(
                    e,
                    "a #[kernel] body is `let` bindings and one final expression (no statements)",
                ));
            }
            Stmt::Item(item) => {
                return Err(syn::Error::new_spanned(
                    item,
                    "items are not allowed in a #[kernel] body",
                ))
            }
            Stmt::Macro(m) if m.semi_token.is_none() && i + 1 == n => {
                result = Some(macro_call(&m.mac, spans)?)
            }
            Stmt::Macro(m) => {
                macro_call(&m.mac, spans)?;
                return Err(syn::Error::new_spanned(
                    m,
                    "a #[kernel] body is `let` bindings and one final expression (no statements)",
                ));
            }
        }
    }
    let Some(result) = result else {
        return Err(syn::Error::new_spanned(
            block,
            "a #[kernel] body must end with the expression it returns (no trailing `;`)",
        ));
    };
    Ok(ast::Program { lets, result })
}

/// A macro call inside a body: only `einsum!`, whose subscripts are checked
/// here as `einsum!` itself checks them, and whose operands are kernel
/// expressions (a leading `&` is allowed, as outside kernels).
fn macro_call(m: &syn::Macro, spans: &mut Vec<Span>) -> syn::Result<ast::Expr> {
    let what = m.path.to_token_stream().to_string().replace(' ', "");
    if what != "einsum" && what != "einkern::einsum" {
        let hint = if what.ends_with("try_einsum") {
            ": use einsum!, whose shape errors become the kernel's Err"
        } else {
            ""
        };
        return Err(syn::Error::new_spanned(
            &m.path,
            format!("`{what}!` is not supported inside a #[kernel] body{hint}"),
        ));
    }
    // The subscripts are checked by the lowering, which reports errors at
    // the string literal's span.
    let args: EinsumArgs = m.parse_body()?;
    let operands = (args.operands.iter())
        .map(|e| match e {
            Expr::Reference(r) if r.mutability.is_none() => expr(&r.expr, spans),
            e => expr(e, spans),
        })
        .collect::<syn::Result<Vec<_>>>()?;
    spans.push(args.spec.span());
    let kind = ast::ExprKind::Einsum {
        spec: args.spec.value(),
        spec_loc: spans.len() - 1,
        args: operands,
    };
    Ok(node(kind, m.span(), spans))
}

fn node(kind: ast::ExprKind, span: Span, spans: &mut Vec<Span>) -> ast::Expr {
    spans.push(span);
    ast::Expr::new(kind, spans.len() - 1)
}

fn expr(e: &Expr, spans: &mut Vec<Span>) -> syn::Result<ast::Expr> {
    use ast::ExprKind as K;
    let span = e.span();
    Ok(match e {
        Expr::Paren(p) => expr(&p.expr, spans)?,
        Expr::Group(g) => expr(&g.expr, spans)?,
        Expr::Lit(l) => match &l.lit {
            Lit::Int(i) => node(K::Int(i.base10_parse()?), span, spans),
            Lit::Float(f) => node(K::Float(f.base10_parse()?), span, spans),
            Lit::Bool(b) => node(K::Bool(b.value), span, spans),
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "only number and boolean literals are allowed",
                ))
            }
        },
        Expr::Path(p) => {
            if let Some(x) = constant_path(&p.path) {
                node(K::Float(x), span, spans)
            } else if let Some(id) = p.path.get_ident() {
                node(K::Var(id.to_string()), span, spans)
            } else {
                return Err(syn::Error::new_spanned(
                    p,
                    "unknown path: use a parameter or a `let` name",
                ));
            }
        }
        Expr::Unary(u) => {
            let op = match u.op {
                UnOp::Neg(_) => ast::UnaryOp::Neg,
                UnOp::Not(_) => ast::UnaryOp::Not,
                _ => {
                    return Err(syn::Error::new_spanned(
                        u.op,
                        "unsupported operator in a #[kernel]",
                    ))
                }
            };
            let a = expr(&u.expr, spans)?;
            node(K::Unary(op, Box::new(a)), span, spans)
        }
        Expr::Binary(b) => {
            use ast::BinaryOp as B;
            let op = match b.op {
                BinOp::Add(_) => B::Add,
                BinOp::Sub(_) => B::Sub,
                BinOp::Mul(_) => B::Mul,
                BinOp::Div(_) => B::Div,
                BinOp::Lt(_) => B::Lt,
                BinOp::Le(_) => B::Le,
                BinOp::Gt(_) => B::Gt,
                BinOp::Ge(_) => B::Ge,
                BinOp::Eq(_) => B::Eq,
                BinOp::Ne(_) => B::Ne,
                BinOp::BitAnd(_) | BinOp::And(_) => B::And,
                BinOp::BitOr(_) | BinOp::Or(_) => B::Or,
                other => {
                    return Err(syn::Error::new_spanned(
                        other,
                        "unsupported operator in a #[kernel] (use + - * / comparisons & |, and powi/powf for powers)",
                    ))
                }
            };
            let (l, r) = (expr(&b.left, spans)?, expr(&b.right, spans)?);
            // Type errors of an operator point at the operator.
            node(K::Binary(op, Box::new(l), Box::new(r)), b.op.span(), spans)
        }
        Expr::Cast(c) => {
            let Some(t) = scalar_type(&c.ty) else {
                return Err(syn::Error::new_spanned(
                    &c.ty,
                    "casts go to f32, f64, i32 or i64",
                ));
            };
            let a = expr(&c.expr, spans)?;
            call(t.name(), vec![a], vec![], span, spans)
        }
        Expr::Call(c) => {
            let Expr::Path(p) = &*c.func else {
                return Err(syn::Error::new_spanned(&c.func, "call functions by name"));
            };
            let Some(id) = p.path.get_ident() else {
                return Err(syn::Error::new_spanned(
                    p,
                    "call the language's functions by plain name",
                ));
            };
            let name = id.to_string();
            let mut args = c
                .args
                .iter()
                .map(|a| expr(a, spans))
                .collect::<syn::Result<Vec<_>>>()?;
            let is_reduction = |n: &str| expr::ReduceOp::by_name(n).is_some();
            if name == "where_" {
                call("where", args, vec![], span, spans)
            } else if let Some(base) = name.strip_suffix("_keepdims").filter(|b| is_reduction(b)) {
                let t = node(K::Bool(true), span, spans);
                call(base, args, vec![("keepdims".into(), t)], span, spans)
            } else if is_reduction(&name) || name == "clip" || Func::by_name(&name).is_some() {
                call(&name, std::mem::take(&mut args), vec![], span, spans)
            } else {
                return Err(syn::Error::new_spanned(
                    id,
                    format!("unknown function '{name}' in a #[kernel] body"),
                ));
            }
        }
        Expr::MethodCall(m) => {
            let name = m.method.to_string();
            if m.turbofish.is_some() {
                return Err(syn::Error::new_spanned(
                    &m.turbofish,
                    "no type arguments in a #[kernel] body",
                ));
            }
            let mut args = vec![expr(&m.receiver, spans)?];
            for a in &m.args {
                args.push(expr(a, spans)?);
            }
            let method_span = m.method.span();
            let table_name = match name.as_str() {
                "powi" | "powf" => {
                    if args.len() != 2 {
                        return Err(syn::Error::new(
                            method_span,
                            format!("{name}() takes 1 argument, {} given", args.len() - 1),
                        ));
                    }
                    let mut it = args.into_iter();
                    let (a, b) = (it.next().expect("2"), it.next().expect("2"));
                    if name == "powi" && !matches!(b.kind, K::Int(_)) && !is_negated_int(&b) {
                        return Err(syn::Error::new_spanned(
                            &m.args,
                            "powi takes an integer literal exponent",
                        ));
                    }
                    return Ok(node(
                        K::Binary(ast::BinaryOp::Pow, Box::new(a), Box::new(b)),
                        span,
                        spans,
                    ));
                }
                "clamp" => "clip",
                _ => match Func::by_method(&name) {
                    Some(f) => f.info().name,
                    None => {
                        return Err(syn::Error::new(
                            method_span,
                            format!("unsupported method '{name}' in a #[kernel] body"),
                        ))
                    }
                },
            };
            call(table_name, args, vec![], method_span, spans)
        }
        Expr::If(i) => {
            return Err(syn::Error::new_spanned(
                i.if_token,
                "`if` is not allowed in a #[kernel] body: use where_(cond, a, b)",
            ))
        }
        Expr::ForLoop(l) => return Err(loop_error(l.for_token)),
        Expr::While(l) => return Err(loop_error(l.while_token)),
        Expr::Loop(l) => return Err(loop_error(l.loop_token)),
        Expr::Macro(m) => macro_call(&m.mac, spans)?,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                "unsupported expression in a #[kernel] body",
            ))
        }
    })
}

fn is_negated_int(e: &ast::Expr) -> bool {
    matches!(&e.kind, ast::ExprKind::Unary(ast::UnaryOp::Neg, a) if matches!(a.kind, ast::ExprKind::Int(_)))
}

fn loop_error(token: impl ToTokens) -> syn::Error {
    syn::Error::new_spanned(
        token,
        "loops are not allowed in a #[kernel] body: write the elementwise expression, \
         it is applied to every element",
    )
}

fn call(
    name: &str,
    args: Vec<ast::Expr>,
    kwargs: Vec<(String, ast::Expr)>,
    span: Span,
    spans: &mut Vec<Span>,
) -> ast::Expr {
    node(
        ast::ExprKind::Call {
            name: name.to_string(),
            args,
            kwargs,
        },
        span,
        spans,
    )
}

/// `std::f64::consts::PI` and friends (any path ending in `consts::NAME`).
fn constant_path(path: &syn::Path) -> Option<f64> {
    let n = path.segments.len();
    if n < 2 || path.segments[n - 2].ident != "consts" {
        return None;
    }
    use std::f64::consts;
    Some(match path.segments[n - 1].ident.to_string().as_str() {
        "PI" => consts::PI,
        "E" => consts::E,
        "TAU" => consts::TAU,
        "LN_2" => consts::LN_2,
        "LN_10" => consts::LN_10,
        "SQRT_2" => consts::SQRT_2,
        "FRAC_1_SQRT_2" => consts::FRAC_1_SQRT_2,
        _ => return None,
    })
}

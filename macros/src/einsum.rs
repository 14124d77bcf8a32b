//! `einsum!` / `try_einsum!`: parse the subscripts at compile time and call
//! the executor with them as constant data.

use einkern_codegen::einsum::Spec;
use einkern_codegen::kernel::compiled_spec;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Token};

/// What the expansion does with a run-time error.
#[derive(Clone, Copy)]
pub enum OnError {
    /// `einsum!`: panic with the error's message.
    Panic,
    /// `try_einsum!`: return the `Result`.
    Return,
}

/// The macro input: a subscript string literal, then the operands.
pub(crate) struct Args {
    pub(crate) spec: LitStr,
    pub(crate) operands: Vec<Expr>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(input.error(
                "expected a subscript string and operands, e.g. einsum!(\"ij,jk->ik\", a, b)",
            ));
        }
        let mut args = Punctuated::<Expr, Token![,]>::parse_terminated(input)?.into_iter();
        let spec = match args.next().map(transparent) {
            Some(Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            })) => s,
            Some(other) => {
                return Err(syn::Error::new_spanned(
                    other,
                    "the einsum subscripts must be a string literal, e.g. \"ij,jk->ik\", \
                     so that they are checked at compile time; use einkern::einsum_dyn for a \
                     run-time string",
                ))
            }
            None => unreachable!("the input is not empty"),
        };
        Ok(Args {
            spec,
            operands: args.collect(),
        })
    }
}

/// The expression inside invisible delimiters: a `$spec:literal` (or
/// `:expr`) fragment of a `macro_rules!` macro reaches a procedural macro
/// wrapped in a `None`-delimited group, and is still the literal the user
/// wrote.
fn transparent(expr: Expr) -> Expr {
    match expr {
        Expr::Group(group) => transparent(*group.expr),
        other => other,
    }
}

/// Expands one `einsum!` / `try_einsum!` call; errors become `compile_error!`.
pub fn expand(input: TokenStream, on_error: OnError) -> TokenStream {
    match syn::parse2::<Args>(input).and_then(|args| lower(&args, on_error)) {
        Ok(tokens) => tokens,
        Err(e) => e.to_compile_error(),
    }
}

fn lower(args: &Args, on_error: OnError) -> syn::Result<TokenStream> {
    let text = args.spec.value();
    let spec = Spec::parse_for(&text, args.operands.len()).map_err(|e| {
        // The message carries the column and a caret line under the string;
        // the span is the literal's (sub-spans of a literal are not
        // available on stable Rust).
        syn::Error::new(args.spec.span(), format!("invalid einsum subscripts: {e}"))
    })?;
    let compiled = compiled_spec(&text, &spec);
    let names: Vec<syn::Ident> = (0..args.operands.len())
        .map(|k| syn::Ident::new(&format!("__einkern_operand_{k}"), Span::mixed_site()))
        .collect();
    let operands = &args.operands;
    let spec_name = syn::Ident::new("__EINKERN_SPEC", Span::mixed_site());
    let views = syn::Ident::new("__einkern_views", Span::mixed_site());
    let call = quote! {
        ::einkern::__rt::einsum_compiled(&#spec_name, &#views)
    };
    let result = match on_error {
        OnError::Return => call,
        OnError::Panic => quote! {
            match #call {
                ::core::result::Result::Ok(array) => array,
                ::core::result::Result::Err(error) => ::core::panic!("{}", error),
            }
        },
    };
    Ok(quote! {{
        const #spec_name: ::einkern::__rt::CompiledSpec = #compiled;
        #(let #names = &(#operands);)*
        let #views = [#(::einkern::__rt::AsArrayView::as_array_view(#names)),*];
        #result
    }})
}

//! Rust tokens for einsums: the compile-time form of a parsed spec, shared
//! by `einsum!` and by `einsum!` inside `#[kernel]` bodies.

use proc_macro2::{Literal, TokenStream};
use quote::quote;

use crate::einsum::{CompiledSubscripts, Spec, Subscripts};

/// A `CompiledSpec` constant expression for `spec`, parsed from `text`:
/// what the einsum executor takes at run time without parsing anything.
pub fn compiled_spec(text: &str, spec: &Spec) -> TokenStream {
    let subscripts = |s: &Subscripts| {
        let letters = Literal::byte_string(&CompiledSubscripts::letters_of(s));
        let ellipsis = match s.ellipsis() {
            Some(at) => quote!(::core::option::Option::Some(#at)),
            None => quote!(::core::option::Option::None),
        };
        quote! {
            ::einkern::__rt::CompiledSubscripts { letters: #letters, ellipsis: #ellipsis }
        }
    };
    let inputs = spec.inputs().iter().map(subscripts);
    let output = subscripts(spec.output());
    quote! {
        ::einkern::__rt::CompiledSpec {
            text: #text,
            inputs: &[#(#inputs),*],
            output: #output,
        }
    }
}

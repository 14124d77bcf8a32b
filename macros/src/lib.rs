//! einkern-macros: `einsum!`, `try_einsum!` and `#[kernel]`.
//!
//! Thin shells: each macro turns syn syntax into einkern's IR, asks
//! einkern-codegen to plan and lower it, and turns any error into a
//! `compile_error!` at the offending span.

use proc_macro::TokenStream;

mod einsum;
mod kernel;

/// `einsum!("spec", a, b, ...)` evaluates an einsum and returns `Array<T>`,
/// panicking with the error's message if the shapes do not fit or the
/// result (or an intermediate) is larger than the machine can allocate
/// ([`try_einsum!`] returns those errors instead).
///
/// The subscript string is parsed at compile time (NumPy's grammar, implicit
/// output, `...`); a malformed string or a wrong operand count is a compile
/// error pointing at the string. Operands may be `&Array<T>`, `ArrayView<T>`
/// or `&ArrayView<T>`.
///
/// ```ignore
/// let c = einkern::einsum!("bij,bjk->bik", &a, &b);
/// ```
#[proc_macro]
pub fn einsum(input: TokenStream) -> TokenStream {
    einsum::expand(input.into(), einsum::OnError::Panic).into()
}

/// `try_einsum!("spec", a, b, ...)`: as [`einsum!`], returning
/// `Result<Array<T>, Error>` instead of panicking on bad shapes or on
/// memory that cannot be had.
#[proc_macro]
pub fn try_einsum(input: TokenStream) -> TokenStream {
    einsum::expand(input.into(), einsum::OnError::Return).into()
}

/// `#[kernel]` compiles a function body written in einkern's expression
/// language into one fused, vectorised kernel with NumPy broadcasting.
///
/// Parameters are array views (`ArrayView<T>`, `&Array<T>`) or scalars
/// `T`; the function returns `Array<T>` (panicking with the error's message
/// on bad shapes or when its result or a temporary cannot be allocated) or
/// `Result<Array<T>, Error>` (those are then `Err`s, never an abort). The
/// macro keeps the function and also emits `<name>_into(out:
/// ArrayViewMut<T>, ...) -> Result<(), Error>` writing into a caller's
/// array.
///
/// `out` can never alias an input of the same call: inputs are shared
/// borrows (`ArrayView<'_, T>`, `&Array<T>`) and `out` an exclusive one, so
/// passing one array as both, a view of it, or a reborrow of `out` as an
/// input is a borrow error at compile time (pinned in `tests/ui/alias_*`);
/// and safe code cannot make an `ArrayViewMut` whose elements overlap.
///
/// ```ignore
/// #[einkern::kernel]
/// fn normalize(x: ArrayView<f64>, mu: ArrayView<f64>, sd: ArrayView<f64>, eps: f64) -> Array<f64> {
///     (x - mu) / (sd + eps)
/// }
/// ```
#[proc_macro_attribute]
pub fn kernel(attr: TokenStream, item: TokenStream) -> TokenStream {
    kernel::expand(attr.into(), item.into()).into()
}

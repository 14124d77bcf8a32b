//! The Rust-token lowering of a kernel: what `#[kernel]` expands to.
//!
//! [`emit_body`] turns a typed [`Graph`] into the body of a function
//!
//! ```text
//! fn(out: Option<ArrayViewMut<'_, T>>, <the kernel's parameters>)
//!     -> Result<Option<Array<T>>, Error>
//! ```
//!
//! that returns `Ok(Some(result))` when `out` is `None` (the result is
//! allocated in C order) and `Ok(None)` after writing into `out` otherwise.
//! The body runs the passes of [`stage::plan`] in order; each pass binds its
//! operands with `ew::bind` (broadcasting, shape errors), plans its loop
//! nest with `ew::Loops` and calls the pass's row functions ([`row`]),
//! chosen once per call by `cpu::isa()`.

mod row;
mod scalar;
pub mod stage;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::expr::{Graph, NodeId, Op, ReduceOp};
use scalar::rust_type;
use stage::{Leaf, Pass};

/// A kernel parameter as the generated body refers to it.
#[derive(Clone, Debug)]
pub struct KernelParam {
    /// The parameter's name in the user's function.
    pub ident: Ident,
    /// An array (`ArrayView<T>`, `&Array<T>`), or a scalar `T`.
    pub is_array: bool,
}

/// Emits the kernel body (see the module docs). `params` are the graph's
/// inputs, in order; `out` names the optional output view.
pub fn emit_body(graph: &Graph, params: &[KernelParam], out: &Ident) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let is_array: Vec<bool> = params.iter().map(|p| p.is_array).collect();
    let passes = stage::plan(graph, &is_array);
    let bind_params = params.iter().enumerate().map(|(k, p)| {
        let ident = &p.ident;
        if p.is_array {
            let v = format_ident!("__in{}", k);
            quote!(let #v = #ident.view();)
        } else {
            let c = format_ident!("__c{}", k);
            let t = rust_type(graph.inputs()[k].1);
            quote!(let #c: #t = #ident;)
        }
    });
    let mut items = Vec::new();
    let mut stmts = Vec::new();
    let last = passes.len() - 1;
    for (index, pass) in passes.iter().enumerate() {
        let (fns, names) = row::emit(graph, pass, index);
        items.push(fns);
        let run = run_pass(graph, pass, &names);
        let leaf_shapes = pass.leaves.iter().map(|l| {
            let v = leaf_view(l);
            quote!(#v.shape())
        });
        let shape = quote!(#rt::ew::pass_shape(&[#(#leaf_shapes),*])?);
        stmts.push(match (pass.reduce, index == last) {
            (None, _) => {
                let t = rust_type(graph.output_type());
                quote! {
                    let __shape = #shape;
                    let mut __alloc: ::core::option::Option<#rt::Array<#t>> = None;
                    let mut __target = match #out {
                        ::core::option::Option::Some(o) => {
                            #rt::ew::check_out_shape(o.shape(), &__shape)?;
                            o
                        }
                        // SAFETY: the pass below writes every element.
                        ::core::option::Option::None => __alloc
                            .insert(unsafe { #rt::Array::<#t>::uninit(&__shape, #rt::Order::C) })
                            .view_mut(),
                    };
                    let (__o, __os) = #rt::ew::bind_out(&mut __target);
                    #run
                    ::core::mem::drop(__target);
                    ::core::result::Result::Ok(__alloc)
                }
            }
            (Some(r), is_root) => {
                let Op::Reduce { op, axis, keepdims, .. } = graph.node(r).op else {
                    unreachable!("a reduction pass reduces")
                };
                let t = rust_type(graph.node(r).ty);
                let name = op.name();
                let axis = match axis {
                    Some(a) => quote!(::core::option::Option::Some(#a)),
                    None => quote!(::core::option::Option::None),
                };
                let needs = matches!(op, ReduceOp::Max | ReduceOp::Min);
                let identity = row::identity(op, graph.node(r).ty);
                let mean = (op == ReduceOp::Mean).then(|| {
                    quote! {
                        let __count = __red.count() as #t;
                        __target.map_inplace(|v| v / __count);
                    }
                });
                let temp = temp_name(r);
                let (target, finish) = if is_root {
                    (
                        quote! {
                            let mut __alloc: ::core::option::Option<#rt::Array<#t>> = None;
                            let mut __target = match #out {
                                ::core::option::Option::Some(o) => {
                                    #rt::ew::check_out_shape(o.shape(), __red.shape())?;
                                    o
                                }
                                // SAFETY: filled with the identity next.
                                ::core::option::Option::None => __alloc
                                    .insert(unsafe { #rt::Array::<#t>::uninit(__red.shape(), #rt::Order::C) })
                                    .view_mut(),
                            };
                        },
                        quote! {
                            ::core::mem::drop(__target);
                            ::core::result::Result::Ok(__alloc)
                        },
                    )
                } else {
                    (
                        quote! {
                            // SAFETY: filled with the identity next.
                            let mut #temp = unsafe { #rt::Array::<#t>::uninit(__red.shape(), #rt::Order::C) };
                            let mut __target = #temp.view_mut();
                        },
                        quote!(),
                    )
                };
                quote! {
                    let __red = #rt::ew::Reduction::new(#name, &#shape, #axis, #keepdims, #needs)?;
                    #target
                    {
                        __target.fill(#identity);
                        let __shape = __red.arg_shape();
                        let (__o, __os) = __red.bind_target(&mut __target);
                        #run
                        #mean
                    }
                    #finish
                }
            }
        });
    }
    quote! {
        #(#items)*
        #(#bind_params)*
        #(#stmts)*
    }
}

/// The name of the array holding reduction `r`'s result.
fn temp_name(r: NodeId) -> Ident {
    format_ident!("__t{}", r.0)
}

/// The view of a leaf as the body names it.
fn leaf_view(l: &Leaf) -> TokenStream {
    match *l {
        Leaf::Array(k) => {
            let v = format_ident!("__in{}", k);
            quote!(#v)
        }
        Leaf::Temp(r) => {
            let t = temp_name(r);
            quote!(#t.view())
        }
    }
}

/// Binds a pass's leaves to `__shape` and runs its loop nest into
/// `(__o, __os)`.
fn run_pass(_graph: &Graph, pass: &Pass, fns: &row::RowFns) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let (ps, ss): (Vec<Ident>, Vec<Ident>) = (0..pass.leaves.len())
        .map(|j| (format_ident!("__p{}", j), format_ident!("__s{}", j)))
        .unzip();
    let views = pass.leaves.iter().map(leaf_view);
    let scalars: Vec<Ident> = pass
        .scalars
        .iter()
        .map(|k| format_ident!("__c{}", k))
        .collect();
    let row::RowFns {
        avx512,
        avx2,
        baseline,
    } = fns;
    let args = quote!(len, ins, st, out, os #(, #scalars)*);
    quote! {
        #(let (#ps, #ss) = #rt::ew::bind(&#views, &__shape)?;)*
        let __loops = #rt::ew::Loops::new(&__shape, &__os, &[#(#ss.as_slice()),*]);
        let __isa = #rt::cpu::isa();
        // SAFETY: every pointer and byte stride comes from a validated view
        // bound to `__shape` by `ew::bind`/`bind_out`/`bind_target`; the
        // output is exclusive (an `ArrayViewMut`) and the row functions
        // obey the row ABI, accumulating only where the output stride is 0.
        unsafe {
            __loops.run(
                __o,
                &[#(#ps),*],
                #rt::ew::Parallel::auto(),
                &|len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| {
                    match __isa {
                        #[cfg(target_arch = "x86_64")]
                        #rt::cpu::Isa::Avx512 => #avx512(#args),
                        #[cfg(target_arch = "x86_64")]
                        #rt::cpu::Isa::Avx2Fma => #avx2(#args),
                        _ => #baseline(#args),
                    }
                },
            )
        };
    }
}

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
///
/// When the final pass reads a reduction nothing else reads
/// ([`stage::epilogue_candidate`]) and, at run time, that reduction has the
/// output's shape, the reduction is computed straight into the output and
/// the final pass runs in place over it (each element is read before it is
/// written, at the same position), saving a temporary and its page faults.
pub fn emit_body(graph: &Graph, params: &[KernelParam], out: &Ident) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let is_array: Vec<bool> = params.iter().map(|p| p.is_array).collect();
    let mut passes = stage::plan(graph, &is_array);
    let epilogue = stage::epilogue_candidate(graph, &mut passes);
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
    let mut names = Vec::new();
    for (index, pass) in passes.iter().enumerate() {
        let (fns, n) = row::emit(graph, pass, index);
        items.push(fns);
        names.push(n);
    }
    let last = passes.len() - 1;
    let mut stmts = Vec::new();
    for (index, pass) in passes.iter().enumerate() {
        let fns = &names[index];
        let Some(r) = pass.reduce else {
            stmts.push(final_pass(graph, pass, fns, out));
            continue;
        };
        let t = rust_type(graph.node(r).ty);
        let temp = temp_name(r);
        let into_temp = quote! {
            // SAFETY: filled with the identity before it is read.
            let mut #temp = unsafe { #rt::Array::<#t>::uninit(__red.shape(), #rt::Order::C) };
            let mut __target = #temp.view_mut();
        };
        if index == last {
            let target = output_target(out, &t, quote!(__red.shape()));
            let finish = quote! {
                ::core::mem::drop(__target);
                ::core::result::Result::Ok(__alloc)
            };
            stmts.push(reduce_pass(graph, pass, fns, target, finish));
        } else if epilogue == Some(r) {
            let fin = &passes[last];
            let shapes = fin.leaves.iter().map(|l| match *l {
                Leaf::Temp(x) if x == r => quote!(__red.shape()),
                _ => {
                    let v = leaf_view(l, None);
                    quote!(#v.shape())
                }
            });
            let fin_run = run_pass(fin, &names[last], Some(r));
            let target = output_target(out, &t, quote!(&__final_shape));
            let fused = reduce_pass(
                graph,
                pass,
                fns,
                target,
                quote! {
                    {
                        let __shape = __final_shape;
                        let (__o, __os) = #rt::ew::bind_out(&mut __target);
                        #fin_run
                    }
                    ::core::mem::drop(__target);
                    return ::core::result::Result::Ok(__alloc);
                },
            );
            let separate = reduce_pass(graph, pass, fns, into_temp, quote!());
            let red = reduction(graph, pass);
            stmts.push(quote! {
                let (__final_shape, __in_place) = {
                    #red
                    let s = #rt::ew::pass_shape(&[#(#shapes),*])?;
                    let in_place = s.as_slice() == __red.shape();
                    (s, in_place)
                };
                if __in_place {
                    #fused
                }
                #separate
            });
        } else {
            stmts.push(reduce_pass(graph, pass, fns, into_temp, quote!()));
        }
    }
    quote! {
        #(#items)*
        #(#bind_params)*
        #(#stmts)*
    }
}

/// `let mut __alloc` and `let mut __target`: the caller's output (its shape
/// checked against `shape`) or a fresh C-order array of `shape`.
fn output_target(out: &Ident, t: &TokenStream, shape: TokenStream) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    quote! {
        let mut __alloc: ::core::option::Option<#rt::Array<#t>> = None;
        let mut __target = match #out {
            ::core::option::Option::Some(o) => {
                #rt::ew::check_out_shape(o.shape(), #shape)?;
                o
            }
            // SAFETY: every element is written before it is read (by the
            // final pass, or by the identity fill of a reduction).
            ::core::option::Option::None => __alloc
                .insert(unsafe { #rt::Array::<#t>::uninit(#shape, #rt::Order::C) })
                .view_mut(),
        };
    }
}

/// The elementwise final pass, writing the output.
fn final_pass(graph: &Graph, pass: &Pass, fns: &row::RowFns, out: &Ident) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let t = rust_type(graph.output_type());
    let leaf_shapes = pass.leaves.iter().map(|l| {
        let v = leaf_view(l, None);
        quote!(#v.shape())
    });
    let target = output_target(out, &t, quote!(&__shape));
    let run = run_pass(pass, fns, None);
    quote! {
        let __shape = #rt::ew::pass_shape(&[#(#leaf_shapes),*])?;
        #target
        let (__o, __os) = #rt::ew::bind_out(&mut __target);
        #run
        ::core::mem::drop(__target);
        ::core::result::Result::Ok(__alloc)
    }
}

/// `let __red = Reduction::new(...)?;` for a reduction pass.
fn reduction(graph: &Graph, pass: &Pass) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let r = pass.reduce.expect("a reduction pass");
    let Op::Reduce {
        op, axis, keepdims, ..
    } = graph.node(r).op
    else {
        unreachable!("a reduction pass reduces")
    };
    let name = op.name();
    let axis = match axis {
        Some(a) => quote!(::core::option::Option::Some(#a)),
        None => quote!(::core::option::Option::None),
    };
    let needs = matches!(op, ReduceOp::Max | ReduceOp::Min);
    let leaf_shapes = pass.leaves.iter().map(|l| {
        let v = leaf_view(l, None);
        quote!(#v.shape())
    });
    quote! {
        let __red = #rt::ew::Reduction::new(
            #name,
            &#rt::ew::pass_shape(&[#(#leaf_shapes),*])?,
            #axis,
            #keepdims,
            #needs,
        )?;
    }
}

/// A reduction pass: plan it, set up `__target` with `target`, fill it with
/// the identity, accumulate, divide for `mean`, then `finish`.
fn reduce_pass(
    graph: &Graph,
    pass: &Pass,
    fns: &row::RowFns,
    target: TokenStream,
    finish: TokenStream,
) -> TokenStream {
    let r = pass.reduce.expect("a reduction pass");
    let Op::Reduce { op, .. } = graph.node(r).op else {
        unreachable!("a reduction pass reduces")
    };
    let t = rust_type(graph.node(r).ty);
    let identity = row::identity(op, graph.node(r).ty);
    let mean = (op == ReduceOp::Mean).then(|| {
        quote! {
            let __count = __red.count() as #t;
            __target.map_inplace(|v| v / __count);
        }
    });
    let red = reduction(graph, pass);
    let run = run_pass(pass, fns, None);
    quote! {
        #red
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

/// The name of the array holding reduction `r`'s result.
fn temp_name(r: NodeId) -> Ident {
    format_ident!("__t{}", r.0)
}

/// The view of a leaf as the body names it; reduction `in_place` is read
/// from the output (`__target`).
fn leaf_view(l: &Leaf, in_place: Option<NodeId>) -> TokenStream {
    match *l {
        Leaf::Array(k) => {
            let v = format_ident!("__in{}", k);
            quote!(#v)
        }
        Leaf::Temp(r) if in_place == Some(r) => quote!(__target.view()),
        Leaf::Temp(r) => {
            let t = temp_name(r);
            quote!(#t.view())
        }
    }
}

/// Binds a pass's leaves to `__shape` and runs its loop nest into
/// `(__o, __os)`.
fn run_pass(pass: &Pass, fns: &row::RowFns, in_place: Option<NodeId>) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let (ps, ss): (Vec<Ident>, Vec<Ident>) = (0..pass.leaves.len())
        .map(|j| (format_ident!("__p{}", j), format_ident!("__s{}", j)))
        .unzip();
    let views = pass.leaves.iter().map(|l| leaf_view(l, in_place));
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
        // An in-place final pass reads each output element at the position
        // it then writes, within the same row call.
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

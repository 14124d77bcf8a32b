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
//! Every array it allocates (the result, reduction and einsum temporaries)
//! is allocated with the runtime's `try_` forms, so a size the machine
//! cannot hold is an `Err` of the body, never an abort.
//! The body runs the passes of [`stage::plan`] in order; each pass binds its
//! operands with `ew::bind` (broadcasting, shape errors), plans its loop
//! nest with `ew::Loops` and calls the pass's row functions ([`row`]),
//! chosen once per call by `cpu::isa()`.

mod einsum;
mod row;
mod scalar;
pub mod stage;

pub use einsum::compiled_spec;

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::einsum::Spec;
use crate::expr::{Graph, NodeId, Op, ReduceOp};
use scalar::rust_type;
use stage::{Leaf, Pass, PassKind};

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
    // Row functions of every pass but einsum steps (contractions), and the
    // tile functions of reductions.
    let names: Vec<Option<(row::RowFns, Option<row::RowFns>)>> = (passes.iter().enumerate())
        .map(|(index, pass)| {
            (pass.kind != PassKind::Einsum).then(|| {
                let (fns, n, tile) = row::emit(graph, pass, index);
                items.push(fns);
                (n, tile)
            })
        })
        .collect();
    let fns_of = |index: usize| &names[index].as_ref().expect("a pass with row functions").0;
    let tile_of = |index: usize| {
        (names[index].as_ref().and_then(|n| n.1.as_ref()))
            .expect("a reduction pass has tile functions")
    };
    let last = passes.len() - 1;
    let mut stmts = Vec::new();
    for (index, pass) in passes.iter().enumerate() {
        let r = match pass.kind {
            PassKind::Final => {
                stmts.push(final_pass(graph, pass, fns_of(index), out));
                continue;
            }
            PassKind::Materialize => {
                stmts.push(materialize(graph, pass, fns_of(index)));
                continue;
            }
            PassKind::Einsum => {
                let fin = (epilogue == Some(pass.value)).then(|| (&passes[last], fns_of(last)));
                stmts.push(einsum_step(graph, pass, index == last, fin, out));
                continue;
            }
            PassKind::Reduce(r) => r,
        };
        let fns = (fns_of(index), tile_of(index));
        let t = rust_type(graph.node(r).ty);
        let temp = temp_name(r);
        let into_temp = quote! {
            // SAFETY: filled with the identity before it is read.
            let mut #temp = unsafe { #rt::Array::<#t>::try_uninit(__red.shape(), #rt::Order::C) }?;
            let mut __target = #temp.view_mut();
        };
        if index == last {
            let target = output_target(out, &t, quote!(__red.shape()));
            let finish = quote! {
                ::core::mem::drop(__target);
                ::core::result::Result::Ok(__alloc)
            };
            stmts.push(reduce_pass(graph, pass, fns, target, finish, None));
        } else if epilogue == Some(r) {
            let fin = &passes[last];
            let shapes = final_shapes(fin, r, quote!(__red.shape()));
            let fin_run = run_pass(fin, fns_of(last), Some(r));
            let target = output_target(out, &t, quote!(&__final_shape));
            // An epilogue that reads only this result can run per tile.
            let tile_epilogue =
                (fin.leaves == [Leaf::Temp(r)]).then(|| row_call(fin, fns_of(last), quote!(0)));
            let fused = reduce_pass(
                graph,
                pass,
                fns,
                target,
                quote! {
                    if !__tiled {
                        let __shape = __final_shape;
                        let (__o, __os) = #rt::ew::bind_out(&mut __target);
                        #fin_run
                    }
                    ::core::mem::drop(__target);
                    return ::core::result::Result::Ok(__alloc);
                },
                tile_epilogue,
            );
            let separate = reduce_pass(graph, pass, fns, into_temp, quote!(), None);
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
            stmts.push(reduce_pass(graph, pass, fns, into_temp, quote!(), None));
        }
    }
    quote! {
        #(#items)*
        #(#bind_params)*
        #(#stmts)*
    }
}

/// The shapes of the final pass's leaves, with `result` (a reduction's or
/// an einsum's) given by `shape`.
fn final_shapes(fin: &Pass, result: NodeId, shape: TokenStream) -> Vec<TokenStream> {
    (fin.leaves.iter())
        .map(|l| match *l {
            Leaf::Temp(x) if x == result => shape.clone(),
            _ => {
                let v = leaf_view(l, None);
                quote!(#v.shape())
            }
        })
        .collect()
}

/// An einsum step: binds the einsum to its operands (shape errors here)
/// and runs it into a temporary, or into the output when it is the kernel's
/// result. With `fin` (the final pass, reading this einsum's result and
/// nothing else's of the output's type), the einsum is run straight into
/// the output when the final pass has its shape, and the final pass rides
/// on the contraction's write-back as an epilogue, block by block while the
/// block is in cache; a contraction that cannot take it (a dot or a
/// matrix-vector product, a non-GEMM einsum) is followed by the final pass
/// run in place over the output.
fn einsum_step(
    graph: &Graph,
    pass: &Pass,
    is_last: bool,
    fin: Option<(&Pass, &row::RowFns)>,
    out: &Ident,
) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let Op::Einsum(e) = graph.node(pass.value).op else {
        unreachable!("an einsum step runs an einsum")
    };
    let einsum = graph.einsum(e);
    let parsed = Spec::parse_for(&einsum.spec, einsum.args.len())
        .expect("the lowering checked the subscripts");
    let spec = compiled_spec(&einsum.spec, &parsed);
    let t = rust_type(graph.node(pass.value).ty);
    let views = pass.leaves.iter().map(|l| {
        let v = leaf_view(l, None);
        quote!(#v.view())
    });
    let prepare = quote! {
        const __SPEC: #rt::CompiledSpec = #spec;
        let __prep = #rt::Prepared::compiled(&__SPEC, &[#(#views),*])?;
    };
    if is_last {
        let target = output_target(out, &t, quote!(__prep.shape()));
        return quote! {
            #prepare
            #target
            __prep.run_into(&mut __target, ::core::option::Option::None)?;
            ::core::mem::drop(__target);
            ::core::result::Result::Ok(__alloc)
        };
    }
    let temp = temp_name(pass.value);
    let Some((fin, fin_fns)) = fin else {
        return quote! {
            let #temp = {
                #prepare
                __prep.run()?
            };
        };
    };
    let shapes = final_shapes(fin, pass.value, quote!(__prep.shape()));
    let target = output_target(out, &t, quote!(&__final_shape));
    let inputs = fin.leaves.iter().map(|l| match *l {
        Leaf::Temp(x) if x == pass.value => quote!(#rt::OutputInput::Output),
        _ => {
            let v = leaf_view(l, None);
            quote! {{
                let (ptr, strides) = #rt::ew::bind(&#v, &__shape)?;
                #rt::OutputInput::Array { ptr, strides }
            }}
        }
    });
    let call = row_call(fin, fin_fns, quote!(0));
    let fin_run = run_pass(fin, fin_fns, Some(pass.value));
    quote! {
        let #temp = {
            #prepare
            let __final_shape = #rt::ew::pass_shape(&[#(#shapes),*])?;
            if __final_shape.as_slice() == __prep.shape() {
                #target
                let __shape = __final_shape;
                let __isa = #rt::cpu::isa();
                let __row = |len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| {
                    // SAFETY: the contraction passes `len` elements of the
                    // output and of every input, bound to the output's shape
                    // by `ew::bind`; each is read where it is then written.
                    unsafe { #call }
                };
                let __epilogue = #rt::OutputEpilogue {
                    inputs: ::std::vec![#(#inputs),*],
                    row: &__row,
                };
                if !__prep.run_into(&mut __target, ::core::option::Option::Some(&__epilogue))? {
                    let (__o, __os) = #rt::ew::bind_out(&mut __target);
                    #fin_run
                }
                ::core::mem::drop(__target);
                return ::core::result::Result::Ok(__alloc);
            }
            __prep.run()?
        };
    }
}

/// A pass writing an einsum operand that is an expression into a C-order
/// temporary of its broadcast shape.
fn materialize(graph: &Graph, pass: &Pass, fns: &row::RowFns) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let t = rust_type(graph.node(pass.value).ty);
    let temp = temp_name(pass.value);
    let leaf_shapes = pass.leaves.iter().map(|l| {
        let v = leaf_view(l, None);
        quote!(#v.shape())
    });
    let run = run_pass(pass, fns, None);
    quote! {
        let #temp = {
            let __shape = #rt::ew::pass_shape(&[#(#leaf_shapes),*])?;
            // SAFETY: the pass writes every element.
            let mut __temp = unsafe { #rt::Array::<#t>::try_uninit(&__shape, #rt::Order::C) }?;
            let mut __target = __temp.view_mut();
            let (__o, __os) = #rt::ew::bind_out(&mut __target);
            #run
            ::core::mem::drop(__target);
            __temp
        };
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
                .insert(unsafe { #rt::Array::<#t>::try_uninit(#shape, #rt::Order::C) }?)
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
    let r = pass.reduce().expect("a reduction pass");
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

/// A reduction pass: plan it, set up `__target` with `target`, accumulate
/// into it from the identity, divide for `mean`, then `finish`.
///
/// When the driver walks the nest interchanged (short reduced rows), the
/// identity fill and the `mean` division happen per output tile through
/// `ew::TileHooks`, and so does `epilogue` (the final pass's row call on
/// the tile, for an in-place epilogue that reads nothing but this result):
/// one pass over the output instead of three. `__tiled` tells `finish`
/// whether that happened.
fn reduce_pass(
    graph: &Graph,
    pass: &Pass,
    (fns, tile): (&row::RowFns, &row::RowFns),
    target: TokenStream,
    finish: TokenStream,
    epilogue: Option<TokenStream>,
) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let r = pass.reduce().expect("a reduction pass");
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
    let tile_mean = (op == ReduceOp::Mean).then(|| {
        quote! {
            let __count = __red.count() as #t;
            for i in 0..len as isize {
                let p = out.offset(i * os) as *mut #t;
                *p = *p / __count;
            }
        }
    });
    let tile_epilogue = epilogue.as_ref().map(|call| {
        quote! {
            let ins: &[*const u8] = &[out as *const u8];
            let st: &[isize] = &[os];
            #call
        }
    });
    let tiled_epilogue = epilogue.is_some();
    let red = reduction(graph, pass);
    let leaf_tys = (pass.leaves.iter()).map(|l| rust_type(row::leaf_type(graph, l)));
    let plan = plan_pass(pass, None);
    let row = row_closure(pass, fns);
    let tile_call = dispatch(pass, tile, quote!(len, ins, st, out, os, rlen, rs));
    quote! {
        #red
        #target
        let __tiled = {
            let __shape = __red.arg_shape();
            let (__o, __os) = __red.bind_target(&mut __target);
            #plan
            let __reduce = |len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize, rlen: usize, rs: &[isize]| {
                // SAFETY: the driver passes a tile and its inputs as
                // the tile functions' contract states.
                unsafe { #tile_call }
            };
            if __loops.interchanged() {
                let __start = |len: usize, out: *mut u8, os: isize| {
                    if os == ::core::mem::size_of::<#t>() as isize {
                        // Contiguous: a vectorised fill. (The strided loop
                        // below stays scalar; on pairwise distances of 2000
                        // points it took a quarter of the time, one store
                        // per element into lines not yet in cache.) The
                        // value is opaque so that LLVM does not make the
                        // loop a `memset`: glibc's `rep stosb` left the
                        // tile out of cache for the reduction that reads it
                        // next (a 64-wide rolling mean ran 10% slower).
                        let v = ::core::hint::black_box(#identity);
                        // SAFETY: the driver passes `len` contiguous output
                        // elements of the target's type, aligned.
                        for x in unsafe { ::core::slice::from_raw_parts_mut(out as *mut #t, len) } {
                            *x = v;
                        }
                        return;
                    }
                    for i in 0..len as isize {
                        // SAFETY: the driver passes `len` output elements.
                        unsafe { *(out.offset(i * os) as *mut #t) = #identity };
                    }
                };
                let __end = |len: usize, out: *mut u8, os: isize| {
                    // SAFETY: the driver passes `len` output elements; the
                    // epilogue reads each where it writes it.
                    unsafe {
                        #tile_mean
                        #tile_epilogue
                    }
                };
                let __hooks = #rt::ew::TileHooks {
                    start: &__start,
                    end: &__end,
                    reduce: ::core::option::Option::Some(&__reduce),
                    sizes: &[#(::core::mem::size_of::<#leaf_tys>()),*],
                };
                // SAFETY: as for `Loops::run` below; the hooks touch only
                // the tile they are given.
                unsafe {
                    __loops.run_tiled(__o, &__ptrs, #rt::ew::Parallel::auto(), #row, &__hooks)
                };
                #tiled_epilogue
            } else {
                __target.fill(#identity);
                // SAFETY: pointers and strides from validated views bound
                // by `ew::bind`/`bind_target`; rows accumulate only where
                // the output stride is 0 (reduced axes).
                unsafe { __loops.run_reduction(__o, &__ptrs, #rt::ew::Parallel::auto(), #row, &__reduce) };
                #mean
                false
            }
        };
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

/// Binds a pass's leaves to `__shape` and plans its loop nest:
/// `__ptrs` (the leaves' first elements), `__loops`, `__isa`.
fn plan_pass(pass: &Pass, in_place: Option<NodeId>) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let (ps, ss): (Vec<Ident>, Vec<Ident>) = (0..pass.leaves.len())
        .map(|j| (format_ident!("__p{}", j), format_ident!("__s{}", j)))
        .unzip();
    let views = pass.leaves.iter().map(|l| leaf_view(l, in_place));
    let n = pass.leaves.len();
    quote! {
        #(let (#ps, #ss) = #rt::ew::bind(&#views, &__shape)?;)*
        let __ptrs: [*const u8; #n] = [#(#ps),*];
        let __loops = #rt::ew::Loops::new(&__shape, &__os, &[#(#ss.as_slice()),*]);
        let __total = __loops.len();
        let __isa = #rt::cpu::isa();
    }
}

/// A call of a pass's row function for `__isa`, with `(len, ins, st, out,
/// os)` in scope; an elementwise row also gets `total`, the number of
/// elements the whole pass writes (0 for a tile of an epilogue: its output
/// is in cache and stays there).
fn row_call(pass: &Pass, fns: &row::RowFns, total: TokenStream) -> TokenStream {
    if pass.reduce().is_some() {
        dispatch(pass, fns, quote!(len, ins, st, out, os))
    } else {
        dispatch(pass, fns, quote!(len, ins, st, out, os, #total))
    }
}

/// A call of one of `fns` for `__isa` with `head` and then the pass's
/// scalar arguments.
fn dispatch(pass: &Pass, fns: &row::RowFns, head: TokenStream) -> TokenStream {
    let rt = quote!(::einkern::__rt);
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
    let args = quote!(#head #(, #scalars)*);
    quote! {
        match __isa {
            #[cfg(target_arch = "x86_64")]
            #rt::cpu::Isa::Avx512 => #avx512(#args),
            #[cfg(target_arch = "x86_64")]
            #rt::cpu::Isa::Avx2Fma => #avx2(#args),
            _ => #baseline(#args),
        }
    }
}

/// The row closure of a pass, as the driver takes it.
fn row_closure(pass: &Pass, fns: &row::RowFns) -> TokenStream {
    let call = row_call(pass, fns, quote!(__total));
    quote!(&|len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| #call)
}

/// Binds a pass's leaves to `__shape` and runs its loop nest into
/// `(__o, __os)`.
fn run_pass(pass: &Pass, fns: &row::RowFns, in_place: Option<NodeId>) -> TokenStream {
    let rt = quote!(::einkern::__rt);
    let plan = plan_pass(pass, in_place);
    let row = row_closure(pass, fns);
    quote! {
        #plan
        // SAFETY: every pointer and byte stride comes from a validated view
        // bound to `__shape` by `ew::bind`/`bind_out`/`bind_target`; the
        // output is exclusive (an `ArrayViewMut`) and the row functions
        // obey the row ABI, accumulating only where the output stride is 0.
        // An in-place final pass reads each output element at the position
        // it then writes, within the same row call.
        unsafe { __loops.run(__o, &__ptrs, #rt::ew::Parallel::auto(), #row) };
    }
}

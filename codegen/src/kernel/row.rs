//! Row functions: the code that runs once per innermost row of a pass.
//!
//! For each pass three copies are emitted, compiled for AVX-512, AVX2+FMA
//! and the baseline target with `#[target_feature]`, all instantiating one
//! `#[inline(always)]` generic driver with the multiply-add policy of that
//! ISA (`Fused` where FMA exists, `Unfused` in the baseline copy, where
//! `mul_add` would be a libm call). The caller picks the copy from
//! `cpu::isa()` once per kernel call.
//!
//! Inside the driver the row is processed in blocks. Each array operand is
//! read through a pointer to contiguous elements: the data itself when its
//! stride is one element, a block buffer filled once with the value when
//! its stride is 0 (broadcast), or a block buffer gathered from the strided
//! data otherwise; a non-contiguous output goes through a buffer too. The
//! loop over a block is therefore always the same flat, unit-stride loop
//! that LLVM vectorises, and when every operand is contiguous the whole row
//! is one block with no copies at all.
//!
//! Row ABI and accumulation rules: see `einkern_runtime::ew`.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

use super::scalar::{node_expr, rust_type};
use super::stage::{Leaf, Pass};
use crate::expr::{Graph, NodeId, Op, ReduceOp, ScalarType};

/// Elements per block when operands must be staged through buffers.
const BLOCK: usize = 256;

/// The names of a pass's row functions.
pub struct RowFns {
    pub avx512: Ident,
    pub avx2: Ident,
    pub baseline: Ident,
}

/// Emits the row functions of pass number `index`; they take
/// `(len, ins, in_strides, out, out_stride, <scalars>)`. A reduction pass
/// also gets tile functions (see [`tile_body`]), returned second.
pub fn emit(graph: &Graph, pass: &Pass, index: usize) -> (TokenStream, RowFns, Option<RowFns>) {
    let drive = format_ident!("__einkern_drive_{}", index);
    let fns = RowFns {
        avx512: format_ident!("__einkern_row_{}_avx512", index),
        avx2: format_ident!("__einkern_row_{}_avx2", index),
        baseline: format_ident!("__einkern_row_{}_baseline", index),
    };
    let m = Ident::new("M", Span::call_site());
    let rt = quote!(::einkern::__rt);
    let scalars: Vec<Ident> = pass
        .scalars
        .iter()
        .map(|k| format_ident!("__c{}", k))
        .collect();
    let scalar_tys: Vec<TokenStream> = pass
        .scalars
        .iter()
        .map(|&k| rust_type(graph.inputs()[k].1))
        .collect();
    let leaf_ty = |l: &Leaf| leaf_type(graph, l);
    let out_ty = match pass.reduce() {
        Some(r) => graph.node(r).ty,
        None => graph.node(pass.value).ty,
    };
    let to = rust_type(out_ty);

    // Names of values inside the element loop.
    let name = |id: NodeId| -> Ident {
        if let Some(j) = pass
            .leaves
            .iter()
            .position(|l| matches!(*l, Leaf::Temp(t) if t == id))
        {
            return format_ident!("__l{}", j);
        }
        match graph.node(id).op {
            Op::Input(k) => match pass.leaves.iter().position(|l| *l == Leaf::Array(k)) {
                Some(j) => format_ident!("__l{}", j),
                None => format_ident!("__c{}", k),
            },
            _ => format_ident!("__n{}", id.0),
        }
    };
    let loads = (0..pass.leaves.len()).map(|j| {
        let (l, a) = (format_ident!("__l{}", j), format_ident!("__a{}", j));
        quote!(let #l = *#a.add(__i);)
    });
    let lets = pass.nodes.iter().map(|&id| {
        let n = name(id);
        let e = node_expr(graph, id, &name, &m);
        quote!(let #n = #e;)
    });
    let value = name(pass.value);
    // The value of element `__i` of the block.
    let element = quote! {{
        #(#loads)*
        #(#lets)*
        #value
    }};

    // Per-leaf setup and per-block pointers.
    let mut setup = Vec::new();
    let mut block_ptrs = Vec::new();
    let mut contiguous = vec![quote!(true)];
    for (j, leaf) in pass.leaves.iter().enumerate() {
        let t = rust_type(leaf_ty(leaf));
        let (p, s, buf, bp, a) = (
            format_ident!("__p{}", j),
            format_ident!("__s{}", j),
            format_ident!("__buf{}", j),
            format_ident!("__bp{}", j),
            format_ident!("__a{}", j),
        );
        setup.push(quote! {
            let #p = ins[#j];
            let #s = in_strides[#j];
            let mut #buf = ::core::mem::MaybeUninit::<[#t; #BLOCK]>::uninit();
            let #bp = #buf.as_mut_ptr() as *mut #t;
            if #s == 0 {
                let v = *(#p as *const #t);
                for j in 0..len.min(#BLOCK) {
                    #bp.add(j).write(v);
                }
            }
        });
        contiguous.push(quote!(&& #s == ::core::mem::size_of::<#t>() as isize));
        block_ptrs.push(quote! {
            let #a: *const #t = if #s == ::core::mem::size_of::<#t>() as isize {
                (#p as *const #t).add(__i0)
            } else if #s == 0 {
                #bp as *const #t
            } else {
                for j in 0..__n {
                    #bp.add(j).write(*(#p.offset((__i0 + j) as isize * #s) as *const #t));
                }
                #bp as *const #t
            };
        });
    }
    let out_contiguous = quote!(out_stride == ::core::mem::size_of::<#to>() as isize);
    // The output block: the data itself, or the buffer (gathered first
    // when accumulating).
    let out_block = |gather: bool| {
        let fill = gather.then(|| {
            quote! {
                for j in 0..__n {
                    __obp.add(j).write(*(out.offset((__i0 + j) as isize * out_stride) as *const #to));
                }
            }
        });
        quote! {
            let __o: *mut #to = if __out_contiguous {
                (out as *mut #to).add(__i0)
            } else {
                #fill
                __obp
            };
        }
    };
    let scatter = quote! {
        if !__out_contiguous {
            for j in 0..__n {
                *(out.offset((__i0 + j) as isize * out_stride) as *mut #to) = *__obp.add(j);
            }
        }
    };
    let blocks = |body: TokenStream, with_out: bool| {
        let cond = if with_out {
            quote!(__in_contiguous && __out_contiguous)
        } else {
            quote!(__in_contiguous)
        };
        quote! {
            let __block = if #cond { len } else { #BLOCK };
            let mut __i0 = 0usize;
            while __i0 < len {
                let __n = __block.min(len - __i0);
                #(#block_ptrs)*
                #body
                __i0 += __n;
            }
        }
    };
    let red = quote!(#rt::ew::reduce::Reducible);
    let body = match pass.reduce().map(|r| graph.node(r).op) {
        None => {
            let ob = out_block(false);
            // In place (an input is the output, as in an epilogue over a
            // reduction's or einsum's result), LLVM's run-time overlap
            // check fails and it falls back to scalar code; computing
            // CHUNK elements into a local array first lets it vectorise.
            let aliased = (0..pass.leaves.len()).map(|j| {
                let a = format_ident!("__a{}", j);
                quote!(|| #a as *const u8 == __o as *const u8)
            });
            blocks(
                quote! {
                    #ob
                    if __stream {
                        // A large contiguous output: blocks of a few
                        // vectors computed into a local array, then
                        // streamed past the caches (no read for ownership
                        // of lines about to be overwritten); ordinary
                        // stores up to the first 16-byte boundary and for
                        // the ragged end.
                        let mut __c = 0;
                        while __c < __n && (__o.add(__c) as usize) % 16 != 0 {
                            let __i = __c;
                            *__o.add(__i) = #element;
                            __c += 1;
                        }
                        while __c + #STREAM_BLOCK <= __n {
                            let mut __tmp = [<#to as #rt::Element>::ZERO; #STREAM_BLOCK];
                            for __k in 0..#STREAM_BLOCK {
                                let __i = __c + __k;
                                __tmp[__k] = #element;
                            }
                            #rt::stream::store_block(__o.add(__c), &__tmp);
                            __c += #STREAM_BLOCK;
                        }
                        for __i in __c..__n {
                            *__o.add(__i) = #element;
                        }
                    } else if false #(#aliased)* {
                        const CHUNK: usize = 16;
                        let mut __c = 0;
                        while __c + CHUNK <= __n {
                            let mut __tmp = [<#to as #rt::Element>::ZERO; CHUNK];
                            for __k in 0..CHUNK {
                                let __i = __c + __k;
                                __tmp[__k] = #element;
                            }
                            for __k in 0..CHUNK {
                                *__o.add(__c + __k) = __tmp[__k];
                            }
                            __c += CHUNK;
                        }
                        for __i in __c..__n {
                            *__o.add(__i) = #element;
                        }
                    } else {
                        for __i in 0..__n {
                            *__o.add(__i) = #element;
                        }
                    }
                    #scatter
                },
                true,
            )
        }
        Some(Op::Reduce { op, .. }) => {
            let (combine, horizontal) = match op {
                ReduceOp::Sum | ReduceOp::Mean => (quote!(add), quote!(sum)),
                ReduceOp::Prod => (quote!(mul), quote!(prod)),
                ReduceOp::Max => (quote!(max_nan), quote!(max)),
                ReduceOp::Min => (quote!(min_nan), quote!(min)),
            };
            let ob = out_block(true);
            let vertical = blocks(
                quote! {
                    #ob
                    for __i in 0..__n {
                        *__o.add(__i) = <#to as #red>::#combine(*__o.add(__i), #element);
                    }
                    #scatter
                },
                true,
            );
            let fold = quote!(#rt::ew::reduce::#horizontal::<#to>(__n, |__i| #element));
            let (acc_init, acc_push, acc_total) = if matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
                (
                    quote!(#rt::ew::reduce::Pairwise::<#to>::new()),
                    quote!(__acc.push(#fold);),
                    quote!(__acc.total()),
                )
            } else {
                (
                    quote!(*(out as *const #to)),
                    quote!(__acc = <#to as #red>::#combine(__acc, #fold);),
                    quote!(__acc),
                )
            };
            let horizontal = blocks(acc_push, false);
            let store = if matches!(op, ReduceOp::Sum | ReduceOp::Mean) {
                quote!(*(out as *mut #to) = <#to as #red>::add(*(out as *const #to), #acc_total);)
            } else {
                quote!(*(out as *mut #to) = #acc_total;)
            };
            quote! {
                if out_stride == 0 {
                    #[allow(unused_mut)]
                    let mut __acc = #acc_init;
                    #horizontal
                    #store
                } else {
                    #vertical
                }
            }
        }
        Some(_) => unreachable!("a pass reduces through a Reduce node"),
    };
    // An elementwise row also gets the number of elements the whole pass
    // writes: past `stream::STREAM_BYTES` a contiguous output is streamed,
    // unless the pass calls vector math, which makes it bound by arithmetic
    // (streaming made gauss, `exp(-a*a/2) * b`, slower: 21 → 27 ms).
    let memory_bound = !pass.nodes.iter().any(|&id| {
        matches!(graph.node(id).op, Op::Func1(f, _) | Op::Func2(f, _, _) if f.is_vector_math())
    });
    let (total, total_arg, stream_setup, stream_end) = if pass.reduce().is_none() {
        (
            quote!(, __total: usize),
            quote!(, __total),
            quote! {
                let __stream = #memory_bound
                    && __out_contiguous
                    && __total.saturating_mul(::core::mem::size_of::<#to>())
                        >= #rt::stream::STREAM_BYTES;
            },
            quote! {
                if __stream {
                    #rt::stream::fence();
                }
            },
        )
    } else {
        Default::default()
    };
    let params = quote! {
        len: usize, ins: &[*const u8], in_strides: &[isize], out: *mut u8, out_stride: isize
        #total #(, #scalars: #scalar_tys)*
    };
    let args = quote!(len, ins, in_strides, out, out_stride #total_arg #(, #scalars)*);
    let RowFns {
        avx512,
        avx2,
        baseline,
    } = &fns;
    let tile = pass.reduce().map(|r| {
        let Op::Reduce { op, .. } = graph.node(r).op else {
            unreachable!("a reduction pass reduces through a Reduce node")
        };
        let tile_fns = RowFns {
            avx512: format_ident!("__einkern_tile_{}_avx512", index),
            avx2: format_ident!("__einkern_tile_{}_avx2", index),
            baseline: format_ident!("__einkern_tile_{}_baseline", index),
        };
        let leaf_tys: Vec<TokenStream> =
            pass.leaves.iter().map(|l| rust_type(leaf_ty(l))).collect();
        let body = tile_body(op, out_ty, &leaf_tys, &element);
        let tile_drive = format_ident!("__einkern_tile_drive_{}", index);
        let tile_params = quote! {
            len: usize, ins: &[*const u8], in_strides: &[isize], out: *mut u8, out_stride: isize,
            rlen: usize, red_strides: &[isize]
            #(, #scalars: #scalar_tys)*
        };
        let tile_args =
            quote!(len, ins, in_strides, out, out_stride, rlen, red_strides #(, #scalars)*);
        let RowFns {
            avx512,
            avx2,
            baseline,
        } = &tile_fns;
        let tokens = quote! {
            // SAFETY (every dereference below): the driver's interchanged
            // walk (`ew::TileHooks::reduce`) passes a tile of `len` output
            // elements and, for each of `rlen` reduced positions, inputs
            // `len` elements long at `ins + r · red_strides`, inside the
            // validated operands bound by `ew::bind`.
            #[inline(always)]
            #[allow(unused_unsafe, unused_variables, clippy::all)]
            unsafe fn #tile_drive<#m: #rt::vmath::MulAdd>(#tile_params) -> bool {
                unsafe { #body }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
            #[allow(unused_unsafe)]
            unsafe fn #avx512(#tile_params) -> bool {
                unsafe { #tile_drive::<#rt::vmath::Fused>(#tile_args) }
            }
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            #[allow(unused_unsafe)]
            unsafe fn #avx2(#tile_params) -> bool {
                unsafe { #tile_drive::<#rt::vmath::Fused>(#tile_args) }
            }
            #[allow(unused_unsafe)]
            unsafe fn #baseline(#tile_params) -> bool {
                unsafe { #tile_drive::<#rt::vmath::Unfused>(#tile_args) }
            }
        };
        (tokens, tile_fns)
    });
    let (tile_tokens, tile_fns) = match tile {
        Some((t, f)) => (t, Some(f)),
        None => (quote!(), None),
    };
    let tokens = quote! {
        #tile_tokens
        // SAFETY (every dereference below): the driver `ew::Loops::run`
        // passes `len` elements at the given byte strides inside the
        // operands it was given, which are views validated at construction
        // and broadcast by `ew::bind`; block indices stay below `len`, and
        // buffers are written before they are read.
        #[inline(always)]
        #[allow(unused_unsafe, unused_variables, clippy::all)]
        unsafe fn #drive<#m: #rt::vmath::MulAdd>(#params) {
            unsafe {
                #(#setup)*
                let mut __obuf = ::core::mem::MaybeUninit::<[#to; #BLOCK]>::uninit();
                let __obp = __obuf.as_mut_ptr() as *mut #to;
                let __in_contiguous = #(#contiguous)*;
                let __out_contiguous = #out_contiguous;
                #stream_setup
                #body
                #stream_end
            }
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
        #[allow(unused_unsafe)]
        unsafe fn #avx512(#params) {
            unsafe { #drive::<#rt::vmath::Fused>(#args) }
        }
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        #[allow(unused_unsafe)]
        unsafe fn #avx2(#params) {
            unsafe { #drive::<#rt::vmath::Fused>(#args) }
        }
        #[allow(unused_unsafe)]
        unsafe fn #baseline(#params) {
            unsafe { #drive::<#rt::vmath::Unfused>(#args) }
        }
    };
    (tokens, fns, tile_fns)
}

/// The element type of a pass's leaf.
pub fn leaf_type(graph: &Graph, l: &Leaf) -> ScalarType {
    match *l {
        Leaf::Array(k) => graph.inputs()[k].1,
        Leaf::Temp(id) => graph.node(id).ty,
    }
}

/// Elements a streaming row computes into a local array before storing
/// them past the caches: 256 bytes of f64, whole 16-byte vectors of any
/// element type, few enough that LLVM keeps them in registers (a 256-element
/// buffer in L1, streamed in bursts, gained little).
const STREAM_BLOCK: usize = 32;

/// Bytes of outputs a tile function keeps in registers at once: eight
/// 256-bit vectors, enough independent accumulators to hide the add
/// latency on two pipes.
const TILE_BYTES: usize = 256;

/// Reduced positions a tile function takes at once at most (the driver
/// passes at most 64, its short-reduction limit); beyond, it declines.
const MAX_TILE_POSITIONS: usize = 64;

/// The body of a tile function: `out[i] = op(out[i], op_r f(r, i))` for
/// `i < len` over all `rlen` reduced positions at once, the partial results
/// of [`TILE_BYTES`] of outputs kept in registers across the reduced positions
/// instead of being loaded and stored once per position (a rolling mean
/// over 64 reads each output once, not 64 times). Handles outputs and
/// inputs that are contiguous or broadcast along the tile; returns `false`
/// for any other strides, and the driver then calls the row function once
/// per reduced position. The accumulation order per output is the row
/// function's, so both give the same bits.
fn tile_body(
    op: ReduceOp,
    out_ty: ScalarType,
    leaf_tys: &[TokenStream],
    element: &TokenStream,
) -> TokenStream {
    let to = rust_type(out_ty);
    let rt = quote!(::einkern::__rt);
    let red = quote!(#rt::ew::reduce::Reducible);
    let combine = match op {
        ReduceOp::Sum | ReduceOp::Mean => quote!(add),
        ReduceOp::Prod => quote!(mul),
        ReduceOp::Max => quote!(max_nan),
        ReduceOp::Min => quote!(min_nan),
    };
    let w = TILE_BYTES
        / if matches!(out_ty, ScalarType::F32 | ScalarType::I32) {
            4
        } else {
            8
        };
    let fits = leaf_tys.iter().enumerate().map(|(j, t)| {
        quote!(&& (in_strides[#j] == 0 || in_strides[#j] == ::core::mem::size_of::<#t>() as isize))
    });
    // Input j of position r in the tile from `__i0`: at `__p{j} + r ·
    // __s{j}`, `__p{j}` being the tile's start in the input or, when it is
    // broadcast along the tile, in its splat (below).
    let tile_starts = leaf_tys.iter().enumerate().map(|(j, t)| {
        let (p, b, u) = (
            format_ident!("__p{}", j),
            format_ident!("__b{}", j),
            format_ident!("__u{}", j),
        );
        quote!(let #p = #b.add(__i0 * #u * ::core::mem::size_of::<#t>());)
    });
    let tile_starts: Vec<TokenStream> = tile_starts.collect();
    let pointers = leaf_tys.iter().enumerate().map(|(j, t)| {
        let (a, p, st) = (
            format_ident!("__a{}", j),
            format_ident!("__p{}", j),
            format_ident!("__s{}", j),
        );
        quote!(let #a = #p.offset(__r as isize * #st) as *const #t;)
    });
    // Each broadcast input's value at every reduced position, splat to a
    // whole register tile once per call. (Filled per tile and position
    // instead, the splat's stores and the loads right after them took half
    // the time of pairwise distances between 2000 points.) Then each
    // input's base, step per position and step per tile element (0 or 1).
    let splats = leaf_tys.iter().enumerate().map(|(j, t)| {
        let (sb, buf) = (format_ident!("__sb{}", j), format_ident!("__sbuf{}", j));
        let (b, st, u) = (
            format_ident!("__b{}", j),
            format_ident!("__s{}", j),
            format_ident!("__u{}", j),
        );
        quote! {
            let mut #buf = ::core::mem::MaybeUninit::<[[#t; #w]; #MAX_TILE_POSITIONS]>::uninit();
            let #sb = #buf.as_mut_ptr() as *mut #t;
            let (#b, #st, #u): (*const u8, isize, usize) = if in_strides[#j] == 0 {
                for __r in 0..rlen {
                    let v = *(ins[#j].offset(__r as isize * red_strides[#j]) as *const #t);
                    for k in 0..#w {
                        *#sb.add(__r * #w + k) = v;
                    }
                }
                (#sb as *const u8, (#w * ::core::mem::size_of::<#t>()) as isize, 0)
            } else {
                (ins[#j], red_strides[#j], 1)
            };
        }
    });
    let pointers: Vec<TokenStream> = pointers.collect();
    quote! {
        if !(out_stride == ::core::mem::size_of::<#to>() as isize && rlen <= #MAX_TILE_POSITIONS #(#fits)*) {
            return false;
        }
        #(#splats)*
        let __o = out as *mut #to;
        let mut __i0 = 0usize;
        // Whole register tiles. The accumulators are only ever indexed by
        // constants: a run-time index anywhere (a partial tile) keeps the
        // array in memory, and LLVM then stored and reloaded every vector
        // of it on each reduced position.
        while __i0 + #w <= len {
            let mut __acc = [<#to as #rt::Element>::ZERO; #w];
            for __i in 0..#w {
                __acc[__i] = *__o.add(__i0 + __i);
            }
            #(#tile_starts)*
            for __r in 0..rlen {
                #(#pointers)*
                for __i in 0..#w {
                    __acc[__i] = <#to as #red>::#combine(__acc[__i], #element);
                }
            }
            for __i in 0..#w {
                *__o.add(__i0 + __i) = __acc[__i];
            }
            __i0 += #w;
        }
        // The partial tile accumulates in the output itself.
        if __i0 < len {
            let __n = len - __i0;
            #(#tile_starts)*
            for __r in 0..rlen {
                #(#pointers)*
                for __i in 0..__n {
                    let __p = __o.add(__i0 + __i);
                    *__p = <#to as #red>::#combine(*__p, #element);
                }
            }
        }
        true
    }
}

/// The identity a reduction's target starts from.
pub fn identity(op: ReduceOp, ty: ScalarType) -> TokenStream {
    let t = rust_type(ty);
    let rt = quote!(::einkern::__rt);
    match op {
        ReduceOp::Sum | ReduceOp::Mean => quote!(<#t as #rt::Element>::ZERO),
        ReduceOp::Prod => quote!(<#t as #rt::Element>::ONE),
        ReduceOp::Max => quote!(<#t as #rt::ew::reduce::Reducible>::MAX_IDENTITY),
        ReduceOp::Min => quote!(<#t as #rt::ew::reduce::Reducible>::MIN_IDENTITY),
    }
}

//! Sum-of-products loop nests: every einsum step that is not a GEMM.
//!
//! The kernel computes, over a common label space (the output's labels
//! first, then the summed ones),
//!
//! ```text
//! out[o] = Σ_s Π_k op_k[o, s]
//! ```
//!
//! where each operand is a data pointer and one stride per label (0 where
//! the operand lacks the label or broadcasts it). Like NumPy's nditer it
//! first drops length-1 labels, orders the rest by stride and merges labels
//! that are contiguous in every array, then picks one of three loop shapes:
//!
//! | shape | when | inner loop |
//! |---|---|---|
//! | elementwise | nothing is summed (`ij,ij->ij`, `i,j->ij`, copies) | `out[i] = Π op[i]` along the output's fastest label |
//! | reduce-inner | a summed label is the unit-stride one (`i,i->`, `ij->i`, `ii->`) | `Σ_i Π op[i]` with independent accumulators, pairwise |
//! | accumulate | an output label is (`ij->j`, the GEMM fallback) | `out[i] += Π op[i]` over a row chunk that stays in L2 |
//!
//! The innermost loop is specialised on its stride pattern (contiguous,
//! zero-stride, strided), and the contiguous forms are compiled three times
//! (baseline, AVX2+FMA, AVX-512) and chosen by [`crate::cpu::isa`]. Integer
//! arithmetic wraps. Contiguous sums and dots are pairwise over blocks of
//! [`PAIRWISE_BLOCK`] elements with [`LANES`] accumulators each, so the
//! rounding error of an `f32` sum grows like `log n`, as in NumPy. Where
//! the CPU has FMA, contiguous dots fuse each product into its sum, as
//! BLAS does, so their last bits depend on the ISA.

use crate::cpu::{isa, Isa};
use crate::element::{DType, Element};
use std::mem::MaybeUninit;

/// Independent accumulators of the contiguous reduction loops: four AVX2
/// registers of `f64`, enough to hide the add latency with two runs read
/// side by side. 32 gave two runs of `f64` all sixteen AVX2 registers as
/// accumulators, and the loop spilled.
pub const LANES: usize = 16;

/// Contiguous reductions are summed in blocks of this many elements, and
/// the block sums combined pairwise.
pub const PAIRWISE_BLOCK: usize = 2048;

/// Contiguous reductions longer than this are read as two halves side by
/// side.
const SPLIT: usize = 2 * PAIRWISE_BLOCK;

/// Output elements one accumulate sweep updates: a row chunk that stays in
/// L2 while every summed label is swept over it. Long, so the input streams
/// past it in long sequential runs (`ij->j` of a 4096² f64 matrix: 1024
/// made 8 KiB runs 32 KiB apart and cost 1.3× the bandwidth bound; 16384
/// reads whole rows).
const CHUNK: usize = 16384;

/// Contiguous reductions that read more than this many bytes in all come
/// from memory rather than cache, and their loops request the lines ahead
/// (see [`STREAM_AHEAD`]). Above the 1–2 MiB of one core's L2: on data in
/// L2, the requests cost a 32 × 4096 f64 row sum 1.2× its time.
const STREAM_BYTES: usize = 4 << 20;

/// How far ahead of a streaming reduction's loads, in bytes of each array,
/// its lines are requested. The hardware prefetchers stop at every 4 KiB
/// page and restart slowly, so a reduction reading from memory stalls at
/// each one. On an Intel Xeon with AVX-512 (2 MiB huge pages), requesting
/// every line 1 KiB ahead took a 4096² f64 row sum from 9.2–9.7 ms to
/// 7.1–7.8 and a dot product of 10⁷ f64 from 9.2–9.7 to 8.9–9.2 (medians
/// of 16 calls, alternating processes). 2 KiB ahead was slower, 512 B no
/// better.
const STREAM_AHEAD: usize = 1024;

/// Asks for the cache line at `p` (`prefetcht0`): a hint, which makes no
/// access, so any address is fine, even one outside every mapping.
///
/// An `asm!` block that declares no memory access rather than the
/// `_mm_prefetch` intrinsic: LLVM treats the intrinsic as a possible read,
/// and with it in the reduction loops it stored the accumulators to the
/// stack at every step instead of once after the loop.
#[inline(always)]
fn prefetch(p: *const u8) {
    // Miri runs no inline assembly; a hint changes no result.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // A prefetch reads nothing architecturally, which is what `nomem` says.
    #[allow(clippy::pointers_in_nomem_asm_block)]
    // SAFETY: prefetcht0 never faults, reads or writes nothing
    // architecturally and leaves the flags alone; it is SSE, part of the
    // x86-64 baseline.
    unsafe {
        std::arch::asm!("prefetcht0 [{}]", in(reg) p, options(nostack, nomem, preserves_flags));
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = p;
}

/// One operand of [`sum_of_products`]: its data pointer and its stride (in
/// elements) for every label of the nest.
#[derive(Clone, Copy, Debug)]
pub struct SopOperand<'s, T> {
    pub ptr: *const T,
    pub strides: &'s [isize],
}

/// Computes `out[o] = Σ_s Π_k operands[k][o, s]` and writes every output
/// element exactly once (the output may be uninitialised; it is write-only
/// unless the accumulate shape is chosen, which zeroes each chunk before
/// adding into it).
///
/// `lens` has one length per label: the first `out_strides.len()` labels are
/// the output's, the rest are summed. Each operand has one stride per label.
/// With no operands the product is 1 (the sum then counts the summed
/// elements).
///
/// # Safety
/// For every index with `i[l] < lens[l]`, `operands[k].ptr` offset by
/// `Σ i[l]·strides[l]` must be valid for reads, `out` offset by
/// `Σ_{l < n_out} i[l]·out_strides[l]` valid for writes, and the output must
/// not overlap any operand or alias itself (no zero strides on an output
/// label longer than 1).
///
/// # Panics
/// If an operand's stride count differs from `lens.len()` or there are more
/// output strides than labels.
pub unsafe fn sum_of_products<T: Element>(
    lens: &[usize],
    out: *mut T,
    out_strides: &[isize],
    operands: &[SopOperand<'_, T>],
) {
    assert!(
        out_strides.len() <= lens.len(),
        "more output labels than labels"
    );
    for op in operands {
        assert_eq!(op.strides.len(), lens.len(), "one stride per label");
    }
    let ptrs: Vec<*const T> = operands.iter().map(|o| o.ptr).collect();
    let strides: Vec<&[isize]> = operands.iter().map(|o| o.strides).collect();
    // `Element` is sealed to exactly these four types and each has its own
    // tag, so the tag names `T` and the pointer casts below are identities.
    macro_rules! dispatch {
        ($s:ty) => {{
            let ptrs: Vec<*const $s> = ptrs.iter().map(|&p| p.cast::<$s>()).collect();
            // SAFETY: `T` is `$s` (see above); the caller's contract is
            // forwarded unchanged.
            unsafe { run::<$s>(lens, out.cast::<$s>(), out_strides, &ptrs, &strides) }
        }};
    }
    match T::DTYPE {
        DType::F32 => dispatch!(f32),
        DType::F64 => dispatch!(f64),
        DType::I32 => dispatch!(i32),
        DType::I64 => dispatch!(i64),
    }
}

/// The arithmetic the loops need: IEEE for floats, wrapping for integers.
trait Arith: Element {
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    /// `self + x·y`, rounded once when `FUSED` (a float FMA; only code
    /// compiled with the `fma` target feature passes `true`, elsewhere it
    /// would be a library call).
    fn add_product<const FUSED: bool>(self, x: Self, y: Self) -> Self;
}

macro_rules! arith_float {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self + other
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self * other
            }
            #[inline(always)]
            fn add_product<const FUSED: bool>(self, x: Self, y: Self) -> Self {
                if FUSED {
                    x.mul_add(y, self)
                } else {
                    self + x * y
                }
            }
        }
    };
}
macro_rules! arith_int {
    ($t:ty) => {
        impl Arith for $t {
            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            #[inline(always)]
            fn add_product<const FUSED: bool>(self, x: Self, y: Self) -> Self {
                self.wrapping_add(x.wrapping_mul(y))
            }
        }
    };
}
arith_float!(f32);
arith_float!(f64);
arith_int!(i32);
arith_int!(i64);

/// One loop of the nest: its length and a stride per array (`s[0]` the
/// output's, `s[1 + k]` operand `k`'s).
#[derive(Clone, Debug)]
struct Loop {
    len: usize,
    s: Vec<isize>,
}

impl Loop {
    /// How many arrays walk this loop with unit stride.
    fn unit_count(&self) -> usize {
        self.s.iter().filter(|&&x| x == 1).count()
    }

    /// Sum of the stride magnitudes: a proxy for how far one step jumps.
    fn reach(&self) -> usize {
        self.s.iter().map(|x| x.unsigned_abs()).sum()
    }
}

/// Orders loops slowest to fastest (the best inner loop last) and merges
/// neighbours that are contiguous in every array.
fn order_and_coalesce(mut loops: Vec<Loop>) -> Vec<Loop> {
    loops.sort_by(|x, y| {
        x.unit_count()
            .cmp(&y.unit_count())
            .then(y.reach().cmp(&x.reach()))
    });
    let mut merged: Vec<Loop> = Vec::with_capacity(loops.len());
    for l in loops {
        if let Some(prev) = merged.last_mut() {
            if prev
                .s
                .iter()
                .zip(&l.s)
                .all(|(&o, &i)| o == i * l.len as isize)
            {
                prev.len *= l.len;
                prev.s = l.s;
                continue;
            }
        }
        merged.push(l);
    }
    merged
}

/// Calls `f` with the offset of every array at every index of `loops`
/// (odometer order, the last loop fastest).
fn odometer(loops: &[Loop], arrays: usize, mut f: impl FnMut(&[isize])) {
    if loops.iter().any(|l| l.len == 0) {
        return;
    }
    let mut off = vec![0isize; arrays];
    let mut idx = vec![0usize; loops.len()];
    loop {
        f(&off);
        let mut d = loops.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            for (o, &s) in off.iter_mut().zip(&loops[d].s) {
                *o += s;
            }
            if idx[d] < loops[d].len {
                break;
            }
            for (o, &s) in off.iter_mut().zip(&loops[d].s) {
                *o -= s * loops[d].len as isize;
            }
            idx[d] = 0;
        }
    }
}

/// The typed nest; see [`sum_of_products`] for the contract.
unsafe fn run<S: Arith>(
    lens: &[usize],
    out: *mut S,
    out_strides: &[isize],
    ptrs: &[*const S],
    strides: &[&[isize]],
) {
    let n_out = out_strides.len();
    if lens[..n_out].contains(&0) {
        return;
    }
    let arrays = 1 + ptrs.len();
    let mut outer = Vec::new();
    let mut summed = Vec::new();
    for (l, &len) in lens.iter().enumerate() {
        if len == 1 {
            continue;
        }
        let mut s = Vec::with_capacity(arrays);
        s.push(if l < n_out { out_strides[l] } else { 0 });
        s.extend(strides.iter().map(|st| st[l]));
        let lp = Loop { len, s };
        if l < n_out {
            outer.push(lp);
        } else {
            summed.push(lp);
        }
    }
    if summed.iter().any(|l| l.len == 0) {
        // An empty sum: every output element is zero.
        let outer = order_and_coalesce(outer);
        odometer(&outer, arrays, |off| {
            // SAFETY: `off[0]` is the output offset of an in-range index.
            unsafe { *out.offset(off[0]) = S::ZERO };
        });
        return;
    }
    let outer = order_and_coalesce(outer);
    let summed = order_and_coalesce(summed);
    // What the nest reads at most (a broadcast operand counted whole).
    let read_bytes = lens
        .iter()
        .fold(ptrs.len() * std::mem::size_of::<S>(), |b, &l| {
            b.saturating_mul(l)
        });
    let stream = read_bytes > STREAM_BYTES;
    let best = |ls: &[Loop]| ls.last().map_or(0, Loop::unit_count);
    // The operands' pointers at an offset, written into a buffer the loops
    // reuse: no allocation per row.
    let at = |buf: &mut Vec<*const S>, base: &[*const S], off: &[isize]| {
        buf.clear();
        buf.extend(
            base.iter()
                .zip(&off[1..])
                .map(|(&p, &o)| p.wrapping_offset(o)),
        );
    };
    let (mut p, mut p_row) = (
        Vec::with_capacity(ptrs.len()),
        Vec::with_capacity(ptrs.len()),
    );
    if summed.is_empty() {
        // Elementwise: the best output loop innermost.
        let Some((inner, rest)) = outer.split_last() else {
            // SAFETY: a single element at the origins.
            unsafe { *out = product(ptrs) };
            return;
        };
        let st: Vec<isize> = inner.s[1..].to_vec();
        odometer(rest, arrays, |off| {
            at(&mut p, ptrs, off);
            // SAFETY: `off` is an in-range index of the outer loops, and the
            // inner loop stays within `inner.len` steps of each stride.
            unsafe { assign_row(inner.len, out.offset(off[0]), inner.s[0], &p, &st) };
        });
    } else if outer.is_empty() || best(&summed) >= best(&outer) {
        // Reduce-inner: each output element is one reduction.
        let (inner, rest) = summed.split_last().expect("summed is not empty");
        let st: Vec<isize> = inner.s[1..].to_vec();
        if let (Some((row, others)), true, [1] | [1, 1]) =
            (outer.split_last(), rest.is_empty(), &st[..])
        {
            // Contiguous sums or dots: two output elements at a time, their
            // runs read side by side (see `reduce2`).
            let run_at = |off: &[isize], i: usize| {
                let at = |k: usize| ptrs[k].wrapping_offset(off[k + 1] + i as isize * row.s[k + 1]);
                Run {
                    x: at(0),
                    y: if ptrs.len() == 2 {
                        at(1)
                    } else {
                        std::ptr::null()
                    },
                    n: inner.len,
                    stream,
                }
            };
            odometer(others, arrays, |off| {
                let o = |i: usize| off[0] + i as isize * row.s[0];
                let mut i = 0;
                while i + 2 <= row.len {
                    // SAFETY: output indices i, i + 1 < row.len are in range,
                    // and each run is its row's in-range inner loop.
                    unsafe {
                        let [a, b] = reduce2(run_at(off, i), run_at(off, i + 1));
                        *out.offset(o(i)) = a;
                        *out.offset(o(i + 1)) = b;
                    }
                    i += 2;
                }
                if i < row.len {
                    // SAFETY: as above, for the last output index.
                    unsafe { *out.offset(o(i)) = reduce(run_at(off, i)) };
                }
            });
            return;
        }
        odometer(&outer, arrays, |off| {
            at(&mut p_row, ptrs, off);
            let mut acc = S::ZERO;
            odometer(rest, arrays, |soff| {
                at(&mut p, &p_row, soff);
                // SAFETY: in-range outer and summed indices; the inner loop
                // stays within `inner.len` steps.
                acc = acc.add(unsafe { reduce_row(inner.len, &p, &st, stream) });
            });
            // SAFETY: `off[0]` is the output offset of an in-range index.
            unsafe { *out.offset(off[0]) = acc };
        });
    } else {
        // Accumulate: a chunk of the best output row stays in L2 while the
        // summed labels sweep over it.
        let (row, rest) = outer.split_last().expect("outer is not empty");
        let st: Vec<isize> = row.s[1..].to_vec();
        let mut start = 0;
        while start < row.len {
            let len = CHUNK.min(row.len - start);
            let shift: Vec<isize> = row.s.iter().map(|&s| s * start as isize).collect();
            odometer(rest, arrays, |off| {
                // SAFETY: `start + len <= row.len`, so the chunk is in range.
                let o = unsafe { out.offset(off[0] + shift[0]) };
                for i in 0..len {
                    // SAFETY: `i < len` steps along the output row chunk.
                    unsafe { *o.offset(i as isize * row.s[0]) = S::ZERO };
                }
                p_row.clear();
                p_row.extend(
                    ptrs.iter()
                        .zip(off[1..].iter().zip(&shift[1..]))
                        .map(|(&p, (&a, &b))| p.wrapping_offset(a + b)),
                );
                let (last, others) = summed.split_last().expect("summed is not empty");
                odometer(others, arrays, |soff| {
                    at(&mut p, &p_row, soff);
                    // SAFETY: in-range indices (`k < last.len` steps along
                    // the innermost summed loop); the chunk stays inside
                    // the row.
                    unsafe { accumulate_rows(len, o, row.s[0], &p, &st, last) };
                });
            });
            start += len;
        }
    }
}

/// The product of one element of each operand (1 for no operands).
///
/// # Safety
/// Every pointer must be valid for reads.
#[inline(always)]
unsafe fn product<S: Arith>(ptrs: &[*const S]) -> S {
    ptrs.iter()
        // SAFETY: forwarded to the caller.
        .fold(S::ONE, |acc, &p| acc.mul(unsafe { *p }))
}

/// Generates `$name`, which runs `$generic` compiled for the best ISA the
/// CPU has: the generic body is `#[inline(always)]`, so each wrapper gets a
/// copy vectorised for its target features. With `fused`, the generic's
/// second parameter says whether the copy may fuse multiply-adds: `true`
/// in the wrappers with FMA, `false` in the baseline one.
macro_rules! multiversion {
    ($(#[$doc:meta])* unsafe fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? => fused $generic:ident) => {
        multiversion! {
            @ $(#[$doc])* unsafe fn $name($($arg: $ty),*) $(-> $ret)?
                => $generic::<S, true>, $generic::<S, false>
        }
    };
    ($(#[$doc:meta])* unsafe fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? => $generic:ident) => {
        multiversion! {
            @ $(#[$doc])* unsafe fn $name($($arg: $ty),*) $(-> $ret)?
                => $generic::<S>, $generic::<S>
        }
    };
    (@ $(#[$doc:meta])* unsafe fn $name:ident($($arg:ident : $ty:ty),*) $(-> $ret:ty)? => $fma:expr, $base:expr) => {
        $(#[$doc])*
        unsafe fn $name<S: Arith>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn avx2<S: Arith>($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: forwarded; the caller checked the CPU has AVX2+FMA.
                    unsafe { $fma($($arg),*) }
                }
                #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
                unsafe fn avx512<S: Arith>($($arg: $ty),*) $(-> $ret)? {
                    // SAFETY: forwarded; the caller checked the CPU has AVX-512.
                    unsafe { $fma($($arg),*) }
                }
                match isa() {
                    // SAFETY: `isa()` reported the features each wrapper enables.
                    Isa::Avx512 => return unsafe { avx512::<S>($($arg),*) },
                    // SAFETY: as above.
                    Isa::Avx2Fma => return unsafe { avx2::<S>($($arg),*) },
                    Isa::Baseline => {}
                }
            }
            // SAFETY: forwarded to the caller.
            unsafe { $base($($arg),*) }
        }
    };
}

/// Folds the `LANES` accumulators pairwise.
///
/// Never inlined: inlined into the AVX2 loops, its lane-pairing tree led
/// LLVM to keep the accumulators as 128-bit halves spilled to the stack
/// (`i,i->` at 1.1× the time of a plain AVX2 loop). It runs once per block.
#[inline(never)]
fn fold_lanes<S: Arith>(acc: [S; LANES]) -> S {
    let mut acc = acc;
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for j in 0..width {
            acc[j] = acc[j].add(acc[j + width]);
        }
    }
    acc[0]
}

/// One contiguous reduction: `Σ x[i]` over `n` elements when `y` is null,
/// `Σ x[i]·y[i]` otherwise.
#[derive(Clone, Copy)]
struct Run<S> {
    x: *const S,
    y: *const S,
    n: usize,
    /// The reduction this run belongs to reads more than [`STREAM_BYTES`]:
    /// its loops request the lines ahead of them (see [`STREAM_AHEAD`]).
    stream: bool,
}

impl<S: Arith> Run<S> {
    /// Elements `start .. start + n` of the run.
    #[inline(always)]
    fn sub(self, start: usize, n: usize) -> Self {
        Run {
            x: self.x.wrapping_add(start),
            // A sum's null `y` stays null.
            y: if self.y.is_null() {
                self.y
            } else {
                self.y.wrapping_add(start)
            },
            n,
            ..self
        }
    }

    /// Block `k` of [`PAIRWISE_BLOCK`] elements (the last one may be
    /// shorter).
    #[inline(always)]
    fn block(self, k: usize) -> Self {
        let start = k * PAIRWISE_BLOCK;
        self.sub(start, PAIRWISE_BLOCK.min(self.n - start))
    }

    /// The halves of a run longer than [`SPLIT`], split where the high
    /// one starts half a 4 KiB page off the low one's page offset. Four
    /// streams at one page offset (the halves of two page-aligned arrays)
    /// share their L1 sets: `i,i->` over 10⁷ f64 split at a page multiple
    /// took 1.02–1.03× the time of a split half a page off (200 calls
    /// each, alternating in one process).
    #[inline(always)]
    fn halves(self) -> (Self, Self) {
        let mid = half_page_split::<S>(self.n);
        (self.sub(0, mid), self.sub(mid, self.n - mid))
    }

    /// Adds terms `c·LANES ..` of the sum (`DOT`: `y` is not null), one
    /// chunk, to the accumulators, one term each. `STREAM`: the run is read
    /// from memory, and the lines `STREAM_AHEAD` bytes on are requested.
    ///
    /// # Safety
    /// `(c + 1)·LANES ≤ n`, and the run's pointers are valid for `n` reads.
    #[inline(always)]
    unsafe fn add_chunk<const DOT: bool, const FUSED: bool, const STREAM: bool>(
        &self,
        c: usize,
        acc: &mut [S; LANES],
    ) {
        let load = |p: *const S| {
            // SAFETY: elements c·LANES .. (c + 1)·LANES of the run, per the
            // caller; read as one array value so the adds vectorise.
            unsafe { p.add(c * LANES).cast::<[S; LANES]>().read_unaligned() }
        };
        if STREAM {
            // The chunk's lines `STREAM_AHEAD` bytes on, in every array.
            let ahead = |p: *const S, line: usize| {
                p.wrapping_add(c * LANES)
                    .cast::<u8>()
                    .wrapping_add(STREAM_AHEAD + line)
            };
            for line in (0..LANES * std::mem::size_of::<S>()).step_by(64) {
                prefetch(ahead(self.x, line));
                if DOT {
                    prefetch(ahead(self.y, line));
                }
            }
        }
        let x = load(self.x);
        if DOT {
            let y = load(self.y);
            for j in 0..LANES {
                acc[j] = acc[j].add_product::<FUSED>(x[j], y[j]);
            }
        } else {
            for j in 0..LANES {
                acc[j] = acc[j].add(x[j]);
            }
        }
    }

    /// `acc` plus term `i` of the sum.
    ///
    /// # Safety
    /// `i < n`, and the run's pointers are valid for `n` reads.
    #[inline(always)]
    unsafe fn add_term<const DOT: bool, const FUSED: bool>(&self, i: usize, acc: S) -> S {
        // SAFETY: forwarded to the caller.
        unsafe {
            if DOT {
                acc.add_product::<FUSED>(*self.x.add(i), *self.y.add(i))
            } else {
                acc.add(*self.x.add(i))
            }
        }
    }
}

/// A reduction, pairwise. A run longer than [`SPLIT`] is read as its two
/// halves side by side ([`blocks`] of both): two streams from memory
/// instead of one.
///
/// # Safety
/// The run's pointers are valid for `n` contiguous reads.
#[inline(always)]
unsafe fn reduce_generic<S: Arith, const FUSED: bool>(r: Run<S>) -> S {
    if r.n > SPLIT {
        let (lo, hi) = r.halves();
        // SAFETY: both halves lie inside the run.
        let [l, h] = unsafe { blocks::<S, 2, FUSED>([lo, hi]) };
        return l.add(h);
    }
    // SAFETY: forwarded to the caller.
    let [sum] = unsafe { blocks::<S, 1, FUSED>([r]) };
    sum
}

/// `[reduce(a), reduce(b)]`, bit for bit, with `a` and `b` read side by
/// side: two streams from memory instead of one (runs longer than
/// [`SPLIT`] are read as two streams each already). On the project's
/// machine (Zen 3) one stream reads at about 23 GB/s and two at 27–28: a
/// 4096² row sum takes 0.8× the time of rows summed one at a time, and a
/// dot product of 10⁷ (four streams) 0.92×.
///
/// # Safety
/// As [`reduce_generic`], for both runs; both are sums or both are dots.
#[inline(always)]
unsafe fn reduce2_generic<S: Arith, const FUSED: bool>(a: Run<S>, b: Run<S>) -> [S; 2] {
    // SAFETY (both arms): forwarded to the caller.
    unsafe {
        if a.n > SPLIT || b.n > SPLIT {
            [reduce_generic::<S, FUSED>(a), reduce_generic::<S, FUSED>(b)]
        } else {
            blocks::<S, 2, FUSED>([a, b])
        }
    }
}

/// The sums of `R` runs, each pairwise: blocks of [`PAIRWISE_BLOCK`]
/// elements, each summed by [`leaves`] and combined by a [`Pairwise`]
/// counter, in one flat loop. Blocks at the same index are read side by
/// side, so each run's result does not depend on `R`.
///
/// A flat loop rather than recursive halving: halving to the block size
/// cost a call, a fold and a restart of the streams per 1–2 K elements
/// (`i,i->` over 10⁷ f64 took 1.04–1.22× the time of one plain AVX2 loop).
///
/// # Safety
/// As [`reduce_generic`], for every run; all are sums or all are dots.
#[inline(always)]
unsafe fn blocks<S: Arith, const R: usize, const FUSED: bool>(runs: [Run<S>; R]) -> [S; R] {
    if runs.iter().all(|r| r.n <= PAIRWISE_BLOCK) {
        // SAFETY: forwarded to the caller; one block each.
        return unsafe { leaves::<S, R, FUSED>(runs) };
    }
    let mut sums: [Pairwise<S>; R] = std::array::from_fn(|_| Pairwise::new());
    let common = runs.iter().map(|r| r.n / PAIRWISE_BLOCK).min().unwrap_or(0);
    for k in 0..common {
        // SAFETY: block `k` is whole in every run.
        let s = unsafe { leaves::<S, R, FUSED>(runs.map(|r| r.block(k))) };
        for (p, s) in sums.iter_mut().zip(s) {
            p.push(s);
        }
    }
    for (p, r) in sums.iter_mut().zip(&runs) {
        for k in common..r.n.div_ceil(PAIRWISE_BLOCK) {
            // SAFETY: block `k` starts inside the run and ends with it at
            // the latest.
            let [s] = unsafe { leaves::<S, 1, FUSED>([r.block(k)]) };
            p.push(s);
        }
    }
    sums.map(|p| p.total())
}

/// Where [`Run::halves`] splits a run of `n > SPLIT` elements: the
/// multiple of a 4 KiB page nearest below `n / 2`, plus half a page.
fn half_page_split<S>(n: usize) -> usize {
    let page = 4096 / std::mem::size_of::<S>();
    n / 2 / page * page + page / 2
}

/// Block sums combined pairwise as they arrive: a binary counter whose slot
/// `l`, when bit `l` of the count is set, holds the sum of 2^l consecutive
/// blocks. The rounding error grows like the logarithm of the block count,
/// as with recursive halving, without recursion.
struct Pairwise<S> {
    /// Uninitialised until first written: a fresh counter costs nothing,
    /// which matters for row sums of a few blocks per row.
    slots: [MaybeUninit<S>; usize::BITS as usize],
    count: usize,
}

impl<S: Arith> Pairwise<S> {
    fn new() -> Self {
        Pairwise {
            slots: [MaybeUninit::uninit(); usize::BITS as usize],
            count: 0,
        }
    }

    /// Slot `level`, whose bit of the count is set.
    #[inline(always)]
    fn slot(&self, level: usize) -> S {
        debug_assert!(self.count >> level & 1 == 1);
        // SAFETY: a bit of the count is set only by `push`, right after it
        // writes that slot; carries clear bits without un-writing slots.
        unsafe { self.slots[level].assume_init() }
    }

    /// Adds the next block's sum, merging the equal-sized groups it
    /// completes.
    #[inline(always)]
    fn push(&mut self, mut sum: S) {
        let mut level = 0;
        while self.count >> level & 1 == 1 {
            sum = self.slot(level).add(sum);
            level += 1;
        }
        self.slots[level] = MaybeUninit::new(sum);
        self.count += 1;
    }

    /// The sum of every block, the earliest (largest) groups first.
    fn total(&self) -> S {
        (0..usize::BITS as usize)
            .rev()
            .filter(|&l| self.count >> l & 1 == 1)
            .map(|l| self.slot(l))
            .reduce(|a, b| a.add(b))
            .unwrap_or(S::ZERO)
    }
}

/// The sums of `R` runs of at most [`PAIRWISE_BLOCK`] elements, read side
/// by side: each has [`LANES`] accumulators, fed whole chunks then the tail
/// and folded pairwise, so its result does not depend on `R`.
///
/// # Safety
/// As [`reduce_generic`], for every run; all are sums or all are dots.
#[inline(always)]
unsafe fn leaves<S: Arith, const R: usize, const FUSED: bool>(runs: [Run<S>; R]) -> [S; R] {
    // SAFETY: forwarded to the caller.
    unsafe {
        match (runs[0].y.is_null(), runs[0].stream) {
            (true, false) => leaves_of::<S, R, false, FUSED, false>(runs),
            (true, true) => leaves_of::<S, R, false, FUSED, true>(runs),
            (false, false) => leaves_of::<S, R, true, FUSED, false>(runs),
            (false, true) => leaves_of::<S, R, true, FUSED, true>(runs),
        }
    }
}

/// [`leaves`] for sums (`DOT` false) or dots, read from memory (`STREAM`)
/// or from cache.
///
/// # Safety
/// As [`leaves`], with `DOT` matching the runs.
#[inline(always)]
unsafe fn leaves_of<
    S: Arith,
    const R: usize,
    const DOT: bool,
    const FUSED: bool,
    const STREAM: bool,
>(
    runs: [Run<S>; R],
) -> [S; R] {
    let mut acc = [[S::ZERO; LANES]; R];
    let common = runs.iter().map(|r| r.n / LANES).min().unwrap_or(0);
    for c in 0..common {
        for r in 0..R {
            // SAFETY: c < n / LANES for every run.
            unsafe { runs[r].add_chunk::<DOT, FUSED, STREAM>(c, &mut acc[r]) };
        }
    }
    for (acc, r) in acc.iter_mut().zip(&runs) {
        let full = r.n / LANES;
        for c in common..full {
            // SAFETY: c < n / LANES.
            unsafe { r.add_chunk::<DOT, FUSED, STREAM>(c, acc) };
        }
        for (a, i) in acc.iter_mut().zip(full * LANES..r.n) {
            // SAFETY: i < n.
            *a = unsafe { r.add_term::<DOT, FUSED>(i, *a) };
        }
    }
    acc.map(fold_lanes)
}

/// `out[i] = x[i]·y[i]`, `out[i] = c·y[i]` (`x` at stride 0) or
/// `out[i] = x[i]·c` (`y` at stride 0), all contiguous otherwise.
///
/// # Safety
/// `out` valid for `n` contiguous writes, `x` (`y`) for `n` contiguous reads
/// or one read when its stride `sx` (`sy`) is 0; no overlap with `out`.
#[inline(always)]
unsafe fn mul_contig_generic<S: Arith>(
    n: usize,
    out: *mut S,
    x: *const S,
    sx: isize,
    y: *const S,
    sy: isize,
) {
    // SAFETY: forwarded to the caller.
    let o = unsafe { std::slice::from_raw_parts_mut(out, n) };
    match (sx, sy) {
        (0, _) => {
            // SAFETY: forwarded to the caller.
            let (c, y) = unsafe { (*x, std::slice::from_raw_parts(y, n)) };
            for (o, &y) in o.iter_mut().zip(y) {
                *o = c.mul(y);
            }
        }
        (_, 0) => {
            // SAFETY: forwarded to the caller.
            let (x, c) = unsafe { (std::slice::from_raw_parts(x, n), *y) };
            for (o, &x) in o.iter_mut().zip(x) {
                *o = x.mul(c);
            }
        }
        _ => {
            // SAFETY: forwarded to the caller.
            let (x, y) = unsafe {
                (
                    std::slice::from_raw_parts(x, n),
                    std::slice::from_raw_parts(y, n),
                )
            };
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = x.mul(y);
            }
        }
    }
}

/// `out[i] += x[i]·y[i]` (or with `x`/`y` at stride 0, as in
/// [`mul_contig_generic`]); with `y` null, `out[i] += x[i]`.
///
/// # Safety
/// As [`mul_contig_generic`]; `out` also valid for reads.
#[inline(always)]
unsafe fn add_contig_generic<S: Arith>(
    n: usize,
    out: *mut S,
    x: *const S,
    sx: isize,
    y: *const S,
    sy: isize,
) {
    // SAFETY: forwarded to the caller.
    let o = unsafe { std::slice::from_raw_parts_mut(out, n) };
    if y.is_null() {
        // SAFETY: forwarded to the caller.
        let x = unsafe { std::slice::from_raw_parts(x, n) };
        for (o, &x) in o.iter_mut().zip(x) {
            *o = o.add(x);
        }
        return;
    }
    match (sx, sy) {
        (0, _) => {
            // SAFETY: forwarded to the caller.
            let (c, y) = unsafe { (*x, std::slice::from_raw_parts(y, n)) };
            for (o, &y) in o.iter_mut().zip(y) {
                *o = o.add(c.mul(y));
            }
        }
        (_, 0) => {
            // SAFETY: forwarded to the caller.
            let (x, c) = unsafe { (std::slice::from_raw_parts(x, n), *y) };
            for (o, &x) in o.iter_mut().zip(x) {
                *o = o.add(x.mul(c));
            }
        }
        _ => {
            // SAFETY: forwarded to the caller.
            let (x, y) = unsafe {
                (
                    std::slice::from_raw_parts(x, n),
                    std::slice::from_raw_parts(y, n),
                )
            };
            for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
                *o = o.add(x.mul(y));
            }
        }
    }
}

/// `out[i] = (out[i] + x[i]) + y[i]` for `i < n`: two rows of a column sum
/// read side by side, added in row order.
///
/// # Safety
/// `out`, `x` and `y` valid for `n` contiguous elements (reads; `out` also
/// writes), `out` overlapping neither input.
#[inline(always)]
unsafe fn add2_contig_generic<S: Arith>(n: usize, out: *mut S, x: *const S, y: *const S) {
    // SAFETY: forwarded to the caller.
    let (o, x, y) = unsafe {
        (
            std::slice::from_raw_parts_mut(out, n),
            std::slice::from_raw_parts(x, n),
            std::slice::from_raw_parts(y, n),
        )
    };
    for ((o, &x), &y) in o.iter_mut().zip(x).zip(y) {
        *o = o.add(x).add(y);
    }
}

multiversion! {
    /// A contiguous sum or dot product, pairwise.
    unsafe fn reduce(r: Run<S>) -> S => fused reduce_generic
}
multiversion! {
    /// Two contiguous sums or dot products, read side by side.
    unsafe fn reduce2(a: Run<S>, b: Run<S>) -> [S; 2] => fused reduce2_generic
}
multiversion! {
    /// See [`mul_contig_generic`].
    unsafe fn mul_contig(n: usize, out: *mut S, x: *const S, sx: isize, y: *const S, sy: isize) => mul_contig_generic
}
multiversion! {
    /// See [`add_contig_generic`].
    unsafe fn add_contig(n: usize, out: *mut S, x: *const S, sx: isize, y: *const S, sy: isize) => add_contig_generic
}
multiversion! {
    /// See [`add2_contig_generic`].
    unsafe fn add2_contig(n: usize, out: *mut S, x: *const S, y: *const S) => add2_contig_generic
}

/// `Σ_{i<n} Π_k p[k][i·s[k]]`.
///
/// # Safety
/// Each `p[k]` valid for reads at `i·s[k]`, `i < n`.
unsafe fn reduce_row<S: Arith>(n: usize, p: &[*const S], s: &[isize], stream: bool) -> S {
    match (p, s) {
        // SAFETY (all arms): the caller guarantees the `n` strided reads.
        (&[x], &[1]) => unsafe {
            reduce(Run {
                x,
                y: std::ptr::null(),
                n,
                stream,
            })
        },
        (&[x, y], &[1, 1]) => unsafe { reduce(Run { x, y, n, stream }) },
        (&[x], &[sx]) => {
            let mut acc = [S::ZERO; 4];
            let mut i = 0;
            while i + 4 <= n {
                for (j, a) in acc.iter_mut().enumerate() {
                    // SAFETY: `i + j < n`.
                    *a = a.add(unsafe { *x.offset((i + j) as isize * sx) });
                }
                i += 4;
            }
            while i < n {
                // SAFETY: `i < n`.
                acc[0] = acc[0].add(unsafe { *x.offset(i as isize * sx) });
                i += 1;
            }
            acc[0].add(acc[1]).add(acc[2].add(acc[3]))
        }
        (&[x, y], &[sx, sy]) => {
            let mut acc = [S::ZERO; 4];
            let mut i = 0;
            while i + 4 <= n {
                for (j, a) in acc.iter_mut().enumerate() {
                    let at = (i + j) as isize;
                    // SAFETY: `i + j < n`.
                    *a = a.add(unsafe { (*x.offset(at * sx)).mul(*y.offset(at * sy)) });
                }
                i += 4;
            }
            while i < n {
                let at = i as isize;
                // SAFETY: `i < n`.
                acc[0] = acc[0].add(unsafe { (*x.offset(at * sx)).mul(*y.offset(at * sy)) });
                i += 1;
            }
            acc[0].add(acc[1]).add(acc[2].add(acc[3]))
        }
        _ => {
            let mut acc = S::ZERO;
            let mut q = p.to_vec();
            for _ in 0..n {
                // SAFETY: each `q[k]` is `p[k] + i·s[k]` with `i < n`.
                acc = acc.add(unsafe { product(&q) });
                for (q, &s) in q.iter_mut().zip(s) {
                    *q = q.wrapping_offset(s);
                }
            }
            acc
        }
    }
}

/// `out[i·os] = Π_k p[k][i·s[k]]` for `i < n`.
///
/// # Safety
/// As [`reduce_row`], and `out` valid for writes at `i·os`.
unsafe fn assign_row<S: Arith>(n: usize, out: *mut S, os: isize, p: &[*const S], s: &[isize]) {
    match (p, s) {
        (&[x], &[1]) if os == 1 => {
            // SAFETY: `n` contiguous elements each; the output does not
            // overlap the operand.
            unsafe { std::ptr::copy_nonoverlapping(x, out, n) }
        }
        (&[x, y], &[sx, sy]) if os == 1 && matches!((sx, sy), (1, 1) | (0, 1) | (1, 0)) => {
            // SAFETY: the caller guarantees the reads and writes.
            unsafe { mul_contig(n, out, x, sx, y, sy) }
        }
        _ => {
            let mut q = p.to_vec();
            for i in 0..n {
                // SAFETY: `i < n`, so every access is in range.
                unsafe { *out.offset(i as isize * os) = product(&q) };
                for (q, &s) in q.iter_mut().zip(s) {
                    *q = q.wrapping_offset(s);
                }
            }
        }
    }
}

/// `out[i·os] += Π_k p[k][i·s[k]]` for `i < n`.
///
/// # Safety
/// As [`assign_row`], `out` also valid for reads.
unsafe fn accumulate_row<S: Arith>(n: usize, out: *mut S, os: isize, p: &[*const S], s: &[isize]) {
    match (p, s) {
        (&[x], &[1]) if os == 1 => {
            // SAFETY: the caller guarantees the reads and writes.
            unsafe { add_contig(n, out, x, 1, std::ptr::null(), 0) }
        }
        (&[x, y], &[sx, sy]) if os == 1 && matches!((sx, sy), (1, 1) | (0, 1) | (1, 0)) => {
            // SAFETY: the caller guarantees the reads and writes.
            unsafe { add_contig(n, out, x, sx, y, sy) }
        }
        _ => {
            let mut q = p.to_vec();
            for i in 0..n {
                // SAFETY: `i < n`, so every access is in range.
                unsafe {
                    let o = out.offset(i as isize * os);
                    *o = (*o).add(product(&q));
                }
                for (q, &s) in q.iter_mut().zip(s) {
                    *q = q.wrapping_offset(s);
                }
            }
        }
    }
}

/// [`accumulate_row`] for every index `k` of the summed loop `summed` in
/// turn, operands at `p[j] + k·summed.s[1 + j]`. A plain sum of contiguous
/// rows (`ij->j`) takes the rows two at a time, read side by side (two
/// streams from memory read faster than one), each output updated in the
/// same order as one row at a time.
///
/// # Safety
/// As [`accumulate_row`], for every `k < summed.len`.
unsafe fn accumulate_rows<S: Arith>(
    n: usize,
    out: *mut S,
    os: isize,
    p: &[*const S],
    s: &[isize],
    summed: &Loop,
) {
    let mut k = 0;
    if let ([x], [1], 1) = (p, s, os) {
        let sk = summed.s[1];
        while k + 2 <= summed.len {
            let (a, b) = (
                x.wrapping_offset(k as isize * sk),
                x.wrapping_offset((k + 1) as isize * sk),
            );
            // SAFETY: rows `k` and `k + 1` are in range (the caller's
            // guarantee), `n` contiguous elements each.
            unsafe { add2_contig(n, out, a, b) };
            k += 2;
        }
    }
    // One buffer for the operands' pointers at every remaining index.
    let mut q = p.to_vec();
    for k in k..summed.len {
        for ((q, &base), &sk) in q.iter_mut().zip(p).zip(&summed.s[1..]) {
            *q = base.wrapping_offset(k as isize * sk);
        }
        // SAFETY: the caller's guarantee for index `k`.
        unsafe { accumulate_row(n, out, os, &q, s) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sop<T: Element>(lens: &[usize], out_strides: &[isize], ops: &[(&[T], &[isize])]) -> Vec<T> {
        let n: usize = lens[..out_strides.len()].iter().product();
        let mut out = vec![T::ONE; n];
        let operands: Vec<SopOperand<'_, T>> = ops
            .iter()
            .map(|(d, s)| SopOperand {
                ptr: d.as_ptr(),
                strides: s,
            })
            .collect();
        // SAFETY: the tests pass strides that stay inside their slices.
        unsafe { sum_of_products(lens, out.as_mut_ptr(), out_strides, &operands) };
        out
    }

    /// Reading runs side by side must not change a bit: sums, dots and row
    /// sums of many lengths (around the block size and the split, ragged
    /// tails, halves of unequal length, rows of a matrix in pairs and an
    /// odd one) equal a plain pairwise reduction written recursively, one
    /// run at a time, exactly. The largest read over `STREAM_BYTES`, so the
    /// loops that request lines ahead are checked too.
    #[test]
    fn side_by_side_runs_give_the_pairwise_bits() {
        fn leaf(x: &[f32], y: &[f32]) -> f32 {
            // The loops fuse products into their sums where the CPU has FMA.
            let fused = isa() != Isa::Baseline;
            let mut acc = [0f32; LANES];
            for (i, (&a, &b)) in x.iter().zip(y).enumerate() {
                let sum = &mut acc[i % LANES];
                *sum = if fused {
                    a.mul_add(b, *sum)
                } else {
                    *sum + a * b
                };
            }
            let mut width = LANES;
            while width > 1 {
                width /= 2;
                for j in 0..width {
                    acc[j] += acc[j + width];
                }
            }
            acc[0]
        }
        // A power-of-two count of block sums, halved recursively.
        fn tree(s: &[f32]) -> f32 {
            match s {
                [one] => *one,
                _ => tree(&s[..s.len() / 2]) + tree(&s[s.len() / 2..]),
            }
        }
        // Block sums, in groups of the count's binary digits, largest first.
        fn blocks(x: &[f32], y: &[f32]) -> f32 {
            let sums: Vec<f32> = x
                .chunks(PAIRWISE_BLOCK)
                .zip(y.chunks(PAIRWISE_BLOCK))
                .map(|(x, y)| leaf(x, y))
                .collect();
            let (mut total, mut at) = (None, 0);
            for level in (0..usize::BITS).rev() {
                if sums.len() >> level & 1 == 1 {
                    let group = tree(&sums[at..at + (1 << level)]);
                    total = Some(total.map_or(group, |t: f32| t + group));
                    at += 1 << level;
                }
            }
            total.unwrap_or(0.0)
        }
        fn pairwise(x: &[f32], y: &[f32]) -> f32 {
            if x.len() > SPLIT {
                let mid = x.len() / 2 / 1024 * 1024 + 512;
                return blocks(&x[..mid], &y[..mid]) + blocks(&x[mid..], &y[mid..]);
            }
            blocks(x, y)
        }
        // Magnitudes from 1e-6 to 1e6, so that any change of association
        // changes the rounding.
        let data: Vec<f32> = (0..2_300_000u32)
            .map(|i| {
                let u = (i.wrapping_mul(2_654_435_761) >> 8) as f32 / (1 << 24) as f32 - 0.3;
                u * 10f32.powi((i % 13) as i32 - 6)
            })
            .collect();
        let ones = vec![1f32; data.len()];
        for n in [
            0, 1, 31, 33, 2047, 2049, 4096, 4097, 4129, 6001, 10_007, 30_000, 59_000, 65_541,
            1_100_001,
        ] {
            let (x, y) = (&data[..n], &data[n..2 * n]);
            assert_eq!(
                sop(&[n], &[], &[(x, &[1])])[0],
                pairwise(x, &ones),
                "sum {n}"
            );
            let dot = sop(&[n], &[], &[(x, &[1]), (y, &[1])])[0];
            assert_eq!(dot, pairwise(x, y), "dot {n}");
        }
        const { assert!(1_100_001 * 4 > STREAM_BYTES && 1001 * 1100 * 4 > STREAM_BYTES) };
        for (m, n) in [
            (2, 100),
            (3, 2049),
            (4, 4096),
            (5, 4129),
            (7, 1),
            (1001, 1100),
        ] {
            let a = &data[..m * n];
            let rows = sop(&[m, n], &[1], &[(a, &[n as isize, 1])]);
            for (i, &got) in rows.iter().enumerate() {
                let row = &a[i * n..][..n];
                assert_eq!(got, pairwise(row, &ones), "row {i} of {m}×{n}");
            }
            let b = &data[m * n..2 * m * n];
            let dots = sop(
                &[m, n],
                &[1],
                &[(a, &[n as isize, 1]), (b, &[n as isize, 1])],
            );
            for (i, &got) in dots.iter().enumerate() {
                let (ra, rb) = (&a[i * n..][..n], &b[i * n..][..n]);
                assert_eq!(got, pairwise(ra, rb), "row dot {i} of {m}×{n}");
            }
        }
    }

    /// Column sums take contiguous rows two at a time; every output must
    /// still add its rows in row order: bit for bit the sequential fold, on
    /// data over twelve decades. Odd and even row counts, one row, padded
    /// rows (two summed loops), a chunked output row, and columns taken
    /// with a step (rows one at a time).
    #[test]
    fn column_sums_in_pairs_keep_the_row_order() {
        let mut seed = 7u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mag = 10f64.powi(((seed >> 33) % 12) as i32);
            mag * (((seed >> 11) % 2001) as f64 / 1000.0 - 1.0)
        };
        for &(n, m) in &[(1usize, 9usize), (2, 5), (7, 33), (64, 100), (3, CHUNK + 7)] {
            let a: Vec<f64> = (0..n * 2 * m).map(|_| next()).collect();
            let fold = |col: &dyn Fn(usize) -> Vec<f64>| -> Vec<f64> {
                let cols = col(0).len();
                (0..cols)
                    .map(|j| (0..n).fold(0.0, |acc, i| acc + col(i)[j]))
                    .collect()
            };
            let row = |i: usize| a[i * 2 * m..i * 2 * m + m].to_vec();
            let want = fold(&row);
            let got = sop(&[m, n], &[1], &[(&a, &[1, 2 * m as isize])]);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(g, w)| g.to_bits() == w.to_bits()),
                "{n}x{m}"
            );
            let stepped = |i: usize| {
                a[i * 2 * m..(i + 1) * 2 * m]
                    .iter()
                    .step_by(2)
                    .copied()
                    .collect()
            };
            let want = fold(&stepped);
            let got = sop(&[m, n], &[1], &[(&a, &[2, 2 * m as isize])]);
            assert!(
                got.iter()
                    .zip(&want)
                    .all(|(g, w)| g.to_bits() == w.to_bits()),
                "{n}x{m} stepped"
            );
        }
        // (3, 5, 8) with padded rows: two summed loops, rows in (i, j) order.
        let a: Vec<f64> = (0..3 * 6 * 8).map(|_| next()).collect();
        let got = sop(&[8, 3, 5], &[1], &[(&a, &[1, 48, 8])]);
        for (k, g) in got.iter().enumerate() {
            let mut want = 0.0;
            for i in 0..3 {
                for j in 0..5 {
                    want += a[i * 48 + j * 8 + k];
                }
            }
            assert_eq!(g.to_bits(), want.to_bits(), "padded, column {k}");
        }
    }

    #[test]
    fn rowsum_colsum_dot_trace() {
        let a: Vec<f64> = (0..6).map(f64::from).collect(); // 2x3
        assert_eq!(sop(&[2, 3], &[1], &[(&a, &[3, 1])]), vec![3.0, 12.0]);
        assert_eq!(sop(&[3, 2], &[1], &[(&a, &[1, 3])]), vec![3.0, 5.0, 7.0]);
        assert_eq!(sop(&[6], &[], &[(&a, &[1]), (&a, &[1])]), vec![55.0]);
        let m: Vec<i32> = (0..9).collect();
        assert_eq!(sop(&[3], &[], &[(&m, &[4])]), vec![12]);
    }

    #[test]
    fn empty_sum_writes_zeros_and_no_operands_count() {
        let a = [1.0f32; 4];
        assert_eq!(sop(&[2, 0], &[1], &[(&a, &[1, 1])]), vec![0.0, 0.0]);
        assert_eq!(sop::<i64>(&[3, 4], &[1], &[]), vec![4, 4, 4]);
    }

    #[test]
    fn integers_wrap() {
        let a = [i32::MAX, 2];
        assert_eq!(sop(&[2], &[], &[(&a, &[1])]), vec![i32::MIN + 1]);
    }

    #[test]
    fn f32_sum_of_ten_million_is_pairwise_accurate() {
        let n = 10_000_000;
        let x: Vec<f32> = (0..n).map(|i| 0.1 + (i % 7) as f32 * 0.01).collect();
        let exact: f64 = x.iter().map(|&v| f64::from(v)).sum();
        let got = f64::from(sop(&[n], &[], &[(&x, &[1])])[0]);
        // A naive running f32 sum is off by ~1e-2 relative here; pairwise
        // blocks keep it near f32's epsilon.
        assert!(((got - exact) / exact).abs() < 1e-6, "{got} vs {exact}");
        let naive = x.iter().fold(0.0f32, |a, &v| a + v);
        assert!(((f64::from(naive) - exact) / exact).abs() > 1e-4);
    }
}

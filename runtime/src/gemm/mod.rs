//! Packed, cache-blocked matrix multiplication (BLIS / TBLIS style).
//!
//! Every two-operand contraction with a summed index group ends up here: the
//! plain strided [`gemm`], and [`Contraction`], where batch, M, N and K are each
//! a *group* of dimensions with their own strides, so `abcd,cdef->abef` or
//! `bhqd,bhkd->bhqk` run without a transposition copy.
//!
//! The algorithm is the BLIS 5-loop nest (`jc` over `nc` columns of B, `pc`
//! over `kc` steps of K, `ic` over `mc` rows of A, then `jr`/`ir` over micro
//! tiles). Operand blocks are packed (`pack.rs`) into contiguous zero-padded
//! micro-panels sized by `blocking.rs`, and a register-blocked micro-kernel
//! (the `MicroKernel` trait) computes `mr × nr` tiles of C, a column of them
//! (the `ir` loop, one B micro-panel) per call.
//!
//! The kernel is chosen once per call from [`crate::cpu::isa`]: AVX-512
//! (`kernel_avx512.rs`), AVX2+FMA (`kernel_avx2.rs`) or portable
//! (`kernel_generic.rs`, also the integer kernel); packing is compiled for the
//! same instruction set, with AVX-512 register transposes for K-contiguous
//! operands. C is stored fastest with unit row stride, so a product whose C
//! columns are the tighter direction is computed as `Cᵀ = Bᵀ·Aᵀ`.
//!
//! Small problems: operands that fit in cache are read in place instead of
//! packed (A when its rows are unit-stride, B with any strides), only ragged
//! edge panels are packed, and the packing buffers are thread-local, 64-byte
//! aligned and reused, so batched small products pay little overhead.
//!
//! Threads: above about 4M multiply-adds, independent batch elements, or else
//! slabs of M or N, are spread over rayon's pool. Every C element is computed
//! by the same operations on any split, so results are bitwise identical for
//! any thread count (`RAYON_NUM_THREADS=1` runs everything on the caller).

/// The K loop of the vector kernels over B read through a column stride
/// `$js` (`1` when packed, a constant the displacements fold): per K step,
/// two A vectors times `$n` broadcast elements of B, into `$acc[j][0..2]`.
/// A macro, so that each kernel instantiates it with its own intrinsics
/// inside its `#[target_feature]` function.
macro_rules! broadcast_k_loop {
    (
        $t:ident, $a:ident, $b:ident, $acc:ident, $n:expr, $lanes:expr, $js:expr,
        $loadu:ident, $set1:ident, $fmadd:ident
    ) => {
        for _ in 0..$t.k {
            // SAFETY: per the tile contract, `$a` has 2 · lanes readable
            // elements and `$b + j · js` is readable for j < n at every K
            // step.
            unsafe {
                let a0 = $loadu($a);
                let a1 = $loadu($a.add($lanes));
                for j in 0..$n {
                    let bj = $set1(*$b.offset(j as isize * $js));
                    $acc[j][0] = $fmadd(a0, bj, $acc[j][0]);
                    $acc[j][1] = $fmadd(a1, bj, $acc[j][1]);
                }
            }
            // Wrapping: after the last K step these point past the panels,
            // where `offset` would be UB though nothing is read there.
            $a = $a.wrapping_offset($t.a_ks);
            $b = $b.wrapping_offset($t.b_ks);
        }
    };
}

mod blocking;
mod epilogue;
mod kernel_avx2;
mod kernel_avx512;
mod kernel_generic;
mod pack;
#[cfg(test)]
mod tests;

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::cell::Cell;

use crate::cpu::Isa;
use crate::Element;
use blocking::{balanced, Blocking};
use epilogue::{input_m, input_n, EpiIn, Fused};
pub use epilogue::{Epilogue, EpilogueInput, EpilogueRow};
use pack::{Axis, PackFn};
use select::KernelSpec;

/// An element type the GEMM engine multiplies: `f32`, `f64` (vectorised
/// kernels) and `i32`, `i64` (portable kernel, wrapping arithmetic like
/// NumPy's integer matmul).
pub trait GemmScalar: Element + select::Select {
    /// `self + a · b`; wrapping for integers, unfused for floats (the vector
    /// kernels fuse, which is only more accurate).
    fn madd(self, a: Self, b: Self) -> Self;
    /// `self · b`; wrapping for integers.
    fn mul(self, b: Self) -> Self;
}

macro_rules! impl_scalar_float {
    ($($t:ty),*) => {$(
        impl GemmScalar for $t {
            #[inline(always)]
            fn madd(self, a: Self, b: Self) -> Self {
                self + a * b
            }
            #[inline(always)]
            fn mul(self, b: Self) -> Self {
                self * b
            }
        }
    )*};
}
macro_rules! impl_scalar_int {
    ($($t:ty),*) => {$(
        impl GemmScalar for $t {
            #[inline(always)]
            fn madd(self, a: Self, b: Self) -> Self {
                self.wrapping_add(a.wrapping_mul(b))
            }
            #[inline(always)]
            fn mul(self, b: Self) -> Self {
                self.wrapping_mul(b)
            }
        }
    )*};
}
impl_scalar_float!(f32, f64);
impl_scalar_int!(i32, i64);

/// Kernel selection per element type, kept out of the public interface.
mod select {
    use super::{Blocking, Column, PackFn, Tile};
    use crate::cpu::Isa;

    /// A selected micro-kernel with its shape and cache blocking (public only
    /// inside this unnameable module, so it stays out of the crate's API).
    #[derive(Clone, Copy)]
    pub struct KernelSpec<T> {
        pub(crate) mr: usize,
        pub(crate) nr: usize,
        pub(crate) blocking: Blocking,
        pub(crate) kernel: unsafe fn(&Tile<T>, Column),
        /// See `MicroKernel::READS_K_CONTIGUOUS_B`.
        pub(crate) reads_k_contiguous_b: bool,
        /// Packing compiled for the same instruction set as the kernel.
        pub(crate) pack: PackFn<T>,
    }

    /// Picks the micro-kernel (and its blocking) for an instruction set.
    pub trait Select: Sized {
        fn select(isa: Isa) -> KernelSpec<Self>;
    }
}

#[cfg(target_arch = "x86_64")]
macro_rules! select_float {
    ($t:ty, $avx512:ty, $avx2:ty) => {
        impl select::Select for $t {
            fn select(isa: Isa) -> KernelSpec<Self> {
                match isa {
                    Isa::Avx512 => KernelSpec::of::<$avx512>(pack::pack_panels_avx512::<$t>),
                    Isa::Avx2Fma => KernelSpec::of::<$avx2>(pack::pack_panels_avx2::<$t>),
                    Isa::Baseline => {
                        KernelSpec::of::<kernel_generic::GenericKernel<$t>>(pack::pack_panels::<$t>)
                    }
                }
            }
        }
    };
}
#[cfg(target_arch = "x86_64")]
select_float!(f64, kernel_avx512::Avx512F64, kernel_avx2::Avx2F64);
#[cfg(target_arch = "x86_64")]
select_float!(f32, kernel_avx512::Avx512F32, kernel_avx2::Avx2F32);

macro_rules! select_generic {
    ($($t:ty),*) => {$(
        impl select::Select for $t {
            fn select(_isa: Isa) -> KernelSpec<Self> {
                KernelSpec::of::<kernel_generic::GenericKernel<$t>>(pack::pack_panels::<$t>)
            }
        }
    )*};
}
#[cfg(not(target_arch = "x86_64"))]
select_generic!(f32, f64);
select_generic!(i32, i64);

/// One call of a micro-kernel: `C[0..rows, 0..cols] = alpha · A·B + beta · C`
/// for one `mr × nr` tile.
pub(crate) struct Tile<T> {
    /// Depth of the rank-k update.
    pub k: usize,
    /// A micro-panel: at K step `p`, the `mr` elements `a[p·a_ks ..][..mr]`
    /// (contiguous, row `i` at `+i`).
    pub a: *const T,
    /// Distance in elements between consecutive K steps of A (`mr` when packed).
    pub a_ks: isize,
    /// B micro-panel: at K step `p`, column `j` is `b[p·b_ks + j·b_js]`.
    pub b: *const T,
    /// Distance in elements between consecutive K steps of B (`nr` when packed).
    pub b_ks: isize,
    /// Distance in elements between adjacent columns of B (`1` when packed).
    pub b_js: isize,
    pub alpha: T,
    /// `0` means C is write-only: it is never read, so garbage or NaN in it
    /// cannot reach the result.
    pub beta: T,
    /// C tile origin; element `(i, j)` is `c[i·rsc + j·csc]`.
    pub c: *mut T,
    pub rsc: isize,
    pub csc: isize,
    /// How many of the `mr` rows of C to store (`1..=mr`).
    pub rows: usize,
    /// How many of the `nr` columns of C to store (`1..=nr`).
    pub cols: usize,
}

/// The micro-kernel contract.
pub(crate) trait MicroKernel {
    type Elem: GemmScalar;
    /// Rows of the register tile (the width of an A micro-panel).
    const MR: usize;
    /// Columns of the register tile (the width of a B micro-panel).
    const NR: usize;
    /// Whether the kernel reads a B with unit K stride in place (any column
    /// stride) as fast as a packed panel, so such a B need not be packed —
    /// including a ragged last panel, of which it reads only the tile's
    /// `t.cols` columns.
    const READS_K_CONTIGUOUS_B: bool = false;

    /// Computes the full `MR × NR` product `Σ_p a[p]·b[p]ᵀ` over `t.k` steps
    /// and stores `alpha · product + beta · C` into the first `t.rows × t.cols`
    /// elements of the C tile (never reading C when `beta == 0`).
    ///
    /// Packed inputs: for every `p < t.k`, `t.a + p·t.a_ks` points at `MR`
    /// readable contiguous elements, and `t.b + p·t.b_ks + j·t.b_js` is
    /// readable for every `j < NR` (packed panels have `b_js == 1` and
    /// zero-pad past the matrix edge; an operand read in place is only used
    /// for panels whose `MR`/`NR` rows are all real, except a B with
    /// `b_ks == 1 != b_js` on a kernel that `READS_K_CONTIGUOUS_B`, where
    /// only `b + p + j·b_js` for `j < t.cols` is readable).
    /// General strides: the C tile, element `(i, j)` at `t.c + i·t.rsc +
    /// j·t.csc`, must be valid for reads and writes for `i < t.rows`,
    /// `j < t.cols`, with distinct addresses; `rsc == 1` is the fast path.
    ///
    /// # Safety
    /// The pointers must satisfy the above, and the CPU must support the
    /// instruction set the kernel was compiled for.
    unsafe fn run(t: &Tile<Self::Elem>);

    /// [`run`](Self::run) down a column of `col.count` tiles that share
    /// `t`'s B micro-panel: tile `i` reads the A micro-panel at
    /// `t.a + i·col.a_step` and writes the C tile at `t.c + i·MR·t.rsc`;
    /// every tile but the last has `MR` rows, the last `t.rows`.
    ///
    /// A kernel overrides this to keep the loop inside its instruction set's
    /// code and decide what the tiles share once, which matters for a short
    /// K: with the AVX2 kernel, attention (K = 64) and bmm 64³ took 3–5%
    /// less time than with one call per tile.
    ///
    /// # Safety
    /// Every tile of the column satisfies [`run`](Self::run)'s contract.
    unsafe fn run_column(t: &Tile<Self::Elem>, col: Column) {
        for i in 0..col.count {
            let tile = Tile {
                a: t.a.wrapping_offset(i as isize * col.a_step),
                c: t.c.wrapping_offset((i * Self::MR) as isize * t.rsc),
                rows: if i + 1 == col.count { t.rows } else { Self::MR },
                ..*t
            };
            // SAFETY: tile i of the column, valid by the caller's contract.
            unsafe { Self::run(&tile) };
        }
    }
}

/// A column of micro-tiles for [`MicroKernel::run_column`].
#[derive(Clone, Copy)]
pub(crate) struct Column {
    /// How many tiles (at least one).
    pub count: usize,
    /// Distance in elements between the A micro-panels of adjacent tiles.
    pub a_step: isize,
}

impl Column {
    /// A single tile.
    pub const ONE: Column = Column {
        count: 1,
        a_step: 0,
    };

    /// Tile `i` of this column of `mr`-row tiles sharing `t`'s B panel: how
    /// many rows it stores, and where its C tile and A micro-panel start.
    /// When C's rows are unit-stride, the C tile's lines are requested here,
    /// so that the store at the end of the tile does not wait on memory.
    #[inline(always)]
    pub(crate) fn tile<T>(self, t: &Tile<T>, i: usize, mr: usize) -> (usize, *mut T, *const T) {
        let rows = if i + 1 == self.count { t.rows } else { mr };
        // Only forms addresses: tile i's C tile and A panel.
        let c = t.c.wrapping_offset((i * mr) as isize * t.rsc);
        let a = t.a.wrapping_offset(i as isize * self.a_step);
        #[cfg(target_arch = "x86_64")]
        if t.rsc == 1 {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            for j in 0..t.cols {
                let cp = c.wrapping_offset(j as isize * t.csc);
                // SAFETY: prefetches never fault and have no architectural
                // effect; SSE is part of the x86-64 baseline.
                unsafe {
                    _mm_prefetch::<_MM_HINT_T0>(cp as *const i8);
                    _mm_prefetch::<_MM_HINT_T0>(cp.wrapping_add(mr - 1) as *const i8);
                }
            }
        }
        (rows, c, a)
    }
}

/// The largest `mr · nr` of any kernel (AVX-512 f32: 32 × 12), sizing the
/// on-stack tile used when C cannot be written with uniform strides.
const MAX_TILE: usize = 384;

impl<T: GemmScalar> KernelSpec<T> {
    fn of<K: MicroKernel<Elem = T>>(pack: PackFn<T>) -> Self {
        const { assert!(K::MR * K::NR <= MAX_TILE) };
        KernelSpec {
            mr: K::MR,
            nr: K::NR,
            blocking: blocking::blocking(K::MR, K::NR, std::mem::size_of::<T>()),
            kernel: K::run_column,
            reads_k_contiguous_b: K::READS_K_CONTIGUOUS_B,
            pack,
        }
    }
}

/// `C[m,n] = alpha · Σ_k A[m,k]·B[k,n] + beta · C[m,n]` with element strides
/// of any sign (zero strides are fine for A and B, e.g. a broadcast operand).
///
/// `beta == 0` makes C write-only: its old contents (even NaN or
/// uninitialised garbage) never leak into the result. `alpha == 0` or `k == 0`
/// only scales C by `beta`, without reading A or B.
///
/// # Safety
/// `a + i·rsa + p·csa` must be readable for all `i < m`, `p < k`;
/// `b + p·rsb + j·csb` readable for all `p < k`, `j < n`;
/// `c + i·rsc + j·csc` readable and writable for all `i < m`, `j < n`, these
/// addresses pairwise distinct and not overlapping A or B.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: GemmScalar>(
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: *const T,
    rsa: isize,
    csa: isize,
    b: *const T,
    rsb: isize,
    csb: isize,
    beta: T,
    c: *mut T,
    rsc: isize,
    csc: isize,
) {
    let spec = T::select(crate::cpu::isa());
    let a = Operand {
        ptr: a,
        rows: Axis::Strided(rsa),
        ks: Axis::Strided(csa),
    };
    let b = Operand {
        ptr: b,
        rows: Axis::Strided(csb),
        ks: Axis::Strided(rsb),
    };
    let c = Out {
        ptr: c,
        m: Axis::Strided(rsc),
        n: Axis::Strided(csc),
        epilogue: None,
    };
    // SAFETY: the caller's contract is exactly gemm_split's.
    unsafe { gemm_split(&spec, m, n, k, alpha, a, b, beta, c) };
}

/// Multiply-adds (`m·n·k`) below which a product stays on the calling
/// thread: smaller ones finish in well under the cost of waking workers.
const PAR_MIN_WORK: usize = 1 << 22;

/// Pointers and axes handed to rayon workers.
struct Shared<X>(X);
// SAFETY: workers only read A and B, and each writes a disjoint block of C
// (distinct rows/columns or batch elements, whose addresses the callers'
// contracts make pairwise distinct); the axis tables are shared read-only.
unsafe impl<X> Send for Shared<X> {}
// SAFETY: as for Send.
unsafe impl<X> Sync for Shared<X> {}

impl<X> Shared<X> {
    /// The wrapped value (a method, so closures capture the whole wrapper
    /// rather than its non-`Sync` field).
    fn get(&self) -> &X {
        &self.0
    }
}

/// [`gemm_core`], split across rayon's worker threads for large products:
/// the longer of M and N is cut into one balanced chunk per thread. Each C
/// element is computed by the same sequence of operations whatever the
/// split (K blocking depends on `k` alone), so results do not depend on the
/// thread count.
///
/// # Safety
/// As [`gemm_core`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_split<T: GemmScalar>(
    spec: &KernelSpec<T>,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    c: Out<'_, T>,
) {
    let threads = rayon::current_num_threads();
    if threads <= 1 || m.saturating_mul(n).saturating_mul(k) < PAR_MIN_WORK {
        // SAFETY: forwarded contract.
        unsafe { gemm_core(spec, m, n, k, alpha, a, b, beta, c) };
        return;
    }
    // Chunks are whole micro-tiles wide (48 is a multiple of every mr/nr).
    let len = m.max(n);
    let chunk = balanced(len, len.div_ceil(threads), 48);
    let shared = Shared((a, b, c));
    rayon::scope(|s| {
        for start in (0..len).step_by(chunk) {
            let shared = &shared;
            s.spawn(move |_| {
                let (a, b, c) = *shared.get();
                let cnt = chunk.min(len - start);
                let inputs: Vec<EpiIn<'_>> = c.epilogue.map_or(Vec::new(), |e| {
                    e.inputs.iter().map(|x| x.split_at(start, m >= n)).collect()
                });
                let epilogue = c.epilogue.map(|e| Fused {
                    inputs: &inputs,
                    ..e
                });
                if m >= n {
                    let (off, cm) = c.m.split_at(start);
                    let sub = Out {
                        ptr: c.ptr.wrapping_offset(off),
                        m: cm,
                        n: c.n,
                        epilogue,
                    };
                    // SAFETY: rows start..start + cnt of A and C: a disjoint
                    // slab of C per chunk.
                    unsafe { gemm_core(spec, cnt, n, k, alpha, block(a, start, 0), b, beta, sub) };
                } else {
                    let (off, cn) = c.n.split_at(start);
                    let sub = Out {
                        ptr: c.ptr.wrapping_offset(off),
                        m: c.m,
                        n: cn,
                        epilogue,
                    };
                    // SAFETY: columns start..start + cnt of B and C: a
                    // disjoint slab of C per chunk.
                    unsafe { gemm_core(spec, m, cnt, k, alpha, a, block(b, start, 0), beta, sub) };
                }
            });
        }
    });
}

/// An input operand seen as `rows × K`: the M rows of A, or B transposed (its
/// N columns as rows).
#[derive(Clone, Copy)]
struct Operand<'a, T> {
    ptr: *const T,
    rows: Axis<'a>,
    ks: Axis<'a>,
}

/// The output operand: element `(i, j)` at `ptr + m.off(i) + n.off(j)`,
/// and the epilogue to run on each block of it once its values are final.
#[derive(Clone, Copy)]
struct Out<'a, T> {
    ptr: *mut T,
    m: Axis<'a>,
    n: Axis<'a>,
    epilogue: Option<Fused<'a>>,
}

/// The loop nest shared by [`gemm`] and [`Contraction::run`].
///
/// # Safety
/// Every element addressed by `a` (`rows < m`, K steps `< k`), `b` (`rows <
/// n`, K steps `< k`) and `c` (`i < m`, `j < n`) must be valid; C's addresses
/// pairwise distinct and disjoint from A and B.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_core<T: GemmScalar>(
    spec: &KernelSpec<T>,
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    beta: T,
    c: Out<'_, T>,
) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::ZERO {
        // SAFETY: C is valid for i < m, j < n by the contract (and so are
        // the epilogue's inputs).
        unsafe {
            scale(m, n, beta, c);
            if let Some(e) = c.epilogue {
                e.apply(c.ptr, c.m, c.n, 0..m, 0..n);
            }
        }
        return;
    }
    // The kernels store C fastest when its rows are unit-stride; if the
    // columns are the tighter direction, compute Cᵀ = Bᵀ·Aᵀ instead.
    let (m, n, a, b, c) = if out_score(c.n) < out_score(c.m) {
        (
            n,
            m,
            b,
            a,
            Out {
                ptr: c.ptr,
                m: c.n,
                n: c.m,
                epilogue: c.epilogue.map(|e| Fused {
                    transposed: !e.transposed,
                    ..e
                }),
            },
        )
    } else {
        (m, n, a, b, c)
    };

    let (mr, nr) = (spec.mr, spec.nr);
    let Blocking {
        mc,
        kc,
        nc,
        direct_bytes,
    } = spec.blocking;
    let (mc, kc, nc) = (balanced(m, mc, mr), balanced(k, kc, 1), balanced(n, nc, nr));
    let size = std::mem::size_of::<T>();
    // A panels are loaded as vectors, so A needs unit-stride rows to be read
    // in place. The kernel reads B through any two strides, but only with
    // unit-stride columns are its broadcasts folded into the multiply-adds
    // at constant offsets; any other column stride makes a serial chain of
    // address adds per K step (seen in a profile of bmm 64³), so such a B is
    // packed — unless it is K-contiguous and the kernel has a loop for that
    // (column addresses formed once per few K steps, every broadcast an
    // addressing mode): packing a 64×64 B cost bmm 64³ 12% of its time.
    //
    // Such a B is read in place at any size: a micro-panel is then `nr`
    // sequential streams along K, exactly what the transposing pack would
    // read, and the pack's copy is saved. A 1024×1024 K-contiguous B times
    // a 1024×64 A (`jk,kl->jl`) ran 20% faster in place with the AVX2
    // kernel, and chain3 (which contains it) 25% with the AVX-512 one;
    // square products up to 1024 measured the same or slightly faster.
    let direct_a = a.rows.stride() == Some(1)
        && is_direct(a, m.saturating_mul(k).saturating_mul(size), direct_bytes);
    let k_contiguous_b =
        spec.reads_k_contiguous_b && b.ks.stride() == Some(1) && b.rows.stride() != Some(1);
    let direct_b = if k_contiguous_b {
        b.rows.stride().is_some()
    } else {
        b.rows.stride() == Some(1)
            && is_direct(b, n.saturating_mul(k).saturating_mul(size), direct_bytes)
    };
    // That loop reads only the tile's own columns, so a ragged last panel
    // is read in place too instead of packed and zero-padded.
    let b_tail = if direct_b && k_contiguous_b {
        Tail::InPlace
    } else {
        Tail::Packed
    };

    let mut bufs = PACK_BUFS.with(Cell::take);
    let abuf = bufs.a.reserve::<T>(mc * kc);
    let bbuf = bufs.b.reserve::<T>(nc * kc);

    for jc in (0..n).step_by(nc) {
        let nb = nc.min(n - jc);
        for pc in (0..k).step_by(kc) {
            let kb = kc.min(k - pc);
            let beta_pc = if pc == 0 { beta } else { T::ONE };
            let bblk = block(b, jc, pc);
            // SAFETY: bblk addresses rows jc.. jc + nb < n and K steps pc..
            // pc + kb ≤ k; bbuf holds nc · kc ≥ ceil(nb/nr)·nr·kb.
            let b_direct =
                unsafe { pack_or_tail(spec.pack, bbuf, nr, bblk, nb, kb, direct_b, b_tail) };
            for ic in (0..m).step_by(mc) {
                let mb = mc.min(m - ic);
                let ablk = block(a, ic, pc);
                // SAFETY: as for B, with rows ic.. ic + mb < m and abuf of
                // mc · kc ≥ ceil(mb/mr)·mr·kb elements.
                let a_direct = unsafe {
                    pack_or_tail(spec.pack, abuf, mr, ablk, mb, kb, direct_a, Tail::Packed)
                };
                for jr in (0..nb).step_by(nr) {
                    let cols = nr.min(nb - jr);
                    let (bp, bks, bjs) = panel(bbuf, bblk, jr, nr, kb, cols, b_direct, b_tail);
                    let mut t = Tile {
                        k: kb,
                        a: std::ptr::null(),
                        a_ks: 0,
                        b: bp,
                        b_ks: bks,
                        b_js: bjs,
                        alpha,
                        beta: beta_pc,
                        c: std::ptr::null_mut(),
                        rsc: 0,
                        csc: 0,
                        rows: 0,
                        cols,
                    };
                    let (cm_off, cm) = c.m.split_at(ic);
                    let (cn_off, cn) = c.n.split_at(jc + jr);
                    if let (Some(rsc), Some(csc)) = (cm.stride(), cn.stride()) {
                        // The tiles go to the kernel as columns of evenly
                        // spaced A panels: packed panels are all `mr · kb`
                        // apart (the ragged one zero-padded); an A read in
                        // place has its full panels `mr` rows apart and its
                        // ragged one in the buffer, a column of its own.
                        let tiles = mb.div_ceil(mr);
                        let (even, a_step) = match a_direct {
                            None => (tiles, (mr * kb) as isize),
                            Some((_, rs)) => (mb / mr, mr as isize * rs),
                        };
                        (t.rsc, t.csc) = (rsc, csc);
                        for (first, count) in [(0, even), (even, tiles - even)] {
                            if count == 0 {
                                continue;
                            }
                            let ir = first * mr;
                            t.rows = mr.min(mb - (first + count - 1) * mr);
                            (t.a, t.a_ks, _) =
                                panel(abuf, ablk, ir, mr, kb, t.rows, a_direct, Tail::Packed);
                            // Only forms an address: C(ic + ir, jc + jr),
                            // valid since ic + ir < m and jc + jr < n.
                            t.c = c.ptr.wrapping_offset(cm_off + cn_off + ir as isize * rsc);
                            // SAFETY: each tile's panels hold kb steps of
                            // mr/nr readable elements (packed, or in place and
                            // full-width), and its rows × cols of C are inside
                            // C.
                            unsafe { (spec.kernel)(&t, Column { count, a_step }) };
                        }
                        continue;
                    }
                    // C rows or columns are a table: tile by tile, the kernel
                    // fills a local column-major tile, then it is scattered.
                    // (Only here: zeroing it per call would cost small batched
                    // products a visible memset.)
                    let mut ctile = [T::ZERO; MAX_TILE];
                    (t.c, t.rsc, t.csc) = (ctile.as_mut_ptr(), 1, mr as isize);
                    (t.alpha, t.beta) = (T::ONE, T::ZERO);
                    for ir in (0..mb).step_by(mr) {
                        let rows = mr.min(mb - ir);
                        (t.a, t.a_ks, _) =
                            panel(abuf, ablk, ir, mr, kb, rows, a_direct, Tail::Packed);
                        t.rows = mr;
                        // SAFETY: panels as above; ctile has MAX_TILE ≥ mr·nr
                        // elements.
                        unsafe { (spec.kernel)(&t, Column::ONE) };
                        let (cm_off, cm) = c.m.split_at(ic + ir);
                        // SAFETY: C(ic + ir, jc + jr) and the tile's rows ×
                        // cols from it are inside C; ctile is mr × nr.
                        unsafe {
                            scatter_tile(
                                ctile.as_ptr(),
                                mr,
                                rows,
                                cols,
                                alpha,
                                beta_pc,
                                c.ptr.offset(cm_off + cn_off),
                                cm,
                                cn,
                            )
                        };
                    }
                }
                if let (Some(e), true) = (c.epilogue, pc + kb == k) {
                    // The block's values are final: run the epilogue on it
                    // while it is still in cache.
                    // SAFETY: rows ic..ic + mb < m and columns jc..jc + nb
                    // < n of C (and of the epilogue's inputs) are valid.
                    unsafe { e.apply(c.ptr, c.m, c.n, ic..ic + mb, jc..jc + nb) };
                }
            }
        }
    }
    PACK_BUFS.with(|cell| cell.set(bufs));
}

/// Sorts strided directions of C by tightness (tables last).
fn out_score(ax: Axis<'_>) -> usize {
    ax.stride().map_or(usize::MAX, |s| s.unsigned_abs())
}

/// Whether an operand may be read in place: strided in both directions and
/// small enough to stay cache-resident.
fn is_direct<T>(op: Operand<'_, T>, bytes: usize, direct_bytes: usize) -> bool {
    op.rows.stride().is_some() && op.ks.stride().is_some() && bytes <= direct_bytes
}

/// The operand re-based at row `r0` and K step `p0`.
fn block<'a, T>(op: Operand<'a, T>, r0: usize, p0: usize) -> Operand<'a, T> {
    let (ro, rows) = op.rows.split_at(r0);
    let (ko, ks) = op.ks.split_at(p0);
    // Only forms an address; it is dereferenced only for valid indices.
    Operand {
        ptr: op.ptr.wrapping_offset(ro + ko),
        rows,
        ks,
    }
}

/// Where the ragged last panel of an operand read in place comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tail {
    /// Packed and zero-padded to the full width.
    Packed,
    /// Read in place like the full panels: only for a K-contiguous B on a
    /// kernel that reads just the tile's columns
    /// (`MicroKernel::READS_K_CONTIGUOUS_B`).
    InPlace,
}

/// Packs a block into `w`-wide panels at `buf`, or — for an operand read in
/// place — packs only its ragged last panel there (unless `tail` reads it in
/// place too). Returns the operand's own `(K stride, row stride)` when it is
/// read in place.
///
/// # Safety
/// `blk` must be valid for `len` rows and `kb` K steps; `buf` must hold
/// `ceil(len / w) · w · kb` elements.
#[allow(clippy::too_many_arguments)]
unsafe fn pack_or_tail<T: GemmScalar>(
    pack: PackFn<T>,
    buf: *mut T,
    w: usize,
    blk: Operand<'_, T>,
    len: usize,
    kb: usize,
    direct: bool,
    tail: Tail,
) -> Option<(isize, isize)> {
    if direct {
        let full = len / w * w;
        if full < len && tail == Tail::Packed {
            let tail = block(blk, full, 0);
            // SAFETY: rows full..len are valid; the single tail panel is
            // w · kb elements, within buf.
            unsafe { pack(buf, w, tail.ptr, len - full, tail.rows, kb, tail.ks) };
        }
        blk.ks.stride().zip(blk.rows.stride())
    } else {
        // SAFETY: forwarded contract.
        unsafe { pack(buf, w, blk.ptr, len, blk.rows, kb, blk.ks) };
        None
    }
}

/// The micro-panel starting at row `r0` (a multiple of `w`) of a block: in
/// place (full panels of an operand read in place, and its ragged one with
/// [`Tail::InPlace`]), the packed tail, or panel `r0 / w` of the packed
/// block. Returns the pointer, its K stride and its row stride.
#[allow(clippy::too_many_arguments)]
fn panel<T>(
    buf: *const T,
    blk: Operand<'_, T>,
    r0: usize,
    w: usize,
    kb: usize,
    cnt: usize,
    direct: Option<(isize, isize)>,
    tail: Tail,
) -> (*const T, isize, isize) {
    debug_assert_eq!(r0 % w, 0, "panels start at multiples of the width");
    match direct {
        // Only forms an address; the kernel reads valid rows only.
        Some((ks, rs)) if cnt == w || tail == Tail::InPlace => {
            (blk.ptr.wrapping_offset(r0 as isize * rs), ks, rs)
        }
        Some(_) => (buf, w as isize, 1),
        // Panel r0 / w, w · kb elements each (no division per tile).
        None => (buf.wrapping_add(r0 * kb), w as isize, 1),
    }
}

/// `C = alpha · tile + beta · C` for the first `rows × cols` of a column-major
/// tile with leading dimension `ld`, C addressed through two axes.
///
/// # Safety
/// `tile` readable for `ld · cols` elements; `c + cm.off(i) + cn.off(j)` valid
/// for `i < rows`, `j < cols`.
#[allow(clippy::too_many_arguments)]
unsafe fn scatter_tile<T: GemmScalar>(
    tile: *const T,
    ld: usize,
    rows: usize,
    cols: usize,
    alpha: T,
    beta: T,
    c: *mut T,
    cm: Axis<'_>,
    cn: Axis<'_>,
) {
    for j in 0..cols {
        for i in 0..rows {
            // SAFETY: i < rows, j < cols: inside both the tile and C.
            unsafe {
                let v = T::ZERO.madd(alpha, *tile.add(i + j * ld));
                let dst = c.offset(cm.off(i) + cn.off(j));
                *dst = if beta == T::ZERO {
                    v
                } else {
                    v.madd(beta, *dst)
                };
            }
        }
    }
}

/// The micro-kernels' store for a C tile without unit row stride.
///
/// # Safety
/// `tile` readable for `ld · t.cols` elements; the C tile of `t` valid.
pub(crate) unsafe fn store_tile_general<T: GemmScalar>(t: &Tile<T>, tile: *const T, ld: usize) {
    let (cm, cn) = (Axis::Strided(t.rsc), Axis::Strided(t.csc));
    // SAFETY: forwarded contract.
    unsafe { scatter_tile(tile, ld, t.rows, t.cols, t.alpha, t.beta, t.c, cm, cn) };
}

/// `C = beta · C` (zero-filled, without reading, when `beta == 0`).
///
/// # Safety
/// C valid for `i < m`, `j < n`.
unsafe fn scale<T: GemmScalar>(m: usize, n: usize, beta: T, c: Out<'_, T>) {
    for j in 0..n {
        for i in 0..m {
            // SAFETY: i < m, j < n.
            unsafe {
                let dst = c.ptr.offset(c.m.off(i) + c.n.off(j));
                *dst = if beta == T::ZERO {
                    T::ZERO
                } else {
                    T::ZERO.madd(beta, *dst)
                };
            }
        }
    }
}

/// A 64-byte aligned, growable scratch allocation for packed panels.
struct AlignedBuf {
    ptr: *mut u8,
    bytes: usize,
}

impl Default for AlignedBuf {
    fn default() -> Self {
        AlignedBuf {
            ptr: std::ptr::null_mut(),
            bytes: 0,
        }
    }
}

/// Cache-line alignment of packing buffers (one AVX-512 vector).
const ALIGN: usize = 64;

impl AlignedBuf {
    /// A pointer to at least `elems` elements of `T`, growing if needed.
    fn reserve<T>(&mut self, elems: usize) -> *mut T {
        let bytes = (elems * std::mem::size_of::<T>()).max(ALIGN);
        if bytes > self.bytes {
            self.release();
            let layout = Layout::from_size_align(bytes, ALIGN).expect("packing buffer size");
            // SAFETY: layout has non-zero size.
            let ptr = unsafe { alloc(layout) };
            if ptr.is_null() {
                handle_alloc_error(layout);
            }
            (self.ptr, self.bytes) = (ptr, bytes);
        }
        self.ptr as *mut T
    }

    fn release(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: ptr was allocated by `reserve` with exactly this layout.
            unsafe {
                dealloc(
                    self.ptr,
                    Layout::from_size_align_unchecked(self.bytes, ALIGN),
                )
            };
            (self.ptr, self.bytes) = (std::ptr::null_mut(), 0);
        }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        self.release();
    }
}

/// The packing buffers of one thread (taken out while a GEMM runs, so a
/// nested call simply allocates its own).
#[derive(Default)]
struct PackBufs {
    a: AlignedBuf,
    b: AlignedBuf,
}

thread_local! {
    static PACK_BUFS: Cell<PackBufs> = Cell::new(PackBufs::default());
}

/// A batch dimension: present in A, B and C, iterated outside the GEMM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchDim {
    pub len: usize,
    pub stride_a: isize,
    pub stride_b: isize,
    pub stride_c: isize,
}

/// A free dimension of A: present in A and C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MDim {
    pub len: usize,
    pub stride_a: isize,
    pub stride_c: isize,
}

/// A free dimension of B: present in B and C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NDim {
    pub len: usize,
    pub stride_b: isize,
    pub stride_c: isize,
}

/// A summed dimension: present in A and B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KDim {
    pub len: usize,
    pub stride_a: isize,
    pub stride_b: isize,
}

/// A two-operand tensor contraction with grouped dimensions (TBLIS style):
/// `C[batch, m, n] = alpha · Σ_k A[batch, m, k] · B[batch, k, n] + beta · C`,
/// where each of batch, m, n and k is any number of dimensions, each with its
/// own stride in every operand it appears in (strides in elements, any sign).
///
/// The M, N and K groups are flattened into the matrix dimensions of one GEMM
/// per batch index. A group whose strides nest (like the `ab` of `abcd` in C
/// order) becomes a single stride; any other group is addressed through an
/// offset table, and packing gathers through it directly, so no operand is
/// ever transposed or copied into a temporary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contraction {
    pub batch: Vec<BatchDim>,
    pub m: Vec<MDim>,
    pub n: Vec<NDim>,
    pub k: Vec<KDim>,
}

/// One operand's view of a flattened dimension group.
enum GroupAxis {
    Strided(isize),
    Table(Vec<isize>),
}

impl GroupAxis {
    fn axis(&self) -> Axis<'_> {
        match self {
            GroupAxis::Strided(s) => Axis::Strided(*s),
            GroupAxis::Table(t) => Axis::Table(t),
        }
    }
}

/// Flattens a group of `(len, [stride in each operand])` dims into one
/// index, ordered by descending `|stride|` in operand `key` (so the output
/// or the A operand is walked in memory order). Returns the total length
/// and, per operand, a single stride if its strides nest, else a table of
/// offsets.
fn flatten(mut dims: Vec<(usize, Vec<isize>)>, key: usize) -> (usize, Vec<GroupAxis>) {
    dims.retain(|d| d.0 != 1);
    let operands = dims.first().map_or(0, |d| d.1.len());
    if dims.iter().any(|d| d.0 == 0) {
        // An empty group is never walked: no table, whatever the lengths
        // of its other dims (the fuzzers found (0, 2^61) building a table
        // of 2^61 offsets before the empty dim came up).
        return (0, (0..operands).map(|_| GroupAxis::Strided(0)).collect());
    }
    dims.sort_by_key(|d| std::cmp::Reverse(d.1[key].unsigned_abs()));
    // A non-empty group's length is a product of one operand's extents
    // (the rule bounds it), so neither it nor a table of it wraps.
    let len: usize = dims.iter().map(|d| d.0).product();
    let axis = |op: usize| {
        let nests = dims
            .windows(2)
            .all(|w| w[0].1[op] == w[1].0 as isize * w[1].1[op]);
        if nests {
            GroupAxis::Strided(dims.last().map_or(0, |d| d.1[op]))
        } else {
            let mut table = vec![0isize];
            for (l, s) in &dims {
                table = table
                    .iter()
                    .flat_map(|&o| (0..*l).map(move |i| o + i as isize * s[op]))
                    .collect();
            }
            GroupAxis::Table(table)
        }
    };
    (len, (0..operands).map(axis).collect())
}

/// The flattened axes of operand `op` of a group (stride 0 for an empty
/// group, which has length 1).
fn group_axis(axes: &[GroupAxis], op: usize) -> Axis<'_> {
    axes.get(op).map_or(Axis::Strided(0), GroupAxis::axis)
}

impl Contraction {
    /// Runs the contraction with the kernel chosen for this CPU.
    ///
    /// `beta == 0` makes C write-only (old contents never leak); `alpha == 0`
    /// or a zero-length K dimension only scales C. An empty K group means a
    /// single term (an outer product), as in einsum.
    ///
    /// # Safety
    /// For every index of every dimension, the element of A at
    /// `a + Σ idx·stride_a` (over batch, m and k dims), of B at
    /// `b + Σ idx·stride_b` (batch, k, n) must be readable, and of C at
    /// `c + Σ idx·stride_c` (batch, m, n) readable and writable; the C
    /// addresses pairwise distinct and disjoint from A and B.
    pub unsafe fn run<T: GemmScalar>(
        &self,
        alpha: T,
        a: *const T,
        b: *const T,
        beta: T,
        c: *mut T,
    ) {
        let spec = T::select(crate::cpu::isa());
        // SAFETY: forwarded contract.
        unsafe { self.run_with(&spec, alpha, a, b, beta, c, None) };
    }

    /// [`Contraction::run`], then `epilogue` on every element of C: once a
    /// block of C holds its final values, the epilogue's row function runs
    /// over it row by row (see [`Epilogue`]), each element exactly once.
    ///
    /// # Safety
    /// As [`Contraction::run`]; in addition every array input of the
    /// epilogue must be readable at `ptr + Σ idx·stride` (bytes, over the
    /// batch, m and n dims) and not overlap C, and the row function must
    /// read only its inputs and write only `out`, at the indices it is
    /// given.
    pub unsafe fn run_with_epilogue<T: GemmScalar>(
        &self,
        alpha: T,
        a: *const T,
        b: *const T,
        beta: T,
        c: *mut T,
        epilogue: &Epilogue<'_>,
    ) {
        let spec = T::select(crate::cpu::isa());
        // SAFETY: forwarded contract.
        unsafe { self.run_with(&spec, alpha, a, b, beta, c, Some(epilogue)) };
    }

    /// [`Contraction::run`] with an explicit kernel and an optional
    /// epilogue.
    ///
    /// # Safety
    /// As [`Contraction::run_with_epilogue`]; the CPU must support `spec`'s
    /// kernel.
    #[allow(clippy::too_many_arguments)]
    unsafe fn run_with<T: GemmScalar>(
        &self,
        spec: &KernelSpec<T>,
        alpha: T,
        a: *const T,
        b: *const T,
        beta: T,
        c: *mut T,
        epilogue: Option<&Epilogue<'_>>,
    ) {
        if self.batch.iter().any(|d| d.len == 0) {
            return;
        }
        let inputs = epilogue.map_or(&[][..], |e| &e.inputs[..]);
        // Each M and N dim as (len, [A or B, C, every epilogue array input]).
        let extra = |d: usize, pick: fn(&EpilogueInput) -> Option<&Vec<isize>>| {
            inputs.iter().filter_map(pick).map(move |s| s[d])
        };
        let m_dims = (self.m.iter().enumerate())
            .map(|(d, x)| {
                let strides = [x.stride_a, x.stride_c].into_iter();
                (x.len, strides.chain(extra(d, input_m)).collect())
            })
            .collect();
        let n_dims = (self.n.iter().enumerate())
            .map(|(d, x)| {
                let strides = [x.stride_b, x.stride_c].into_iter();
                (x.len, strides.chain(extra(d, input_n)).collect())
            })
            .collect();
        let k_dims = (self.k.iter())
            .map(|x| (x.len, vec![x.stride_a, x.stride_b]))
            .collect();
        let (m, m_axes) = flatten(m_dims, 1);
        let (n, n_axes) = flatten(n_dims, 1);
        let (k, k_axes) = flatten(k_dims, 0);
        let (am, cm) = (group_axis(&m_axes, 0), group_axis(&m_axes, 1));
        let (bn, cn) = (group_axis(&n_axes, 0), group_axis(&n_axes, 1));
        let (ak, bk) = (group_axis(&k_axes, 0), group_axis(&k_axes, 1));
        // The epilogue's array inputs, in order, as axes over the flattened
        // M and N (their batch offsets are added per batch element).
        let mut array = 2;
        let epi_inputs: Vec<EpiIn<'_>> = inputs
            .iter()
            .map(|x| match x {
                EpilogueInput::Output => EpiIn::Output,
                EpilogueInput::Array { ptr, .. } => {
                    array += 1;
                    EpiIn::Array {
                        ptr: *ptr,
                        m: group_axis(&m_axes, array - 1),
                        n: group_axis(&n_axes, array - 1),
                    }
                }
            })
            .collect();
        let batch: Vec<usize> = (0..self.batch.len())
            .filter(|&d| self.batch[d].len != 1)
            .collect();
        let count: usize = batch.iter().map(|&d| self.batch[d].len).product();
        // Offsets of batch element `i` (last batch dim fastest) in A, B, C
        // and the epilogue's array inputs.
        let offsets = |mut i: usize| {
            let (mut oa, mut ob, mut oc) = (0isize, 0isize, 0isize);
            let mut oe = vec![0isize; inputs.len()];
            for &d in batch.iter().rev() {
                let dim = &self.batch[d];
                let x = (i % dim.len) as isize;
                i /= dim.len;
                oa += x * dim.stride_a;
                ob += x * dim.stride_b;
                oc += x * dim.stride_c;
                for (o, e) in oe.iter_mut().zip(inputs) {
                    if let EpilogueInput::Array { batch, .. } = e {
                        *o += x * batch[d];
                    }
                }
            }
            (oa, ob, oc, oe)
        };
        let one = |i: usize, split: bool| {
            let (oa, ob, oc, oe) = offsets(i);
            // Only forms addresses; the GEMM dereferences valid indices only.
            let ao = Operand {
                ptr: a.wrapping_offset(oa),
                rows: am,
                ks: ak,
            };
            let bo = Operand {
                ptr: b.wrapping_offset(ob),
                rows: bn,
                ks: bk,
            };
            let shifted: Vec<EpiIn<'_>> = (epi_inputs.iter().zip(&oe))
                .map(|(x, &o)| match *x {
                    EpiIn::Output => EpiIn::Output,
                    EpiIn::Array { ptr, m, n } => EpiIn::Array {
                        ptr: ptr.wrapping_offset(o),
                        m,
                        n,
                    },
                })
                .collect();
            let co = Out {
                ptr: c.wrapping_offset(oc),
                m: cm,
                n: cn,
                epilogue: epilogue.map(|e| Fused {
                    inputs: &shifted,
                    row: e.row,
                    transposed: false,
                }),
            };
            if split {
                // SAFETY: the batch offsets address one valid batch element;
                // the flattened axes address exactly the group's indices.
                unsafe { gemm_split(spec, m, n, k, alpha, ao, bo, beta, co) };
            } else {
                // SAFETY: as above.
                unsafe { gemm_core(spec, m, n, k, alpha, ao, bo, beta, co) };
            }
        };
        let work = count.saturating_mul(m).saturating_mul(n).saturating_mul(k);
        if count > 1 && rayon::current_num_threads() > 1 && work >= PAR_MIN_WORK {
            // Independent batch elements, one GEMM each, spread over the
            // workers; each element's arithmetic is the same on any thread.
            use rayon::prelude::*;
            let one = Shared(&one);
            (0..count).into_par_iter().for_each(|i| one.get()(i, false));
        } else {
            for i in 0..count {
                one(i, true);
            }
        }
    }
}

//! AVX-512F micro-kernels: `16 × 12` for f64 and `32 × 12` for f32.
//!
//! The tile is two vectors tall (`mr` = 2 · lanes) and 12 columns wide: 24
//! accumulator registers, two for the A column and one broadcast, out of 32.
//! Each K step does 2 vector loads of A, 12 broadcasts of B and 24 FMAs, so
//! the two FMA ports stay busy and the loads fit the load ports with room to
//! spare.
//!
//! Every access to the accumulators is spelled out by macros rather than
//! left to loops over columns: with 24 of the 32 registers taken, LLVM
//! otherwise keeps the accumulator array in memory (its full unroller gives
//! up on the larger loops, and the array is then never split into
//! registers), storing all of them at every K step. `.ci/kernel-registers`
//! checks the built kernels for that.
//!
//! The AVX-512 intrinsics and `#[target_feature(enable = "avx512f")]` are
//! stable since Rust 1.89, above the workspace's declared `rust-version`
//! (1.85): building this crate needs 1.89+, and the workspace MSRV has to be
//! raised accordingly (the lint is allowed here, where the reason is known).
#![allow(clippy::incompatible_msrv)]

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx512F32, Avx512F64};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::super::{store_tile_general, Column, MicroKernel, Tile};

    const NR: usize = 12;

    /// `$m!(j)` for every column `j < NR`, as separate statements.
    macro_rules! each_column {
        ($m:ident) => {
            $m!(0);
            $m!(1);
            $m!(2);
            $m!(3);
            $m!(4);
            $m!(5);
            $m!(6);
            $m!(7);
            $m!(8);
            $m!(9);
            $m!(10);
            $m!(11);
        };
    }

    macro_rules! avx512_kernel {
        (
            $kernel:ident, $inner:ident, $t:ty, $v:ty, $lanes:expr, $mask:ty,
            $setzero:ident, $loadu:ident, $set1:ident, $bcast_op:literal, $fmadd:ident,
            $mul:ident, $maskz_loadu:ident, $mask_storeu:ident, $storeu:ident
        ) => {
            #[doc = concat!("AVX-512F kernel for `", stringify!($t), "`: ")]
            #[doc = concat!("`", stringify!($lanes), " · 2 × 12` tile.")]
            pub(crate) struct $kernel;

            impl MicroKernel for $kernel {
                type Elem = $t;
                const MR: usize = 2 * $lanes;
                const NR: usize = NR;
                const READS_K_CONTIGUOUS_B: bool = true;

                unsafe fn run(t: &Tile<$t>) {
                    // SAFETY: as for run_column, with one tile.
                    unsafe { Self::run_column(t, Column::ONE) }
                }

                unsafe fn run_column(t: &Tile<$t>, col: Column) {
                    // SAFETY: this kernel is only selected when cpu::isa()
                    // reports AVX-512 (or a test checked it); the caller
                    // upholds the column contract, and each instance reads
                    // and stores at most `t.cols` ≤ N columns.
                    unsafe {
                        match t.cols {
                            9.. => $inner::<NR>(t, col),
                            5..=8 => $inner::<8>(t, col),
                            _ => $inner::<4>(t, col),
                        }
                    }
                }
            }

            /// A column of tiles over the first `N` columns of B: the full
            /// tile, or a narrower one for the last, partial panel of N
            /// (e.g. 4 of 12 when N = 64), which would otherwise spend two
            /// thirds of its multiply-adds on zero padding. What the tiles
            /// share (the B case, alpha and beta) is decided once.
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn $inner<const N: usize>(t: &Tile<$t>, col: Column) {
                const L: usize = $lanes;
                let (scaled, read_c) = (t.alpha != 1 as $t, t.beta != 0 as $t);
                for tile in 0..col.count {
                    let (rows, c, mut a) = col.tile(t, tile, 2 * L);
                    let mut b = t.b;
                    let mut acc: [[$v; 2]; N] = [[$setzero(); 2]; N];
                    // One K step: A's two vectors at `$ap`, column j of B
                    // broadcast by `$bcast!(j, $d)`, into every accumulator.
                    macro_rules! k_step {
                        ($ap:expr, $bcast:ident, $d:tt) => {
                            // SAFETY: per the tile contract, 2·L elements at
                            // the A pointer are readable at every K step
                            // below t.k, and so is every column that `$bcast`
                            // reads (j < N columns, clamped to t.cols when B
                            // is read in place and ragged).
                            unsafe {
                                let ap = $ap;
                                let (a0, a1) = ($loadu(ap), $loadu(ap.add(L)));
                                macro_rules! column {
                                    ($j:expr) => {
                                        if $j < N {
                                            let bj = $bcast!($j, $d);
                                            acc[$j][0] = $fmadd(a0, bj, acc[$j][0]);
                                            acc[$j][1] = $fmadd(a1, bj, acc[$j][1]);
                                        }
                                    };
                                }
                                each_column!(column);
                            }
                        };
                    }
                    if t.b_ks == 1 && t.b_js != 1 && t.cols == N {
                        // B in place along K (`bhqd,bhkd->bhqk`, or the left
                        // operand of a product computed as Cᵀ = Bᵀ·Aᵀ), every
                        // column real, `s` bytes apart. Each broadcast is one
                        // `asm!` instruction the compiler cannot move (with
                        // intrinsics, LLVM's scheduler hoisted the next
                        // steps' broadcasts into the current one, ran out of
                        // registers and spilled them) that addresses its
                        // element the way BLIS's kernels do: column 4g + r of
                        // K step d at `[base_g + r·s + d·size]`, with `3s` in
                        // a register for r = 3. So a K step costs no address
                        // arithmetic, and the loop, unrolled by four K steps,
                        // moves three base pointers once per four steps.
                        let s = t.b_js * std::mem::size_of::<$t>() as isize;
                        let s3 = 3 * s;
                        let mut base = [0, 4, 8].map(|j| b.wrapping_offset(j * t.b_js));
                        macro_rules! in_place {
                            ($j:expr, $d:expr) => {{
                                let v: $v;
                                let g = base[$j / 4];
                                const D: usize = $d * std::mem::size_of::<$t>();
                                match $j % 4 {
                                    0 => std::arch::asm!(concat!($bcast_op, " {v}, [{g} + {d}]"), v = out(zmm_reg) v, g = in(reg) g, d = const D, options(readonly, nostack, preserves_flags)),
                                    1 => std::arch::asm!(concat!($bcast_op, " {v}, [{g} + {s} + {d}]"), v = out(zmm_reg) v, g = in(reg) g, s = in(reg) s, d = const D, options(readonly, nostack, preserves_flags)),
                                    2 => std::arch::asm!(concat!($bcast_op, " {v}, [{g} + 2*{s} + {d}]"), v = out(zmm_reg) v, g = in(reg) g, s = in(reg) s, d = const D, options(readonly, nostack, preserves_flags)),
                                    _ => std::arch::asm!(concat!($bcast_op, " {v}, [{g} + {s3} + {d}]"), v = out(zmm_reg) v, g = in(reg) g, s3 = in(reg) s3, d = const D, options(readonly, nostack, preserves_flags)),
                                }
                                v
                            }};
                        }
                        for _ in 0..t.k / 4 {
                            k_step!(a, in_place, 0);
                            k_step!(a.offset(t.a_ks), in_place, 1);
                            k_step!(a.offset(2 * t.a_ks), in_place, 2);
                            k_step!(a.offset(3 * t.a_ks), in_place, 3);
                            // Only forms addresses: the next K steps, or one
                            // past the last.
                            a = a.wrapping_offset(4 * t.a_ks);
                            base = base.map(|p| p.wrapping_add(4));
                        }
                        for _ in 0..t.k % 4 {
                            k_step!(a, in_place, 0);
                            a = a.wrapping_offset(t.a_ks);
                            base = base.map(|p| p.wrapping_add(1));
                        }
                    } else if t.b_ks == 1 && t.b_js != 1 {
                        // A ragged panel (rare: 1–3, 5–7 or 9–11 columns):
                        // column j at `b + off(j)`, the columns past `t.cols`
                        // repeating the last real one (their results are
                        // never stored). Twelve offsets of their own leave no
                        // registers for unrolling.
                        let last = t.cols.max(1) - 1;
                        let off = |j: usize| j.min(last) as isize * t.b_js;
                        macro_rules! ragged {
                            ($j:expr, $d:tt) => {
                                $set1(*b.offset(off($j)))
                            };
                        }
                        for _ in 0..t.k {
                            k_step!(a, ragged, _);
                            a = a.wrapping_offset(t.a_ks);
                            b = b.wrapping_add(1);
                        }
                    } else if t.b_js == 1 && t.b_ks == NR as isize {
                        // Packed B (panels of NR columns): as the in-place
                        // loop, unrolled by four K steps, every broadcast
                        // an `asm!` instruction at a constant displacement
                        // from one pointer. With intrinsics and one step
                        // per iteration, a product with A transposed (whose
                        // B is packed) ran 1.10–1.13× the time of the
                        // contiguous one (matmul f64 512).
                        macro_rules! packed4 {
                            ($j:expr, $d:expr) => {{
                                let v: $v;
                                const D: usize = ($d * NR + $j) * std::mem::size_of::<$t>();
                                std::arch::asm!(concat!($bcast_op, " {v}, [{b} + {d}]"), v = out(zmm_reg) v, b = in(reg) b, d = const D, options(readonly, nostack, preserves_flags));
                                v
                            }};
                        }
                        for _ in 0..t.k / 4 {
                            k_step!(a, packed4, 0);
                            k_step!(a.offset(t.a_ks), packed4, 1);
                            k_step!(a.offset(2 * t.a_ks), packed4, 2);
                            k_step!(a.offset(3 * t.a_ks), packed4, 3);
                            // Only forms addresses: the next K steps, or one
                            // past the last.
                            a = a.wrapping_offset(4 * t.a_ks);
                            b = b.wrapping_add(4 * NR);
                        }
                        for _ in 0..t.k % 4 {
                            k_step!(a, packed4, 0);
                            a = a.wrapping_offset(t.a_ks);
                            b = b.wrapping_add(NR);
                        }
                    } else if t.b_js == 1 {
                        // B read in place with unit-stride columns:
                        // constant displacements.
                        macro_rules! packed {
                            ($j:expr, $d:tt) => {
                                $set1(*b.add($j))
                            };
                        }
                        for _ in 0..t.k {
                            k_step!(a, packed, _);
                            a = a.wrapping_offset(t.a_ks);
                            b = b.wrapping_offset(t.b_ks);
                        }
                    } else {
                        let js = t.b_js;
                        macro_rules! strided {
                            ($j:expr, $d:tt) => {
                                $set1(*b.offset($j as isize * js))
                            };
                        }
                        for _ in 0..t.k {
                            k_step!(a, strided, _);
                            a = a.wrapping_offset(t.a_ks);
                            b = b.wrapping_offset(t.b_ks);
                        }
                    }
                    let (alpha, beta) = ($set1(t.alpha), $set1(t.beta));
                    if t.rsc == 1 {
                        // The row masks of this tile's two vectors (all ones
                        // but in a ragged last tile).
                        let mask = |v: usize| -> $mask {
                            let live = rows.saturating_sub(v * L).min(L);
                            if live == L {
                                !0
                            } else {
                                (1 << live) - 1
                            }
                        };
                        let masks = [mask(0), mask(1)];
                        macro_rules! store {
                            ($j:expr, $h:expr) => {
                                if $j < N && $j < t.cols && masks[$h] != 0 {
                                    // SAFETY: column j < cols and the masked
                                    // lanes are rows below `rows`, all inside
                                    // the C tile; masked-off lanes are
                                    // neither read nor written.
                                    unsafe {
                                        let cp = c.offset($j as isize * t.csc).add($h * L);
                                        let x = acc[$j][$h];
                                        let mut r = if scaled { $mul(x, alpha) } else { x };
                                        if read_c {
                                            r = $fmadd($maskz_loadu(masks[$h], cp), beta, r);
                                        }
                                        $mask_storeu(cp, masks[$h], r);
                                    }
                                }
                            };
                        }
                        macro_rules! store_column {
                            ($j:expr) => {
                                store!($j, 0);
                                store!($j, 1);
                            };
                        }
                        each_column!(store_column);
                    } else {
                        let mut buf = [0 as $t; 2 * L * NR];
                        // SAFETY: acc is 2·L·N ≤ 2·L·NR elements, column-
                        // major, inside buf; unaligned writes are fine.
                        unsafe { (buf.as_mut_ptr() as *mut [[$v; 2]; N]).write_unaligned(acc) };
                        let tile = Tile { c, rows, ..*t };
                        // SAFETY: buf is a column-major 2L × NR tile whose
                        // first cols ≤ N columns are set; the C tile is
                        // valid by the contract.
                        unsafe { store_tile_general(&tile, buf.as_ptr(), 2 * L) };
                    }
                }
            }
        };
    }

    avx512_kernel!(
        Avx512F64,
        kernel_f64,
        f64,
        __m512d,
        8,
        __mmask8,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_set1_pd,
        "vbroadcastsd",
        _mm512_fmadd_pd,
        _mm512_mul_pd,
        _mm512_maskz_loadu_pd,
        _mm512_mask_storeu_pd,
        _mm512_storeu_pd
    );
    avx512_kernel!(
        Avx512F32,
        kernel_f32,
        f32,
        __m512,
        16,
        __mmask16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_set1_ps,
        "vbroadcastss",
        _mm512_fmadd_ps,
        _mm512_mul_ps,
        _mm512_maskz_loadu_ps,
        _mm512_mask_storeu_ps,
        _mm512_storeu_ps
    );
}

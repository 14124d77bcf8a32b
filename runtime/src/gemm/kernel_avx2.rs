//! AVX2 + FMA micro-kernels: `8 × 6` for f64 and `16 × 6` for f32.
//!
//! Two vectors tall and 6 columns wide: 12 accumulators, two A registers and
//! one broadcast out of the 16 ymm registers (the Haswell shape BLIS uses).

#[cfg(target_arch = "x86_64")]
pub(crate) use x86::{Avx2F32, Avx2F64};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::super::{store_tile_general, Column, MicroKernel, Tile};

    const NR: usize = 6;

    macro_rules! avx2_kernel {
        (
            $kernel:ident, $inner:ident, $t:ty, $v:ty, $lanes:expr, $int:ty,
            $setzero:ident, $loadu:ident, $set1:ident, $fmadd:ident, $mul:ident,
            $maskload:ident, $maskstore:ident, $storeu:ident
        ) => {
            #[doc = concat!("AVX2+FMA kernel for `", stringify!($t), "`: ")]
            #[doc = concat!("`", stringify!($lanes), " · 2 × 6` tile.")]
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
                    // reports AVX2+FMA or better; the caller upholds the
                    // column contract, and each instance reads and stores
                    // at most `t.cols` ≤ N columns.
                    unsafe {
                        if t.cols > 4 {
                            $inner::<NR>(t, col)
                        } else {
                            $inner::<4>(t, col)
                        }
                    }
                }
            }

            /// A column of tiles over the first `N` columns of B: the full
            /// tile, or a narrower one for a panel of at most 4 columns (the
            /// last of 64 or 128), which would otherwise spend a third of its
            /// multiply-adds on columns that are never stored. (Fewer than 4
            /// would gain nothing: 8 accumulators are what keeps both FMA
            /// pipes busy through their latency.)
            ///
            /// What the tiles share (the B case, its column offsets, alpha
            /// and beta) is decided once per column.
            #[target_feature(enable = "avx2,fma")]
            unsafe fn $inner<const N: usize>(t: &Tile<$t>, col: Column) {
                const L: usize = $lanes;
                // B read in place along K (`bhqd,bhkd->bhqk`, or the left
                // operand of a product computed as Cᵀ = Bᵀ·Aᵀ): its columns
                // as two bases, so every broadcast is `base + offset`, an
                // addressing mode, and a K step advances two pointers. A
                // ragged panel is read in place too: columns past `t.cols`
                // repeat the last real one, and their results are never
                // stored.
                let last = t.cols.max(1) - 1;
                let off = |j: usize| j.min(last) as isize * t.b_js;
                let (o1, o2, o3) = (off(1), off(2), off(3));
                let (o4, o5) = (off(4) - o3, off(5) - o3);
                let (scaled, read_c) = (t.alpha != 1 as $t, t.beta != 0 as $t);
                for tile in 0..col.count {
                    let (rows, c, mut a) = col.tile(t, tile, 2 * L);
                    let mut b = t.b;
                    let mut acc: [[$v; 2]; N] = [[$setzero(); 2]; N];
                    if t.b_js == 1 {
                        // Packed B: columns adjacent, constant displacements.
                        broadcast_k_loop!(t, a, b, acc, N, L, 1, $loadu, $set1, $fmadd);
                    } else if t.b_ks == 1 {
                        let mut b3 = b.wrapping_offset(o3);
                        // One K step `$d` past the current pointers. Unrolled
                        // by four: bmm 64³ (k = 64 per call) 2–10% faster,
                        // f32 1024³ and tensor4 2–4% at the median under a
                        // memory load on the other core, alternating in one
                        // process.
                        macro_rules! in_place_step {
                            ($d:expr) => {
                                // SAFETY: as in `broadcast_k_loop`, for
                                // columns below t.cols (b3 is column min(3,
                                // last)) and K step $d ahead, still below
                                // t.k: every offset names a real column, and
                                // 2·L elements at a are readable at every K
                                // step.
                                unsafe {
                                    let ad = a.offset($d * t.a_ks);
                                    let (a0, a1) = ($loadu(ad), $loadu(ad.add(L)));
                                    // B's six columns at this K step
                                    // (those past N are dead loads, never
                                    // made).
                                    let bk = [
                                        *b.add($d),
                                        *b.offset(o1).add($d),
                                        *b.offset(o2).add($d),
                                        *b3.add($d),
                                        *b3.offset(o4).add($d),
                                        *b3.offset(o5).add($d),
                                    ];
                                    for j in 0..N {
                                        let bj = $set1(bk[j]);
                                        acc[j][0] = $fmadd(a0, bj, acc[j][0]);
                                        acc[j][1] = $fmadd(a1, bj, acc[j][1]);
                                    }
                                }
                            };
                        }
                        for _ in 0..t.k / 4 {
                            in_place_step!(0);
                            in_place_step!(1);
                            in_place_step!(2);
                            in_place_step!(3);
                            // Only forms addresses: the next K steps, or one
                            // past the last.
                            a = a.wrapping_offset(4 * t.a_ks);
                            b = b.wrapping_add(4);
                            b3 = b3.wrapping_add(4);
                        }
                        for _ in 0..t.k % 4 {
                            in_place_step!(0);
                            a = a.wrapping_offset(t.a_ks);
                            b = b.wrapping_add(1);
                            b3 = b3.wrapping_add(1);
                        }
                    } else {
                        broadcast_k_loop!(t, a, b, acc, N, L, t.b_js, $loadu, $set1, $fmadd);
                    }
                    // Broadcast here, not once per column: live across the
                    // K loop, the two registers would push accumulators out
                    // of the 16.
                    let (alpha, beta) = ($set1(t.alpha), $set1(t.beta));
                    if t.rsc == 1 && rows == 2 * L {
                        // A full-height tile: plain stores. (AMD cores run
                        // vmaskmov stores as slow microcode, which costs a
                        // k = 64 product a third of its time.)
                        // Loops of constant length, fully unrolled: with a
                        // `break` at `t.cols` (or one here bounded by it),
                        // LLVM kept the accumulators in memory, stored at
                        // every K step.
                        for j in 0..N {
                            for v in 0..2 {
                                if j >= t.cols {
                                    continue;
                                }
                                let x = acc[j][v];
                                // SAFETY: column j < cols and rows v·L..v·L
                                // + L < rows are inside the C tile.
                                unsafe {
                                    let cp = c.offset(j as isize * t.csc).add(v * L);
                                    let mut r = if scaled { $mul(x, alpha) } else { x };
                                    if read_c {
                                        r = $fmadd($loadu(cp), beta, r);
                                    }
                                    $storeu(cp, r);
                                }
                            }
                        }
                    } else if t.rsc == 1 {
                        let mut masks = [_mm256_setzero_si256(); 2];
                        for (v, m) in masks.iter_mut().enumerate() {
                            let lanes: [$int; L] =
                                std::array::from_fn(|i| if v * L + i < rows { -1 } else { 0 });
                            // SAFETY: lanes is L integers = 32 bytes, one ymm.
                            *m = unsafe { _mm256_loadu_si256(lanes.as_ptr() as *const __m256i) };
                        }
                        for j in 0..N {
                            for v in 0..2 {
                                if j >= t.cols || v * L >= rows {
                                    continue;
                                }
                                let x = acc[j][v];
                                // SAFETY: column j < cols; only lanes for
                                // rows below `rows` are enabled, so every
                                // touched element is inside the C tile
                                // (maskload/maskstore never access disabled
                                // lanes).
                                unsafe {
                                    let cp = c.offset(j as isize * t.csc).add(v * L);
                                    // Always scaled: skipping the multiply
                                    // here too, when alpha is 1, made LLVM
                                    // keep the accumulators in memory
                                    // (matmul f64 512 ran 3× slower;
                                    // .ci/kernel-registers now checks).
                                    let mut r = $mul(x, alpha);
                                    if read_c {
                                        r = $fmadd($maskload(cp, masks[v]), beta, r);
                                    }
                                    $maskstore(cp, masks[v], r);
                                }
                            }
                        }
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

    avx2_kernel!(
        Avx2F64,
        kernel_f64,
        f64,
        __m256d,
        4,
        i64,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_set1_pd,
        _mm256_fmadd_pd,
        _mm256_mul_pd,
        _mm256_maskload_pd,
        _mm256_maskstore_pd,
        _mm256_storeu_pd
    );
    avx2_kernel!(
        Avx2F32,
        kernel_f32,
        f32,
        __m256,
        8,
        i32,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        _mm256_mul_ps,
        _mm256_maskload_ps,
        _mm256_maskstore_ps,
        _mm256_storeu_ps
    );
}

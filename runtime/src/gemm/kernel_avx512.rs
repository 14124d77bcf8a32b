//! AVX-512F micro-kernels: `16 × 12` for f64 and `32 × 12` for f32.
//!
//! The tile is two vectors tall (`mr` = 2 · lanes) and 12 columns wide: 24
//! accumulator registers, two for the A column and one broadcast, out of 32.
//! Each K step does 2 vector loads of A, 12 broadcasts of B (folded into the
//! FMA as `{1toN}` memory operands) and 24 FMAs, so the two FMA ports stay busy
//! and the loads fit the load ports with room to spare.
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

    use super::super::{store_tile_general, MicroKernel, Tile};

    const NR: usize = 12;

    macro_rules! avx512_kernel {
        (
            $kernel:ident, $inner:ident, $t:ty, $v:ty, $lanes:expr, $mask:ty,
            $setzero:ident, $loadu:ident, $set1:ident, $fmadd:ident, $mul:ident,
            $maskz_loadu:ident, $mask_storeu:ident, $storeu:ident
        ) => {
            #[doc = concat!("AVX-512F kernel for `", stringify!($t), "`: ")]
            #[doc = concat!("`", stringify!($lanes), " · 2 × 12` tile.")]
            pub(crate) struct $kernel;

            impl MicroKernel for $kernel {
                type Elem = $t;
                const MR: usize = 2 * $lanes;
                const NR: usize = NR;

                unsafe fn run(t: &Tile<$t>) {
                    // SAFETY: this kernel is only selected when cpu::isa()
                    // reports AVX-512 (or a test checked it); the caller
                    // upholds the tile contract, and each instance reads
                    // and stores at most `t.cols` ≤ N columns.
                    unsafe {
                        match t.cols {
                            9.. => $inner::<NR>(t),
                            5..=8 => $inner::<8>(t),
                            _ => $inner::<4>(t),
                        }
                    }
                }
            }

            /// The tile kernel over the first `N` columns: the full tile,
            /// or a narrower one for the last, partial panel of N (e.g. 4
            /// of 12 when N = 64), which would otherwise spend two thirds
            /// of its multiply-adds on zero padding.
            #[target_feature(enable = "avx512f,fma")]
            unsafe fn $inner<const N: usize>(t: &Tile<$t>) {
                const L: usize = $lanes;
                let mut acc: [[$v; 2]; N] = [[$setzero(); 2]; N];
                let (mut a, mut b) = (t.a, t.b);
                if t.rsc == 1 {
                    // Start fetching the C tile now, so the store at the end
                    // does not wait on memory (prefetches never fault).
                    for j in 0..t.cols {
                        let cp = t.c.wrapping_offset(j as isize * t.csc);
                        _mm_prefetch::<_MM_HINT_T0>(cp as *const i8);
                        _mm_prefetch::<_MM_HINT_T0>(cp.wrapping_add(2 * L - 1) as *const i8);
                    }
                }
                if t.b_js == 1 {
                    // Packed B: columns adjacent, constant displacements.
                    broadcast_k_loop!(t, a, b, acc, N, L, 1, $loadu, $set1, $fmadd);
                } else {
                    broadcast_k_loop!(t, a, b, acc, N, L, t.b_js, $loadu, $set1, $fmadd);
                }
                let alpha = $set1(t.alpha);
                if t.rsc == 1 {
                    let beta = $set1(t.beta);
                    let read_c = t.beta != 0 as $t;
                    for (j, col) in acc.iter().enumerate().take(t.cols) {
                        for (v, &x) in col.iter().enumerate() {
                            let rows = t.rows.saturating_sub(v * L).min(L);
                            if rows == 0 {
                                break;
                            }
                            let mask: $mask = if rows == L { !0 } else { (1 << rows) - 1 };
                            // SAFETY: column j < cols and the masked lanes are
                            // rows < t.rows, all inside the C tile; masked-off
                            // lanes are neither read nor written.
                            unsafe {
                                let cp = t.c.offset(j as isize * t.csc).add(v * L);
                                let mut r = $mul(x, alpha);
                                if read_c {
                                    r = $fmadd($maskz_loadu(mask, cp), beta, r);
                                }
                                $mask_storeu(cp, mask, r);
                            }
                        }
                    }
                } else {
                    let mut buf = [0 as $t; 2 * L * NR];
                    // Columns N.. of buf stay zero; only t.cols ≤ N are stored.
                    for (j, col) in acc.iter().enumerate() {
                        for (v, &x) in col.iter().enumerate() {
                            // SAFETY: (j·2 + v)·L + L ≤ 2·L·NR, inside buf.
                            unsafe { $storeu(buf.as_mut_ptr().add((2 * j + v) * L), x) };
                        }
                    }
                    // SAFETY: buf is a column-major 2L × NR tile; the C tile is
                    // valid by the contract.
                    unsafe { store_tile_general(t, buf.as_ptr(), 2 * L) };
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
        _mm512_fmadd_ps,
        _mm512_mul_ps,
        _mm512_maskz_loadu_ps,
        _mm512_mask_storeu_ps,
        _mm512_storeu_ps
    );
}

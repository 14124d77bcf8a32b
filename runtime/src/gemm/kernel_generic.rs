//! The portable micro-kernel: plain Rust over a `4 × 4` accumulator tile.
//!
//! Used for `i32`/`i64` on every CPU (wrapping arithmetic) and for floats when
//! no AVX2+FMA is available (`EINKERN_ISA=baseline`, or not x86-64). It keeps
//! the full kernel contract, so the loop nest and packing are the same on every
//! path.

use std::marker::PhantomData;

use super::{store_tile_general, GemmScalar, MicroKernel, Tile};

/// The portable kernel for element type `T`.
pub(crate) struct GenericKernel<T>(PhantomData<T>);

const MR: usize = 4;
const NR: usize = 4;

impl<T: GemmScalar> MicroKernel for GenericKernel<T> {
    type Elem = T;
    const MR: usize = MR;
    const NR: usize = NR;

    unsafe fn run(t: &Tile<T>) {
        let mut acc = [[T::ZERO; MR]; NR];
        let (mut a, mut b) = (t.a, t.b);
        for _ in 0..t.k {
            // SAFETY: by the kernel contract a points at MR readable elements
            // at each of the k steps.
            let av = unsafe { *(a as *const [T; MR]) };
            // SAFETY: column j < NR of B at this K step is readable.
            let bv: [T; NR] = std::array::from_fn(|j| unsafe { *b.offset(j as isize * t.b_js) });
            for j in 0..NR {
                for i in 0..MR {
                    acc[j][i] = acc[j][i].madd(av[i], bv[j]);
                }
            }
            // Wrapping, as the SIMD kernels: after the last K step the
            // pointers point one step past the panels (further than one
            // past their end when B is read in place with a large K
            // stride), which `offset` would make UB even though they are
            // never read; they are only dereferenced at the k steps the
            // contract makes readable.
            a = a.wrapping_offset(t.a_ks);
            b = b.wrapping_offset(t.b_ks);
        }
        // SAFETY: the column-major MR × NR tile is a local array; the contract
        // makes the C tile's rows × cols valid.
        unsafe { store_tile_general(t, acc.as_ptr() as *const T, MR) };
    }
}

//! Packing the inputs of a short reduction that every outer index reads
//! alike.
//!
//! An [interchanged](super::Loops::interchanged) nest visits every (kept,
//! reduced) pair once per outer index. An input whose strides on all outer
//! axes are 0 reads the same elements at every outer index: `Q[None, :, :]`
//! in pairwise distances `sqrt(sum((P[:, None, :] - Q[None, :, :])**2, -1))`
//! is read 2000 times over. When that input's stride along the kept axis is
//! neither 0 nor its element size, each of those reads is a gather, and the
//! tile functions (which need operands contiguous or broadcast along the
//! tile) cannot keep their accumulators in registers. Such an input is
//! copied once per run into `[reduced][kept]` order, contiguous along the
//! tile, and the walk reads the copy instead.

use super::nest::Loops;

/// Inputs larger than this (bytes) are left in place: the copy would fall
/// out of the caches it is meant to be read from.
const MAX_PACKED: usize = 1 << 20;

/// A nest with some inputs replaced by packed copies.
pub(super) struct Packed {
    pub loops: Loops,
    pub ins: Vec<*const u8>,
    /// The copies the pointers in `ins` point into (`u64` for alignment).
    _copies: Vec<Vec<u64>>,
}

impl Packed {
    /// Packs every input of the interchanged `loops` that qualifies (see the
    /// module docs), or returns `None` when none does. `sizes[k]` is input
    /// `k`'s element size in bytes.
    ///
    /// # Safety
    /// `ins` must satisfy [`Loops::run`]'s contract for `loops`.
    pub unsafe fn new(loops: &Loops, ins: &[*const u8], sizes: &[usize]) -> Option<Packed> {
        let shape = loops.shape();
        let nd = shape.len();
        debug_assert!(loops.interchanged(), "only an interchanged nest has tiles");
        let (kept, reduced) = (shape[nd - 2], shape[nd - 1]);
        let mut packed = Packed {
            loops: loops.clone(),
            ins: ins.to_vec(),
            _copies: Vec::new(),
        };
        for (k, &size) in sizes.iter().enumerate() {
            let s = loops.in_strides(k);
            let invariant = s[..nd - 2].iter().all(|&x| x == 0);
            let gathered = s[nd - 2] != 0 && s[nd - 2] != size as isize;
            let bytes = kept * reduced * size;
            if !(invariant && gathered && bytes <= MAX_PACKED) {
                continue;
            }
            let mut copy = vec![0u64; bytes.div_ceil(8)];
            let dst = copy.as_mut_ptr() as *mut u8;
            for r in 0..reduced {
                for j in 0..kept {
                    let off = (j as isize) * s[nd - 2] + (r as isize) * s[nd - 1];
                    // SAFETY: `(j, r)` with outer indices 0 is an index of
                    // the nest, so the caller vouches for reading `size`
                    // bytes at this offset; `copy` holds `bytes` bytes.
                    unsafe {
                        std::ptr::copy_nonoverlapping(
                            ins[k].offset(off),
                            dst.add((r * kept + j) * size),
                            size,
                        )
                    };
                }
            }
            let mut strides = vec![0; nd];
            strides[nd - 2] = size as isize;
            strides[nd - 1] = (kept * size) as isize;
            packed.loops.set_in_strides(k, strides);
            packed.ins[k] = dst;
            packed._copies.push(copy);
        }
        (!packed._copies.is_empty()).then_some(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invariant_gathered_input_is_copied_reduced_major() {
        // out[i, j] over r of x[i, r] and q[j, r]: q is 5 x 3, read at
        // stride 24 along the kept axis j and 0 along the outer axis i.
        let q: Vec<f64> = (0..15).map(|v| v as f64).collect();
        let x = [0.0f64; 12];
        let loops = Loops::new(&[4, 5, 3], &[40, 8, 0], &[&[24, 0, 8], &[0, 24, 8]]);
        assert!(loops.interchanged());
        let ins = [x.as_ptr() as *const u8, q.as_ptr() as *const u8];
        // SAFETY: both inputs cover every index at these strides.
        let p = unsafe { Packed::new(&loops, &ins, &[8, 8]) }.expect("q qualifies");
        assert_eq!(p.ins[0], ins[0], "x varies along the outer axis");
        assert_eq!(p.loops.in_strides(0), loops.in_strides(0));
        assert_eq!(p.loops.in_strides(1), &[0, 8, 40]);
        // SAFETY: the copy holds 15 f64.
        let copy = unsafe { std::slice::from_raw_parts(p.ins[1] as *const f64, 15) };
        for r in 0..3 {
            for j in 0..5 {
                assert_eq!(copy[r * 5 + j], q[j * 3 + r]);
            }
        }
    }

    #[test]
    fn contiguous_broadcast_or_varying_inputs_stay() {
        let a = [0.0f32; 64];
        // Varying along the outer axis, contiguous along the kept axis,
        // broadcast along it: nothing to pack.
        let loops = Loops::new(
            &[2, 8, 4],
            &[32, 4, 0],
            &[&[96, 12, 4], &[0, 4, 32], &[0, 0, 4]],
        );
        assert!(loops.interchanged());
        let ins = [a.as_ptr() as *const u8; 3];
        // SAFETY: never read: nothing qualifies.
        assert!(unsafe { Packed::new(&loops, &ins, &[4, 4, 4]) }.is_none());
    }
}

//! Splitting a loop nest across rayon threads.

use rayon::prelude::*;

use super::nest::{run_serial, Extra, Loops};

/// Whether a run may use several threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallel {
    /// Always on the calling thread.
    Serial,
    /// Split across rayon's pool when the nest visits at least this many
    /// elements (and the pool has more than one thread).
    Above(usize),
}

impl Parallel {
    /// Elements below which a memory-bound elementwise pass is not worth
    /// waking other threads for (about 1 MB of f64 traffic per operand).
    pub const DEFAULT_MIN_ELEMENTS: usize = 1 << 17;

    /// The default policy: [`Parallel::Above`] with
    /// [`Parallel::DEFAULT_MIN_ELEMENTS`].
    pub fn auto() -> Parallel {
        Parallel::Above(Self::DEFAULT_MIN_ELEMENTS)
    }
}

/// Raw pointers handed to worker threads.
struct Shared<'a> {
    out: *mut u8,
    ins: &'a [*const u8],
}

// SAFETY: the workers write disjoint output elements (the split axis has a
// non-zero output stride and is cut into disjoint ranges) and only read
// inputs; the caller of `Loops::run` guarantees every address is valid for
// the whole call, which outlives the workers (rayon joins before returning).
unsafe impl Send for Shared<'_> {}
// SAFETY: as above.
unsafe impl Sync for Shared<'_> {}

impl Shared<'_> {
    /// Read through a method so closures capture the whole (Sync) struct,
    /// not its raw-pointer fields.
    fn get(&self) -> (*mut u8, &[*const u8]) {
        (self.out, self.ins)
    }
}

/// Runs `loops`, split along one axis if `parallel` asks for it.
///
/// # Safety
/// As [`Loops::run`].
pub(super) unsafe fn run<F>(
    loops: &Loops,
    out: *mut u8,
    ins: &[*const u8],
    parallel: Parallel,
    row: &F,
    extra: Extra<'_>,
) where
    F: Fn(usize, &[*const u8], &[isize], *mut u8, isize) + Sync,
{
    let shape = loops.shape();
    let strides = loops.strides();
    let threads = rayon::current_num_threads();
    let wanted = match parallel {
        Parallel::Above(min) => threads > 1 && loops.len() >= min,
        Parallel::Serial => false,
    };
    // The outermost axis the output does not accumulate along (stride 0
    // would make two threads update the same element).
    let axis = (0..shape.len()).find(|&k| strides[0][k] != 0 && shape[k] > 1);
    let (true, Some(axis)) = (wanted, axis) else {
        // SAFETY: the caller's contract.
        unsafe { run_serial(shape, strides, out, ins, row, extra) };
        return;
    };
    let n = shape[axis];
    let chunks = n.min(threads * 4);
    let shared = Shared { out, ins };
    (0..chunks).into_par_iter().for_each(|c| {
        let (lo, hi) = (n * c / chunks, n * (c + 1) / chunks);
        let mut sub = shape.to_vec();
        sub[axis] = hi - lo;
        let at = |p: isize| (lo as isize).wrapping_mul(p);
        let (out, ins) = shared.get();
        let out = out.wrapping_offset(at(strides[0][axis]));
        let ins: Vec<*const u8> = ins
            .iter()
            .zip(&strides[1..])
            .map(|(p, s)| p.wrapping_offset(at(s[axis])))
            .collect();
        // SAFETY: indices `lo..hi` along `axis` are a subset of the nest's
        // indices, so every address stays within what the caller allowed;
        // the ranges of different chunks are disjoint.
        unsafe { run_serial(&sub, strides, out, &ins, row, extra) };
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Adds two strided f64 inputs into the output, the way a generated
    /// row function does.
    fn add_row(len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize) {
        for i in 0..len as isize {
            // SAFETY: the driver passes rows inside the test's buffers.
            unsafe {
                let a = *(ins[0].offset(i * st[0]) as *const f64);
                let b = *(ins[1].offset(i * st[1]) as *const f64);
                *(out.offset(i * os) as *mut f64) = a + b;
            }
        }
    }

    #[test]
    fn parallel_and_serial_runs_agree_with_broadcasting() {
        let (r, c) = (301, 257);
        let a: Vec<f64> = (0..r * c).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..c).map(|j| 1000.0 * j as f64).collect();
        for parallel in [Parallel::Serial, Parallel::Above(1)] {
            let mut out = vec![0.0f64; r * c];
            // Output in F order, `a` read transposed-in-memory as C order.
            let loops = Loops::new(
                &[r, c],
                &[8, 8 * r as isize],
                &[&[8 * c as isize, 8], &[0, 8]],
            );
            // SAFETY: the strides address `r * c` elements of `out` and `a`
            // and `c` elements of `b`.
            unsafe {
                loops.run(
                    out.as_mut_ptr() as *mut u8,
                    &[a.as_ptr() as *const u8, b.as_ptr() as *const u8],
                    parallel,
                    &add_row,
                )
            };
            for i in 0..r {
                for j in 0..c {
                    assert_eq!(out[i + j * r], a[i * c + j] + b[j]);
                }
            }
        }
    }

    #[test]
    fn negative_strides_and_reduced_axes_never_split() {
        // out[j] += x[i, j] over a reversed input, axis 0 reduced.
        let (r, c) = (40, 9);
        let x: Vec<f64> = (0..r * c).map(|i| (i % 13) as f64).collect();
        let mut out = vec![0.0f64; c];
        let loops = Loops::new(&[r, c], &[0, 8], &[&[-8 * c as isize, -8]]);
        // From the whole vector, so the pointer may step back over it.
        let last = x.as_ptr().wrapping_add(r * c - 1) as *const u8;
        let acc = |len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| {
            for i in 0..len as isize {
                // SAFETY: as above; `os` is the kept axis' stride.
                unsafe {
                    *(out.offset(i * os) as *mut f64) += *(ins[0].offset(i * st[0]) as *const f64)
                };
            }
        };
        // SAFETY: from the last element, strides -8c and -8 stay inside `x`.
        unsafe {
            loops.run(
                out.as_mut_ptr() as *mut u8,
                &[last],
                Parallel::Above(1),
                &acc,
            )
        };
        for (j, &o) in out.iter().enumerate() {
            let want: f64 = (0..r).map(|i| x[i * c + (c - 1 - j)]).sum();
            assert_eq!(o, want);
        }
    }

    #[test]
    fn short_reduced_rows_are_interchanged_and_still_accumulate_everything() {
        // out[i] = sum_k x[i + k] over windows of 5 (a rolling sum), 1300
        // outputs: more than two tiles.
        // Two whole tiles and a partial one.
        let n = 2 * super::super::nest::TILE + 276;
        let x: Vec<f64> = (0..n + 4).map(|i| ((i * 7) % 11) as f64).collect();
        let mut out = vec![0.0f64; n];
        let loops = Loops::new(&[n, 5], &[8, 0], &[&[8, 8]]);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let acc = |len: usize, ins: &[*const u8], st: &[isize], out: *mut u8, os: isize| {
            calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert_ne!(os, 0, "rows run along the kept axis");
            for i in 0..len as isize {
                // SAFETY: the driver passes rows inside `x` and `out`.
                unsafe {
                    *(out.offset(i * os) as *mut f64) += *(ins[0].offset(i * st[0]) as *const f64)
                };
            }
        };
        // SAFETY: windows of 5 over n + 4 elements.
        unsafe {
            loops.run(
                out.as_mut_ptr() as *mut u8,
                &[x.as_ptr() as *const u8],
                Parallel::Serial,
                &acc,
            )
        };
        assert_eq!(calls.into_inner(), 3 * 5);
        for (i, &o) in out.iter().enumerate() {
            assert_eq!(o, x[i..i + 5].iter().sum::<f64>());
        }
    }
}

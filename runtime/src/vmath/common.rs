//! Branch-free building blocks shared by every vmath function: the
//! multiply-add policy, selects, rounding by the 1.5·2⁵² shift, polynomial
//! evaluation and error-free transformations (two-sum, two-product).

/// How `a * b + c` is evaluated inside the math functions.
///
/// A generated kernel picks the implementation that matches the target
/// features of the function it is compiled in: [`Fused`] inside functions
/// compiled with `fma` (AVX2+FMA, AVX-512), [`Unfused`] for baseline x86-64,
/// where `f64::mul_add` would become a call to the C library's `fma` (slow,
/// and it blocks vectorisation). Every function meets the same accuracy bound
/// with either policy; the algorithms never rely on an FMA for exactness.
pub trait MulAdd: Copy + 'static {
    /// `a * b + c`, fused (one rounding) or not (two roundings).
    fn mul_add(a: f64, b: f64, c: f64) -> f64;
    /// The exact product `a * b` as `(p, e)` with `p = fl(a * b)` and
    /// `p + e == a * b` exactly (barring overflow and underflow).
    fn two_prod(a: f64, b: f64) -> (f64, f64);
    /// `a * b + c` in single precision (native f32 kernels).
    fn mul_add_f32(a: f32, b: f32, c: f32) -> f32;
}

/// Fused multiply-add: for code compiled with `#[target_feature(enable = "fma")]`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fused;

/// Separate multiply and add: for baseline (SSE2) code.
#[derive(Clone, Copy, Debug, Default)]
pub struct Unfused;

impl MulAdd for Fused {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a.mul_add(b, c)
    }
    #[inline(always)]
    fn two_prod(a: f64, b: f64) -> (f64, f64) {
        let p = a * b;
        (p, a.mul_add(b, -p))
    }
    #[inline(always)]
    fn mul_add_f32(a: f32, b: f32, c: f32) -> f32 {
        a.mul_add(b, c)
    }
}

impl MulAdd for Unfused {
    #[inline(always)]
    fn mul_add(a: f64, b: f64, c: f64) -> f64 {
        a * b + c
    }
    #[inline(always)]
    fn two_prod(a: f64, b: f64) -> (f64, f64) {
        // Dekker's product with Veltkamp's splitting into 26-bit halves.
        let (ah, al) = split(a);
        let (bh, bl) = split(b);
        let p = a * b;
        (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
    }
    #[inline(always)]
    fn mul_add_f32(a: f32, b: f32, c: f32) -> f32 {
        a * b + c
    }
}

/// Veltkamp split of `a` (|a| < 2⁹⁹⁵) into two halves of at most 26 bits.
#[inline(always)]
fn split(a: f64) -> (f64, f64) {
    let t = 134_217_729.0 * a; // 2^27 + 1
    let hi = t - (t - a);
    (hi, a - hi)
}

/// `if c { a } else { b }`, written so that LLVM emits a blend, not a branch.
#[inline(always)]
pub(crate) fn sel(c: bool, a: f64, b: f64) -> f64 {
    if c {
        a
    } else {
        b
    }
}

/// 1.5·2⁵²: adding and subtracting it rounds |x| < 2⁵¹ to the nearest
/// integer, and the low bits of `x + SHIFT` hold that integer.
pub(crate) const SHIFT: f64 = 6_755_399_441_055_744.0;

/// Round to nearest (ties to even) for |x| < 2⁵¹.
#[inline(always)]
pub(crate) fn round_int(x: f64) -> f64 {
    (x + SHIFT) - SHIFT
}

/// Exact conversion of a small integer (|i| < 2⁵¹) to `f64` through the
/// shift constant: vectorises on AVX2, which has no 64-bit int→float.
#[inline(always)]
pub(crate) fn i64_to_f64(i: i64) -> f64 {
    f64::from_bits(SHIFT.to_bits().wrapping_add(i as u64)) - SHIFT
}

/// 2^k for -1022 ≤ k ≤ 1023, built from the exponent bits.
#[inline(always)]
pub(crate) fn pow2i(k: i64) -> f64 {
    f64::from_bits((k.wrapping_add(1023) as u64) << 52)
}

/// Horner evaluation of `c[0] + c[1] x + … + c[N-1] x^(N-1)`.
#[inline(always)]
pub(crate) fn poly<M: MulAdd, const N: usize>(x: f64, c: &[f64; N]) -> f64 {
    let mut acc = c[N - 1];
    let mut i = N - 1;
    while i > 0 {
        i -= 1;
        acc = M::mul_add(acc, x, c[i]);
    }
    acc
}

/// Horner evaluation in single precision.
#[inline(always)]
pub(crate) fn poly_f32<M: MulAdd, const N: usize>(x: f32, c: &[f32; N]) -> f32 {
    let mut acc = c[N - 1];
    let mut i = N - 1;
    while i > 0 {
        i -= 1;
        acc = M::mul_add_f32(acc, x, c[i]);
    }
    acc
}

/// `if c { a } else { b }` for f32.
#[inline(always)]
pub(crate) fn sel_f32(c: bool, a: f32, b: f32) -> f32 {
    if c {
        a
    } else {
        b
    }
}

/// Knuth's two-sum: `s + e == a + b` exactly.
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Dekker's fast two-sum, exact when |a| ≥ |b| (or a = 0).
#[inline(always)]
pub(crate) fn fast_two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    (s, b - (s - a))
}

/// `|x|` with the sign bit of `s`.
#[inline(always)]
pub(crate) fn copysign(x: f64, s: f64) -> f64 {
    f64::from_bits((x.to_bits() & !(1 << 63)) | (s.to_bits() & (1 << 63)))
}

//! `exp` and `expm1`.
//!
//! Reduction (Cody–Waite): `x = k·ln2 + r`, |r| ≤ ln2/2, with `k` obtained
//! by the 1.5·2⁵² shift and `ln2 = LN2_HI + LN2_LO`, where `LN2_HI` has 32
//! significant bits so that `k·LN2_HI` and `x - k·LN2_HI` are exact for every
//! |k| ≤ 1100. The polynomial is `eʳ ≈ 1 + r + r²·Q(r)` with `Q` of degree 10,
//! a near-minimax fit (weighted least squares on Chebyshev nodes, computed
//! with mpmath at 110 digits) whose total relative error on the interval is
//! 2⁻⁶¹. The scale 2ᵏ is applied as two multiplications by 2^⌊k/2⌋ and
//! 2^(k-⌊k/2⌋), both normal numbers, so results that overflow or become
//! subnormal are rounded once, by the last multiplication, exactly at the
//! IEEE thresholds.

use super::common::{pow2i, sel, two_sum, MulAdd, SHIFT};

pub(crate) const LN2_HI: f64 = 0.693_147_180_601_954_5;
pub(crate) const LN2_LO: f64 = -4.200_915_072_681_084_6e-11;
const INV_LN2: f64 = core::f64::consts::LOG2_E;

/// Near-minimax `Q` with `eʳ ≈ 1 + r + r²·Q(r)` on |r| ≤ ln2/2 (degree 10).
const EXP_Q: [f64; 11] = [
    0.5,
    0.166_666_666_666_666_7,
    0.041_666_666_666_666_61,
    0.008_333_333_333_326_167,
    0.001_388_888_888_892_263_4,
    0.000_198_412_698_747_242_1,
    2.480_158_723_484_882e-5,
    2.755_725_550_725_096_5e-6,
    2.755_735_997_394_213e-7,
    2.510_517_739_247_545_8e-8,
    2.088_593_005_386_426_7e-9,
];

/// `exp(x + lo) · 2^kadj` for |lo| ≪ ulp-scale corrections (used by `pow`
/// for the low half of a double-double argument, and with `kadj = -1` by
/// `sinh`/`cosh`). Callers without a low half pass `lo = -0.0`, the one
/// value whose addition LLVM may delete (`r + -0.0 == r` for every r). `x` is clamped to [-746, 711], beyond which the result is
/// 0 or ∞ for every caller; NaN passes the clamp and comes out NaN.
#[inline(always)]
pub(crate) fn exp_core<M: MulAdd>(x: f64, lo: f64, kadj: i64) -> f64 {
    let x = sel(x > 711.0, 711.0, x);
    let x = sel(x < -746.0, -746.0, x);
    let t = M::mul_add(x, INV_LN2, SHIFT);
    let kf = t - SHIFT;
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    let r = M::mul_add(-kf, LN2_HI, x);
    let r = M::mul_add(-kf, LN2_LO, r) + lo;
    let p = 1.0 + M::mul_add(r * r, super::common::poly::<M, 11>(r, &EXP_Q), r);
    let k = k.wrapping_add(kadj);
    let k1 = k >> 1;
    let k2 = k.wrapping_sub(k1);
    p * pow2i(k1) * pow2i(k2)
}

/// eˣ. Overflows to +∞ for x > 709.782712893384 and underflows to +0 below
/// -745.1332191019412, with correctly rounded subnormal results in between.
#[inline(always)]
pub fn exp<M: MulAdd>(x: f64) -> f64 {
    exp_core::<M>(x, -0.0, 0)
}

/// eˣ − 1, accurate near 0: `expm1(r) = r + r²·Q(r)` on the double-double
/// reduced argument, and `eˣ − 1 = (2ᵏ − 1) + 2ᵏ·r + 2ᵏ·r²·Q(r)`, with
/// `2ᵏ − 1` exact for k ≤ 53 and the first sum kept exact by two-sum.
#[inline(always)]
pub fn expm1<M: MulAdd>(x: f64) -> f64 {
    // Below -40 the result is -1 in double; above 709.9 it is +∞.
    let xc = sel(x > 709.9, 709.9, x);
    let xc = sel(xc < -40.0, -40.0, xc);
    let t = M::mul_add(xc, INV_LN2, SHIFT);
    let kf = t - SHIFT;
    let k = (t.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
    // r + rl = x − k·ln2 as a double-double (x − k·LN2_HI is exact).
    let hi = M::mul_add(-kf, LN2_HI, xc);
    let (r, rl) = two_sum(hi, -(kf * LN2_LO));
    // expm1(r + rl) ≈ r + tail, tail = r²·Q(r) + rl·(1 + r).
    let tail = M::mul_add(
        r * r,
        super::common::poly::<M, 11>(r, &EXP_Q),
        M::mul_add(rl, r, rl),
    );
    // 2^(k-1) is normal for every k in [-58, 1024].
    let half = pow2i(k.wrapping_sub(1));
    let two_k = half * 2.0;
    let big = ((1.0 + (r + tail)) * half) * 2.0;
    // (2ᵏ − 1) + 2ᵏ·r is formed exactly (2ᵏ·r is exact, two-sum keeps the
    // error), so the cancellation for k = ±1 costs no accuracy.
    let (s, e) = two_sum(two_k - 1.0, two_k * r);
    let small = s + M::mul_add(two_k, tail, e);
    let res = sel(k > 56, big, small);
    // Tiny arguments (including ±0 and subnormals): expm1(x) rounds to x.
    sel(x.abs() < 5.551_115_123_125_783e-17, x, res)
}

/// Single-precision eˣ in f32 arithmetic (16 lanes per AVX-512 vector): the
/// same Cody–Waite reduction with a 15-bit `LN2_HI` (exact products for
/// |k| ≤ 255) and `eʳ ≈ 1 + r + r²·Q(r)` with `Q` the Taylor polynomial of
/// degree 5 (truncation error 2⁻²⁷·⁵ relative on |r| ≤ ln2/2). The scale is
/// applied in two halves as in f64, so overflow (x > 88.72284) and the
/// subnormal range round once, at the last multiplication.
#[inline(always)]
pub fn exp_f32<M: MulAdd>(x: f32) -> f32 {
    const LN2_HI_F32: f32 = 0.693_145_75;
    const LN2_LO_F32: f32 = 1.428_606_8e-6;
    const SHIFT_F32: f32 = 12_582_912.0; // 1.5·2²³
    const Q: [f32; 6] = [
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5040.0,
    ];
    let x = super::common::sel_f32(x > 89.0, 89.0, x);
    let x = super::common::sel_f32(x < -104.0, -104.0, x);
    let t = M::mul_add_f32(x, core::f32::consts::LOG2_E, SHIFT_F32);
    let kf = t - SHIFT_F32;
    let k = (t.to_bits() as i32).wrapping_sub(SHIFT_F32.to_bits() as i32);
    let r = M::mul_add_f32(-kf, LN2_HI_F32, x);
    let r = M::mul_add_f32(-kf, LN2_LO_F32, r);
    let p = 1.0 + M::mul_add_f32(r * r, super::common::poly_f32::<M, 6>(r, &Q), r);
    let k1 = k >> 1;
    let k2 = k.wrapping_sub(k1);
    let s1 = f32::from_bits((k1.wrapping_add(127) as u32) << 23);
    let s2 = f32::from_bits((k2.wrapping_add(127) as u32) << 23);
    p * s1 * s2
}

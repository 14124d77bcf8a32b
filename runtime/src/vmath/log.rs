//! `log`, `log1p`, and the double-double logarithm behind `pow`.
//!
//! Reduction: `x = 2ᵉ·m` with m ∈ [√½, √2) (found by subtracting the bits of
//! √½, so no branch), `f = m − 1` exactly, and
//! `log m = 2·atanh(s)`, `s = f / (2 + f)`, |s| ≤ 0.1716. The series is
//! `2s + s·w·R(w)`, `w = s²`, with `R` of degree 7 (near-minimax least-squares
//! fit on Chebyshev nodes, total relative error 2⁻⁶⁰·⁷), assembled in the
//! order `f − (f²/2 − s·(f²/2 + w·R))` so that the leading term `f` is added
//! last and exactly once. `e·ln2` uses the 32-bit `LN2_HI` (exact product) and
//! `LN2_LO`. Subnormal inputs are scaled by 2⁵⁴ first.

use super::common::{fast_two_sum, i64_to_f64, poly, sel, two_sum, MulAdd};
use super::exp::{LN2_HI, LN2_LO};

/// Near-minimax `R` with `2·atanh(s) ≈ 2s + s·w·R(w)`, `w = s² ≤ 0.02944`.
const LOG_R: [f64; 8] = [
    0.666_666_666_666_666_6,
    0.400_000_000_000_008_74,
    0.285_714_285_708_040_36,
    0.222_222_223_916_363_18,
    0.181_817_956_468_35,
    0.153_862_394_104_019_2,
    0.132_687_793_342_955_58,
    0.130_865_760_212_709_13,
];
/// Bits of √½: subtracting them puts m in [√½, √2) with e in the top bits.
const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
const TWO_POW_54: f64 = 18_014_398_509_481_984.0;
/// The low part of ln2 beyond `LN2_HI + LN2_LO` (for the double-double log).
const LN2_LO2: f64 = -1.312_469_841_778_525_5e-27;
const TWO_THIRDS_HI: f64 = 0.666_666_666_666_666_6;
const TWO_THIRDS_LO: f64 = 3.700_743_415_417_188e-17;

/// Splits positive finite normal `x` into `(e as f64, f = m - 1)`.
#[inline(always)]
fn reduce(x: f64) -> (f64, f64) {
    let u = x.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let e = (u as i64) >> 52;
    let m = f64::from_bits(x.to_bits().wrapping_sub((e as u64) << 52));
    (i64_to_f64(e), m - 1.0)
}

/// log(1 + f) for f ∈ [√½ − 1, √2 − 1], plus `corr` (a tiny absolute
/// correction folded in before the final addition), plus `ef·ln2`.
#[inline(always)]
fn assemble<M: MulAdd>(ef: f64, f: f64, corr: f64) -> f64 {
    let s = f / (2.0 + f);
    let w = s * s;
    let r = w * poly::<M, 8>(w, &LOG_R);
    let hfsq = 0.5 * f * f;
    let tail = M::mul_add(s, hfsq + r, M::mul_add(ef, LN2_LO, corr));
    M::mul_add(ef, LN2_HI, f - (hfsq - tail))
}

/// Natural logarithm. log(±0) = −∞, log(x < 0) = NaN, log(+∞) = +∞,
/// log(1) = +0.
#[inline(always)]
pub fn log<M: MulAdd>(x: f64) -> f64 {
    let sub = x < f64::MIN_POSITIVE;
    let xs = sel(sub, x * TWO_POW_54, x);
    let (ef, f) = reduce(xs);
    let ef = sel(sub, ef - 54.0, ef);
    let res = assemble::<M>(ef, f, 0.0);
    let res = sel(x == f64::INFINITY, x, res);
    let res = sel(x == 0.0, f64::NEG_INFINITY, res);
    sel(x < 0.0 || x.is_nan(), f64::NAN, res)
}

/// log(1 + x), accurate near 0. `u = fl(1 + x)` is reduced as in `log`, and
/// the rounding error `c = (1 + x) − u` (exact by Fast2Sum) enters as `c/u`.
#[inline(always)]
pub fn log1p<M: MulAdd>(x: f64) -> f64 {
    let u = 1.0 + x;
    let c = sel(x.abs() < 1.0, x - (u - 1.0), 1.0 - (u - x));
    let (ef, f) = reduce(u);
    let res = assemble::<M>(ef, f, c / u);
    let res = sel(x == f64::INFINITY, x, res);
    let res = sel(x == -1.0, f64::NEG_INFINITY, res);
    let res = sel(x < -1.0 || x.is_nan(), f64::NAN, res);
    // Tiny arguments (±0, subnormals): log1p(x) rounds to x.
    sel(x.abs() < 5.551_115_123_125_783e-17, x, res)
}

/// ln(x) as a double-double `(hi, lo)` with relative error below 2⁻⁶⁵ for
/// positive finite `x` (the precision `pow` needs so that `y·ln x` up to 745
/// keeps 53 good bits). `x = 0` gives (−∞, 0) and `x = +∞` gives (+∞, 0).
#[inline(always)]
pub(crate) fn log_dd<M: MulAdd>(x: f64) -> (f64, f64) {
    let sub = x < f64::MIN_POSITIVE;
    let xs = sel(sub, x * TWO_POW_54, x);
    let (ef, f) = reduce(xs);
    let ef = sel(sub, ef - 54.0, ef);
    // s = f/(2+f) as sh + sl.
    let den = 2.0 + f;
    let de = f - (den - 2.0);
    let sh = f / den;
    let (p, pe) = M::two_prod(sh, den);
    let sl = (((f - p) - pe) - sh * de) / den;
    // s² and s³ as double-doubles.
    let (wh, wl) = M::two_prod(sh, sh);
    let wl = M::mul_add(2.0 * sh, sl, wl);
    let (ch, cl) = M::two_prod(sh, wh);
    let cl = M::mul_add(sh, wl, M::mul_add(sl, wh, cl));
    // (2/3)·s³ as a double-double.
    let (th, tl) = M::two_prod(ch, TWO_THIRDS_HI);
    let tl = M::mul_add(cl, TWO_THIRDS_HI, M::mul_add(ch, TWO_THIRDS_LO, tl));
    // s⁵·R'(w), R' = (R − 2/3)/w: small enough for plain double.
    let r5 = ch
        * wh
        * poly::<M, 7>(
            wh,
            &[
                LOG_R[1], LOG_R[2], LOG_R[3], LOG_R[4], LOG_R[5], LOG_R[6], LOG_R[7],
            ],
        );
    // log m = 2s + (2/3)s³ + s⁵R'.
    let (h, l) = fast_two_sum(2.0 * sh, th);
    let l = l + (2.0 * sl + (tl + r5));
    // + e·ln2 with LN2_HI·e exact.
    let (hh, hl) = two_sum(ef * LN2_HI, h);
    let lo = hl + (l + M::mul_add(ef, LN2_LO2, ef * LN2_LO));
    let (hi, lo) = fast_two_sum(hh, lo);
    let hi = sel(x == 0.0, f64::NEG_INFINITY, hi);
    let hi = sel(x == f64::INFINITY || x.is_nan(), x, hi);
    let lo = sel(x == 0.0 || x == f64::INFINITY, 0.0, lo);
    (hi, lo)
}

/// Single-precision natural logarithm in f32 arithmetic: the reduction of
/// [`log`] (m ∈ [√½, √2), subnormals scaled by 2²⁵) with
/// `2·atanh(s) = 2s + s·w·R(w)` and `R` the Taylor polynomial of degree 3
/// (truncation error below 2⁻²⁸ relative for w ≤ 0.0295); `e·ln2` uses a
/// 15-bit `LN2_HI` (exact products).
#[inline(always)]
pub fn log_f32<M: MulAdd>(x: f32) -> f32 {
    use super::common::{poly_f32, sel_f32};
    const LN2_HI_F32: f32 = 0.693_145_75;
    const LN2_LO_F32: f32 = 1.428_606_8e-6;
    const R: [f32; 4] = [2.0 / 3.0, 2.0 / 5.0, 2.0 / 7.0, 2.0 / 9.0];
    let sub = x < f32::MIN_POSITIVE;
    let xs = sel_f32(sub, x * 33_554_432.0, x); // 2^25
    let u = xs.to_bits().wrapping_sub(0x3f35_04f3);
    let e = (u as i32) >> 23;
    let m = f32::from_bits(xs.to_bits().wrapping_sub((e as u32) << 23));
    let ef = sel_f32(sub, e as f32 - 25.0, e as f32);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let w = s * s;
    let r = w * poly_f32::<M, 4>(w, &R);
    let hfsq = 0.5 * f * f;
    let tail = M::mul_add_f32(s, hfsq + r, ef * LN2_LO_F32);
    let res = M::mul_add_f32(ef, LN2_HI_F32, f - (hfsq - tail));
    let res = sel_f32(x == f32::INFINITY, x, res);
    let res = sel_f32(x == 0.0, f32::NEG_INFINITY, res);
    sel_f32(x < 0.0 || x.is_nan(), f32::NAN, res)
}

//! `sinh`, `cosh`, `tanh`, built on `expm1`/`exp` without cancellation.
//!
//! For |x| < 22: `sinh = (E + E/(E+1))/2` (a Taylor polynomial for |x| ≤ 1) and `tanh = E/(E+2)` with
//! `E = expm1(·)`, `cosh = eˣ/2 + e⁻ˣ/2`. For |x| ≥ 22, e^-|x| is below
//! 2⁻⁶³ of the result, so `sinh`, `cosh` = `e^|x|·2⁻¹` (the halving is folded
//! into the exponent, so they overflow exactly at 710.4758600739439) and
//! `tanh` = ±1.

use super::common::{copysign, poly, sel, MulAdd};
use super::exp::{exp, exp_core, expm1};

/// `sinh x = x + x·w·S(w)`, w = x², for |x| ≤ 1: Taylor coefficients
/// 1/(2n+1)!, n = 1..=10; the truncation error is below 2⁻⁶⁵ relative.
const SINH_S: [f64; 10] = [
    1.0 / 6.0,
    1.0 / 120.0,
    1.0 / 5040.0,
    1.0 / 362_880.0,
    1.0 / 39_916_800.0,
    1.0 / 6_227_020_800.0,
    1.0 / 1_307_674_368_000.0,
    1.0 / 355_687_428_096_000.0,
    1.0 / 121_645_100_408_832_000.0,
    1.0 / 51_090_942_171_709_440_000.0,
];

/// sinh x; odd, sinh(±0) = ±0. A polynomial below 1, where the `expm1`
/// formula would add two comparable rounded terms.
#[inline(always)]
pub fn sinh<M: MulAdd>(x: f64) -> f64 {
    let ax = x.abs();
    let large = ax >= 22.0;
    let e = expm1::<M>(sel(large, 22.0, ax));
    let mid = 0.5 * (e + e / (e + 1.0));
    let w = ax * ax;
    let tiny = M::mul_add(ax * w, poly::<M, 10>(w, &SINH_S), ax);
    let big = exp_core::<M>(ax, -0.0, -1);
    copysign(sel(large, big, sel(ax <= 1.0, tiny, mid)), x)
}

/// cosh x; even, cosh(0) = 1.
#[inline(always)]
pub fn cosh<M: MulAdd>(x: f64) -> f64 {
    let ax = x.abs();
    let large = ax >= 22.0;
    let t = exp::<M>(sel(large, 22.0, ax));
    let small = M::mul_add(0.5, t, 0.5 / t);
    let big = exp_core::<M>(ax, -0.0, -1);
    sel(large, big, small)
}

/// tanh x; odd, tanh(±0) = ±0, tanh(±∞) = ±1.
#[inline(always)]
pub fn tanh<M: MulAdd>(x: f64) -> f64 {
    let ax = x.abs();
    let large = ax >= 22.0;
    let e = expm1::<M>(2.0 * sel(large, 22.0, ax));
    let small = e / (e + 2.0);
    copysign(sel(large, 1.0, small), x)
}

//! `sinh`, `cosh`, `tanh`, built on `expm1`/`exp` without cancellation.
//!
//! For |x| < 22: `sinh = (E + E/(E+1))/2` and `tanh = E/(E+2)` with
//! `E = expm1(·)`, `cosh = eˣ/2 + e⁻ˣ/2`. For |x| ≥ 22, e^-|x| is below
//! 2⁻⁶³ of the result, so `sinh`, `cosh` = `e^|x|·2⁻¹` (the halving is folded
//! into the exponent, so they overflow exactly at 710.4758600739439) and
//! `tanh` = ±1.

use super::common::{copysign, sel, MulAdd};
use super::exp::{exp, exp_core, expm1};

/// sinh x; odd, sinh(±0) = ±0.
#[inline(always)]
pub fn sinh<M: MulAdd>(x: f64) -> f64 {
    let ax = x.abs();
    let large = ax >= 22.0;
    let e = expm1::<M>(sel(large, 22.0, ax));
    let small = 0.5 * (e + e / (e + 1.0));
    let big = exp_core::<M>(ax, 0.0, -1);
    copysign(sel(large, big, small), x)
}

/// cosh x; even, cosh(0) = 1.
#[inline(always)]
pub fn cosh<M: MulAdd>(x: f64) -> f64 {
    let ax = x.abs();
    let large = ax >= 22.0;
    let t = exp::<M>(sel(large, 22.0, ax));
    let small = M::mul_add(0.5, t, 0.5 / t);
    let big = exp_core::<M>(ax, 0.0, -1);
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

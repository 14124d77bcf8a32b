//! `pow` (powf) with the C99 Annex F / NumPy special cases.
//!
//! `|x|^y = exp(y·ln|x|)`. For f64 the logarithm is a double-double with
//! relative error < 2⁻⁶⁵ (`log::log_dd`), `y·ln|x|` is formed with an
//! exact two-product, and its low half enters the exponential's reduced
//! argument, so the result keeps ≈ 1 ULP even where |y·ln x| ≈ 745. For f32
//! (computed in f64) the plain f64 `log` and `exp` are far more than enough.
//! The sign and the special cases are applied with selects afterwards.

use super::common::{sel, MulAdd};
use super::exp::{exp, exp_core};
use super::log::{log, log_dd};

const TWO_POW_52: f64 = 4_503_599_627_370_496.0;
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
/// |y| is clamped here before the two-product (whose splitting would
/// overflow): beyond it every |y·ln|x|| with x ≠ 1 already over/underflows.
const Y_CLAMP: f64 = 8.452_712_498_170_644e270; // 2^900

/// `(is_integer, is_odd_integer)` for y, branch-free (±∞ counts as even).
#[inline(always)]
fn int_parity(y: f64) -> (bool, bool) {
    let ay = y.abs();
    let t = ay + TWO_POW_52;
    let below = ay < TWO_POW_52;
    let is_int = !below || (t - TWO_POW_52 == ay);
    let odd_bit = sel(below, t, ay).to_bits() & 1 == 1;
    let odd = is_int && ay < TWO_POW_53 && odd_bit;
    (is_int, odd)
}

/// x^y; `DD` selects the double-double logarithm (needed for f64 results,
/// not for f32 results computed in f64).
#[inline(always)]
pub(crate) fn pow_impl<M: MulAdd, const DD: bool>(x: f64, y: f64) -> f64 {
    let ax = x.abs();
    let (is_int, odd) = int_parity(y);
    let r = if DD {
        let yc = sel(y > Y_CLAMP, Y_CLAMP, sel(y < -Y_CLAMP, -Y_CLAMP, y));
        let (lh, ll) = log_dd::<M>(ax);
        let (zh, zl) = M::two_prod(yc, lh);
        let zl = M::mul_add(yc, ll, zl);
        // Outside ±746 (or for ±∞/NaN) the low half is meaningless.
        let zl = sel(zh.abs() < 746.0, zl, 0.0);
        exp_core::<M>(zh, zl, 0)
    } else {
        exp::<M>(y * log::<M>(ax))
    };
    let r = sel(x.is_sign_negative() && odd, -r, r);
    let r = sel(x < 0.0 && x > f64::NEG_INFINITY && !is_int, f64::NAN, r);
    // pow(−1, ±∞) = 1, pow(1, y) = 1 for any y, pow(x, ±0) = 1 for any x.
    let r = sel(x == -1.0 && y.abs() == f64::INFINITY, 1.0, r);
    sel(x == 1.0 || y == 0.0, 1.0, r)
}

/// x^y for f64 (powf; integer powers can use repeated multiplication).
/// pow(x, ±0) = 1, pow(1, y) = 1, pow(x < 0, non-integer y) = NaN,
/// pow(−x, odd integer y) = −pow(x, y), pow(±0, y < 0) = ±∞ (sign for odd y),
/// and the C99 rules for ±∞ arguments.
#[inline(always)]
pub fn pow<M: MulAdd>(x: f64, y: f64) -> f64 {
    pow_impl::<M, true>(x, y)
}

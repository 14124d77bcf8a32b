//! `asin`, `acos`, `atan`, `atan2`.
//!
//! `atan` reduces |x| into one of five intervals (selects, not branches) with
//! the classic identities `atan x = atan c + atan((x − c)/(1 + c·x))` for
//! c ∈ {½, 1, 3/2} and `atan x = π/2 − atan(1/x)` above 39/16, so that the
//! polynomial argument satisfies |t| ≤ 7/16; `atan t = t + t·w·A(w)`, w = t²,
//! A of degree 11 (near-minimax, total relative error 2⁻⁵⁷·⁷). The constants
//! atan c are double-doubles.
//!
//! `asin` uses `asin x = x + x·z·P(z)`, z = x², for |x| ≤ ½ (P of degree 12,
//! total relative error 2⁻⁵⁷·⁵), and `asin x = π/2 − 2·asin(√((1−|x|)/2))`
//! above, where `1 − |x|` is exact; `acos` uses the same pieces.

use super::common::{copysign, poly, sel, MulAdd};

const ATAN_A: [f64; 12] = [
    -0.333_333_333_333_333_3,
    0.199_999_999_999_994_04,
    -0.142_857_142_855_654_26,
    0.111_111_110_965_326_08,
    -0.090_909_083_508_971_56,
    0.076_922_854_399_212_18,
    -0.066_662_401_712_015_41,
    0.058_769_292_999_878_646,
    -0.052_165_717_833_835_93,
    0.044_918_373_701_035_706,
    -0.033_118_813_277_894_84,
    0.014_764_290_785_983_942,
];
const ASIN_P: [f64; 13] = [
    0.166_666_666_666_666_69,
    0.074_999_999_999_984_27,
    0.044_642_857_146_366_22,
    0.030_381_944_137_685_066,
    0.022_372_172_976_300_578,
    0.017_352_391_910_510_75,
    0.013_971_225_127_454_957,
    0.011_479_057_721_470_901,
    0.010_323_598_991_567_406,
    0.005_454_115_705_778_283,
    0.017_410_157_873_941_283,
    -0.014_866_450_093_601_678,
    0.028_767_838_736_314_263,
];
const PIO2_HI: f64 = core::f64::consts::FRAC_PI_2;
const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
const PI_HI: f64 = core::f64::consts::PI;
const PI_LO: f64 = 1.224_646_799_147_353_2e-16;
const ATAN_HALF_HI: f64 = 0.463_647_609_000_806_1;
const ATAN_HALF_LO: f64 = 2.269_877_745_296_168_7e-17;
const PIO4_HI: f64 = core::f64::consts::FRAC_PI_4;
const PIO4_LO: f64 = 3.061_616_997_868_383e-17;
const ATAN_1_5_HI: f64 = 0.982_793_723_247_329;
const ATAN_1_5_LO: f64 = 1.390_331_103_123_099_8e-17;

/// atan of `ax ≥ 0` (or NaN).
#[inline(always)]
fn atan_pos<M: MulAdd>(ax: f64) -> f64 {
    let i1 = ax >= 0.4375;
    let i2 = ax >= 0.6875;
    let i3 = ax >= 1.1875;
    let i4 = ax >= 2.4375;
    // t = num/den per interval: x, (2x−1)/(2+x), (x−1)/(x+1), (x−1.5)/(1+1.5x), −1/x.
    let num = sel(
        i4,
        -1.0,
        sel(
            i3,
            ax - 1.5,
            sel(i2, ax - 1.0, sel(i1, M::mul_add(2.0, ax, -1.0), ax)),
        ),
    );
    let den = sel(
        i4,
        ax,
        sel(
            i3,
            M::mul_add(1.5, ax, 1.0),
            sel(i2, ax + 1.0, sel(i1, 2.0 + ax, 1.0)),
        ),
    );
    let hi = sel(
        i4,
        PIO2_HI,
        sel(
            i3,
            ATAN_1_5_HI,
            sel(i2, PIO4_HI, sel(i1, ATAN_HALF_HI, 0.0)),
        ),
    );
    let lo = sel(
        i4,
        PIO2_LO,
        sel(
            i3,
            ATAN_1_5_LO,
            sel(i2, PIO4_LO, sel(i1, ATAN_HALF_LO, 0.0)),
        ),
    );
    let t = num / den;
    let w = t * t;
    hi + (t + M::mul_add(t * w, poly::<M, 12>(w, &ATAN_A), lo))
}

/// atan x; atan(±0) = ±0, atan(±∞) = ±π/2.
#[inline(always)]
pub fn atan<M: MulAdd>(x: f64) -> f64 {
    copysign(atan_pos::<M>(x.abs()), x)
}

/// atan2(y, x): the angle of (x, y) in [−π, π], with C99/NumPy signed zeros
/// and infinities (atan2(±0, −0) = ±π, atan2(±∞, −∞) = ±3π/4, …).
#[inline(always)]
pub fn atan2<M: MulAdd>(y: f64, x: f64) -> f64 {
    let (ax, ay) = (x.abs(), y.abs());
    let swap = ay > ax;
    let num = sel(swap, ax, ay);
    let den = sel(swap, ay, ax);
    let t = num / den;
    let t = sel(num == 0.0, 0.0, t);
    let t = sel(ax == f64::INFINITY && ay == f64::INFINITY, 1.0, t);
    let a = atan_pos::<M>(t);
    let a = sel(swap, PIO2_HI - (a - PIO2_LO), a);
    let a = sel(x.is_sign_negative(), PI_HI - (a - PI_LO), a);
    let a = copysign(a, y);
    sel(x.is_nan() || y.is_nan(), x + y, a)
}

/// asin(|x|) for |x| ≤ 1, and the pieces acos needs: returns
/// `(small, s, s·z·P(z))` where for |x| > ½ `asin(|x|) = π/2 − 2(s + s·z·P)`.
#[inline(always)]
fn asin_parts<M: MulAdd>(ax: f64) -> (bool, f64, f64) {
    let small = ax <= 0.5;
    let z_big = 0.5 * (1.0 - ax);
    let z = sel(small, ax * ax, z_big);
    let s = sel(small, ax, z_big.sqrt());
    let tail = s * z * poly::<M, 13>(z, &ASIN_P);
    (small, s, tail)
}

/// asin x; asin(±0) = ±0, NaN outside [−1, 1].
#[inline(always)]
pub fn asin<M: MulAdd>(x: f64) -> f64 {
    let (small, s, tail) = asin_parts::<M>(x.abs());
    let big = (PIO2_HI - 2.0 * s) - (2.0 * tail - PIO2_LO);
    let v = sel(small, s + tail, big);
    sel(x.abs() > 1.0, f64::NAN, copysign(v, x))
}

/// acos x; acos(1) = +0, NaN outside [−1, 1].
#[inline(always)]
pub fn acos<M: MulAdd>(x: f64) -> f64 {
    let (small, s, tail) = asin_parts::<M>(x.abs());
    let small_v = PIO2_HI - (copysign(s + tail, x) - PIO2_LO);
    let pos_v = 2.0 * (s + tail);
    let neg_v = PI_HI - (2.0 * (s + tail) - PI_LO);
    let v = sel(small, small_v, sel(x > 0.0, pos_v, neg_v));
    sel(x.abs() > 1.0, f64::NAN, v)
}

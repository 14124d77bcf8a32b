//! `sin`, `cos`, `tan` with full-range argument reduction.
//!
//! The argument is reduced to `x = q·π/2 + r`, |r| ≤ π/4 (slightly more for
//! the rounding of q), by two branch-free methods whose results are blended:
//!
//! * |x| < 2²⁰ — Cody–Waite with π/2 = P1 + P2 + P3, where P1 and P2 carry 33
//!   bits so that `q·P1` and `q·P2` are exact for q < 2²⁰; the reduced
//!   argument is a double-double `r + r_lo` (two-sum recovers the one rounding)
//!   with an absolute error below 2⁻⁹⁸, a relative error ≤ 2⁻⁶⁰ for every r
//!   this range produces.
//! * |x| ≥ 2²⁰ — Payne–Hanek with a table indexed by the exponent `E` of x:
//!   for `x = M·2^(E−52)` (M a 53-bit integer) the table holds
//!   `G_E = 2^(E−52)·(2/π) mod 4` as seven 26-bit pieces, so that
//!   `x·2/π ≡ M·G_E (mod 4)`. M is split into 27+26-bit halves, every partial
//!   product is exact, the integer parts (quadrant) are stripped exactly, and
//!   the fractional part is summed with error-free transformations (result
//!   again a double-double `r + r_lo`) to an
//!   absolute error below 2⁻¹²⁰ (in units of π/2). That covers the worst case
//!   for doubles (x = 6381956970095103·2⁷⁹⁷, r ≈ 2⁻⁶⁰·⁹) with ≥ 55 correct
//!   bits. The seven pieces are one 56-byte gather per element; the table
//!   (57 KB) is computed at compile time from 1216 bits of 2/π.
//!
//! Polynomials on |r| ≤ π/4: `sin r = r + r·w·S(w)` (degree 6 in w = r²) and
//! `cos r = 1 − w/2 + w²·C(w)` (degree 5), near-minimax least-squares fits
//! with total relative errors 2⁻⁵⁷ and 2⁻⁵⁹·⁵; `tan = sin/cos` or `−cos/sin`.

use super::common::{fast_two_sum, poly, round_int, sel, two_sum, MulAdd, SHIFT};

const SIN_S: [f64; 7] = [
    -0.166_666_666_666_666_66,
    0.008_333_333_333_333_331,
    -0.000_198_412_698_412_650_22,
    2.755_731_921_930_887_3e-6,
    -2.505_210_622_285_810_3e-8,
    1.605_853_021_976_042e-10,
    -7.586_620_558_582_879e-13,
];
const COS_C: [f64; 6] = [
    0.041_666_666_666_666_664,
    -0.001_388_888_888_888_738_5,
    2.480_158_729_875_028e-5,
    -2.755_731_726_459_697e-7,
    2.087_614_492_085_448e-9,
    -1.138_254_334_396_070_3e-11,
];

const TWO_OVER_PI: f64 = core::f64::consts::FRAC_2_PI;
const PIO2_1: f64 = 1.570_796_326_734_125_6;
const PIO2_2: f64 = 6.077_100_506_303_966e-11;
const PIO2_3: f64 = 2.022_266_248_795_950_6e-21;
const PIO2_HI: f64 = core::f64::consts::FRAC_PI_2;
const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
/// Arguments below this use Cody–Waite, the rest Payne–Hanek.
pub const CW_LIMIT: f64 = 1_048_576.0;

/// 2/π = Σ bit_j 2^-j, bits 1..=1216, most significant first.
const TWO_OVER_PI_BITS: [u64; 19] = [
    0xa2f9_836e_4e44_1529,
    0xfc27_57d1_f534_ddc0,
    0xdb62_9599_3c43_9041,
    0xfe51_63ab_debb_c561,
    0xb724_6e3a_424d_d2e0,
    0x0649_2eea_09d1_921c,
    0xfe1d_eb1c_b129_a73e,
    0xe882_35f5_2ebb_4484,
    0xe99c_7026_b45f_7e41,
    0x3991_d639_8353_39f4,
    0x9c84_5f8b_bdf9_283b,
    0x1ff8_97ff_de05_980f,
    0xef2f_118b_5a0a_6d1f,
    0x6d36_7ecf_27cb_09b7,
    0x4f46_3f66_9e5f_ea2d,
    0x7527_bac7_ebe5_f17b,
    0x3d07_39f7_8a52_92ea,
    0x6bfb_5fb1_1f8d_5d08,
    0x5603_3046_fc7b_6bab,
];

/// Smallest unbiased exponent served by the Payne–Hanek table.
const PH_E0: i64 = 20;
const PH_ROWS: usize = 1024;

const fn two_over_pi_bit(j: i64) -> u64 {
    if j < 1 {
        0
    } else {
        let j = (j - 1) as usize;
        (TWO_OVER_PI_BITS[j / 64] >> (63 - j % 64)) & 1
    }
}

/// Row `E − PH_E0`: piece i is `a_i·2^(2−26(i+1))` with `a_i` the 26 bits of
/// 2/π starting at bit `E − 53 + 26i`, so the pieces sum to G_E.
const fn ph_table() -> [[f64; 8]; PH_ROWS] {
    let mut t = [[0.0; 8]; PH_ROWS];
    let mut row = 0;
    while row < PH_ROWS {
        let e = row as i64 + PH_E0;
        let mut i = 0;
        while i < 7 {
            let start = e - 53 + 26 * i as i64;
            let mut a: u64 = 0;
            let mut b = 0;
            while b < 26 {
                a = (a << 1) | two_over_pi_bit(start + b);
                b += 1;
            }
            let scale = f64::from_bits(((1023 + 2 - 26 * (i as i64 + 1)) as u64) << 52);
            t[row][i] = a as f64 * scale;
            i += 1;
        }
        row += 1;
    }
    t
}

/// Rows are padded to 8 doubles (64 bytes, one cache line when aligned).
#[repr(align(64))]
struct PhTable([[f64; 8]; PH_ROWS]);
static PH_TABLE: PhTable = PhTable(ph_table());

/// Payne–Hanek reduction of |x| ≥ 2²⁰ (finite): returns `(r, r_lo, q)` with
/// `|x| = (4n + q)·π/2 + r + r_lo`, q ∈ 0..4.
#[inline(always)]
fn reduce_large<M: MulAdd>(ax: f64) -> (f64, f64, u64) {
    let e = ((ax.to_bits() >> 52) as i64).wrapping_sub(1023);
    let row = &PH_TABLE.0[(e.wrapping_sub(PH_E0) as usize) & (PH_ROWS - 1)];
    // M = ax·2^(52−E), an integer in [2⁵², 2⁵³).
    let m = ax * f64::from_bits((52i64.wrapping_sub(e).wrapping_add(1023) as u64) << 52);
    let mh = f64::from_bits(m.to_bits() & !((1u64 << 26) - 1));
    let ml = m - mh;
    // Exact partial products; mh·g0 ≡ 0 (mod 4) is dropped.
    let (h1, l0) = (mh * row[1], ml * row[0]);
    let (h2, l1) = (mh * row[2], ml * row[1]);
    let (h3, l2) = (mh * row[3], ml * row[2]);
    let (h4, l3) = (mh * row[4], ml * row[3]);
    let (h5, l4) = (mh * row[5], ml * row[4]);
    let (h6, l5) = (mh * row[6], ml * row[5]);
    let l6 = ml * row[6];
    // Strip integer parts of the large terms exactly (granularity ≥ 2⁻⁵⁰).
    let (n1, n2, n3, n4) = (round_int(h1), round_int(l0), round_int(h2), round_int(l1));
    let s1 = ((h1 - n1) + (l0 - n2)) + ((h2 - n3) + (l1 - n4));
    let n5 = round_int(s1);
    let s1 = s1 - n5;
    // The small terms, smallest first, in double-double.
    let tiny = (((l6 + h6) + l5) + h5) + l4;
    let (hi, lo) = two_sum(h4, l3);
    let lo = lo + tiny;
    let (hi, e1) = two_sum(hi, l2);
    let (hi, e2) = two_sum(hi, h3);
    let lo = lo + (e1 + e2);
    let (s, e3) = two_sum(s1, hi);
    let lo = lo + e3;
    let n6 = round_int(s);
    let (fh, fl) = fast_two_sum(s - n6, lo);
    let n = ((n1 + n2) + (n3 + n4)) + (n5 + n6);
    let q = (n + SHIFT).to_bits() & 3;
    // r = (fh + fl)·π/2.
    let (p, pe) = M::two_prod(fh, PIO2_HI);
    let (r, rl) = fast_two_sum(p, M::mul_add(fl, PIO2_HI, M::mul_add(fh, PIO2_LO, pe)));
    (r, rl, q)
}

/// `x = q·π/2 + r + r_lo` for finite x (garbage, later discarded, otherwise).
/// The reduced argument is kept as a double-double so that the functions'
/// error does not include a rounding of r (which tan would double).
/// With `FULL = false` only the Cody–Waite half is computed (valid for
/// |x| < [`CW_LIMIT`]).
#[inline(always)]
fn reduce<M: MulAdd, const FULL: bool>(x: f64) -> (f64, f64, u64) {
    let t = M::mul_add(x, TWO_OVER_PI, SHIFT);
    let kf = t - SHIFT;
    // x − k·P1 and k·P2 are exact; the rounding error of their difference
    // is recovered by two-sum.
    let t1 = M::mul_add(-kf, PIO2_1, x);
    let (t2, e2) = two_sum(t1, -(kf * PIO2_2));
    let (r_cw, rl_cw) = two_sum(t2, M::mul_add(-kf, PIO2_3, e2));
    let q_cw = t.to_bits() & 3;
    if !FULL {
        return (r_cw, rl_cw, q_cw);
    }
    let ax = x.abs();
    let (r_ph, rl_ph, q_ph) = reduce_large::<M>(ax);
    let neg = x < 0.0;
    let r_ph = sel(neg, -r_ph, r_ph);
    let rl_ph = sel(neg, -rl_ph, rl_ph);
    let q_ph = if neg { q_ph.wrapping_neg() & 3 } else { q_ph };
    let small = ax < CW_LIMIT;
    (
        sel(small, r_cw, r_ph),
        sel(small, rl_cw, rl_ph),
        if small { q_cw } else { q_ph },
    )
}

/// sin and cos of `r + rl` (|rl| ≤ ulp(r)). The first-order terms of `rl`
/// (`rl·cos r ≈ rl·(1 − w/2)` and `−rl·sin r ≈ −rl·r`) join the small tail
/// of each polynomial, so the leading term is added last, with one rounding.
#[inline(always)]
fn sin_cos<M: MulAdd>(r: f64, rl: f64) -> (f64, f64) {
    let w = r * r;
    let hz = 0.5 * w;
    let s_tail = M::mul_add(r * w, poly::<M, 7>(w, &SIN_S), rl * (1.0 - hz));
    let v = 1.0 - hz;
    let c_tail = ((1.0 - v) - hz) + M::mul_add(w * w, poly::<M, 6>(w, &COS_C), -(r * rl));
    (r + s_tail, v + c_tail)
}

/// NaN unless |x| < `limit` (±∞ and NaN included), `res` otherwise.
#[inline(always)]
fn below_or_nan(x: f64, limit: f64, res: f64) -> f64 {
    sel(x.abs() < limit, res, f64::NAN)
}

/// Flips the sign of `v` when bit 1 of `q` is set.
#[inline(always)]
fn neg_if_q2(v: f64, q: u64) -> f64 {
    f64::from_bits(v.to_bits() ^ ((q & 2) << 62))
}

#[inline(always)]
fn sin_impl<M: MulAdd, const FULL: bool>(x: f64) -> f64 {
    let (r, rl, q) = reduce::<M, FULL>(x);
    let (s, c) = sin_cos::<M>(r, rl);
    let v = sel(q & 1 == 0, s, c);
    // ±0 is returned as is: the polynomial would turn −0 into +0.
    let limit = if FULL { f64::INFINITY } else { CW_LIMIT };
    sel(x == 0.0, x, below_or_nan(x, limit, neg_if_q2(v, q)))
}

#[inline(always)]
fn cos_impl<M: MulAdd, const FULL: bool>(x: f64) -> f64 {
    let (r, rl, q) = reduce::<M, FULL>(x);
    let q = q.wrapping_add(1);
    let (s, c) = sin_cos::<M>(r, rl);
    let v = sel(q & 1 == 0, s, c);
    let limit = if FULL { f64::INFINITY } else { CW_LIMIT };
    below_or_nan(x, limit, neg_if_q2(v, q))
}

#[inline(always)]
fn tan_impl<M: MulAdd, const FULL: bool>(x: f64) -> f64 {
    let (r, rl, q) = reduce::<M, FULL>(x);
    let (s, c) = sin_cos::<M>(r, rl);
    let odd = q & 1 == 1;
    let v = sel(odd, -c, s) / sel(odd, s, c);
    let limit = if FULL { f64::INFINITY } else { CW_LIMIT };
    sel(x == 0.0, x, below_or_nan(x, limit, v))
}

/// sin x; sin(±0) = ±0, sin(±∞) = NaN.
#[inline(always)]
pub fn sin<M: MulAdd>(x: f64) -> f64 {
    sin_impl::<M, true>(x)
}

/// cos x; cos(±∞) = NaN.
#[inline(always)]
pub fn cos<M: MulAdd>(x: f64) -> f64 {
    cos_impl::<M, true>(x)
}

/// tan x; tan(±0) = ±0, tan(±∞) = NaN.
#[inline(always)]
pub fn tan<M: MulAdd>(x: f64) -> f64 {
    tan_impl::<M, true>(x)
}

/// [`sin`] for |x| < 2²⁰ only (Cody–Waite reduction, no Payne–Hanek gathers;
/// about a third of the cost). Returns NaN for |x| ≥ 2²⁰. For callers that
/// have checked the range of a whole block, like the slice entry points.
#[inline(always)]
pub fn sin_medium<M: MulAdd>(x: f64) -> f64 {
    sin_impl::<M, false>(x)
}

/// [`cos`] for |x| < 2²⁰ only; NaN for |x| ≥ 2²⁰ (see [`sin_medium`]).
#[inline(always)]
pub fn cos_medium<M: MulAdd>(x: f64) -> f64 {
    cos_impl::<M, false>(x)
}

/// [`tan`] for |x| < 2²⁰ only; NaN for |x| ≥ 2²⁰ (see [`sin_medium`]).
#[inline(always)]
pub fn tan_medium<M: MulAdd>(x: f64) -> f64 {
    tan_impl::<M, false>(x)
}

/// Whether |x| is in the range of the `*_medium` functions (false for NaN).
#[inline(always)]
pub fn in_medium_range(x: f64) -> bool {
    x.abs() < CW_LIMIT
}

//! Accuracy against libm (f64) and against f64-computed, rounded references
//! (f32), special values, both multiply-add policies, and every ISA copy of
//! the slice entry points.

use super::*;

/// Distance in units in the last place between two f64 (0 for equal values
/// or two NaNs, ∞ when exactly one is NaN).
fn ulps64(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let key = |v: f64| {
        let i = v.to_bits() as i64;
        if i < 0 {
            i64::MIN.wrapping_sub(i) as i128
        } else {
            i as i128
        }
    };
    (key(a) - key(b)).unsigned_abs() as f64
}

fn ulps32(a: f32, b: f32) -> f64 {
    if a.is_nan() || b.is_nan() {
        return if a.is_nan() && b.is_nan() {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let key = |v: f32| {
        let i = v.to_bits() as i32;
        if i < 0 {
            i32::MIN.wrapping_sub(i) as i64
        } else {
            i as i64
        }
    };
    (key(a) - key(b)).unsigned_abs() as f64
}

/// Deterministic xorshift64* stream.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 * (1.0 / 9_007_199_254_740_992.0)
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

/// Sample distributions: uniform in bits (every exponent equally likely) or
/// uniform in value over a range.
#[derive(Clone, Copy)]
enum Dist {
    Bits,
    Range(f64, f64),
}

impl Dist {
    fn sample(self, rng: &mut Rng) -> f64 {
        match self {
            Dist::Bits => f64::from_bits(rng.next()),
            Dist::Range(lo, hi) => rng.range(lo, hi),
        }
    }
    fn sample32(self, rng: &mut Rng) -> f32 {
        match self {
            Dist::Bits => f32::from_bits(rng.next() as u32),
            Dist::Range(lo, hi) => rng.range(lo, hi) as f32,
        }
    }
}

/// The documented bound.
const MAX_ULP: f64 = 4.0;

/// Checks one result: NaN exactly where the reference is NaN, exact values
/// (sign included) where the reference is 0 or ∞, otherwise ≤ 4 ULP.
fn check64(name: &str, args: (f64, f64), got: f64, want: f64) -> f64 {
    if want == 0.0 || want.is_infinite() || want.is_nan() || got == 0.0 || got.is_infinite() {
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{name}{args:?}: got {got:e} ({:#x}), want {want:e} ({:#x})",
            got.to_bits(),
            want.to_bits()
        );
        return 0.0;
    }
    let u = ulps64(got, want);
    assert!(
        u <= MAX_ULP,
        "{name}{args:?}: got {got:e}, want {want:e}: {u} ulp"
    );
    u
}

fn check32(name: &str, args: (f32, f32), got: f32, want: f32) -> f64 {
    if want == 0.0 || want.is_infinite() || want.is_nan() || got == 0.0 || got.is_infinite() {
        assert!(
            got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
            "{name}{args:?}: got {got:e} ({:#x}), want {want:e} ({:#x})",
            got.to_bits(),
            want.to_bits()
        );
        return 0.0;
    }
    let u = ulps32(got, want);
    assert!(
        u <= MAX_ULP,
        "{name}{args:?}: got {got:e}, want {want:e}: {u} ulp"
    );
    u
}

/// One function under test: our f64 and f32 versions under both policies and
/// the references, plus the distributions its sweep samples.
struct Case {
    name: &'static str,
    binary: bool,
    ours64: [fn(f64, f64) -> f64; 2],
    ours32: [fn(f32, f32) -> f32; 2],
    reference: fn(f64, f64) -> f64,
    dists: &'static [(Dist, Dist)],
}

const B: Dist = Dist::Bits;
const Z: Dist = Dist::Range(0.0, 0.0);

macro_rules! unary_case {
    ($f:ident, $std:expr, $dists:expr) => {
        Case {
            name: stringify!($f),
            binary: false,
            ours64: [|x, _| $f::<Unfused, f64>(x), |x, _| $f::<Fused, f64>(x)],
            ours32: [|x, _| $f::<Unfused, f32>(x), |x, _| $f::<Fused, f32>(x)],
            reference: |x, _| $std(x),
            dists: $dists,
        }
    };
}

fn cases() -> Vec<Case> {
    vec![
        unary_case!(
            exp,
            f64::exp,
            &[
                (B, Z),
                (Dist::Range(-746.0, 711.0), Z),
                (Dist::Range(-1.0, 1.0), Z)
            ]
        ),
        unary_case!(
            expm1,
            f64::exp_m1,
            &[
                (B, Z),
                (Dist::Range(-40.0, 711.0), Z),
                (Dist::Range(-1.0, 1.0), Z)
            ]
        ),
        unary_case!(
            log,
            f64::ln,
            &[
                (B, Z),
                (Dist::Range(0.0, 4.0), Z),
                (Dist::Range(0.5, 2.0), Z)
            ]
        ),
        unary_case!(
            log1p,
            f64::ln_1p,
            &[
                (B, Z),
                (Dist::Range(-1.0, 4.0), Z),
                (Dist::Range(-1e-3, 1e-3), Z)
            ]
        ),
        unary_case!(
            sin,
            f64::sin,
            &[
                (B, Z),
                (Dist::Range(-10.0, 10.0), Z),
                (Dist::Range(-1e7, 1e7), Z)
            ]
        ),
        unary_case!(
            cos,
            f64::cos,
            &[
                (B, Z),
                (Dist::Range(-10.0, 10.0), Z),
                (Dist::Range(-1e7, 1e7), Z)
            ]
        ),
        unary_case!(
            tan,
            f64::tan,
            &[
                (B, Z),
                (Dist::Range(-10.0, 10.0), Z),
                (Dist::Range(-1e7, 1e7), Z)
            ]
        ),
        unary_case!(
            tanh,
            f64::tanh,
            &[
                (B, Z),
                (Dist::Range(-25.0, 25.0), Z),
                (Dist::Range(-1.0, 1.0), Z)
            ]
        ),
        unary_case!(
            sinh,
            f64::sinh,
            &[
                (B, Z),
                (Dist::Range(-711.0, 711.0), Z),
                (Dist::Range(-2.0, 2.0), Z)
            ]
        ),
        unary_case!(
            cosh,
            f64::cosh,
            &[
                (B, Z),
                (Dist::Range(-711.0, 711.0), Z),
                (Dist::Range(-2.0, 2.0), Z)
            ]
        ),
        unary_case!(
            asin,
            f64::asin,
            &[
                (B, Z),
                (Dist::Range(-1.0, 1.0), Z),
                (Dist::Range(0.9, 1.0), Z)
            ]
        ),
        unary_case!(
            acos,
            f64::acos,
            &[
                (B, Z),
                (Dist::Range(-1.0, 1.0), Z),
                (Dist::Range(0.9, 1.0), Z)
            ]
        ),
        unary_case!(
            atan,
            f64::atan,
            &[
                (B, Z),
                (Dist::Range(-4.0, 4.0), Z),
                (Dist::Range(-1e3, 1e3), Z)
            ]
        ),
        Case {
            name: "atan2",
            binary: true,
            ours64: [
                |y, x| atan2::<Unfused, f64>(y, x),
                |y, x| atan2::<Fused, f64>(y, x),
            ],
            ours32: [
                |y, x| atan2::<Unfused, f32>(y, x),
                |y, x| atan2::<Fused, f32>(y, x),
            ],
            reference: f64::atan2,
            dists: &[(B, B), (Dist::Range(-10.0, 10.0), Dist::Range(-10.0, 10.0))],
        },
        Case {
            name: "pow",
            binary: true,
            ours64: [
                |x, y| pow::<Unfused, f64>(x, y),
                |x, y| pow::<Fused, f64>(x, y),
            ],
            ours32: [
                |x, y| pow::<Unfused, f32>(x, y),
                |x, y| pow::<Fused, f32>(x, y),
            ],
            reference: f64::powf,
            dists: &[
                (Dist::Range(0.0, 10.0), Dist::Range(-60.0, 60.0)),
                (B, Dist::Range(-2.0, 2.0)),
                (Dist::Range(0.9, 1.1), Dist::Range(-8000.0, 8000.0)),
                (B, B),
            ],
        },
    ]
}

/// Sweeps every case with `n` points per distribution and policy; returns
/// `(name, max ulp f64, max ulp f32)` rows.
fn sweep(n: usize) -> Vec<(&'static str, f64, f64)> {
    let mut rows = Vec::new();
    for case in cases() {
        let (mut m64, mut m32) = (0.0f64, 0.0f64);
        let mut worst64 = (0.0, 0.0);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ case.name.len() as u64);
        for &(da, db) in case.dists {
            for _ in 0..n {
                let (a, b) = (da.sample(&mut rng), db.sample(&mut rng));
                let want = (case.reference)(a, b);
                for f in case.ours64 {
                    let u = check64(case.name, (a, b), f(a, b), want);
                    if u > m64 {
                        (m64, worst64) = (u, (a, b));
                    }
                }
                let (a, b) = (da.sample32(&mut rng), db.sample32(&mut rng));
                let want = (case.reference)(f64::from(a), f64::from(b)) as f32;
                for f in case.ours32 {
                    m32 = m32.max(check32(case.name, (a, b), f(a, b), want));
                }
            }
        }
        println!("{:>6}: worst f64 argument {:?}", case.name, worst64);
        rows.push((case.name, m64, m32));
    }
    rows
}

fn print_rows(rows: &[(&str, f64, f64)]) {
    for (name, m64, m32) in rows {
        println!("{name:>6}: max {m64} ulp (f64 vs libm), {m32} ulp (f32 vs rounded f64 libm)");
    }
}

#[test]
fn sweep_subset_within_4_ulp() {
    // A strided subset keeps debug builds fast; `full_sweep` runs millions.
    let n = if cfg!(debug_assertions) {
        4_000
    } else {
        100_000
    };
    print_rows(&sweep(n));
}

#[test]
#[ignore = "millions of points per function; run with --release -- --ignored"]
fn full_sweep() {
    print_rows(&sweep(1_000_000));
}

/// Inputs every function is checked at, beyond the random sweeps.
fn edge_inputs() -> Vec<f64> {
    let mut v = vec![
        0.0,
        1.0,
        2.0,
        0.5,
        0.25,
        0.75,
        1.5,
        3.0,
        10.0,
        22.0,
        40.0,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 3.0,
        f64::from_bits(1),
        f64::MAX,
        f64::EPSILON,
        1e-300,
        1e-20,
        5.551_115_123_125_783e-17,
        // exp overflow / underflow thresholds and their neighbours.
        709.782_712_893_383_9,
        709.782_712_893_384,
        709.782_712_893_384_1,
        710.475_860_073_943_9,
        710.475_860_073_944,
        745.133_219_101_941_1,
        745.133_219_101_941_2,
        708.396_418_532_264_1,
        708.396_418_532_264_2,
        744.440_071_921_381,
        // f32 exp thresholds (overflow, subnormal, underflow to 0).
        88.722_83,
        88.722_839,
        88.722_84,
        87.336_55,
        103.278_93,
        103.972_07,
        103.972_084,
        104.0,
        // trig: near multiples of π/2, the Cody–Waite limit, huge values.
        core::f64::consts::FRAC_PI_2,
        core::f64::consts::PI,
        core::f64::consts::FRAC_PI_4,
        1_048_575.999_999_999_9,
        1_048_576.0,
        1e22,
        // inverse trig / log1p boundaries.
        0.4375,
        0.6875,
        1.1875,
        2.4375,
        1.0 - f64::EPSILON / 2.0,
        1.0 + f64::EPSILON,
    ];
    let neg: Vec<f64> = v.iter().map(|x| -x).collect();
    v.extend(neg);
    v
}

#[test]
fn special_values_match_libm() {
    let xs = edge_inputs();
    for case in cases() {
        for &a in &xs {
            let bs: Vec<f64> = if case.binary { xs.clone() } else { vec![0.0] };
            for &b in &bs {
                let want = (case.reference)(a, b);
                for f in case.ours64 {
                    check64(case.name, (a, b), f(a, b), want);
                }
                let (a32, b32) = (a as f32, b as f32);
                let want32 = (case.reference)(f64::from(a32), f64::from(b32)) as f32;
                for f in case.ours32 {
                    check32(case.name, (a32, b32), f(a32, b32), want32);
                }
            }
        }
    }
}

/// Hard trig arguments with correctly rounded results from mpmath at 800
/// digits. glibc itself is 8 ULP off for cos/tan at 5.319372648326541e255
/// (r ≈ 2⁻⁶¹), so these are not compared against libm.
#[test]
fn trig_hard_cases_match_high_precision() {
    let table: &[(f64, f64, f64, f64)] = &[
        (
            5.319_372_648_326_541e255,
            1.0,
            -4.687_165_924_254_628e-19,
            -2.133_485_385_753_704e18,
        ),
        (
            1e22,
            -0.852_200_849_767_188_8,
            0.523_214_785_395_139,
            -1.628_778_225_606_898_8,
        ),
        (
            1e300,
            -0.817_881_912_115_908_5,
            -0.575_386_111_957_549_1,
            1.421_448_823_874_724_5,
        ),
        (
            f64::MAX,
            0.004_961_954_789_184_062,
            -0.999_987_689_426_559_9,
            -0.004_962_015_874_444_895,
        ),
        (
            1_048_576.0,
            0.330_493_140_021_734_7,
            0.943_808_393_901_312,
            0.350_169_740_126_609,
        ),
        (
            3.214_525_821_558_802e301,
            -0.461_465_124_531_893_76,
            0.887_158_350_488_098_5,
            -0.520_160_943_396_411_6,
        ),
        (
            1_000_000_000_000_000.2,
            0.704_625_007_925_808_6,
            -0.709_579_874_436_665_6,
            -0.993_017_182_857_968_5,
        ),
    ];
    let worst = 6_381_956_970_095_103.0 * 2f64.powi(797);
    assert_eq!(worst, 5.319_372_648_326_541e255);
    for &(x, s, c, t) in table {
        for (got, want) in [
            (sin::<Unfused, f64>(x), s),
            (sin::<Fused, f64>(x), s),
            (cos::<Unfused, f64>(x), c),
            (cos::<Fused, f64>(x), c),
            (tan::<Unfused, f64>(x), t),
            (tan::<Fused, f64>(x), t),
            (-sin::<Unfused, f64>(-x), s),
            (cos::<Fused, f64>(-x), c),
        ] {
            assert!(
                ulps64(got, want) <= 2.0,
                "trig({x:e}): got {got:e}, want {want:e}"
            );
        }
    }
}

#[test]
fn pow_c99_special_cases() {
    let inf = f64::INFINITY;
    let table: &[(f64, f64, f64)] = &[
        (f64::NAN, 0.0, 1.0),
        (f64::NAN, -0.0, 1.0),
        (1.0, f64::NAN, 1.0),
        (-1.0, inf, 1.0),
        (-1.0, -inf, 1.0),
        (0.0, -3.0, inf),
        (-0.0, -3.0, -inf),
        (-0.0, -2.0, inf),
        (-0.0, 3.0, -0.0),
        (-0.0, 2.0, 0.0),
        (-0.0, 0.5, 0.0),
        (0.5, -inf, inf),
        (2.0, -inf, 0.0),
        (0.5, inf, 0.0),
        (2.0, inf, inf),
        (-inf, -3.0, -0.0),
        (-inf, -2.0, 0.0),
        (-inf, 3.0, -inf),
        (-inf, 0.5, inf),
        (inf, -1.0, 0.0),
        (inf, 1.0, inf),
        (-2.0, 3.0, -8.0),
        (-2.0, -3.0, -0.125),
        (-2.0, 2.0, 4.0),
        (-8.0, 1.0 / 3.0, f64::NAN),
        (-2.0, 9_007_199_254_740_994.0, inf),
        (-1.0, 9_007_199_254_740_993.0, 1.0),
        (2.0, 1024.0, inf),
        (2.0, -1074.0, f64::from_bits(1)),
        (2.0, -1075.0, 0.0),
        (10.0, 308.0, 1e308),
    ];
    for &(x, y, want) in table {
        for got in [pow::<Unfused, f64>(x, y), pow::<Fused, f64>(x, y)] {
            check64("pow", (x, y), got, want);
        }
        let got32 = pow::<Unfused, f32>(x as f32, y as f32);
        check32(
            "pow",
            (x as f32, y as f32),
            got32,
            (x as f32).powf(y as f32),
        );
    }
}

#[test]
fn signed_zero_results() {
    for f in [exp::<Unfused, f64>, exp::<Fused, f64>] {
        assert_eq!(f(-746.0).to_bits(), 0);
    }
    for (name, f) in [
        ("expm1", expm1::<Unfused, f64> as fn(f64) -> f64),
        ("log1p", log1p::<Unfused, f64>),
        ("sin", sin::<Unfused, f64>),
        ("tan", tan::<Unfused, f64>),
        ("sinh", sinh::<Unfused, f64>),
        ("tanh", tanh::<Unfused, f64>),
        ("asin", asin::<Unfused, f64>),
        ("atan", atan::<Unfused, f64>),
    ] {
        assert_eq!(f(-0.0).to_bits(), (-0.0f64).to_bits(), "{name}(-0)");
        assert_eq!(f(0.0).to_bits(), 0, "{name}(+0)");
    }
    assert_eq!(log::<Unfused, f64>(1.0).to_bits(), 0);
    assert_eq!(acos::<Unfused, f64>(1.0).to_bits(), 0);
    assert_eq!(
        atan2::<Unfused, f64>(-0.0, 1.0).to_bits(),
        (-0.0f64).to_bits()
    );
    assert_eq!(atan2::<Unfused, f64>(-0.0, -0.0), -core::f64::consts::PI);
}

/// Every ISA copy of every slice entry point agrees with the reference.
#[test]
fn slice_entry_points_on_every_isa() {
    let mut rng = Rng(42);
    let mut xs = edge_inputs();
    for _ in 0..(if cfg!(debug_assertions) { 300 } else { 5000 }) {
        xs.push(Dist::Bits.sample(&mut rng));
        xs.push(Dist::Range(-20.0, 20.0).sample(&mut rng));
    }
    let mut ys = xs.clone();
    ys.rotate_left(7);
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    let ys32: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
    type Slice64 = fn(Isa, &[f64], &[f64], &mut [f64]);
    type Slice32 = fn(Isa, &[f32], &[f32], &mut [f32]);
    macro_rules! un {
        ($s:ident) => {
            (
                (|i, a, _, o| $s(i, a, o)) as Slice64,
                (|i, a, _, o| $s(i, a, o)) as Slice32,
            )
        };
    }
    let entries: Vec<(Slice64, Slice32)> = vec![
        un!(exp_slice_isa),
        un!(expm1_slice_isa),
        un!(log_slice_isa),
        un!(log1p_slice_isa),
        un!(sin_slice_isa),
        un!(cos_slice_isa),
        un!(tan_slice_isa),
        un!(tanh_slice_isa),
        un!(sinh_slice_isa),
        un!(cosh_slice_isa),
        un!(asin_slice_isa),
        un!(acos_slice_isa),
        un!(atan_slice_isa),
        (atan2_slice_isa::<f64>, atan2_slice_isa::<f32>),
        (pow_slice_isa::<f64>, pow_slice_isa::<f32>),
    ];
    let cases = cases();
    assert_eq!(entries.len(), cases.len());
    let mut tested = 0;
    for isa in [Isa::Baseline, Isa::Avx2Fma, Isa::Avx512] {
        if !isa_supported(isa) {
            println!("skipping {isa:?}: not supported by this CPU");
            continue;
        }
        for ((s64, s32), case) in entries.iter().zip(&cases) {
            let mut out = vec![0.0; xs.len()];
            s64(isa, &xs, &ys, &mut out);
            for ((&a, &b), &got) in xs.iter().zip(&ys).zip(&out) {
                let b = if case.binary { b } else { 0.0 };
                check64(case.name, (a, b), got, (case.reference)(a, b));
            }
            let mut out = vec![0.0; xs32.len()];
            s32(isa, &xs32, &ys32, &mut out);
            for ((&a, &b), &got) in xs32.iter().zip(&ys32).zip(&out) {
                let b = if case.binary { b } else { 0.0 };
                let want = (case.reference)(f64::from(a), f64::from(b)) as f32;
                check32(case.name, (a, b), got, want);
            }
        }
        tested += 1;
    }
    assert!(tested >= 1);
}

#[test]
fn slice_dispatch_uses_detected_isa() {
    let x = [0.0, 1.0, -1.0, 700.0];
    let mut out = [0.0; 4];
    exp_slice(&x, &mut out);
    for (&a, &o) in x.iter().zip(&out) {
        check64("exp_slice", (a, 0.0), o, a.exp());
    }
}

#[test]
#[should_panic(expected = "length mismatch")]
fn slice_length_mismatch_panics() {
    exp_slice(&[1.0f64, 2.0], &mut [0.0; 1]);
}

/// The Cody–Waite-only trig forms agree with the full ones below 2²⁰, are
/// NaN from 2²⁰ on, and the slice entries' all-medium blocks use them.
#[test]
fn medium_range_trig() {
    let mut rng = Rng(7);
    let n = if cfg!(debug_assertions) {
        3 * BLOCK
    } else {
        64 * BLOCK
    };
    let xs: Vec<f64> = (0..n)
        .map(|_| Dist::Range(-1e6, 1e6).sample(&mut rng))
        .collect();
    for &x in &xs {
        assert_eq!(sin_medium::<Unfused, f64>(x), sin::<Unfused, f64>(x));
        assert_eq!(cos_medium::<Fused, f64>(x), cos::<Fused, f64>(x));
        assert_eq!(tan_medium::<Unfused, f64>(x), tan::<Unfused, f64>(x));
    }
    for x in [1_048_576.0, -1e300, f64::INFINITY, f64::NAN] {
        assert!(sin_medium::<Unfused, f64>(x).is_nan());
        assert!(cos_medium::<Unfused, f32>(x as f32).is_nan());
        assert!(tan_medium::<Fused, f64>(x).is_nan());
    }
    let xs32: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
    type Pair = (
        fn(Isa, &[f64], &mut [f64]),
        fn(Isa, &[f32], &mut [f32]),
        fn(f64) -> f64,
    );
    let entries: [Pair; 3] = [
        (sin_slice_isa::<f64>, sin_slice_isa::<f32>, f64::sin),
        (cos_slice_isa::<f64>, cos_slice_isa::<f32>, f64::cos),
        (tan_slice_isa::<f64>, tan_slice_isa::<f32>, f64::tan),
    ];
    for isa in [Isa::Baseline, Isa::Avx2Fma, Isa::Avx512] {
        if !isa_supported(isa) {
            continue;
        }
        for (s64, s32, reference) in entries {
            let mut out = vec![0.0; n];
            s64(isa, &xs, &mut out);
            for (&x, &got) in xs.iter().zip(&out) {
                check64("medium slice", (x, 0.0), got, reference(x));
            }
            let mut out = vec![0.0; n];
            s32(isa, &xs32, &mut out);
            for (&x, &got) in xs32.iter().zip(&out) {
                check32(
                    "medium slice",
                    (x, 0.0),
                    got,
                    reference(f64::from(x)) as f32,
                );
            }
        }
    }
}

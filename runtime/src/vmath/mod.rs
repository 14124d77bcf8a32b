//! Vectorisable vector math: `exp log log1p expm1 sin cos tan tanh sinh cosh
//! asin acos atan atan2 pow` for `f32` and `f64`.
//!
//! # How generated code calls these
//!
//! Every function is straight-line, branch-free scalar code marked
//! `#[inline(always)]`: no table lookups except one gather for huge trig
//! arguments, no libm calls, selects instead of branches. Inlined into a loop
//! that is compiled with `#[target_feature]`, LLVM vectorises the whole fused
//! loop at that ISA's width. Each function is generic over
//!
//! * `T: Real` — `f32` or `f64`;
//! * `M: MulAdd` — [`Fused`] inside functions compiled with `fma` (the AVX2+FMA
//!   and AVX-512 copies), [`Unfused`] in the baseline copy. `f64::mul_add`
//!   without `fma` enabled is a libm call, slow and unvectorisable, so the
//!   baseline copy must use `Unfused`. Both meet the same accuracy bound.
//!
//! A kernel generated for `exp(-a*a/2)*b` therefore looks like:
//!
//! ```
//! use einkern_runtime::vmath::{self, Fused, Unfused};
//! #[cfg(target_arch = "x86_64")]
//! #[target_feature(enable = "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]
//! unsafe fn gauss_avx512(a: &[f64], b: &[f64], out: &mut [f64]) {
//!     for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
//!         *o = vmath::exp::<Fused, _>(-a * a / 2.0) * b;
//!     }
//! }
//! #[cfg(target_arch = "x86_64")]
//! #[target_feature(enable = "avx2,fma")]
//! unsafe fn gauss_avx2(a: &[f64], b: &[f64], out: &mut [f64]) {
//!     for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
//!         *o = vmath::exp::<Fused, _>(-a * a / 2.0) * b;
//!     }
//! }
//! fn gauss_baseline(a: &[f64], b: &[f64], out: &mut [f64]) {
//!     for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
//!         *o = vmath::exp::<Unfused, _>(-a * a / 2.0) * b;
//!     }
//! }
//! ```
//! with the copy chosen by [`crate::cpu::isa()`]. Slice-level entry points
//! (`exp_slice(x, out)`, `atan2_slice(y, x, out)`, …) do that dispatch for the
//! JIT and benchmarks; the `_slice_isa` variants take the ISA explicitly.
//!
//! `sin`, `cos` and `tan` are correct for every argument, which costs a
//! Payne–Hanek reduction (seven gathers) on every element. When a whole block
//! of arguments is below 2²⁰ — [`Real::in_medium_range`], a compare that
//! vectorises into a reduction — `sin_medium`/`cos_medium`/`tan_medium` give
//! the same results at about a third of the cost. The slice entries check
//! each block of 512 elements this way; a code generator can emit the same
//! block check around a fused loop (two copies of the loop body).
//!
//! # Accuracy
//!
//! Every function is within 4 ULP of the correctly rounded result on its whole
//! domain. Special values follow C99 Annex F / NumPy: NaN propagates, ±∞ and
//! ±0 (with their signs) map as libm does, subnormal inputs and outputs are
//! handled, and exp-like functions overflow to ∞ and underflow to 0 at exactly
//! the IEEE thresholds.
//!
//! Measured maxima (`full_sweep`: 10⁶ points per distribution — uniform in
//! bits and uniform in value over 2–3 ranges — per type and per multiply-add
//! policy, plus the special-value tests). f64 is compared with glibc's libm,
//! which is itself within 1 ULP (and is 8 ULP off for cos at the hardest
//! Payne–Hanek argument, where we match mpmath), so these are distances to
//! libm, not to the exact result (re-evaluated with mpmath at the worst
//! arguments found, our errors are tanh 1.93, asin 1.85, tan 1.80, cosh 0.44
//! ULP where libm is 1.07, 0.15, 0.20, 1.56); f32 is compared with the f64
//! libm result rounded to f32:
//!
//! | function | f64 vs libm | f32 |  | function | f64 vs libm | f32 |
//! |---|---|---|---|---|---|---|
//! | exp   | 1 | 1 | | sinh  | 2 | 0 |
//! | expm1 | 1 | 0 | | cosh  | 2 | 0 |
//! | log   | 1 | 1 | | tanh  | 3 | 0 |
//! | log1p | 1 | 0 | | asin  | 2 | 0 |
//! | sin   | 1 | 0 | | acos  | 1 | 0 |
//! | cos   | 1 | 0 | | atan  | 1 | 0 |
//! | tan   | 2 | 0 | | atan2 | 2 | 0 |
//! | pow   | 1 | 0 | |       |   |   |
//!
//! `exp` and `log` for f32 are native single-precision kernels (16 lanes per
//! AVX-512 vector). The other f32 functions evaluate the f64 algorithm on the
//! widened argument and round once; the f64 result is within a few f64 ULP,
//! so the f32 result is the correctly rounded one except in rare
//! double-rounding cases (≤ 1 ULP). That halves their vector width compared
//! with native f32 polynomials but keeps exact thresholds and full-range trig
//! reduction with one implementation.
//!
//! Algorithms and polynomial origins are documented per module: [`mod@exp`]
//! (Cody–Waite), [`mod@log`], [`mod@trig`] (Cody–Waite below 2²⁰, Payne–Hanek
//! above), [`mod@hyperbolic`], [`mod@inverse`], [`mod@pow`]. The polynomial
//! coefficients are near-minimax fits (weighted least squares on Chebyshev
//! nodes, mpmath at 110 digits) sized so that the approximation error is
//! ≤ 2⁻⁵⁷ relative.

mod common;
pub mod exp;
pub mod hyperbolic;
pub mod inverse;
pub mod log;
pub mod pow;
pub mod trig;

#[cfg(test)]
mod tests;

pub use common::{Fused, MulAdd, Unfused};

use crate::cpu::Isa;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The element types with vector math: `f32` and `f64`. Sealed.
///
/// Methods are named like the free functions of this module; generated code
/// calls the free functions (`vmath::exp::<M, T>(x)`).
pub trait Real: Copy + Send + Sync + 'static + sealed::Sealed {
    /// eˣ
    fn exp<M: MulAdd>(self) -> Self;
    /// ln x
    fn log<M: MulAdd>(self) -> Self;
    /// ln(1 + x)
    fn log1p<M: MulAdd>(self) -> Self;
    /// eˣ − 1
    fn expm1<M: MulAdd>(self) -> Self;
    /// sin x
    fn sin<M: MulAdd>(self) -> Self;
    /// cos x
    fn cos<M: MulAdd>(self) -> Self;
    /// tan x
    fn tan<M: MulAdd>(self) -> Self;
    /// tanh x
    fn tanh<M: MulAdd>(self) -> Self;
    /// sinh x
    fn sinh<M: MulAdd>(self) -> Self;
    /// cosh x
    fn cosh<M: MulAdd>(self) -> Self;
    /// asin x
    fn asin<M: MulAdd>(self) -> Self;
    /// acos x
    fn acos<M: MulAdd>(self) -> Self;
    /// atan x
    fn atan<M: MulAdd>(self) -> Self;
    /// atan2(self, x): the angle of the point (x, self)
    fn atan2<M: MulAdd>(self, x: Self) -> Self;
    /// self raised to the power y (powf)
    fn pow<M: MulAdd>(self, y: Self) -> Self;
    /// sin x for |x| < 2²⁰ (NaN otherwise), without the Payne–Hanek half
    fn sin_medium<M: MulAdd>(self) -> Self;
    /// cos x for |x| < 2²⁰ (NaN otherwise), without the Payne–Hanek half
    fn cos_medium<M: MulAdd>(self) -> Self;
    /// tan x for |x| < 2²⁰ (NaN otherwise), without the Payne–Hanek half
    fn tan_medium<M: MulAdd>(self) -> Self;
    /// |x| < 2²⁰, the domain of the `*_medium` functions (false for NaN)
    fn in_medium_range(self) -> bool;
}

macro_rules! real_impls {
    ($($f:ident in $m:ident;)*) => {
        impl Real for f64 {
            #[inline(always)]
            fn exp<M: MulAdd>(self) -> f64 {
                exp::exp::<M>(self)
            }
            #[inline(always)]
            fn log<M: MulAdd>(self) -> f64 {
                log::log::<M>(self)
            }
            $(
                #[inline(always)]
                fn $f<M: MulAdd>(self) -> f64 {
                    $m::$f::<M>(self)
                }
            )*
            #[inline(always)]
            fn atan2<M: MulAdd>(self, x: f64) -> f64 {
                inverse::atan2::<M>(self, x)
            }
            #[inline(always)]
            fn pow<M: MulAdd>(self, y: f64) -> f64 {
                pow::pow_impl::<M, true>(self, y)
            }
            #[inline(always)]
            fn in_medium_range(self) -> bool {
                trig::in_medium_range(self)
            }
        }
        impl Real for f32 {
            #[inline(always)]
            fn exp<M: MulAdd>(self) -> f32 {
                exp::exp_f32::<M>(self)
            }
            #[inline(always)]
            fn log<M: MulAdd>(self) -> f32 {
                log::log_f32::<M>(self)
            }
            $(
                #[inline(always)]
                fn $f<M: MulAdd>(self) -> f32 {
                    $m::$f::<M>(f64::from(self)) as f32
                }
            )*
            #[inline(always)]
            fn atan2<M: MulAdd>(self, x: f32) -> f32 {
                inverse::atan2::<M>(f64::from(self), f64::from(x)) as f32
            }
            #[inline(always)]
            fn pow<M: MulAdd>(self, y: f32) -> f32 {
                pow::pow_impl::<M, false>(f64::from(self), f64::from(y)) as f32
            }
            #[inline(always)]
            fn in_medium_range(self) -> bool {
                trig::in_medium_range(f64::from(self))
            }
        }
        $(
            #[doc = concat!("`", stringify!($f), "` for f32 or f64; see [`Real`] and the module docs.")]
            #[inline(always)]
            pub fn $f<M: MulAdd, T: Real>(x: T) -> T {
                T::$f::<M>(x)
            }
        )*
    };
}

/// eˣ for f32 or f64; see [`Real`] and the module docs.
#[inline(always)]
pub fn exp<M: MulAdd, T: Real>(x: T) -> T {
    T::exp::<M>(x)
}

/// ln x for f32 or f64; see [`Real`] and the module docs.
#[inline(always)]
pub fn log<M: MulAdd, T: Real>(x: T) -> T {
    T::log::<M>(x)
}

real_impls! {
    log1p in log;
    expm1 in exp;
    sin in trig;
    cos in trig;
    tan in trig;
    sin_medium in trig;
    cos_medium in trig;
    tan_medium in trig;
    tanh in hyperbolic;
    sinh in hyperbolic;
    cosh in hyperbolic;
    asin in inverse;
    acos in inverse;
    atan in inverse;
}

/// atan2(y, x) for f32 or f64: the angle of the point (x, y) in [−π, π].
#[inline(always)]
pub fn atan2<M: MulAdd, T: Real>(y: T, x: T) -> T {
    T::atan2::<M>(y, x)
}

/// x^y for f32 or f64 (powf) with C99/NumPy special cases.
#[inline(always)]
pub fn pow<M: MulAdd, T: Real>(x: T, y: T) -> T {
    T::pow::<M>(x, y)
}

/// Whether this CPU can run the code compiled for `isa` (independent of the
/// `EINKERN_ISA` cap, which only lowers what [`crate::cpu::isa()`] picks).
pub fn isa_supported(isa: Isa) -> bool {
    match isa {
        Isa::Baseline => true,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512dq")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx2")
                && is_x86_feature_detected!("fma")
        }
        #[cfg(not(target_arch = "x86_64"))]
        _ => false,
    }
}

/// One function of one or two arguments, as a type, so that a single
/// multiversioned loop serves them all.
trait Op {
    /// Whether [`Op::apply_medium`] exists: a cheaper form valid when every
    /// first argument of a block satisfies [`Real::in_medium_range`].
    const HAS_MEDIUM: bool = false;
    fn apply<M: MulAdd, T: Real>(a: T, b: T) -> T;
    #[inline(always)]
    fn apply_medium<M: MulAdd, T: Real>(a: T, b: T) -> T {
        Self::apply::<M, T>(a, b)
    }
}

/// Elements per block for the medium-range check of the trig functions.
const BLOCK: usize = 512;

/// The loop every ISA copy inlines. For trig functions each block is
/// scanned first (a vectorised compare-and-reduce) and, when all its
/// arguments are below 2²⁰, runs the Cody–Waite-only form.
#[inline(always)]
fn run<O: Op, M: MulAdd, T: Real>(a: &[T], b: &[T], out: &mut [T]) {
    if O::HAS_MEDIUM {
        for ((ca, cb), co) in a
            .chunks(BLOCK)
            .zip(b.chunks(BLOCK))
            .zip(out.chunks_mut(BLOCK))
        {
            let medium = ca.iter().fold(true, |acc, &v| acc & v.in_medium_range());
            if medium {
                for ((o, &x), &y) in co.iter_mut().zip(ca).zip(cb) {
                    *o = O::apply_medium::<M, T>(x, y);
                }
            } else {
                for ((o, &x), &y) in co.iter_mut().zip(ca).zip(cb) {
                    *o = O::apply::<M, T>(x, y);
                }
            }
        }
    } else {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = O::apply::<M, T>(x, y);
        }
    }
}

/// The multiversioned loop bodies. Each copy is compiled for one ISA and
/// monomorphised per operation, so LLVM sees the inlined math and vectorises.
macro_rules! map_loops {
    ($($name:ident, $feat:literal, $m:ty;)*) => {$(
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $feat)]
        unsafe fn $name<O: Op, T: Real>(a: &[T], b: &[T], out: &mut [T]) {
            run::<O, $m, T>(a, b, out)
        }
    )*};
}
map_loops! {
    map_avx512, "avx512f,avx512vl,avx512dq,avx512bw,avx2,fma", Fused;
    map_avx2, "avx2,fma", Fused;
}

fn map_baseline<O: Op, T: Real>(a: &[T], b: &[T], out: &mut [T]) {
    run::<O, Unfused, T>(a, b, out)
}

/// Runs `O` over the slices with the copy compiled for `isa`.
/// Panics if the CPU does not support `isa`.
fn map<O: Op, T: Real>(isa: Isa, a: &[T], b: &[T], out: &mut [T]) {
    assert!(
        isa_supported(isa),
        "vmath: this CPU does not support {isa:?}"
    );
    match isa {
        Isa::Baseline => map_baseline::<O, T>(a, b, out),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: isa_supported(Avx2Fma) checked avx2 and fma above.
        Isa::Avx2Fma => unsafe { map_avx2::<O, T>(a, b, out) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: isa_supported(Avx512) checked every enabled feature above.
        Isa::Avx512 => unsafe { map_avx512::<O, T>(a, b, out) },
        #[cfg(not(target_arch = "x86_64"))]
        _ => map_baseline::<O, T>(a, b, out),
    }
}

macro_rules! unary_slices {
    ($($f:ident $(/ $medium:ident)?, $op:ident, $slice:ident, $slice_isa:ident;)*) => {$(
        struct $op;
        impl Op for $op {
            $(
                const HAS_MEDIUM: bool = true;
                #[inline(always)]
                fn apply_medium<M: MulAdd, T: Real>(a: T, _: T) -> T {
                    T::$medium::<M>(a)
                }
            )?
            #[inline(always)]
            fn apply<M: MulAdd, T: Real>(a: T, _: T) -> T {
                T::$f::<M>(a)
            }
        }
        #[doc = concat!("`out[i] = ", stringify!($f), "(x[i])` with the best ISA of this CPU ([`crate::cpu::isa()`]).")]
        ///
        /// Panics if the lengths differ.
        pub fn $slice<T: Real>(x: &[T], out: &mut [T]) {
            $slice_isa(crate::cpu::isa(), x, out)
        }
        #[doc = concat!("[`", stringify!($slice), "`] with the ISA copy chosen by the caller.")]
        ///
        /// Panics if the lengths differ or the CPU does not support `isa`.
        pub fn $slice_isa<T: Real>(isa: Isa, x: &[T], out: &mut [T]) {
            assert_eq!(x.len(), out.len(), concat!(stringify!($slice), ": length mismatch"));
            map::<$op, T>(isa, x, x, out)
        }
    )*};
}

unary_slices! {
    exp, ExpOp, exp_slice, exp_slice_isa;
    log, LogOp, log_slice, log_slice_isa;
    log1p, Log1pOp, log1p_slice, log1p_slice_isa;
    expm1, Expm1Op, expm1_slice, expm1_slice_isa;
    sin / sin_medium, SinOp, sin_slice, sin_slice_isa;
    cos / cos_medium, CosOp, cos_slice, cos_slice_isa;
    tan / tan_medium, TanOp, tan_slice, tan_slice_isa;
    tanh, TanhOp, tanh_slice, tanh_slice_isa;
    sinh, SinhOp, sinh_slice, sinh_slice_isa;
    cosh, CoshOp, cosh_slice, cosh_slice_isa;
    asin, AsinOp, asin_slice, asin_slice_isa;
    acos, AcosOp, acos_slice, acos_slice_isa;
    atan, AtanOp, atan_slice, atan_slice_isa;
}

macro_rules! binary_slices {
    ($($f:ident, $op:ident, $a:ident, $b:ident, $slice:ident, $slice_isa:ident;)*) => {$(
        struct $op;
        impl Op for $op {
            #[inline(always)]
            fn apply<M: MulAdd, T: Real>(a: T, b: T) -> T {
                T::$f::<M>(a, b)
            }
        }
        #[doc = concat!("`out[i] = ", stringify!($f), "(", stringify!($a), "[i], ", stringify!($b), "[i])` with the best ISA of this CPU.")]
        ///
        /// Panics if the lengths differ.
        pub fn $slice<T: Real>($a: &[T], $b: &[T], out: &mut [T]) {
            $slice_isa(crate::cpu::isa(), $a, $b, out)
        }
        #[doc = concat!("[`", stringify!($slice), "`] with the ISA copy chosen by the caller.")]
        ///
        /// Panics if the lengths differ or the CPU does not support `isa`.
        pub fn $slice_isa<T: Real>(isa: Isa, $a: &[T], $b: &[T], out: &mut [T]) {
            assert!($a.len() == out.len() && $b.len() == out.len(), concat!(stringify!($slice), ": length mismatch"));
            map::<$op, T>(isa, $a, $b, out)
        }
    )*};
}

binary_slices! {
    atan2, Atan2Op, y, x, atan2_slice, atan2_slice_isa;
    pow, PowOp, x, y, pow_slice, pow_slice_isa;
}

//! Which SIMD instruction set the hot loops may use, detected once.
//!
//! `cargo build --release` targets baseline x86-64, so every fast path is
//! compiled with `#[target_feature]` and chosen at run time from [`isa()`].
//! Detection runs once; later calls are one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};

/// The instruction-set levels einkern has kernels for, best last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Isa {
    /// Whatever the build target guarantees (SSE2 on x86-64); portable code.
    Baseline,
    /// AVX2 with FMA (x86-64-v3 floating point).
    Avx2Fma,
    /// AVX-512 F + VL + DQ + BW (x86-64-v4).
    Avx512,
}

const UNKNOWN: u8 = u8::MAX;
static DETECTED: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The best instruction set this CPU supports, honouring the environment
/// variable `EINKERN_ISA` (`baseline`, `avx2`, `avx512`) to cap it, so that
/// every path can be tested and benchmarked on one machine.
pub fn isa() -> Isa {
    match DETECTED.load(Ordering::Relaxed) {
        0 => Isa::Baseline,
        1 => Isa::Avx2Fma,
        2 => Isa::Avx512,
        _ => {
            let isa = detect().min(cap_from_env());
            DETECTED.store(isa as u8, Ordering::Relaxed);
            isa
        }
    }
}

fn cap_from_env() -> Isa {
    match std::env::var("EINKERN_ISA").as_deref() {
        Ok("baseline") => Isa::Baseline,
        Ok("avx2") => Isa::Avx2Fma,
        _ => Isa::Avx512,
    }
}

#[cfg(all(target_arch = "x86_64", not(miri)))]
fn detect() -> Isa {
    if is_x86_feature_detected!("avx512f")
        && is_x86_feature_detected!("avx512vl")
        && is_x86_feature_detected!("avx512dq")
        && is_x86_feature_detected!("avx512bw")
        && is_x86_feature_detected!("fma")
        && is_x86_feature_detected!("avx2")
    {
        Isa::Avx512
    } else if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
        Isa::Avx2Fma
    } else {
        Isa::Baseline
    }
}

/// Miri checks the portable paths only (it does not run most SIMD
/// intrinsics), so under Miri every kernel choice falls back to baseline.
#[cfg(any(not(target_arch = "x86_64"), miri))]
fn detect() -> Isa {
    Isa::Baseline
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection_is_stable() {
        assert_eq!(isa(), isa());
        #[cfg(target_arch = "x86_64")]
        if isa() >= Isa::Avx2Fma {
            assert!(is_x86_feature_detected!("fma"));
        }
    }
}

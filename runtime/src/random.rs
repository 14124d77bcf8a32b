//! Seeded random arrays for tests, demos and benchmarks.
//!
//! Same seed, same array, on every machine: the generator is rand's
//! `StdRng` seeded with `seed_from_u64`, and elements are drawn in C order.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use crate::array::Array;
use crate::element::{DType, Element};
use crate::error::Error;
use crate::layout::Order;

/// Elements drawn uniformly from `[low, high)`: real numbers for `f32`/`f64`,
/// integers for `i32`/`i64` (the bounds are then rounded towards each other).
pub fn uniform<T: Element>(
    shape: &[usize],
    low: f64,
    high: f64,
    seed: u64,
) -> Result<Array<T>, Error> {
    // Finite first, so that NaN bounds are refused before comparing.
    if !low.is_finite() || !high.is_finite() || low >= high {
        return Err(Error::value(format!(
            "uniform needs finite low < high, got [{low}, {high})"
        )));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let draw: Box<dyn FnMut(&mut StdRng) -> T> = if T::DTYPE.is_float() {
        Box::new(move |r: &mut StdRng| {
            let x = T::from_f64(low + (high - low) * r.random::<f64>());
            // Rounding to f32 can land on `high`; keep the interval half-open.
            if x.to_f64() >= high {
                T::from_f64(low)
            } else {
                x
            }
        })
    } else {
        let (lo, hi) = (low.ceil() as i64, high.ceil() as i64);
        if lo >= hi {
            return Err(Error::value(format!("no integer lies in [{low}, {high})")));
        }
        Box::new(move |r: &mut StdRng| T::from_f64(r.random_range(lo..hi) as f64))
    };
    fill(shape, draw, &mut rng)
}

/// Elements drawn from a normal distribution (floats only).
pub fn normal<T: Element>(
    shape: &[usize],
    mean: f64,
    std_dev: f64,
    seed: u64,
) -> Result<Array<T>, Error> {
    if !matches!(T::DTYPE, DType::F32 | DType::F64) {
        return Err(Error::type_(format!(
            "normal samples are real numbers, not {}",
            T::DTYPE
        )));
    }
    // rand_distr accepts a negative deviation (it mirrors); NumPy does not.
    if !std_dev.is_finite() || !mean.is_finite() || std_dev < 0.0 {
        return Err(Error::value(format!(
            "normal needs a finite mean and std >= 0, got mean={mean}, std={std_dev}"
        )));
    }
    let dist = Normal::new(mean, std_dev)
        .map_err(|e| Error::value(format!("normal(mean={mean}, std={std_dev}): {e}")))?;
    let mut rng = StdRng::seed_from_u64(seed);
    fill(
        shape,
        Box::new(move |r: &mut StdRng| T::from_f64(dist.sample(r))),
        &mut rng,
    )
}

fn fill<T: Element>(
    shape: &[usize],
    mut draw: Box<dyn FnMut(&mut StdRng) -> T + '_>,
    rng: &mut StdRng,
) -> Result<Array<T>, Error> {
    // SAFETY: every element is written below before the array is returned.
    let mut a = unsafe { Array::try_uninit(shape, Order::C) }?;
    for x in a.as_mut_slice_memory_order() {
        *x = draw(rng);
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_is_seeded_and_in_range() {
        let a = uniform::<f64>(&[1000], 0.0, 1.0, 7).unwrap();
        let b = uniform::<f64>(&[1000], 0.0, 1.0, 7).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, uniform::<f64>(&[1000], 0.0, 1.0, 8).unwrap());
        assert!(a.iter().all(|x| (0.0..1.0).contains(&x)));
        let mean = a.iter().sum::<f64>() / 1000.0;
        assert!((mean - 0.5).abs() < 0.05, "{mean}");
        let i = uniform::<i32>(&[500], -3.0, 3.0, 1).unwrap();
        assert!(i.iter().all(|x| (-3..3).contains(&x)));
        assert!(i.iter().any(|x| x == -3) && i.iter().any(|x| x == 2));
        assert!(uniform::<f32>(&[3], 1.0, 1.0, 0).is_err());
        assert!(uniform::<i64>(&[3], 0.2, 0.7, 0).is_err());
        // Too large is an error, not an abort.
        assert!(uniform::<f64>(&[1 << 61], 0.0, 1.0, 0).is_err());
        assert!(matches!(
            normal::<f64>(&[1 << 59], 0.0, 1.0, 0),
            Err(Error::Alloc { .. })
        ));
    }

    #[test]
    fn normal_has_its_moments() {
        let a = normal::<f64>(&[20000], 2.0, 3.0, 1).unwrap();
        let n = a.len() as f64;
        let mean = a.iter().sum::<f64>() / n;
        let var = a.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        assert!(
            (mean - 2.0).abs() < 0.1 && (var.sqrt() - 3.0).abs() < 0.1,
            "{mean} {var}"
        );
        assert!(normal::<i32>(&[2], 0.0, 1.0, 0).is_err());
        assert!(normal::<f64>(&[2], 0.0, -1.0, 0).is_err());
    }
}

//! Views built from fuzzer bytes, shared by the targets: shapes well beyond
//! the old 3×3×3 (primes, a few thousand, and axes of 2⁶¹ and more that
//! only an empty or broadcast view can have), over a small buffer through
//! `as_strided` (zero and negative strides, offsets) and `broadcast_to`.
#![allow(dead_code)]

use einkern_runtime::{Array, ArrayView, Element};

/// Reads bytes front to back; zeros once the input is used up.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
}

/// Axis lengths from one byte: mostly small, some primes and a few
/// thousand, and lengths whose byte size overflows `isize` for any element
/// type (only an empty view may have them).
pub fn dim(b: u8) -> usize {
    const LARGE: [usize; 16] = [
        11,
        13,
        31,
        64,
        97,
        257,
        1024,
        4099,
        1 << 61,
        (1 << 61) + 3,
        1 << 62,
        isize::MAX as usize,
        (1 << 63) + 1,
        usize::MAX - 1,
        usize::MAX,
        65537,
    ];
    if b < 224 {
        (b % 8) as usize
    } else {
        LARGE[(b % 16) as usize]
    }
}

/// Whether a shape is cheap to compute over: at most 2¹⁶ elements, and every
/// axis either moderate (so results and temporaries of any reduction stay
/// small) or so long that any non-empty array of it must be refused.
pub fn cheap(shape: &[usize]) -> bool {
    let moderate: Option<usize> = shape
        .iter()
        .filter(|&&d| d <= 1 << 16)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    shape.iter().all(|&d| d <= 1 << 16 || d >= 1 << 61)
        && moderate.is_some_and(|m| m <= 1 << 16)
        && count.is_some_and(|c| c <= 1 << 16)
}

/// A shape of up to four axes.
pub fn shape(bytes: &mut Bytes<'_>) -> Vec<usize> {
    let ndim = (bytes.byte() % 5) as usize;
    (0..ndim).map(|_| dim(bytes.byte())).collect()
}

/// The buffer every view is carved from: 64 distinct small values.
pub fn base<T: Element>() -> Array<T> {
    Array::from_fn(&[64], |i| T::from_f64((i[0] % 13) as f64 - 4.0))
}

/// A view of `base` with `shape`: an `as_strided` view of small axes with
/// fuzzer-chosen strides (negative, zero) and offset, then `broadcast_to`
/// the full shape (axes longer than 4 are stretched from length 1). Falls
/// back to a simpler view whenever a step is refused; the refusals are what
/// is being tested as much as the views.
pub fn view<'a, T: Element>(
    base: &'a Array<T>,
    shape: &[usize],
    bytes: &mut Bytes<'_>,
) -> ArrayView<'a, T> {
    let small: Vec<usize> = shape.iter().map(|&d| if d <= 4 { d } else { 1 }).collect();
    let strides: Vec<isize> = small
        .iter()
        .map(|_| (bytes.byte() % 9) as isize - 4)
        .collect();
    let offset = (bytes.byte() % 64) as usize;
    let strided = base
        .as_strided(&small, &strides, offset)
        .or_else(|_| base.as_strided(&small, &vec![0; small.len()], offset))
        .expect("a view of length-≤4 axes with zero strides fits");
    match strided.broadcast_to(shape) {
        Ok(v) => v,
        Err(_) => strided,
    }
}

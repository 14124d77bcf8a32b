//! The element types einkern computes with.

use std::fmt::{Debug, Display};

/// The run-time tag of an [`Element`] type: what `.npy` headers, the JIT and
/// error messages talk about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
    I32,
    I64,
}

impl DType {
    /// NumPy's name for the type (`float64`, `int32`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "float32",
            DType::F64 => "float64",
            DType::I32 => "int32",
            DType::I64 => "int64",
        }
    }
    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::F64 | DType::I64 => 8,
        }
    }
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64)
    }
}

impl Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i32 {}
    impl Sealed for i64 {}
}

/// A scalar type einkern arrays hold: `f32`, `f64`, `i32` or `i64`.
///
/// Sealed: the compiler, the GEMM micro-kernels and the `.npy` reader each
/// know the exact set, and a fifth type would silently miss all of them.
pub trait Element:
    Copy + Send + Sync + 'static + PartialEq + PartialOrd + Default + Debug + Display + sealed::Sealed
{
    /// The run-time tag of this type.
    const DTYPE: DType;
    const ZERO: Self;
    const ONE: Self;
    /// `value as Self` (saturating for integers, like Rust's `as`).
    fn from_f64(value: f64) -> Self;
    /// `self as f64`.
    fn to_f64(self) -> f64;
    /// Reads one element from little-endian bytes (`bytes.len() == size`).
    fn read_le(bytes: &[u8]) -> Self;
    /// Reads one element from big-endian bytes (`bytes.len() == size`).
    fn read_be(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn write_le(self, out: &mut Vec<u8>);
}

macro_rules! impl_element {
    ($t:ty, $tag:expr, $zero:expr, $one:expr) => {
        impl Element for $t {
            const DTYPE: DType = $tag;
            const ZERO: Self = $zero;
            const ONE: Self = $one;
            #[inline(always)]
            fn from_f64(value: f64) -> Self {
                value as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn read_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element byte width"))
            }
            #[inline(always)]
            fn read_be(bytes: &[u8]) -> Self {
                <$t>::from_be_bytes(bytes.try_into().expect("element byte width"))
            }
            #[inline(always)]
            fn write_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    };
}

impl_element!(f32, DType::F32, 0.0, 1.0);
impl_element!(f64, DType::F64, 0.0, 1.0);
impl_element!(i32, DType::I32, 0, 1);
impl_element!(i64, DType::I64, 0, 1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_round_trips() {
        let mut v = Vec::new();
        (-1.5f64).write_le(&mut v);
        assert_eq!(<f64 as Element>::read_le(&v), -1.5);
        let be = 7i32.to_be_bytes();
        assert_eq!(<i32 as Element>::read_be(&be), 7);
        assert_eq!(f32::DTYPE.size(), 4);
        assert_eq!(i64::DTYPE.name(), "int64");
    }
}

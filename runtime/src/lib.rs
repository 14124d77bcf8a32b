//! einkern-runtime: the strided-array runtime every einkern kernel runs on.
//!
//! Users reach all of this through the `einkern` facade; generated code
//! reaches it through `::einkern::__rt`.
//!
//! - [`Array`], [`ArrayView`], [`ArrayViewMut`]: owned arrays and views
//!   (pointer + shape + element strides), NumPy's view semantics.
//! - [`layout`] and [`geometry`]: the stride arithmetic behind every view.
//! - [`copy`]: layout-changing copies, cache-blocked for transposes.
//! - [`alloc`]: aligned buffers with huge-page advice for fresh outputs.
//! - [`cpu`]: which SIMD level the hot loops may use.
//! - [`gemm`]: packed, register-blocked matrix products (BLIS-style).
//! - [`vmath`]: vectorised transcendental functions for fused kernels.
//! - [`sop`]: sum-of-products loop nests (every einsum step but GEMM).
//! - [`ew`]: the loop-nest driver of fused elementwise kernels and reductions.

pub mod alloc;
pub mod array;
mod as_view;
pub mod copy;
pub mod cpu;
mod display;
pub mod element;
pub mod error;
pub mod ew;
pub mod gemm;
pub mod geometry;
pub mod layout;
#[cfg(feature = "ndarray")]
pub mod ndarray_interop;
pub mod npy;
pub mod random;
pub mod slice;
pub mod sop;
pub mod transpose;
pub mod view;
pub mod vmath;

pub use array::Array;
pub use as_view::AsArrayView;
pub use element::{DType, Element};
pub use error::Error;
pub use layout::{broadcast_shapes, Order};
pub use slice::{NewAxis, SliceElem, SliceInfo};
pub use view::{ArrayView, ArrayViewMut, Iter};

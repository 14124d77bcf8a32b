//! einkern-runtime: the strided-array runtime every einkern kernel runs on.
//!
//! Users reach all of this through the `einkern` facade; generated code
//! reaches it through `::einkern::__rt`.

pub mod cpu;
pub mod element;
pub mod error;
pub mod gemm;

pub use element::{DType, Element};
pub use error::Error;

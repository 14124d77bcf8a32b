//! The `einsum` and `eval` subcommands: `.npy` files in, one `.npy` file
//! out, through the run-time compiler (`einkern::jit`).

mod args;
mod einsum;
mod eval;
mod npy;

pub use args::Failure;
pub use einsum::run as einsum;
pub use eval::run as eval;

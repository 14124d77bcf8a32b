//! The `einsum` and `eval` subcommands: `.npy` files in, one `.npy` file
//! out, through the run-time compiler (`einkern::jit`).

// The parser lives in the library, where the fuzz target `cli_args` reaches it.
use einkern::__cli_args as args;
mod einsum;
mod eval;
mod npy;

pub use args::Failure;
pub use einsum::run as einsum;
pub use eval::run as eval;

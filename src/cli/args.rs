//! Command-line words: positionals, `-o FILE` and `--dtype NAME`.
//!
//! Compiled into the library (as the hidden `einkern::__cli_args`) rather
//! than the binary, so that the fuzz target `cli_args` can reach the parser;
//! the binary uses it from there. Not a public API.

use crate::{DType, Error};

/// Why a subcommand failed: bad usage (exit code 2) or a failure while
/// doing the work (exit code 1).
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Run(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Run(e)
    }
}

/// The words of one subcommand, options taken out.
pub struct Parsed {
    pub positional: Vec<String>,
    pub out: String,
    pub dtype: Option<DType>,
}

/// Splits `args` into positionals and the options `-o`/`--out` (required)
/// and, if `dtype_allowed`, `--dtype`.
pub fn parse(args: &[String], dtype_allowed: bool) -> Result<Parsed, Failure> {
    let mut positional = Vec::new();
    let (mut out, mut dtype) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{name} needs a value")))
        };
        match a.as_str() {
            "-o" | "--out" => out = Some(value(a)?),
            "--dtype" if dtype_allowed => dtype = Some(parse_dtype(&value(a)?)?),
            s if s.starts_with('-')
                && s.len() > 1
                && !s[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.') =>
            {
                return Err(Failure::Usage(format!("unknown option '{s}'")))
            }
            _ => positional.push(a.clone()),
        }
    }
    let out = out.ok_or_else(|| Failure::Usage("missing the output file: -o out.npy".into()))?;
    Ok(Parsed {
        positional,
        out,
        dtype,
    })
}

fn parse_dtype(name: &str) -> Result<DType, Failure> {
    Ok(match name {
        "f32" | "float32" => DType::F32,
        "f64" | "float64" => DType::F64,
        "i32" | "int32" => DType::I32,
        "i64" | "int64" => DType::I64,
        _ => {
            return Err(Failure::Usage(format!(
                "unknown dtype '{name}' (expected f32, f64, i32 or i64)"
            )))
        }
    })
}

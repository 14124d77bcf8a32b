//! `einkern eval "exp(-x*x/2)*y" x=x.npy y=y.npy -o out.npy [--dtype f32]`

use einkern::{jit, ArrayView, DType, Element};

use super::args::{parse, Failure};
use super::npy::{dtype_of, read_as};

pub fn run(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, true)?;
    let Some((expr, bindings)) = p.positional.split_first() else {
        return Err(Failure::Usage(
            "usage: einkern eval EXPR NAME=FILE.npy ... -o OUT.npy [--dtype f32|f64|i32|i64]"
                .into(),
        ));
    };
    let mut names = Vec::new();
    let mut files = Vec::new();
    for b in bindings {
        let Some((name, file)) = b.split_once('=') else {
            return Err(Failure::Usage(format!(
                "'{b}' is not an input binding: write NAME=FILE.npy"
            )));
        };
        names.push(name.to_string());
        files.push(file.to_string());
    }
    // Without --dtype, compute in the first input's type (float64 if none).
    let dtype = match (p.dtype, files.first()) {
        (Some(d), _) => d,
        (None, Some(f)) => dtype_of(f)?,
        (None, None) => DType::F64,
    };
    match dtype {
        DType::F32 => typed::<f32>(expr, &names, &files, &p.out),
        DType::F64 => typed::<f64>(expr, &names, &files, &p.out),
        DType::I32 => typed::<i32>(expr, &names, &files, &p.out),
        DType::I64 => typed::<i64>(expr, &names, &files, &p.out),
    }
}

fn typed<T: Element>(
    expr: &str,
    names: &[String],
    files: &[String],
    out: &str,
) -> Result<(), Failure> {
    let args: Vec<&str> = names.iter().map(String::as_str).collect();
    let kernel = jit::compile::<T>(expr, &args)?;
    let arrays = files
        .iter()
        .map(|f| read_as::<T>(f))
        .collect::<Result<Vec<_>, _>>()?;
    let views: Vec<ArrayView<T>> = arrays.iter().map(|a| a.view()).collect();
    kernel.eval(&views)?.write_npy(out)?;
    Ok(())
}

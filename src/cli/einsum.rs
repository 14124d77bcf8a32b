//! `einkern einsum "bij,bjk->bik" a.npy b.npy -o c.npy`

use einkern::{jit, ArrayView, DType, Element};
use einkern_codegen::einsum::MAX_OPERANDS;

use super::args::{parse, Failure};
use super::npy::{dtype_of, read_as};

pub fn run(args: &[String]) -> Result<(), Failure> {
    let p = parse(args, false)?;
    let Some((spec, files)) = p.positional.split_first() else {
        return Err(Failure::Usage(
            "usage: einkern einsum SPEC A.npy [B.npy ...] -o OUT.npy".into(),
        ));
    };
    if files.is_empty() {
        return Err(Failure::Usage(
            "einsum needs at least one operand file".into(),
        ));
    }
    // Refused before any file is read: the engine would refuse it anyway.
    if files.len() > MAX_OPERANDS {
        return Err(Failure::Run(einkern::Error::value(format!(
            "einsum takes at most {MAX_OPERANDS} operands, but {} files were given",
            files.len()
        ))));
    }
    // The first operand decides the element type; the others must match.
    match dtype_of(&files[0])? {
        DType::F32 => typed::<f32>(spec, files, &p.out),
        DType::F64 => typed::<f64>(spec, files, &p.out),
        DType::I32 => typed::<i32>(spec, files, &p.out),
        DType::I64 => typed::<i64>(spec, files, &p.out),
    }
}

fn typed<T: Element>(spec: &str, files: &[String], out: &str) -> Result<(), Failure> {
    let arrays = files
        .iter()
        .map(|f| {
            if dtype_of(f)? != T::DTYPE {
                return Err(einkern::Error::type_(format!(
                    "{f} holds {}, but the first operand holds {}",
                    dtype_of(f)?,
                    T::DTYPE
                )));
            }
            read_as::<T>(f)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let views: Vec<ArrayView<T>> = arrays.iter().map(|a| a.view()).collect();
    jit::einsum(spec, &views)?.write_npy(out)?;
    Ok(())
}

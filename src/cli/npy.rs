//! Reading `.npy` files whose element type is known only at run time.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use einkern::npy::read_header;
use einkern::{Array, DType, Element, Error};

/// The element type stored in the `.npy` file at `path`.
pub fn dtype_of(path: &str) -> Result<DType, Error> {
    let file = File::open(path).map_err(|e| Error::io(Some(Path::new(path)), e))?;
    Ok(read_header(&mut BufReader::new(file))?.dtype)
}

/// The array in `path`, converted to `T` if the file holds another type.
pub fn read_as<T: Element>(path: &str) -> Result<Array<T>, Error> {
    fn convert<S: Element, T: Element>(path: &str) -> Result<Array<T>, Error> {
        let a = Array::<S>::read_npy(path)?;
        let data = a
            .to_vec()
            .into_iter()
            .map(|v| T::from_f64(v.to_f64()))
            .collect();
        Array::from_vec(a.shape(), data)
    }
    match dtype_of(path)? {
        d if d == T::DTYPE => Array::read_npy(path),
        DType::F32 => convert::<f32, T>(path),
        DType::F64 => convert::<f64, T>(path),
        DType::I32 => convert::<i32, T>(path),
        DType::I64 => convert::<i64, T>(path),
    }
}

// `_into` cannot write into an array it also reads: the output is an
// exclusive borrow, the input a shared one.
use einkern::{kernel, Array, ArrayView};

#[kernel]
fn double(x: ArrayView<f64>) -> Array<f64> {
    x * 2.0
}

fn main() {
    let mut a = Array::<f64>::zeros(&[3]);
    double_into(a.view_mut(), a.view()).unwrap();
}

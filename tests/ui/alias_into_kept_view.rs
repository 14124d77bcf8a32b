// A view of the output array taken earlier and passed as the input.
use einkern::{kernel, Array, ArrayView};

#[kernel]
fn double(x: ArrayView<f64>) -> Array<f64> {
    x * 2.0
}

fn main() {
    let mut a = Array::<f64>::zeros(&[2, 2]);
    let row = a.view().slice(einkern::s![0]).unwrap();
    double_into(a.view_mut(), row).unwrap();
}

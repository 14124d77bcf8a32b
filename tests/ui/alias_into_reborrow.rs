// A reborrow of the output view as the output, the view itself as input.
use einkern::{kernel, Array, ArrayView};

#[kernel]
fn double(x: ArrayView<f64>) -> Array<f64> {
    x * 2.0
}

fn main() {
    let mut a = Array::<f64>::zeros(&[3]);
    let mut out = a.view_mut();
    double_into(out.reborrow(), out.view()).unwrap();
}

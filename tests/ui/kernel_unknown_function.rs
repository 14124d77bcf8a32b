use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>) -> Array<f64> {
    erf(x) * 2.0
}

fn main() {}

use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>, y: ArrayView<f64>) -> Array<f64> {
    x + arctan2(x, y, y)
}

fn main() {}

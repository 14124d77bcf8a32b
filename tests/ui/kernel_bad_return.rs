use einkern::{kernel, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>) -> Vec<f64> {
    x
}

fn main() {}

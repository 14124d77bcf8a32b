use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>) -> Array<f64> {
    for _ in 0..3 {}
    x
}

fn main() {}

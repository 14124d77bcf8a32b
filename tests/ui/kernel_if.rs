use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>) -> Array<f64> {
    if true { x } else { -x }
}

fn main() {}

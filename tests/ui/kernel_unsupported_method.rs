use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>) -> Array<f64> {
    x.exp().signum()
}

fn main() {}

use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f32>, y: ArrayView<f64>) -> Array<f64> {
    let z = y * 2.0;
    z + x
}

fn main() {}

use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>, w: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    einsum!("ij,jk->iq", x, w) + b
}

fn main() {}

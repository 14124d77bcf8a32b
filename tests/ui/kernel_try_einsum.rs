use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>, w: ArrayView<f64>) -> Array<f64> {
    try_einsum!("ij,jk->ik", x, w)
}

fn main() {}

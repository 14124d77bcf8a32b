use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>, w: ArrayView<f32>) -> Array<f64> {
    einsum!("ij,jk->ik", x, w)
}

fn main() {}

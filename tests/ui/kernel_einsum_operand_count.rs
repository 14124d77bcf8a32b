use einkern::{kernel, Array, ArrayView};

#[kernel]
fn k(x: ArrayView<f64>, w: ArrayView<f64>) -> Array<f64> {
    let y = einsum!("ij,jk,kl->il", x, w);
    y * 2.0
}

fn main() {}

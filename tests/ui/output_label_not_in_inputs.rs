use einkern::{einsum, Array};

fn main() {
    let a = Array::<f64>::zeros(&[2, 2]);
    let _ = einsum!("ij,jk->iz", &a, &a);
}

use einkern::{einsum, Array};

fn main() {
    let a = Array::<f64>::zeros(&[2, 2]);
    let _ = einsum!("i..j,j->i", &a, &a);
}

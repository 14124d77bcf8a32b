use einkern::{try_einsum, Array};

fn main() {
    let a = Array::<f64>::zeros(&[2, 2]);
    let _ = try_einsum!("ij,jk,kl->il", &a, &a);
}

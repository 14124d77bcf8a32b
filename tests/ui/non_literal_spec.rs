use einkern::{einsum, Array};

fn main() {
    let a = Array::<f64>::zeros(&[2, 2]);
    let spec = "ij->i";
    let _ = einsum!(spec, &a);
}

use einkern::{kernel, Array};

#[kernel]
fn k(x: Vec<f64>) -> Array<f64> {
    x
}

fn main() {}

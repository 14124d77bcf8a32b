// The same through a `&Array<T>` parameter.
use einkern::{kernel, Array};

#[kernel]
fn double(x: &Array<f64>) -> Array<f64> {
    x * 2.0
}

fn main() {
    let mut a = Array::<f64>::zeros(&[3]);
    double_into(a.view_mut(), &a).unwrap();
}

use einkern::{kernel, Array, ArrayView};

#[kernel]
fn gauss(a: ArrayView<f64>, b: ArrayView<f64>) -> Array<f64> {
    (-a * a / 2.0).exp() * b
}

#[kernel]
fn colsum(m: &Array<f64>) -> Array<f64> {
    sum(m, 0)
}

#[kernel]
fn softmax(x: ArrayView<f32>) -> Array<f32> {
    let e = (x - max_keepdims(x, -1)).exp();
    e / sum_keepdims(e, -1)
}

#[test]
fn smoke() {
    let a = Array::from_vec(&[2, 3], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
    let b = Array::from_vec(&[3], vec![1.0, 2.0, 3.0]).unwrap();
    let g = gauss(a.view(), b.view());
    assert_eq!(g.shape(), &[2, 3]);
    assert!((g.to_vec()[1] - (-0.5f64).exp() * 2.0).abs() < 1e-15);
    assert_eq!(colsum(&a).to_vec(), vec![3.0, 5.0, 7.0]);
    let x = Array::from_vec(&[2, 2], vec![0.0f32, 0.0, 1.0, 1.0]).unwrap();
    assert_eq!(softmax(x.view()).to_vec(), vec![0.5; 4]);
}

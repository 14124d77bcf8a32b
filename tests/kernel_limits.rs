//! `#[kernel]`s on extents the machine cannot hold: a kernel returning
//! `Result` returns the error (its output, a reduction's or an einsum
//! operand's temporary), one returning `Array` panics with the error's
//! message (its documented contract), and none aborts. Empty axes with huge
//! siblings compute what NumPy does.

use einkern::{kernel, Array, ArrayView, Error};

#[kernel]
fn plus_one(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    x + 1.0
}

#[kernel]
fn plus_one_or_panic(x: ArrayView<f64>) -> Array<f64> {
    x + 1.0
}

#[kernel]
fn row_sums(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum(x, 1)
}

#[kernel]
fn col_sums(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum(x, 0)
}

/// `x + 1` is materialised before the contraction: that temporary is the
/// impossible allocation here, the result is small.
#[kernel]
fn shifted_product(x: ArrayView<f64>, w: ArrayView<f64>) -> Result<Array<f64>, Error> {
    einsum!("ij,ik->jk", x + 1.0, w)
}

/// 2^59 elements of f64 (4 EiB): a legal broadcast view of two numbers.
fn huge() -> Array<f64> {
    Array::from_vec(&[1, 2], vec![1.0, 2.0]).unwrap()
}

fn is_memory_error(e: &Error) -> bool {
    matches!(e, Error::Alloc { .. } | Error::Shape { .. })
}

#[test]
fn outputs_and_temporaries_too_large_are_errors() {
    let a = huge();
    let x = a.view().broadcast_to(&[1 << 58, 2]).unwrap();
    let e = plus_one(x.clone()).unwrap_err();
    assert!(is_memory_error(&e), "{e}");
    let e = row_sums(x.clone()).unwrap_err();
    assert!(is_memory_error(&e), "{e}");
    let e = shifted_product(x.clone(), x).unwrap_err();
    assert!(is_memory_error(&e), "{e}");
}

#[test]
#[should_panic(expected = "memory error")]
fn a_kernel_returning_array_panics_with_the_message() {
    let a = huge();
    let x = a.view().broadcast_to(&[1 << 58, 2]).unwrap();
    let _ = plus_one_or_panic(x);
}

#[test]
fn empty_axes_with_huge_siblings() {
    let x = Array::<f64>::try_zeros(&[0, 1 << 45]).unwrap();
    // Summing the empty axis asks for 2^45 zeros: 256 TiB.
    let e = col_sums(x.view()).unwrap_err();
    assert!(is_memory_error(&e), "{e}");
    // Keeping it: empty results, nothing touched.
    assert_eq!(plus_one(x.view()).unwrap().shape(), &[0, 1 << 45]);
    assert_eq!(row_sums(x.view()).unwrap().shape(), &[0]);
}

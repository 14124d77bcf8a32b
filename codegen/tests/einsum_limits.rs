//! The einsum engine on extreme extents: every output or intermediate the
//! machine cannot hold is an `Err` (never a panic, abort or wrap-around),
//! empty axes with huge siblings compute what NumPy does without touching
//! the huge axis, and too many operands is an error, in bounded time.

use einkern_codegen::einsum::{einsum, MAX_OPERANDS};
use einkern_runtime::{Array, Error};

/// A (1, 2) array seen as `shape` through stride-0 broadcasting: legal
/// (the runtime's rule bounds the element count, not the memory behind it).
fn ones_2() -> Array<f64> {
    Array::from_vec(&[1, 2], vec![1.0, 2.0]).unwrap()
}

#[test]
fn an_output_larger_than_memory_is_an_error_not_an_abort() {
    let a = ones_2();
    // 2^59 elements, 4 EiB of f64: a legal view, an impossible output.
    let huge = a.view().broadcast_to(&[1 << 58, 2]).unwrap();
    let err = einsum("ij->ij", std::slice::from_ref(&huge)).unwrap_err();
    assert!(
        matches!(err, Error::Alloc { .. } | Error::Shape { .. }),
        "{err}"
    );
    let err = einsum("ij->ji", &[huge]).unwrap_err();
    assert!(
        matches!(err, Error::Alloc { .. } | Error::Shape { .. }),
        "{err}"
    );
}

#[test]
fn an_output_whose_size_overflows_is_an_error() {
    let v = Array::from_vec(&[1], vec![3.0f64]).unwrap();
    let long = v.view().broadcast_to(&[1 << 40]).unwrap();
    // 2^80 elements: the product itself does not fit in usize.
    let err = einsum("i,j->ij", &[long.clone(), long.clone()]).unwrap_err();
    assert!(err.to_string().contains("too many elements"), "{err}");
    // A scalar output over 2^80 index combinations: refused up front
    // rather than looping for ever (or wrapping the loop count).
    let err = einsum("i,j->", &[long.clone(), long]).unwrap_err();
    assert!(matches!(err, Error::Value { .. }), "{err}");
    assert!(err.to_string().contains("too much work"), "{err}");
}

/// The 82-byte `.npy` of the issue: shape (0, 2^45) holds nothing, so it
/// reads fine; summing its empty axis asks for 2^45 zeros (256 TiB, more
/// than the address space), which is an error. Keeping the empty axis
/// gives an empty result without touching the huge one.
#[test]
fn empty_axes_with_huge_siblings() {
    let empty = Array::<f64>::try_zeros(&[0, 1 << 45]).unwrap();
    let err = einsum("ij->j", &[empty.view()]).unwrap_err();
    assert!(
        matches!(err, Error::Alloc { .. } | Error::Shape { .. }),
        "{err}"
    );
    let rows = einsum("ij->i", &[empty.view()]).unwrap();
    assert_eq!(rows.shape(), &[0]);
    let t = einsum("ij->ji", &[empty.view()]).unwrap();
    assert_eq!(t.shape(), &[1 << 45, 0]);
    assert_eq!(einsum("ij->", &[empty.view()]).unwrap().to_vec(), vec![0.0]);
}

/// Sums over an empty label are zeros, NumPy's empty sum, for every kind
/// of step (one operand, a matrix product, a 3-operand chain).
#[test]
fn sums_over_an_empty_label_are_zero() {
    let a = Array::<f64>::zeros(&[0, 3]);
    assert_eq!(einsum("ij->j", &[a.view()]).unwrap().to_vec(), vec![0.0; 3]);
    let x = Array::<f64>::zeros(&[2, 0]);
    let y = Array::<f64>::zeros(&[0, 2]);
    let c = einsum("ij,jk->ik", &[x.view(), y.view()]).unwrap();
    assert_eq!((c.shape(), c.to_vec()), (&[2, 2][..], vec![0.0; 4]));
    let m = Array::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let c = einsum("ij,jk,kl->il", &[m.view(), x.view(), y.view()]).unwrap();
    assert_eq!((c.shape(), c.to_vec()), (&[2, 2][..], vec![0.0; 4]));
    let i = Array::<i64>::zeros(&[0]);
    assert_eq!(
        einsum("i,i", &[i.view(), i.view()]).unwrap().to_vec(),
        vec![0]
    );
}

/// Broadcast rows are real work, read through stride 0: 2^20 rows sum
/// exactly, with no overflow in the loop counts (a (2^58, 2) view is as
/// legal and only slower: 2^59 multiply-adds).
#[test]
fn broadcast_rows_sum_exactly() {
    let a = ones_2();
    let rows = a.view().broadcast_to(&[1 << 20, 2]).unwrap();
    let s = einsum("ij->j", std::slice::from_ref(&rows)).unwrap();
    assert_eq!(s.to_vec(), vec![(1u64 << 20) as f64, (1u64 << 21) as f64]);
    let v = Array::from_vec(&[2], vec![1.0, 2.0]).unwrap();
    let t = einsum("ij,j->i", &[rows, v.view()]).unwrap();
    assert_eq!(t.shape(), &[1 << 20]);
    assert!(t.to_vec().iter().all(|&x| x == 5.0));
}

#[test]
fn too_many_operands_is_an_error_in_bounded_time() {
    let one = Array::from_vec(&[1], vec![1.0f64]).unwrap();
    let n = MAX_OPERANDS + 1;
    let spec = vec!["i"; n].join(",") + "->i";
    let views = vec![one.view(); n];
    let start = std::time::Instant::now();
    let err = einsum(&spec, &views).unwrap_err();
    assert!(err.to_string().contains("at most 65536 operands"), "{err}");
    // Parsing and binding are linear; nothing is planned.
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}

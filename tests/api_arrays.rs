//! API.md's "Arrays" section, name by name and signature by signature: each
//! item is coerced to the exact function type the contract gives, so a
//! renamed item or a changed signature fails to compile here first. The
//! calls then check the shapes of what comes back.

use std::path::Path;

use einkern::{
    broadcast_shapes, s, Array, ArrayView, ArrayViewMut, Element, Error, NewAxis, Order, SliceInfo,
};

/// Compiles only if `Element` implies the contract's supertraits.
fn element_bounds<T: Element>(x: T) -> impl Copy + Send + Sync + 'static {
    x
}

#[test]
fn constructors_and_io_have_the_contract_signatures() {
    let zeros: fn(&[usize]) -> Array<f64> = Array::<f64>::zeros;
    let zeros_with_order: fn(&[usize], Order) -> Array<f64> = Array::<f64>::zeros_with_order;
    let ones: fn(&[usize]) -> Array<f32> = Array::<f32>::ones;
    let full: fn(&[usize], i32) -> Array<i32> = Array::<i32>::full;
    type FromVec = fn(&[usize], Vec<i64>) -> Result<Array<i64>, Error>;
    let from_vec: FromVec = Array::<i64>::from_vec;
    let eye: fn(usize) -> Array<f64> = Array::<f64>::eye;
    let view: for<'a> fn(&'a Array<f64>) -> ArrayView<'a, f64> = Array::<f64>::view;
    let view_mut: for<'a> fn(&'a mut Array<f64>) -> ArrayViewMut<'a, f64> = Array::<f64>::view_mut;
    // `impl AsRef<Path>` parameters, called with a `&Path`.
    let read_npy = |p: &Path| -> Result<Array<f64>, Error> { Array::<f64>::read_npy(p) };
    let write_npy = |a: &Array<f64>, p: &Path| -> Result<(), Error> { a.write_npy(p) };
    let _ = (element_bounds(1.0f32), element_bounds(1.0f64));
    let _ = (element_bounds(1i32), element_bounds(1i64));

    assert_eq!(zeros(&[2, 3]).shape(), &[2, 3]);
    assert!(zeros_with_order(&[2, 3], Order::F).is_f_contiguous());
    assert_eq!(ones(&[2]).to_vec(), vec![1.0, 1.0]);
    assert_eq!(full(&[3], 7).to_vec(), vec![7, 7, 7]);
    assert!(from_vec(&[2], vec![1]).is_err());
    assert_eq!(eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
    let from_fn = Array::<f64>::from_fn(&[2, 2], |i| (i[0] * 2 + i[1]) as f64);
    assert_eq!(view(&from_fn).to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
    let mut m = zeros(&[2]);
    view_mut(&mut m).fill(4.0);
    assert_eq!(m.to_vec(), vec![4.0, 4.0]);
    let dir = std::env::temp_dir().join(format!("einkern-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("m.npy");
    write_npy(&m, &path).expect("write");
    assert_eq!(read_npy(&path).expect("read"), m);
    std::fs::remove_dir_all(&dir).expect("clean up");
}

#[test]
fn view_operations_have_the_contract_signatures() {
    // Each wrapper has the contract's signature: the result borrows the
    // data for `'a`, not the view it was called on.
    type V<'a> = ArrayView<'a, f64>;
    fn t<'a>(v: &V<'a>) -> V<'a> {
        v.t()
    }
    fn permute_axes<'a>(v: &V<'a>, axes: &[usize]) -> Result<V<'a>, Error> {
        v.permute_axes(axes)
    }
    fn slice<'a>(v: &V<'a>, s: impl Into<SliceInfo>) -> Result<V<'a>, Error> {
        v.slice(s)
    }
    fn insert_axis<'a>(v: &V<'a>, axis: usize) -> Result<V<'a>, Error> {
        v.insert_axis(axis)
    }
    fn squeeze<'a>(v: &V<'a>) -> V<'a> {
        v.squeeze()
    }
    fn reshape<'a>(v: &V<'a>, shape: &[usize]) -> Result<V<'a>, Error> {
        v.reshape(shape)
    }
    fn broadcast_to<'a>(v: &V<'a>, shape: &[usize]) -> Result<V<'a>, Error> {
        v.broadcast_to(shape)
    }
    fn sliding_window<'a>(v: &V<'a>, window: &[usize]) -> Result<V<'a>, Error> {
        v.sliding_window(window)
    }
    fn diagonal<'a>(v: &V<'a>) -> Result<V<'a>, Error> {
        v.diagonal()
    }
    type Shapes = fn(&[usize], &[usize]) -> Result<Vec<usize>, Error>;
    let shapes: Shapes = broadcast_shapes;

    let a = Array::<f64>::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as f64);
    let v = a.view();
    assert_eq!(t(&v).shape(), &[4, 3]);
    assert_eq!(permute_axes(&v, &[1, 0]).expect("axes").strides(), &[1, 4]);
    let sliced = slice(&v, s![.., 1..;2]).expect("in range");
    assert_eq!(sliced.to_vec(), vec![1.0, 3.0, 5.0, 7.0, 9.0, 11.0]);
    assert_eq!(
        slice(&v, s![-1, NewAxis]).expect("in range").shape(),
        &[1, 4]
    );
    assert_eq!(insert_axis(&v, 0).expect("axis").shape(), &[1, 3, 4]);
    assert_eq!(squeeze(&insert_axis(&v, 2).expect("axis")).shape(), &[3, 4]);
    assert_eq!(reshape(&v, &[2, 6]).expect("view").shape(), &[2, 6]);
    assert!(
        reshape(&t(&v), &[12]).is_err(),
        "a transpose cannot flatten without a copy"
    );
    assert_eq!(
        broadcast_to(&v, &[2, 3, 4]).expect("fits").strides(),
        &[0, 4, 1]
    );
    assert_eq!(
        sliding_window(&v, &[2, 2]).expect("fits").shape(),
        &[2, 3, 2, 2]
    );
    assert_eq!(diagonal(&v).expect("2-d").to_vec(), vec![0.0, 5.0, 10.0]);
    assert_eq!(shapes(&[3, 1], &[4]).expect("broadcast"), vec![3, 4]);
}

#[test]
fn shared_methods_exist_on_arrays_and_both_views() {
    let mut a = Array::<i32>::from_fn(&[2, 3], |i| (i[0] * 3 + i[1]) as i32);
    let check = |shape: &[usize], strides: &[isize], ndim: usize, len: usize| {
        assert_eq!(
            (shape, strides, ndim, len),
            (&[2usize, 3][..], &[3isize, 1][..], 2, 6)
        );
    };
    check(a.shape(), a.strides(), a.ndim(), a.len());
    assert!(!a.is_empty() && a.is_c_contiguous() && !a.is_f_contiguous());
    assert_eq!(a.get(&[1, 2]), Some(5));
    assert_eq!(a.get(&[2, 0]), None);
    assert_eq!(a.as_slice(), Some(&[0, 1, 2, 3, 4, 5][..]));
    assert!(a.to_order(Order::F).is_f_contiguous());
    {
        let v = a.view();
        check(v.shape(), v.strides(), v.ndim(), v.len());
        assert_eq!(v.t().as_slice(), None);
        assert_eq!(v.t().to_owned().to_vec(), vec![0, 3, 1, 4, 2, 5]);
    }
    let m = a.view_mut();
    check(m.shape(), m.strides(), m.ndim(), m.len());
    assert_eq!(m.get(&[0, 1]), Some(1));
    assert_eq!(m.to_vec(), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(m.to_owned().shape(), &[2, 3]);
    let e = Error::shape("x");
    let _: &dyn std::error::Error = &e;
    assert!(matches!(e, Error::Shape { .. }));
}

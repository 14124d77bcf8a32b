//! Extreme inputs through every constructor and geometry operation of the
//! runtime: 0, 1, `usize::MAX`, element counts and byte spans just below
//! and just above `isize::MAX` for 1-, 4- and 8-byte elements, `isize::MIN`
//! steps, empty axes beside huge ones, zero and negative strides. Each must
//! give an `Err` or the right result (NumPy's), in debug and in release,
//! and nothing here may allocate what an input merely claims.

use einkern_runtime::layout::{self, check_extent};
use einkern_runtime::{
    s, Array, ArrayView, ArrayViewMut, Error, NewAxis, Order, SliceElem, SliceInfo,
};

const MAX: usize = isize::MAX as usize;

/// The largest element count of `item`-byte elements an array may have.
fn most(item: usize) -> usize {
    MAX / item
}

#[track_caller]
fn shape_err<T>(r: Result<T, Error>) -> String {
    match r {
        Err(e @ Error::Shape { .. }) => e.to_string(),
        Err(other) => panic!("expected a shape error, got {other}"),
        Ok(_) => panic!("expected a shape error, got a value"),
    }
}

#[test]
fn the_rule_at_the_edges_for_1_4_and_8_byte_elements() {
    for item in [1usize, 4, 8] {
        let n = most(item);
        // Element counts: just fitting, one more.
        assert_eq!(check_extent(&[n], &[0], item).unwrap(), n, "{item}");
        assert!(check_extent(&[n + 1], &[0], item).is_err(), "{item}");
        // The same count spread over two axes.
        assert_eq!(check_extent(&[n / 2, 2], &[0, 0], item).unwrap(), n / 2 * 2);
        assert!(check_extent(&[n / 2 + 1, 2], &[0, 0], item).is_err());
        // Byte spans: a length-2 axis whose stride reaches just inside or
        // just past isize::MAX bytes.
        let s = (MAX / item) as isize;
        assert!(check_extent(&[2], &[s], item).is_ok(), "{item}");
        assert!(check_extent(&[2], &[-s], item).is_ok(), "{item}");
        assert!(check_extent(&[3], &[s / 2 + 1], item).is_err(), "{item}");
        // Positive and negative spans add up.
        assert!(check_extent(&[2, 2], &[s / 2, -(s / 2)], item).is_ok());
        assert!(check_extent(&[2, 2], &[s / 2 + 1, -(s / 2 + 1)], item).is_err());
        // Sizes in bytes for allocation.
        assert_eq!(layout::bytes_of(&[n], item).unwrap(), n * item);
        assert!(layout::bytes_of(&[n + 1], item).is_err());
    }
    // isize::MIN and isize::MAX strides: harmless on a length-1 axis,
    // refused on a longer one.
    assert!(check_extent(&[1, 1], &[isize::MIN, isize::MAX], 8).is_ok());
    assert!(check_extent(&[2], &[isize::MIN], 1).is_err());
    assert!(check_extent(&[2], &[isize::MAX], 1).is_ok());
    // usize::MAX anywhere is refused, even in an empty shape; an empty
    // shape with huge (but representable) siblings is fine.
    assert!(check_extent(&[usize::MAX], &[1], 1).is_err());
    assert!(check_extent(&[0, usize::MAX], &[1, 1], 1).is_err());
    assert_eq!(check_extent(&[0, MAX, MAX], &[1, 1, 1], 8).unwrap(), 0);
    assert!(check_extent(&[], &[], 8).is_ok());
    assert!(check_extent(&[2], &[1, 1], 8).is_err());
}

#[test]
fn allocation_is_an_error_not_an_abort() {
    // Too large to describe: a shape error before asking for memory.
    let e = shape_err(Array::<f64>::try_zeros(&[1 << 60]));
    assert!(e.contains("(1152921504606846976,)"), "{e}");
    assert!(Array::<i32>::try_zeros(&[1 << 31, 1 << 31]).is_err());
    assert!(Array::<f32>::try_zeros(&[usize::MAX, 0]).is_err());
    // Describable, but no machine has 2^62 bytes: the allocator says no.
    match Array::<f64>::try_zeros(&[1 << 59]) {
        Err(Error::Alloc { message }) => assert!(message.contains("bytes"), "{message}"),
        other => panic!(
            "expected an allocation error, got {:?}",
            other.map(|a| a.len())
        ),
    }
    // SAFETY: never read (the allocation fails).
    assert!(matches!(
        unsafe { Array::<i64>::try_uninit(&[1 << 59], Order::F) },
        Err(Error::Alloc { .. })
    ));
    // Empty arrays with huge siblings exist, and print as NumPy's do.
    let z = Array::<f64>::try_zeros(&[0, MAX]).unwrap();
    assert_eq!((z.len(), z.shape()), (0, &[0, MAX][..]));
    assert_eq!(z.to_string(), "[]");
    assert_eq!(z.iter().count(), 0);
    assert!(Array::<f64>::from_vec(&[MAX + 1, 0], vec![]).is_err());
    assert!(Array::<f64>::from_vec(&[MAX, 0], vec![]).is_ok());
}

#[test]
fn views_from_slices_and_as_strided() {
    let data = [1.0f64, 2.0, 3.0, 4.0];
    let mut buf = data;
    assert!(ArrayView::from_slice(&data, &[usize::MAX, 0]).is_err());
    assert!(ArrayView::from_slice(&data, &[MAX, 0]).is_err()); // 0 != 4 elements
    assert!(ArrayViewMut::from_slice_mut(&mut buf, &[usize::MAX, 0]).is_err());
    assert_eq!(
        ArrayViewMut::from_slice_mut(&mut buf, &[2, 2])
            .unwrap()
            .to_vec(),
        data
    );
    // Zero strides repeat one element; the count is what must fit.
    let v = ArrayView::as_strided(&data, &[most(8)], &[0], 3).unwrap();
    assert_eq!(v.len(), most(8));
    assert_eq!(v.get(&[most(8) - 1]), Some(4.0));
    assert!(ArrayView::as_strided(&data, &[most(8) + 1], &[0], 3).is_err());
    assert!(ArrayView::as_strided(&data, &[2, MAX], &[0, 0], 0).is_err());
    // Strides that overflow when multiplied are refused, not wrapped.
    assert!(ArrayView::as_strided(&data, &[3], &[isize::MAX], 0).is_err());
    assert!(ArrayView::as_strided(&data, &[2], &[isize::MIN], 3).is_err());
    assert!(ArrayView::as_strided(&data, &[1 << 62, 2], &[1 << 2, -1], 1).is_err());
    // Huge strides on length-1 axes address nothing.
    let one = ArrayView::as_strided(&data, &[1, 1], &[isize::MIN, isize::MAX], 2).unwrap();
    assert_eq!(one.to_vec(), vec![3.0]);
    // Negative strides from the far end.
    let r = ArrayView::as_strided(&data, &[2, 2], &[-2, -1], 3).unwrap();
    assert_eq!(r.to_vec(), vec![4.0, 3.0, 2.0, 1.0]);
    // Empty views may sit anywhere up to one past the end, with any strides.
    assert!(ArrayView::as_strided(&data, &[0, MAX], &[isize::MIN, isize::MAX], 4).is_ok());
    assert!(ArrayView::as_strided(&data, &[0, MAX + 1], &[1, 1], 0).is_err());
}

#[test]
fn broadcasting_past_isize_is_refused() {
    let a = Array::from_vec(&[1, 2], vec![1.0f64, 2.0]).unwrap();
    // The (2^63 + 1, 2): its element count wrapped to 2.
    let e = shape_err(a.broadcast_to(&[(1 << 63) + 1, 2]));
    assert!(e.contains("9223372036854775809"), "{e}");
    assert!(a.broadcast_to(&[1 << 62, 2]).is_err());
    assert!(a.broadcast_to(&[most(8) / 2 + 1, 2]).is_err());
    // Just fitting: the view exists, and reads what it should.
    let b = a.broadcast_to(&[most(8) / 2, 2]).unwrap();
    assert_eq!(b.len(), most(8) / 2 * 2);
    assert_eq!(b.get(&[most(8) / 2 - 1, 1]), Some(2.0));
    assert_eq!(b.strides(), &[0, 1]);
    // 4-byte elements reach twice as far.
    let f = Array::from_vec(&[1], vec![7i32]).unwrap();
    assert!(f.broadcast_to(&[most(4)]).is_ok());
    assert!(f.broadcast_to(&[most(4) + 1]).is_err());
    assert!(f.broadcast_to(&[2, most(4) / 2 + 1]).is_err());
    // Copies of such a view are an allocation error, never an abort or a
    // wrapped size; a small corner of it copies fine.
    match b.try_to_owned() {
        Err(Error::Alloc { .. }) => {}
        other => panic!(
            "expected an allocation error, got {:?}",
            other.map(|a| a.len())
        ),
    }
    assert!(matches!(b.try_to_order(Order::F), Err(Error::Alloc { .. })));
    let corner = b.slice(s![..2, ..]).unwrap().try_to_owned().unwrap();
    assert_eq!(corner.to_vec(), vec![1.0, 2.0, 1.0, 2.0]);
    // Printing summarises it.
    assert_eq!(b.slice(s![..1]).unwrap().to_string(), "[[1. 2.]]");
    assert!(b
        .to_string()
        .starts_with("[[1. 2.]\n [1. 2.]\n [1. 2.]\n ...\n"));
    // An empty array broadcasts to huge empty shapes, never to longer axes.
    let z = Array::<f64>::zeros(&[0]);
    assert_eq!(z.broadcast_to(&[MAX, 0]).unwrap().len(), 0);
    assert!(z.broadcast_to(&[MAX + 1, 0]).is_err());
}

#[test]
fn windows_over_zero_strides_are_refused_when_too_many() {
    let data = [5.0f64];
    let v = ArrayView::as_strided(&data, &[1 << 40], &[0], 0).unwrap();
    // (2^39 + 1) windows of 2^39: more elements than fit.
    assert!(v.sliding_window(&[1 << 39]).is_err());
    // (2^40 - 2^20 + 1) windows of 2^20: just under 2^60 elements, fits.
    let big = v.sliding_window(&[1 << 20]).unwrap();
    assert_eq!(big.len(), ((1 << 40) - (1 << 20) + 1) * (1 << 20));
    // 2^40 - 1 windows of 2: fits.
    let w = v.sliding_window(&[2]).unwrap();
    assert_eq!(w.shape(), &[(1 << 40) - 1, 2]);
    assert_eq!(w.get(&[(1 << 40) - 2, 1]), Some(5.0));
    assert!(v.sliding_window(&[(1 << 40) + 1]).is_err());
    assert_eq!(v.sliding_window(&[1 << 40]).unwrap().shape(), &[1, 1 << 40]);
}

#[test]
fn reshape_checks_its_arithmetic() {
    let data = [1i64, 2, 3];
    let n = most(8);
    let v = ArrayView::as_strided(&data, &[n], &[0], 1).unwrap();
    // 2^60 - 1 is divisible by 3 (2^60 = 1 mod 3).
    let r = v.reshape(&[3, n / 3]).unwrap();
    assert_eq!((r.shape(), r.strides()), (&[3, n / 3][..], &[0, 0][..]));
    assert_eq!(r.get(&[2, n / 3 - 1]), Some(2));
    assert!(v.reshape(&[n, 2]).is_err());
    assert!(v.reshape(&[usize::MAX, usize::MAX, 2]).is_err());
    assert!(v.reshape(&[1 << 32, 1 << 32]).is_err());
    // Empty shapes reshape to empty shapes, huge siblings included.
    let z = Array::<f32>::zeros(&[0, 3]);
    assert_eq!(z.reshape(&[MAX, 0]).unwrap().shape(), &[MAX, 0]);
    assert!(z.reshape(&[MAX + 1, 0]).is_err());
    assert!(z.reshape(&[1]).is_err());
    // A contiguous array reshapes as NumPy does.
    let a = Array::from_fn(&[2, 3, 4], |i| (i[0] * 12 + i[1] * 4 + i[2]) as i32);
    let r = a.reshape(&[4, 1, 6]).unwrap();
    assert_eq!(r.get(&[3, 0, 5]), Some(23));
    assert!(a.t().reshape(&[24]).is_err());
}

/// What `s!` builds from values at the ends of every integer type, and
/// what slicing with them gives (NumPy's result, or an index error).
#[test]
fn indices_mean_what_they_say() {
    let a = Array::from_vec(&[4], vec![0i64, 1, 2, 3]).unwrap();
    let take = |info: SliceInfo| a.slice(info).map(|v| v.to_vec());
    // Indices beyond isize are out of range, not -1.
    assert_eq!(
        s![usize::MAX].elems,
        vec![SliceElem::IndexOutOfRange(u64::MAX as i128)]
    );
    let e = take(s![usize::MAX]).unwrap_err().to_string();
    assert!(
        e.contains("index 18446744073709551615 is out of bounds for axis 0 with size 4"),
        "{e}"
    );
    assert!(take(s![MAX + 1]).is_err());
    assert!(take(s![isize::MIN]).is_err());
    assert!(take(s![isize::MAX]).is_err());
    assert!(take(s![i64::MIN]).is_err());
    assert!(take(s![u32::MAX]).is_err());
    assert_eq!(take(s![3usize]).unwrap(), vec![3]);
    assert_eq!(take(s![-4]).unwrap(), vec![0]);
    // Steps beyond isize keep their sign: `a[::2**64-1]` is `[0]`.
    assert_eq!(take(s![..;usize::MAX]).unwrap(), vec![0]);
    assert_eq!(take(s![1..;u64::MAX]).unwrap(), vec![1]);
    assert_eq!(take(s![..;isize::MIN]).unwrap(), vec![3]);
    assert_eq!(take(s![..;i64::MIN]).unwrap(), vec![3]);
    assert_eq!(take(s![..;isize::MAX]).unwrap(), vec![0]);
    assert_eq!(take(s![..;u32::MAX]).unwrap(), vec![0]);
    assert_eq!(take(s![..;-1i8]).unwrap(), vec![3, 2, 1, 0]);
    assert_eq!(take(s![..;2u8]).unwrap(), vec![0, 2]);
    // Inclusive ends at the top of the type are the whole axis.
    assert_eq!(take(s![0..=isize::MAX]).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(take(s![1..=usize::MAX]).unwrap(), vec![1, 2, 3]);
    assert_eq!(take(s![..=i64::MAX]).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(take(s![..=MAX]).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(take(s![..=isize::MIN]).unwrap(), Vec::<i64>::new());
    assert_eq!(take(s![..=-2]).unwrap(), vec![0, 1, 2]);
    assert_eq!(take(s![..=1u32]).unwrap(), vec![0, 1]);
    // Bounds beyond isize clamp, as Python's do (`top..bottom` is Python's
    // `a[top:bottom:-1]`, not an empty Rust range).
    let (top, bottom) = (isize::MAX, isize::MIN);
    assert_eq!(take(s![..usize::MAX]).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(take(s![usize::MAX..]).unwrap(), Vec::<i64>::new());
    assert_eq!(take(s![(MAX + 1)..;-1]).unwrap(), vec![3, 2, 1, 0]);
    assert_eq!(take(s![isize::MIN..isize::MAX]).unwrap(), vec![0, 1, 2, 3]);
    assert_eq!(take(s![top..bottom;-1]).unwrap(), vec![3, 2, 1, 0]);
    assert_eq!(take(s![top..bottom;isize::MIN]).unwrap(), vec![3]);
    assert!(take(s![..;0]).is_err());
    assert!(take(s![..;0usize]).is_err());
}

#[test]
fn slicing_huge_and_empty_views() {
    let data = [1.0f32, 2.0];
    let n = most(4) / 2;
    let v = ArrayView::as_strided(&data, &[n, 2], &[0, 1], 0).unwrap();
    let s = v.slice(s![..;2, ..;-1]).unwrap();
    assert_eq!(s.shape(), &[n.div_ceil(2), 2]);
    assert_eq!(s.get(&[n / 2, 0]), Some(2.0));
    assert_eq!(v.slice(s![n - 1, 1]).unwrap().to_vec(), vec![2.0]);
    assert!(v.slice(s![n, 1]).is_err());
    assert_eq!(v.slice(s![..;usize::MAX, 1]).unwrap().shape(), &[1]);
    // An empty axis beside a huge one slices like NumPy's
    // (`np.empty((0, 2**63 - 1))[:, 5:]` has shape (0, 2**63 - 6)).
    let z = Array::<f64>::zeros(&[0, MAX]);
    assert_eq!(z.slice(s![.., 5..]).unwrap().shape(), &[0, MAX - 5]);
    assert_eq!(z.slice(s![.., ..;-2]).unwrap().shape(), &[0, MAX / 2 + 1]);
    assert_eq!(z.slice(s![.., -1]).unwrap().shape(), &[0]);
    assert!(z.slice(s![0]).is_err());
    assert_eq!(z.t().shape(), &[MAX, 0]);
    assert_eq!(z.insert_axis(2).unwrap().shape(), &[0, MAX, 1]);
    assert!(z.insert_axis(3).is_err());
    assert_eq!(z.to_owned().shape(), &[0, MAX]);
    assert_eq!(z.diagonal().unwrap().shape(), &[0]);
    assert_eq!(z.permute_axes(&[1, 0]).unwrap().shape(), &[MAX, 0]);
}

#[test]
fn diagonals_of_huge_strides() {
    let data = [1.0f64, 2.0, 3.0];
    // Two length-1 axes whose strides sum past isize::MAX: one element.
    let v = ArrayView::as_strided(&data, &[1, 1], &[isize::MAX, isize::MAX], 2).unwrap();
    let d = v.diagonal().unwrap();
    assert_eq!((d.shape(), d.to_vec()), (&[1][..], vec![3.0]));
    let v = ArrayView::as_strided(&data, &[1, 1, 2], &[isize::MIN, -1, 1], 1).unwrap();
    assert_eq!(v.diagonal().unwrap().to_vec(), vec![2.0, 3.0]);
    // Zero strides: the diagonal of a broadcast is the repeated row.
    let b = ArrayView::as_strided(&data, &[most(8), most(8)], &[0, 0], 0);
    assert!(b.is_err());
    assert!(ArrayView::as_strided(&data, &[1 << 30, 1 << 30], &[0, 0], 0).is_err());
    let b = ArrayView::as_strided(&data, &[1 << 29, 1 << 30], &[0, 0], 0).unwrap();
    let d = b.diagonal().unwrap();
    assert_eq!((d.shape(), d.strides()), (&[1 << 29][..], &[0][..]));
    // Mutable diagonals of a square array.
    let mut a = Array::<i32>::zeros(&[3, 3]);
    a.view_mut().diagonal().unwrap().fill(1);
    assert_eq!(a, Array::eye(3));
    a.view_mut()
        .slice(s![..;-1, ..])
        .unwrap()
        .diagonal()
        .unwrap()
        .fill(5);
    assert_eq!(a.to_vec(), vec![1, 0, 5, 0, 5, 0, 5, 0, 1]);
}

#[test]
fn mutable_views_keep_distinct_elements() {
    let mut a = Array::from_fn(&[2, 3], |i| (i[0] * 3 + i[1]) as f64);
    // Every geometry operation of a mutable view keeps it one-to-one.
    {
        let mut v = a.view_mut().insert_axis(1).unwrap().insert_axis(3).unwrap();
        assert_eq!(v.shape(), &[2, 1, 3, 1]);
        *v.get_mut(&[1, 0, 2, 0]).unwrap() = -5.0;
    }
    {
        let mut v = a.view_mut().reshape(&[3, 2]).unwrap();
        *v.get_mut(&[2, 0]).unwrap() = -4.0;
        let mut w = v.reshape(&[6]).unwrap().slice(s![..;-5]).unwrap();
        w.fill(9.0);
    }
    assert_eq!(a.to_vec(), vec![9.0, 1.0, 2.0, 3.0, -4.0, 9.0]);
    {
        let v = a.view_mut().permute_axes(&[1, 0]).unwrap();
        assert_eq!(v.strides(), &[1, 3]);
        let v = v.slice(s![.., NewAxis]).unwrap();
        assert_eq!(v.shape(), &[3, 1, 2]);
        assert_eq!(v.squeeze().shape(), &[3, 2]);
    }
    assert!(a.view_mut().permute_axes(&[0, 0]).is_err());
    assert!(a.view_mut().reshape(&[4]).is_err());
    assert!(a.view_mut().reshape(&[usize::MAX, 0]).is_err());
    assert!(a.slice_mut(s![usize::MAX]).is_err());
}

#[test]
fn npy_headers_claiming_too_much_fail_before_allocating() {
    let dir = std::env::temp_dir().join(format!("einkern-extremes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, header: &str, data: &[u8]| {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        let mut h = header.to_string();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(' ');
        }
        h.push('\n');
        bytes.extend_from_slice(&(h.len() as u16).to_le_bytes());
        bytes.extend_from_slice(h.as_bytes());
        bytes.extend_from_slice(data);
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let err = |p: &std::path::Path| Array::<f64>::read_npy(p).unwrap_err().to_string();
    // 10^12 elements claimed, 16 bytes present: refused from the file's
    // length, before any allocation (an 8 TB one would abort).
    let p = file(
        "tera.npy",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }",
        &[0; 16],
    );
    let e = err(&p);
    assert!(e.contains("tera.npy"), "{e}");
    assert!(
        e.contains("needs 8000000000000 data bytes, the file has 16"),
        "{e}"
    );
    // (0, 2^40) holds nothing and reads as such.
    let p = file(
        "empty.npy",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 1099511627776), }",
        &[],
    );
    let a = Array::<f64>::read_npy(&p).unwrap();
    assert_eq!((a.shape(), a.len()), (&[0, 1 << 40][..], 0));
    // Sizes past isize, or an axis past it beside a 0, are format errors.
    let p = file(
        "huge.npy",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (1152921504606846976,), }",
        &[],
    );
    assert!(err(&p).contains("more bytes than this machine can address"));
    let p = file(
        "wide.npy",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 18446744073709551615), }",
        &[],
    );
    let e = err(&p);
    assert!(
        e.contains("wide.npy") && e.contains("more than isize::MAX"),
        "{e}"
    );
    // 200 000 axes of length 1 read (the header, 600 KB, is under the
    // bound) and print without overflowing the stack.
    let shape = vec![1usize; 200_000];
    let ones = Array::from_vec(&shape, vec![0.5f64]).unwrap();
    let p = dir.join("deep.npy");
    ones.write_npy(&p).unwrap();
    let back = Array::<f64>::read_npy(&p).unwrap();
    assert_eq!(back.ndim(), 200_000);
    assert_eq!(back.to_string().len(), 2 * 200_000 + 3);
    // Complete files read whole, in either order.
    let p = file(
        "ok.npy",
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
        &[1.0f64, 2.0, 3.0, 4.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<u8>>(),
    );
    let a = Array::<f64>::read_npy(&p).unwrap();
    assert!(a.is_f_contiguous());
    assert_eq!(a.to_vec(), vec![1.0, 3.0, 2.0, 4.0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

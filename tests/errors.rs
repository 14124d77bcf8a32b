//! Every `Err` the runtime returns: its variant, and a message that names
//! what went wrong (the shapes, the axis, the index, the path). These
//! messages are user interface, so each test reads them like a user would.

use std::path::PathBuf;

use einkern::*;

/// Unwraps an error, checks its variant with `is`, and checks that its
/// message (and its Display, which adds the kind) contains every needle.
#[track_caller]
fn expect_err<T: std::fmt::Debug>(
    r: Result<T, Error>,
    kind: &str,
    is: fn(&Error) -> bool,
    needles: &[&str],
) -> Error {
    let e = match r {
        Ok(v) => panic!("expected a {kind} error, got Ok({v:?})"),
        Err(e) => e,
    };
    assert!(is(&e), "expected a {kind} error, got {e:?}");
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{kind} error: ")) || kind == "I/O",
        "Display of a {kind} error: {shown}"
    );
    let msg = e.message();
    for n in needles {
        assert!(msg.contains(n), "message {msg:?} does not name {n:?}");
        assert!(shown.contains(n), "Display {shown:?} does not name {n:?}");
    }
    e
}

fn is_shape(e: &Error) -> bool {
    matches!(e, Error::Shape { .. })
}
fn is_index(e: &Error) -> bool {
    matches!(e, Error::Index { .. })
}
fn is_value(e: &Error) -> bool {
    matches!(e, Error::Value { .. })
}
fn is_type(e: &Error) -> bool {
    matches!(e, Error::Type { .. })
}
fn is_format(e: &Error) -> bool {
    matches!(e, Error::Format { .. })
}
fn is_io(e: &Error) -> bool {
    matches!(e, Error::Io { .. })
}

fn arange(shape: &[usize]) -> Array<f64> {
    let mut k = 0.0;
    Array::from_fn(shape, |_| {
        k += 1.0;
        k
    })
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("einkern-errors-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ------------------------------------------------------------------ slicing

#[test]
fn slice_index_out_of_range_names_index_axis_and_size() {
    let a = arange(&[3, 4]);
    expect_err(
        a.slice(s![.., 4]),
        "index",
        is_index,
        &["index 4", "axis 1", "size 4"],
    );
    expect_err(
        a.slice(s![-4]),
        "index",
        is_index,
        &["index -4", "axis 0", "size 3"],
    );
    // Integer indexing into an empty axis.
    let e = Array::<f64>::zeros(&[2, 0]);
    expect_err(
        e.slice(s![.., 0]),
        "index",
        is_index,
        &["index 0", "axis 1", "size 0"],
    );
    // Through a mutable view too.
    let mut m = arange(&[2, 2]);
    expect_err(
        m.slice_mut(s![2]),
        "index",
        is_index,
        &["index 2", "axis 0", "size 2"],
    );
}

#[test]
fn slice_step_zero_names_the_axis() {
    let a = arange(&[3, 4]);
    expect_err(
        a.slice(s![.., 1..;0]),
        "value",
        is_value,
        &["step", "zero", "axis 1"],
    );
}

#[test]
fn too_many_indices_names_both_counts() {
    let a = arange(&[3, 4]);
    expect_err(
        a.slice(s![0, 1, 2]),
        "index",
        is_index,
        &["too many indices", "2 dimensions", "3 were indexed"],
    );
    // NewAxis entries do not count as indices.
    assert_eq!(
        a.slice(s![NewAxis, 0, NewAxis, 1, NewAxis])
            .unwrap()
            .shape(),
        &[1, 1, 1]
    );
}

// --------------------------------------------------------------- reshaping

#[test]
fn reshape_size_mismatch_names_both_shapes_and_counts() {
    let a = arange(&[2, 3]);
    expect_err(
        a.reshape(&[4, 2]),
        "shape",
        is_shape,
        &["(2, 3)", "(4, 2)", "6 elements"],
    );
    expect_err(
        a.view().reshape(&[7]),
        "shape",
        is_shape,
        &["(2, 3)", "(7,)"],
    );
    // A shape whose element count overflows is a size mismatch, not a panic.
    expect_err(a.reshape(&[usize::MAX, 2]), "shape", is_shape, &["(2, 3)"]);
    expect_err(a.into_shape(&[5]), "shape", is_shape, &["(2, 3)", "(5,)"]);
}

#[test]
fn reshape_that_needs_a_copy_says_so_and_names_the_layout() {
    let a = arange(&[2, 3]);
    let e = expect_err(
        a.t().reshape(&[6]),
        "shape",
        is_shape,
        &["(3, 2)", "[1, 3]", "(6,)", "without copying", "to_owned"],
    );
    drop(e);
    let mut m = arange(&[4, 4]);
    expect_err(
        m.view_mut().t().reshape(&[16]),
        "shape",
        is_shape,
        &["(4, 4)", "(16,)", "without copying"],
    );
    // An F-ordered owned array cannot be reshaped in place either.
    expect_err(
        a.to_order(Order::F).into_shape(&[3, 2]),
        "shape",
        is_shape,
        &["(2, 3)", "(3, 2)", "without copying"],
    );
}

// ------------------------------------------------------------- broadcasting

#[test]
fn broadcast_to_incompatible_names_shapes_and_axis() {
    let a = arange(&[3, 1]);
    expect_err(
        a.broadcast_to(&[2, 4, 5]),
        "shape",
        is_shape,
        &["(3, 1)", "(2, 4, 5)", "axis 0", "size 3", "4 is needed"],
    );
    expect_err(
        a.broadcast_to(&[3]),
        "shape",
        is_shape,
        &["(3, 1)", "(3,)", "more axes"],
    );
}

#[test]
fn broadcast_shapes_names_both_and_the_axis() {
    expect_err(
        broadcast_shapes(&[2, 3], &[4, 2, 5]),
        "shape",
        is_shape,
        &[
            "(2, 3)",
            "(4, 2, 5)",
            "axis -1",
            "size 3",
            "5 in the second",
        ],
    );
    expect_err(
        broadcast_shapes(&[7, 1], &[6, 3]),
        "shape",
        is_shape,
        &["(7, 1)", "(6, 3)", "axis -2", "size 7"],
    )
    .to_string();
}

#[test]
fn assign_shape_mismatch_names_both_shapes() {
    let mut a = arange(&[2, 3]);
    let src = arange(&[2]);
    expect_err(
        a.view_mut().assign(&src.view()),
        "shape",
        is_shape,
        &["(2,)", "(2, 3)", "axis 0"],
    );
    // The failed assignment wrote nothing.
    assert_eq!(a.to_vec(), arange(&[2, 3]).to_vec());
    let big = arange(&[4, 2, 3]);
    expect_err(
        a.view_mut().assign(&big.view()),
        "shape",
        is_shape,
        &["(4, 2, 3)", "(2, 3)", "more axes"],
    );
}

// -------------------------------------------------------- windows, diagonal

#[test]
fn sliding_window_too_big_names_length_axis_and_shape() {
    let a = arange(&[3, 4]);
    expect_err(
        a.sliding_window(&[2, 5]),
        "value",
        is_value,
        &["window length 5", "axis 1", "(3, 4)"],
    );
}

#[test]
fn sliding_window_wrong_count_names_both_counts() {
    let a = arange(&[3, 4]);
    expect_err(
        a.sliding_window(&[2]),
        "value",
        is_value,
        &["1 lengths", "dimension 2"],
    );
    expect_err(
        a.sliding_window(&[1, 1, 1]),
        "value",
        is_value,
        &["3 lengths", "dimension 2"],
    );
}

#[test]
fn diagonal_of_fewer_than_two_dims_names_the_shape() {
    expect_err(
        arange(&[5]).diagonal(),
        "value",
        is_value,
        &["two dimensions", "(5,)"],
    );
    expect_err(
        arange(&[]).diagonal(),
        "value",
        is_value,
        &["two dimensions", "()"],
    );
    let mut m = arange(&[4]);
    expect_err(m.view_mut().diagonal(), "value", is_value, &["(4,)"]);
}

// ------------------------------------------------------------- axes

#[test]
fn permute_not_a_permutation_names_axes_and_shape() {
    let a = arange(&[2, 3, 4]);
    for bad in [&[0, 1][..], &[0, 1, 1], &[0, 1, 3], &[0, 1, 2, 3]] {
        expect_err(
            a.permute_axes(bad),
            "value",
            is_value,
            &[
                &format!("{bad:?}"),
                "not a permutation",
                "3 axes",
                "(2, 3, 4)",
            ],
        );
    }
    let mut m = arange(&[2, 2]);
    expect_err(
        m.view_mut().permute_axes(&[1]),
        "value",
        is_value,
        &["[1]", "(2, 2)"],
    );
}

#[test]
fn insert_axis_out_of_range_names_position_and_ndim() {
    let a = arange(&[2, 3]);
    expect_err(
        a.insert_axis(3),
        "index",
        is_index,
        &["position 3", "dimension 2"],
    );
    assert_eq!(a.insert_axis(2).unwrap().shape(), &[2, 3, 1]);
    let mut m = arange(&[2]);
    expect_err(
        m.view_mut().insert_axis(5),
        "index",
        is_index,
        &["position 5", "dimension 1"],
    );
}

#[test]
fn axis_helpers_name_axis_and_ndim() {
    expect_err(
        einkern::layout::normalize_axis(-4, 3),
        "index",
        is_index,
        &["axis -4", "dimension 3"],
    );
    expect_err(
        einkern::layout::check_axis(3, 3),
        "index",
        is_index,
        &["axis 3", "dimension 3"],
    );
}

// --------------------------------------------------------- construction

#[test]
fn from_vec_length_mismatch_names_length_and_shape() {
    expect_err(
        Array::from_vec(&[2, 3], vec![1.0f64; 5]),
        "shape",
        is_shape,
        &["5 elements", "(2, 3)", "6 elements"],
    );
    expect_err(
        Array::from_vec_with_order(&[4], vec![1i32; 3], Order::F),
        "shape",
        is_shape,
        &["3 elements", "(4,)"],
    );
    expect_err(
        Array::from_vec(&[usize::MAX, 3], vec![1i64]),
        "shape",
        is_shape,
        &["too many elements"],
    );
    let data = [1.0f32; 5];
    expect_err(
        ArrayView::from_slice(&data, &[2, 2]),
        "shape",
        is_shape,
        &["5 elements", "(2, 2)"],
    );
    let mut data = [1.0f32; 5];
    expect_err(
        ArrayViewMut::from_slice_mut(&mut data, &[6]),
        "shape",
        is_shape,
        &["5 elements", "(6,)"],
    );
}

#[test]
fn as_strided_out_of_bounds_names_shape_strides_offset_and_reach() {
    let data: Vec<f64> = (0..10).map(f64::from).collect();
    expect_err(
        ArrayView::as_strided(&data, &[3, 2], &[4, 1], 1),
        "index",
        is_index,
        &["(3, 2)", "[4, 1]", "offset 1", "1..=10", "10 elements"],
    );
    // Negative strides reach below the start of the buffer.
    expect_err(
        ArrayView::as_strided(&data, &[3], &[-2], 3),
        "index",
        is_index,
        &["(3,)", "[-2]", "offset 3", "-1..=3"],
    );
    // An empty view may start at most one past the end.
    expect_err(
        ArrayView::as_strided(&data, &[0, 2], &[1, 1], 11),
        "index",
        is_index,
        &["offset 11", "10 elements"],
    );
    assert!(ArrayView::as_strided(&data, &[0, 2], &[1, 1], 10).is_ok());
    expect_err(
        ArrayView::as_strided(&data, &[2, 2], &[1], 0),
        "shape",
        is_shape,
        &["(2, 2)", "2 axes", "1 strides"],
    );
    // Strides whose reach overflows isize are refused, never wrapped into
    // a small span that looks in bounds (4 · 6148914691236517206 wraps to 2,
    // which once let `get(&[1])` read wild memory in release builds).
    let wraps = 6_148_914_691_236_517_206isize;
    expect_err(
        ArrayView::as_strided(&data, &[4], &[wraps], 0),
        "index",
        is_index,
        &["(4,)", "[6148914691236517206]", "overflow", "10 elements"],
    );
    expect_err(
        ArrayView::as_strided(&data, &[2, 2], &[isize::MAX, isize::MAX], 0),
        "index",
        is_index,
        &["(2, 2)", "overflow"],
    );
    expect_err(
        ArrayView::as_strided(&data, &[3], &[isize::MIN + 1], 0),
        "index",
        is_index,
        &["(3,)", "overflow"],
    );
    expect_err(
        ArrayView::as_strided(&data, &[1], &[1], usize::MAX),
        "index",
        is_index,
        &["offset 18446744073709551615", "10 elements"],
    );
    let a = Array::from_vec(&[10], data.clone()).unwrap();
    expect_err(
        a.as_strided(&[11], &[1], 0),
        "index",
        is_index,
        &["(11,)", "0..=10", "10 elements"],
    );
}

// ------------------------------------------------------------------- .npy

#[test]
fn read_npy_of_a_missing_file_names_the_path() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no_such_array.npy");
    let e = expect_err(
        Array::<f64>::read_npy(&path),
        "I/O",
        is_io,
        &["no_such_array.npy"],
    );
    assert!(e.to_string().starts_with("I/O error: "), "{e}");
    match &e {
        Error::Io(source) => {
            assert!(
                source.to_string().contains(&*path.to_string_lossy()),
                "{source}"
            );
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn read_npy_of_the_wrong_dtype_names_both_dtypes_and_the_path() {
    let path = fixture("f8_le_c.npy");
    expect_err(
        Array::<f32>::read_npy(&path),
        "type",
        is_type,
        &["float64", "float32", "f8_le_c.npy"],
    );
    expect_err(
        Array::<i64>::read_npy(fixture("i4_le_f.npy")),
        "type",
        is_type,
        &["int32", "int64", "i4_le_f.npy"],
    );
    // Types einkern does not hold at all are named by their descr.
    expect_err(
        Array::<f64>::read_npy(fixture("c16_unsupported.npy")),
        "type",
        is_type,
        &[
            "'<c16'",
            "float32, float64, int32 and int64",
            "c16_unsupported.npy",
        ],
    );
    expect_err(
        Array::<f64>::read_npy(fixture("u1_unsupported.npy")),
        "type",
        is_type,
        &["'|u1'", "u1_unsupported.npy"],
    );
    expect_err(
        Array::<f64>::read_npy(fixture("structured_v2.npy")),
        "type",
        is_type,
        &["structured", "structured_v2.npy"],
    );
}

#[test]
fn read_npy_of_a_malformed_file_names_the_problem_and_the_path() {
    let dir = TempDir::new("malformed");
    let bad = dir.0.join("not_numpy.npy");
    std::fs::write(&bad, b"PK\x03\x04 this is a zip").unwrap();
    expect_err(
        Array::<f64>::read_npy(&bad),
        "format",
        is_format,
        &["not a .npy file", "not_numpy.npy"],
    );
    // A good header whose data stops early.
    let whole = std::fs::read(fixture("f8_le_c.npy")).unwrap();
    let cut = dir.0.join("cut.npy");
    std::fs::write(&cut, &whole[..whole.len() - 8]).unwrap();
    expect_err(
        Array::<f64>::read_npy(&cut),
        "format",
        is_format,
        &["truncated", "(3, 4)", "96 data bytes", "88", "cut.npy"],
    );
    let empty = dir.0.join("empty.npy");
    std::fs::write(&empty, b"").unwrap();
    expect_err(
        Array::<f64>::read_npy(&empty),
        "format",
        is_format,
        &["empty", "empty.npy"],
    );
}

#[test]
fn write_npy_into_a_missing_directory_names_the_path() {
    let dir = TempDir::new("write");
    let path = dir.0.join("missing_dir").join("out.npy");
    expect_err(
        arange(&[2]).write_npy(&path),
        "I/O",
        is_io,
        &["missing_dir", "out.npy"],
    );
}

// ------------------------------------------------------------------ random

#[test]
fn random_with_bad_bounds_names_them() {
    use einkern::random::{normal, uniform};
    expect_err(
        uniform::<f64>(&[3], 2.0, 1.0, 0),
        "value",
        is_value,
        &["low < high", "[2, 1)"],
    );
    expect_err(
        uniform::<f32>(&[3], 1.0, 1.0, 0),
        "value",
        is_value,
        &["[1, 1)"],
    );
    expect_err(
        uniform::<f64>(&[3], f64::NAN, 1.0, 0),
        "value",
        is_value,
        &["NaN"],
    );
    expect_err(
        uniform::<f64>(&[3], 0.0, f64::INFINITY, 0),
        "value",
        is_value,
        &["finite", "inf"],
    );
    expect_err(
        uniform::<i32>(&[3], 0.25, 0.75, 0),
        "value",
        is_value,
        &["no integer", "[0.25, 0.75)"],
    );
    expect_err(
        normal::<f64>(&[3], 0.0, -1.0, 0),
        "value",
        is_value,
        &["std", "-1"],
    );
    expect_err(
        normal::<f64>(&[3], f64::NAN, 1.0, 0),
        "value",
        is_value,
        &["mean=NaN"],
    );
    expect_err(
        normal::<i64>(&[3], 0.0, 1.0, 0),
        "type",
        is_type,
        &["int64"],
    );
}

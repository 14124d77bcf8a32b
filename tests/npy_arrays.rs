//! `Array::read_npy` / `Array::write_npy`: round trips through a temporary
//! directory for every element type in C and F order, and the NumPy-written
//! fixtures in `tests/fixtures/npy/` (see `make_fixtures.py` there): values,
//! shape and memory order.

use std::path::PathBuf;

use einkern::*;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/npy")
        .join(name)
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!("einkern-npy-{tag}-{}", std::process::id()));
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

/// `make_fixtures.py`'s values at C-order position `k`: integers are
/// `k - 5`, floats `(k - 5.5) / 4` (exact in f32).
fn fixture_value<T: Element>(k: usize) -> T {
    if T::DTYPE.is_float() {
        T::from_f64((k as f64 - 5.5) / 4.0)
    } else {
        T::from_f64(k as f64 - 5.0)
    }
}

fn expected<T: Element>(shape: &[usize]) -> Vec<T> {
    (0..shape.iter().product()).map(fixture_value).collect()
}

/// Reads a fixture and checks shape, logical values and memory order.
#[track_caller]
fn check_fixture<T: Element>(name: &str, shape: &[usize], fortran: bool) -> Array<T> {
    let a = Array::<T>::read_npy(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(a.shape(), shape, "{name}");
    assert_eq!(a.to_vec(), expected::<T>(shape), "{name}");
    if fortran {
        assert!(a.is_f_contiguous(), "{name} is F order");
    } else {
        assert!(a.is_c_contiguous(), "{name} is C order");
    }
    // The memory holds the elements in that order.
    let mem: Vec<T> = a.as_slice_memory_order().to_vec();
    let want_mem = if fortran {
        a.to_order(Order::F).as_slice_memory_order().to_vec()
    } else {
        expected::<T>(shape)
    };
    assert_eq!(mem, want_mem, "{name} memory order");
    a
}

#[test]
fn every_dtype_byte_order_and_memory_order_fixture_reads() {
    for tag in ["le", "be"] {
        for (order, fortran) in [("c", false), ("f", true)] {
            let name = |kind: &str| format!("{kind}_{tag}_{order}.npy");
            check_fixture::<f32>(&name("f4"), &[3, 4], fortran);
            check_fixture::<f64>(&name("f8"), &[3, 4], fortran);
            check_fixture::<i32>(&name("i4"), &[3, 4], fortran);
            check_fixture::<i64>(&name("i8"), &[3, 4], fortran);
        }
    }
}

#[test]
fn f_order_fixtures_are_not_c_contiguous() {
    let a = check_fixture::<f64>("f8_le_f.npy", &[3, 4], true);
    assert!(!a.is_c_contiguous());
    assert_eq!(a.strides(), &[1, 3]);
    assert_eq!(a.as_slice(), None);
    // Element (1, 2) is C-position 6.
    assert_eq!(a.get(&[1, 2]), Some(fixture_value::<f64>(6)));
    let c = check_fixture::<i32>("i4_be_c.npy", &[3, 4], false);
    assert_eq!(c.strides(), &[4, 1]);
    assert_eq!(c.as_slice().unwrap(), &expected::<i32>(&[3, 4])[..]);
}

#[test]
fn other_ranks_versions_and_headers_read() {
    check_fixture::<i64>("i8_vec.npy", &[5], false);
    let c3 = check_fixture::<f64>("f8_3d_c.npy", &[2, 3, 4], false);
    let f3 = check_fixture::<f64>("f8_3d_f.npy", &[2, 3, 4], true);
    assert_eq!(f3.strides(), &[1, 2, 6]);
    assert_eq!(c3, f3);
    // np.array(2.5): a 0-d array, not an arange value.
    let s = Array::<f64>::read_npy(fixture("f8_scalar.npy")).unwrap();
    assert_eq!(s.shape(), &[] as &[usize]);
    assert_eq!(s.to_vec(), vec![2.5]);
    assert_eq!(s.get(&[]), Some(2.5));
    let e = Array::<f32>::read_npy(fixture("f4_empty.npy")).unwrap();
    assert_eq!(e.shape(), &[2, 0, 3]);
    assert!(e.is_empty() && e.to_vec().is_empty());
    check_fixture::<f64>("f8_v2.npy", &[3, 4], false);
    check_fixture::<i32>("i4_v3.npy", &[3, 4], false);
    check_fixture::<f64>("legacy_align16_f8.npy", &[3, 4], false);
    check_fixture::<i64>("py2_long_i8.npy", &[3, 4], false);
    check_fixture::<i32>("reordered_header_i4.npy", &[3, 4], false);
    check_fixture::<f64>("native_f8.npy", &[3, 4], false);
    check_fixture::<f64>("trailing_bytes_f8.npy", &[3, 4], false);
    // '|f4' with fortran_order True, shape (4, 3): the bytes of the (3, 4)
    // C-order floats, read as a (4, 3) F-order array.
    let p = Array::<f32>::read_npy(fixture("pipe_f4.npy")).unwrap();
    assert_eq!(p.shape(), &[4, 3]);
    assert!(p.is_f_contiguous() && !p.is_c_contiguous());
    assert_eq!(p.as_slice_memory_order(), &expected::<f32>(&[3, 4])[..]);
    for i in 0..4 {
        for j in 0..3 {
            assert_eq!(p.get(&[i, j]), Some(fixture_value::<f32>(j * 4 + i)));
        }
    }
}

/// What einkern writes for an array NumPy saved is byte for byte what NumPy
/// wrote (little-endian files; einkern always writes little-endian).
#[test]
fn rewriting_numpy_files_reproduces_their_bytes() {
    let dir = TempDir::new("bytes");
    fn rewrite<T: Element>(dir: &TempDir, name: &str) {
        let a = Array::<T>::read_npy(fixture(name)).unwrap();
        let out = dir.0.join(name);
        a.write_npy(&out).unwrap();
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(fixture(name)).unwrap(),
            "{name}"
        );
    }
    for order in ["c", "f"] {
        rewrite::<f32>(&dir, &format!("f4_le_{order}.npy"));
        rewrite::<f64>(&dir, &format!("f8_le_{order}.npy"));
        rewrite::<i32>(&dir, &format!("i4_le_{order}.npy"));
        rewrite::<i64>(&dir, &format!("i8_le_{order}.npy"));
    }
    rewrite::<f64>(&dir, "f8_3d_c.npy");
    rewrite::<f64>(&dir, "f8_3d_f.npy");
    rewrite::<f64>(&dir, "f8_scalar.npy");
    rewrite::<f32>(&dir, "f4_empty.npy");
    rewrite::<i64>(&dir, "i8_vec.npy");
}

fn round_trip<T: Element>(dir: &TempDir, conv: fn(i64) -> T) {
    let shapes: [&[usize]; 8] = [
        &[],
        &[5],
        &[3, 4],
        &[2, 3, 4],
        &[2, 0, 3],
        &[1, 5],
        &[4, 1],
        &[3, 1, 2, 2],
    ];
    for shape in shapes {
        for order in [Order::C, Order::F] {
            let mut k = 0i64;
            let a = Array::from_fn(shape, |_| {
                k += 1;
                conv(k * 3 - 7)
            })
            .to_order(order);
            let path = dir
                .0
                .join(format!("{}_{shape:?}_{order:?}.npy", T::DTYPE.name()));
            a.write_npy(&path).unwrap();
            let b = Array::<T>::read_npy(&path).unwrap();
            let ctx = format!("{} {shape:?} {order:?}", T::DTYPE);
            assert_eq!(b.shape(), a.shape(), "{ctx}");
            assert_eq!(b.to_vec(), a.to_vec(), "{ctx}");
            assert_eq!(b, a, "{ctx}");
            // The memory order survives whenever it is observable.
            assert_eq!(b.is_c_contiguous(), a.is_c_contiguous(), "{ctx}");
            assert_eq!(b.is_f_contiguous(), a.is_f_contiguous(), "{ctx}");
            assert_eq!(
                b.as_slice_memory_order(),
                a.as_slice_memory_order(),
                "{ctx}"
            );
            // The header says so, as NumPy writes it: fortran_order only
            // when C and F differ.
            let bytes = std::fs::read(&path).unwrap();
            let header = String::from_utf8_lossy(&bytes[..bytes.len().min(128)]).into_owned();
            let f_flag = a.is_f_contiguous() && !a.is_c_contiguous();
            let want_flag = if f_flag {
                "'fortran_order': True"
            } else {
                "'fortran_order': False"
            };
            assert!(header.contains(want_flag), "{ctx}: {header}");
            let descr = format!(
                "'descr': '<{}{}'",
                if T::DTYPE.is_float() { "f" } else { "i" },
                T::DTYPE.size()
            );
            assert!(header.contains(&descr), "{ctx}: {header}");
        }
    }
}

#[test]
fn round_trips_for_every_dtype_in_both_orders() {
    let dir = TempDir::new("round");
    round_trip::<f32>(&dir, |x| x as f32 / 8.0);
    round_trip::<f64>(&dir, |x| x as f64 / 3.0);
    round_trip::<i32>(&dir, |x| x as i32);
    round_trip::<i64>(&dir, |x| x * 1_000_000_007);
}

#[test]
fn special_float_values_survive_exactly() {
    let dir = TempDir::new("special");
    let vals = vec![
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE,
        f64::MAX,
        5e-324,
        f64::NAN,
    ];
    let a = Array::from_vec(&[2, 4], vals.clone()).unwrap();
    let path = dir.0.join("special.npy");
    a.write_npy(&path).unwrap();
    let b = Array::<f64>::read_npy(&path).unwrap();
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&b.to_vec()), bits(&vals));
    let ints = Array::from_vec(&[3], vec![i64::MIN, -1, i64::MAX]).unwrap();
    let path = dir.0.join("ints.npy");
    ints.write_npy(&path).unwrap();
    assert_eq!(Array::<i64>::read_npy(&path).unwrap(), ints);
}

#[test]
fn views_are_written_after_a_copy_in_either_order() {
    let dir = TempDir::new("views");
    let a = Array::from_fn(&[4, 6], |i| (i[0] * 6 + i[1]) as i32);
    let v = a.slice(s![1..;2, ..;-2]).unwrap().t();
    for order in [Order::C, Order::F] {
        let owned = v.to_order(order);
        let path = dir.0.join(format!("view_{order:?}.npy"));
        owned.write_npy(&path).unwrap();
        let b = Array::<i32>::read_npy(&path).unwrap();
        assert_eq!(b.shape(), v.shape());
        assert_eq!(b.to_vec(), v.to_vec());
        assert_eq!(
            b.is_f_contiguous() && !b.is_c_contiguous(),
            order == Order::F
        );
    }
}

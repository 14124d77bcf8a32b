//! Constructors and geometry operations on extreme inputs. Each result is
//! an `Err`, or a view that obeys the rule, stays inside its memory and
//! holds the elements an independent model of NumPy's semantics predicts.

use einkern::{s, Array, ArrayView, ArrayViewMut, Element, SliceElem, SliceInfo};

use crate::extremes::{bounds, shapes, strides, IMAX};
use crate::{assert_sound, bases, count, data, elements, panic_message, SMALL};

/// Checks one operation's result on `base`: an `Err` with a message, or a
/// sound view whose elements are `expect()` (when the view is small and
/// the model has an answer; `None` means the model says it must fail).
#[track_caller]
fn check<T: Element>(
    what: &str,
    got: Result<ArrayView<'_, T>, einkern::Error>,
    data: &[T],
    expect: Option<Vec<T>>,
) {
    match (got, expect) {
        (Ok(v), expect) => {
            assert_sound(&v, data, what);
            let n = count(v.shape());
            match expect {
                Some(e) if n <= SMALL => assert_eq!(elements(&v, data), e, "{what}"),
                Some(_) => {}
                None => panic!("{what}: expected an error, got shape {:?}", v.shape()),
            }
        }
        (Err(e), Some(_)) => {
            // The model had an answer; the library may still refuse a view
            // whose size overflows (the model does not size-check).
            assert!(
                matches!(e, einkern::Error::Shape { .. }),
                "{what}: unexpected error {e}"
            );
        }
        (Err(e), None) => assert!(!e.message().is_empty(), "{what}: empty message"),
    }
}

/// NumPy's broadcasting of `shape` to `target`, as a list of elements: the
/// model for `broadcast_to` (None where NumPy refuses or the result cannot
/// be small).
fn broadcast_model<T: Element>(base: &[T], shape: &[usize], target: &[usize]) -> Option<Vec<T>> {
    if shape.len() > target.len() {
        return None;
    }
    let lead = target.len() - shape.len();
    for (i, &d) in shape.iter().enumerate() {
        if d != 1 && d != target[lead + i] {
            return None;
        }
    }
    if count(target) > SMALL {
        // Legal, but too large to list: `check` only tests its soundness.
        return Some(Vec::new());
    }
    let n = count(target) as usize;
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; target.len()];
    for _ in 0..n {
        let flat = shape.iter().enumerate().fold(0usize, |acc, (i, &d)| {
            acc * d + if d == 1 { 0 } else { index[lead + i] }
        });
        out.push(base[flat]);
        for k in (0..index.len()).rev() {
            index[k] += 1;
            if index[k] < target[k] {
                break;
            }
            index[k] = 0;
        }
    }
    Some(out)
}

/// Python's `range(len)[start:end:step]`, in `i128`.
fn python_slice(start: Option<isize>, end: Option<isize>, step: isize, len: usize) -> Vec<usize> {
    let (len, step) = (len as i128, step as i128);
    let (lower, upper) = if step < 0 { (-1, len - 1) } else { (0, len) };
    let clamp = |b: isize| {
        let b = b as i128;
        if b < 0 {
            (b + len).max(lower)
        } else {
            b.min(upper)
        }
    };
    let s = start.map_or(if step < 0 { upper } else { lower }, clamp);
    let e = end.map_or(if step < 0 { lower } else { upper }, clamp);
    let mut out = Vec::new();
    let mut p = s;
    while (step > 0 && p < e) || (step < 0 && p > e) {
        out.push(p as usize);
        p += step;
    }
    out
}

/// The model of `base[elem]` on axis 0: the blocks of `base`'s C-order
/// elements at the selected positions; `None` where NumPy raises.
fn slice_model<T: Element>(all: &[T], shape: &[usize], elem: SliceElem) -> Option<Vec<T>> {
    let (d0, inner) = match shape {
        [] => return matches!(elem, SliceElem::NewAxis).then(|| all.to_vec()),
        [d0, rest @ ..] => (*d0, rest.iter().product::<usize>()),
    };
    let block = |p: usize| all[p * inner..(p + 1) * inner].to_vec();
    match elem {
        SliceElem::NewAxis => Some(all.to_vec()),
        SliceElem::Index(i) => {
            let j = if i < 0 {
                i as i128 + d0 as i128
            } else {
                i as i128
            };
            (0..d0 as i128).contains(&j).then(|| block(j as usize))
        }
        SliceElem::Range { step: 0, .. } | SliceElem::IndexOutOfRange(_) => None,
        SliceElem::Range { start, end, step } => Some(
            python_slice(start, end, step, d0)
                .into_iter()
                .flat_map(block)
                .collect(),
        ),
    }
}

/// Every slice entry the tables make: each bound as an index, as a start,
/// as an end, with every step.
fn slice_elems() -> Vec<SliceElem> {
    let b = bounds();
    let mut out = vec![
        SliceElem::NewAxis,
        SliceElem::IndexOutOfRange(u64::MAX as i128),
    ];
    for &i in &b {
        out.push(SliceElem::Index(i));
        for &step in &b {
            out.push(SliceElem::Range {
                start: Some(i),
                end: None,
                step,
            });
            out.push(SliceElem::Range {
                start: None,
                end: Some(i),
                step,
            });
            out.push(SliceElem::Range {
                start: Some(i),
                end: Some(-i.saturating_abs()),
                step,
            });
        }
    }
    out
}

fn geometry_for<T: Element>() {
    let data = data::<T>(64);
    for (name, base) in bases(&data) {
        let all = elements(&base, &data);
        for target in shapes() {
            let what = format!("{name}.broadcast_to({target:?})");
            let model = broadcast_model(&all, base.shape(), &target);
            check(&what, base.broadcast_to(&target), &data, model);
            let what = format!("{name}.reshape({target:?})");
            let model = (count(&target) == count(base.shape())).then(|| all.clone());
            match base.reshape(&target) {
                // A reshape that needs a copy is an error by design.
                Err(e) if model.is_some() => assert!(!e.message().is_empty(), "{what}"),
                got => check(&what, got, &data, model),
            }
            if target.len() == base.ndim() {
                let what = format!("{name}.sliding_window({target:?})");
                let fits = target.iter().zip(base.shape()).all(|(w, d)| w <= d);
                let got = base.sliding_window(&target);
                match got {
                    Ok(v) => {
                        assert!(fits, "{what}: a window longer than its axis was accepted");
                        assert_sound(&v, &data, &what);
                    }
                    Err(e) => assert!(!e.message().is_empty(), "{what}"),
                }
            }
        }
        for elem in slice_elems() {
            let what = format!("{name}.slice({elem:?})");
            let model = slice_model(&all, base.shape(), elem);
            check(&what, base.slice(SliceInfo::new(vec![elem])), &data, model);
        }
        for axis in [0, 1, base.ndim(), base.ndim() + 1, usize::MAX] {
            let what = format!("{name}.insert_axis({axis})");
            let model = (axis <= base.ndim()).then(|| all.clone());
            check(&what, base.insert_axis(axis), &data, model);
        }
        for axes in [
            vec![usize::MAX; base.ndim()],
            vec![0; base.ndim()],
            (0..base.ndim()).rev().collect(),
        ] {
            let what = format!("{name}.permute_axes({axes:?})");
            let is_perm = {
                let mut s = axes.clone();
                s.sort_unstable();
                s == (0..base.ndim()).collect::<Vec<_>>()
            };
            match base.permute_axes(&axes) {
                Ok(v) => {
                    assert!(is_perm, "{what}: not a permutation, accepted");
                    assert_sound(&v, &data, &what);
                }
                Err(e) => assert!(!is_perm && !e.message().is_empty(), "{what}: {e}"),
            }
        }
        for v in [base.t(), base.squeeze()] {
            assert_sound(&v, &data, &format!("{name}.t/squeeze"));
        }
        match base.diagonal() {
            Ok(v) => assert_sound(&v, &data, &format!("{name}.diagonal")),
            Err(e) => assert!(base.ndim() < 2, "{name}.diagonal: {e}"),
        }
    }
}

#[test]
fn geometry_operations_give_an_error_or_a_sound_view_f64() {
    geometry_for::<f64>();
}

#[test]
fn geometry_operations_give_an_error_or_a_sound_view_f32() {
    geometry_for::<f32>();
}

#[test]
fn geometry_operations_give_an_error_or_a_sound_view_i64() {
    geometry_for::<i64>();
}

/// `as_strided` with every table shape, stride and offset: an error or a
/// view inside its slice.
#[test]
fn as_strided_gives_an_error_or_a_sound_view() {
    let data = data::<f64>(64);
    let offsets = [0, 1, 63, 64, 65, IMAX, usize::MAX];
    for shape in shapes().into_iter().filter(|s| s.len() <= 2) {
        for &s0 in &strides() {
            for &s1 in &[1isize, 0, -1, isize::MAX, isize::MIN] {
                let st: Vec<isize> = [s0, s1][..shape.len()].to_vec();
                for &offset in &offsets {
                    let what = format!("as_strided({shape:?}, {st:?}, {offset})");
                    if let Ok(v) = ArrayView::as_strided(&data, &shape, &st, offset) {
                        assert_sound(&v, &data, &what);
                    }
                }
            }
        }
    }
}

/// `from_slice`, `from_vec` and the fallible allocators with every table
/// shape: an error, or exactly the elements asked for.
#[test]
fn constructors_give_an_error_or_the_array() {
    let data = data::<f64>(64);
    for shape in shapes() {
        let n = count(&shape);
        match ArrayView::from_slice(&data, &shape) {
            Ok(v) => {
                assert_eq!(n, 64, "from_slice({shape:?}) over 64 elements");
                assert_sound(&v, &data, "from_slice");
            }
            Err(e) => assert!(n != 64 && !e.message().is_empty()),
        }
        assert!(Array::from_vec(&shape, data.clone()).is_ok() == (n == 64));
        // Sizes beyond the address space can never be allocated; 2^47 bytes
        // is past every x86-64 user address space with 4-level paging.
        if n.saturating_mul(8) > 1 << 47 {
            let e = Array::<f64>::try_zeros(&shape).expect_err("too large to allocate");
            assert!(!e.to_string().is_empty());
        } else if shape.iter().any(|&d| d > IMAX) {
            // No axis may be longer than isize::MAX, even in an empty array
            // (NumPy's dimensions are intp too).
            assert!(Array::<f64>::try_zeros(&shape).is_err(), "{shape:?}");
        } else if n <= SMALL {
            let z = Array::<f64>::try_zeros(&shape).unwrap();
            assert_eq!(z.shape(), &shape[..]);
            assert!(z.to_vec().iter().all(|&x| x == 0.0));
        }
    }
}

/// The infallible constructors panic with a message naming the problem
/// (never abort, never return a wrapped size) when asked for the
/// impossible; their `try_` forms return the error.
#[test]
fn infallible_constructors_panic_with_a_message() {
    for shape in [
        vec![usize::MAX, 2],
        vec![1 << 62],
        vec![IMAX / 8 + 1],
        vec![1 << 50, 1 << 4],
    ] {
        let msg = panic_message(|| {
            Array::<f64>::zeros(&shape);
        })
        .unwrap_or_else(|| panic!("zeros({shape:?}) returned"));
        assert!(msg.contains("memory") || msg.contains("shape"), "{msg}");
        assert!(panic_message(|| {
            Array::<f64>::full(&shape, 1.0);
        })
        .is_some());
    }
    assert!(panic_message(|| {
        Array::<f64>::eye(1 << 32);
    })
    .is_some());
}

/// Slicing with the bounds users can write that do not fit `isize`: an
/// error or NumPy's result, never a reinterpretation (`usize::MAX` as -1).
#[test]
fn out_of_range_slice_bounds_are_errors_not_reinterpretations() {
    let a = Array::from_fn(&[4, 3], |i| (i[0] * 3 + i[1]) as f64);
    let v = a.view();
    assert!(
        v.slice(s![usize::MAX]).is_err(),
        "s![usize::MAX] selected a row"
    );
    assert!(v.slice(s![IMAX + 1]).is_err());
    // Python's a[::2**64 - 1]: a forward step past the end, the first row.
    let w = v.slice(s![..;usize::MAX]).expect("a huge forward step");
    assert_eq!(w.to_vec(), vec![0.0, 1.0, 2.0], "..;usize::MAX");
    // In range for Python: 0..=isize::MAX is every row.
    match v.slice(s![0..=isize::MAX]) {
        Ok(w) => assert_eq!(w.shape(), &[4, 3]),
        Err(e) => assert!(!e.message().is_empty()),
    }
    match v.slice(s![0..=usize::MAX]) {
        Ok(w) => assert_eq!(w.shape(), &[4, 3]),
        Err(e) => assert!(!e.message().is_empty()),
    }
    match v.slice(s![usize::MAX..]) {
        Ok(w) => assert_eq!(w.shape(), &[0, 3], "usize::MAX.. is past the end"),
        Err(e) => assert!(!e.message().is_empty()),
    }
    // isize::MIN as a step: Python walks backwards by a huge step.
    let w = v.slice(s![..;isize::MIN]).unwrap();
    assert_eq!(w.shape(), &[1, 3]);
    assert_eq!(w.to_vec(), vec![9.0, 10.0, 11.0]);
}

/// A mutable view never reaches one element twice: every safe way to one
/// either keeps the strides apart or is an error.
#[test]
fn mutable_views_never_alias() {
    let mut data = data::<f64>(64);
    let distinct = |v: &ArrayViewMut<'_, f64>| {
        let n = count(v.shape());
        if n == 0 || n > SMALL {
            return;
        }
        let (lo, _) = crate::span(v.shape(), v.strides());
        let mut offsets = Vec::new();
        let mut index = vec![0usize; v.ndim()];
        for _ in 0..n {
            offsets.push(
                index
                    .iter()
                    .zip(v.strides())
                    .map(|(&i, &s)| i as i128 * s as i128)
                    .sum::<i128>()
                    - lo,
            );
            for k in (0..index.len()).rev() {
                index[k] += 1;
                if index[k] < v.shape()[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        offsets.sort_unstable();
        offsets.dedup();
        assert_eq!(
            offsets.len() as i128,
            n,
            "a mutable view of shape {:?} strides {:?} aliases",
            v.shape(),
            v.strides()
        );
    };
    for shape in [vec![4, 16], vec![64], vec![2, 2, 16], vec![8, 8]] {
        let v = ArrayViewMut::from_slice_mut(&mut data, &shape).unwrap();
        distinct(&v);
        for elem in slice_elems() {
            let v = ArrayViewMut::from_slice_mut(&mut data, &shape).unwrap();
            if let Ok(w) = v.slice(SliceInfo::new(vec![elem])) {
                distinct(&w);
            }
        }
        for target in shapes() {
            let v = ArrayViewMut::from_slice_mut(&mut data, &shape).unwrap();
            if let Ok(w) = v.reshape(&target) {
                distinct(&w);
            }
        }
        let v = ArrayViewMut::from_slice_mut(&mut data, &shape).unwrap();
        if let Ok(w) = v.diagonal() {
            distinct(&w);
        }
        for axis in [0, 1, usize::MAX] {
            let v = ArrayViewMut::from_slice_mut(&mut data, &shape).unwrap();
            if let Ok(w) = v.insert_axis(axis) {
                distinct(&w);
            }
        }
    }
}

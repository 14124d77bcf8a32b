//! Every entry point that consumes a view, on the views the geometry
//! operations make from the extreme tables (compared element by element
//! with our own reading of memory) and on the largest legal views (an
//! `Err` from every `Result` API that would have to allocate them, quickly,
//! and a message from every infallible one).

use einkern::{jit, kernel, try_einsum, Array, ArrayView, Error, Order, SliceElem, SliceInfo};

use crate::extremes::{bounds, shapes};
use crate::{assert_sound, bases, count, data, elements, panic_message, SMALL};

#[kernel]
fn plus_one(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    x + 1.0
}

#[kernel]
fn sum_first(x: ArrayView<f64>) -> Result<Array<f64>, Error> {
    sum(x, 0)
}

/// The sum over axis 0 of a C-order element list of `shape`.
fn sum_axis0(all: &[f64], shape: &[usize]) -> Vec<f64> {
    let inner: usize = shape[1..].iter().product();
    let mut out = vec![0.0; inner];
    for (k, x) in all.iter().enumerate() {
        out[k % inner.max(1)] += x;
    }
    out.truncate(inner);
    out
}

/// Small views of every layout the geometry operations make from the
/// tables: broadcasts, slices with every bound and step, windows.
fn small_views(data: &[f64]) -> Vec<(String, ArrayView<'_, f64>)> {
    let mut out = Vec::new();
    for (name, base) in bases(data) {
        for target in shapes() {
            if count(&target) <= SMALL {
                if let Ok(v) = base.broadcast_to(&target) {
                    out.push((format!("{name}.broadcast_to({target:?})"), v));
                }
            }
        }
        for &i in &bounds() {
            for &step in &bounds() {
                let elem = SliceElem::Range {
                    start: Some(i),
                    end: None,
                    step,
                };
                if let Ok(v) = base.slice(SliceInfo::new(vec![elem])) {
                    out.push((format!("{name}.slice({elem:?})"), v));
                }
            }
        }
        let window: Vec<usize> = base.shape().iter().map(|&d| d.min(2)).collect();
        if let Ok(v) = base.sliding_window(&window) {
            out.push((format!("{name}.sliding_window({window:?})"), v));
        }
        out.push((format!("{name}.t()"), base.t()));
        out.push((name, base));
    }
    out
}

/// Runtime consumers: copies in both orders, iteration, element access,
/// display and assignment give the view's elements.
#[test]
fn copies_iteration_display_and_assign_read_exactly_the_view() {
    let data = data::<f64>(64);
    for (what, v) in small_views(&data) {
        assert_sound(&v, &data, &what);
        let all = elements(&v, &data);
        assert_eq!(v.to_vec(), all, "{what}.to_vec");
        assert_eq!(v.to_owned().to_vec(), all, "{what}.to_owned");
        assert_eq!(v.to_order(Order::F).to_vec(), all, "{what}.to_order(F)");
        assert_eq!(v.iter().collect::<Vec<_>>(), all, "{what}.iter");
        assert!(!format!("{v}").is_empty() && !format!("{v:?}").is_empty());
        let mut out = Array::<f64>::zeros(v.shape());
        out.view_mut().assign(&v).unwrap();
        assert_eq!(out.to_vec(), all, "{what}: assign");
        let last: Vec<usize> = v.shape().iter().map(|&d| d.saturating_sub(1)).collect();
        if !all.is_empty() {
            assert_eq!(v.get(&last), all.last().copied(), "{what}.get(last)");
        }
        if v.ndim() > 0 {
            assert_eq!(v.get(v.shape()), None, "{what}.get(shape)");
        }
    }
}

/// `#[kernel]` (returning and `_into`), the JIT (`eval`, `eval_into`, a
/// reduction) and einsum (`jit::einsum`, `einsum_dyn`, `try_einsum!`) on
/// every small view: the elements NumPy would give.
#[test]
fn kernels_jit_and_einsum_compute_exactly_on_every_small_view() {
    let data = data::<f64>(64);
    let add = jit::compile::<f64>("x + 1", &["x"]).unwrap();
    let red = jit::compile::<f64>("sum(x, axis=0)", &["x"]).unwrap();
    let letters = "abcdefgh";
    for (what, v) in small_views(&data) {
        let all = elements(&v, &data);
        let plus: Vec<f64> = all.iter().map(|x| x + 1.0).collect();
        assert_eq!(
            plus_one(v.view()).unwrap().to_vec(),
            plus,
            "{what}: #[kernel]"
        );
        let mut out = Array::<f64>::zeros(v.shape());
        plus_one_into(out.view_mut(), v.view()).unwrap();
        assert_eq!(out.to_vec(), plus, "{what}: #[kernel] _into");
        assert_eq!(
            add.eval(&[v.view()]).unwrap().to_vec(),
            plus,
            "{what}: eval"
        );
        let mut out = Array::<f64>::zeros(v.shape());
        add.eval_into(out.view_mut(), &[v.view()]).unwrap();
        assert_eq!(out.to_vec(), plus, "{what}: eval_into");
        let ix = &letters[..v.ndim()];
        let same = format!("{ix}->{ix}");
        assert_eq!(
            jit::einsum(&same, &[v.view()]).unwrap().to_vec(),
            all,
            "{what}: {same}"
        );
        assert_eq!(
            einkern::einsum_dyn(&same, &[v.view()]).unwrap().to_vec(),
            all,
            "{what}"
        );
        // A sum over axis 0 of an empty axis beside huge ones is that many
        // zeros: real output, only checked where it is small.
        if v.ndim() >= 1 && count(&v.shape()[1..]) <= SMALL {
            let sums = sum_axis0(&all, v.shape());
            assert_eq!(
                sum_first(v.view()).unwrap().to_vec(),
                sums,
                "{what}: sum kernel"
            );
            assert_eq!(
                red.eval(&[v.view()]).unwrap().to_vec(),
                sums,
                "{what}: jit sum"
            );
            let spec = format!("{ix}->{}", &ix[1..]);
            assert_eq!(
                jit::einsum(&spec, &[v.view()]).unwrap().to_vec(),
                sums,
                "{what}: {spec}"
            );
        }
        if v.ndim() == 2 && v.shape()[1] as i128 <= SMALL {
            let got: Array<f64> = try_einsum!("ij->j", v.view()).unwrap();
            assert_eq!(got.to_vec(), sum_axis0(&all, v.shape()), "{what}: einsum!");
        }
    }
}

/// The largest legal views: broadcasts whose element count is far beyond
/// any memory (but whose size in bytes fits `isize`), and empty views
/// with huge siblings. Every `Result` API that would have to allocate an
/// output that large returns an error at once; infallible copies panic
/// with a message; display summarises; iteration and `get` work.
#[test]
fn the_largest_legal_views_give_errors_not_crashes() {
    let one = [7.0f64];
    let scalar = ArrayView::from_slice(&one, &[1, 1]).unwrap();
    let add = jit::compile::<f64>("x + 1", &["x"]).unwrap();
    let red = jit::compile::<f64>("sum(x, axis=0)", &["x"]).unwrap();
    for shape in [
        vec![1usize << 50, 4],
        vec![4, 1 << 56],
        vec![(1 << 59) - 1, 2],
    ] {
        let what = format!("broadcast to {shape:?}");
        let v = scalar
            .broadcast_to(&shape)
            .expect("legal: its size fits isize");
        assert_eq!(v.iter().take(3).collect::<Vec<_>>(), vec![7.0; 3], "{what}");
        assert_eq!(v.get(&[shape[0] - 1, shape[1] - 1]), Some(7.0));
        let shown = format!("{v}");
        assert!(
            shown.contains("..."),
            "{what}: display did not summarise: {shown}"
        );
        assert!(add.eval(&[v.view()]).is_err(), "{what}: eval");
        assert!(plus_one(v.view()).is_err(), "{what}: #[kernel]");
        assert!(
            jit::einsum("ij->ij", &[v.view()]).is_err(),
            "{what}: jit::einsum"
        );
        assert!(
            einkern::einsum_dyn("ij->ji", &[v.view()]).is_err(),
            "{what}: einsum_dyn"
        );
        let r: Result<Array<f64>, Error> = try_einsum!("ij->ij", v.view());
        assert!(r.is_err(), "{what}: try_einsum!");
        let msg = panic_message(|| {
            v.to_owned();
        })
        .unwrap_or_else(|| panic!("{what}: to_owned returned"));
        assert!(
            msg.contains("memory"),
            "{what}: to_owned panicked with {msg:?}"
        );
        // Reductions to small outputs are real work over 2^52+ elements:
        // not run. Broadcasting one axis further overflows: an error.
        assert!(
            v.broadcast_to(&[1 << 13, shape[0], shape[1]]).is_err(),
            "{what}"
        );
    }
    let empty = Array::<f64>::zeros(&[0, 1]);
    // Every output these would need is beyond the address space (2^47
    // bytes with 4-level paging), so no test ever touches such memory.
    for wide in [1usize << 45, 1 << 60, isize::MAX as usize] {
        let what = format!("(0, {wide})");
        let v = empty.view().broadcast_to(&[0, wide]).unwrap();
        assert_eq!(v.to_owned().shape(), &[0, wide], "{what}.to_owned");
        assert_eq!(
            add.eval(&[v.view()]).unwrap().shape(),
            &[0, wide],
            "{what}: eval"
        );
        assert_eq!(plus_one(v.view()).unwrap().shape(), &[0, wide], "{what}");
        assert!(
            format!("{v}").len() < 64,
            "{what}: display of an empty view"
        );
        // Summing the empty axis makes `wide` zeros: an allocation error.
        for r in [
            red.eval(&[v.view()]),
            sum_first(v.view()),
            jit::einsum("ij->j", &[v.view()]),
        ] {
            match r {
                Ok(a) => panic!("{what}: a reduction made {:?} zeros", a.shape()),
                Err(e) => assert!(
                    matches!(e, Error::Alloc { .. } | Error::Shape { .. }),
                    "{what}: {e}"
                ),
            }
        }
    }
}

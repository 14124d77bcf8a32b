//! The einsum executor and the `einsum!` / `try_einsum!` macros, checked
//! against the naive reference (`einsum_reference_f64`): every numpy.einsum
//! documentation example, random equations of 1–5 operands on random sizes
//! and strides in all four element types, and the macros on fixed specs.

use einkern::{einsum, einsum_dyn, s, try_einsum, Array, ArrayView, Element};
use einkern_codegen::einsum::einsum_reference_f64;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One operand: a buffer and a view geometry into it, as the reference
/// takes it (`data`, `shape`, `strides`, `offset`).
#[derive(Clone, Debug)]
struct Strided {
    data: Vec<f64>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
}

impl Strided {
    fn contiguous(shape: &[usize], data: Vec<f64>) -> Self {
        let a = Array::from_vec(shape, data.clone()).expect("matching length");
        Strided {
            data,
            shape: shape.to_vec(),
            strides: a.strides().to_vec(),
            offset: 0,
        }
    }

    fn typed<T: Element>(&self) -> Vec<T> {
        self.data.iter().map(|&x| T::from_f64(x)).collect()
    }

    /// The typed buffer's values back in f64 (f32 rounding applied).
    fn rounded<T: Element>(&self) -> Strided {
        Strided {
            data: self.typed::<T>().iter().map(|x| x.to_f64()).collect(),
            ..self.clone()
        }
    }

    fn view<'a, T: Element>(&self, buf: &'a [T]) -> ArrayView<'a, T> {
        ArrayView::as_strided(buf, &self.shape, &self.strides, self.offset)
            .expect("the generator keeps views in their buffers")
    }

    fn abs(&self) -> Strided {
        Strided {
            data: self.data.iter().map(|x| x.abs()).collect(),
            ..self.clone()
        }
    }
}

fn reference(spec: &str, ops: &[Strided]) -> (Vec<usize>, Vec<f64>) {
    let refs: Vec<_> = ops
        .iter()
        .map(|o| (&o.data[..], &o.shape[..], &o.strides[..], o.offset))
        .collect();
    einsum_reference_f64(spec, &refs).unwrap_or_else(|e| panic!("{spec}: {e}"))
}

/// Runs `einsum_dyn` in `T` and compares with the reference: exactly for
/// integers, within `eps · (terms + 1)` of the absolute-value sum for floats.
fn check_as<T: Element>(spec: &str, ops: &[Strided], terms: usize) {
    let ops: Vec<Strided> = ops.iter().map(Strided::rounded::<T>).collect();
    let bufs: Vec<Vec<T>> = ops.iter().map(Strided::typed::<T>).collect();
    let views: Vec<ArrayView<'_, T>> = ops.iter().zip(&bufs).map(|(o, b)| o.view(b)).collect();
    let got = einsum_dyn(spec, &views).unwrap_or_else(|e| panic!("{spec} {ops:?}: {e}"));
    let (shape, want) = reference(spec, &ops);
    assert_eq!(got.shape(), &shape[..], "{spec}");
    assert!(got.is_c_contiguous(), "{spec}: output in C order");
    let got = got.to_vec();
    if T::DTYPE.is_float() {
        let (_, bound) = reference(spec, &ops.iter().map(Strided::abs).collect::<Vec<_>>());
        let eps = if T::DTYPE.size() == 4 {
            f64::from(f32::EPSILON)
        } else {
            f64::EPSILON
        };
        for (i, ((g, w), b)) in got.iter().zip(&want).zip(&bound).enumerate() {
            let tol = 4.0 * eps * (terms as f64 + ops.len() as f64 + 1.0) * b + 1e-300;
            assert!(
                (g.to_f64() - w).abs() <= tol,
                "{spec} [{i}] {} vs {w} (tol {tol}) on {ops:?}",
                g.to_f64()
            );
        }
    } else {
        let got: Vec<f64> = got.iter().map(|x| x.to_f64()).collect();
        assert_eq!(got, want, "{spec} on {ops:?}");
    }
}

fn check_all_types(spec: &str, ops: &[Strided], terms: usize) {
    check_as::<f64>(spec, ops, terms);
    check_as::<f32>(spec, ops, terms);
    let ints: Vec<Strided> = ops
        .iter()
        .map(|o| Strided {
            data: o.data.iter().map(|x| (x * 4.0).round()).collect(),
            ..o.clone()
        })
        .collect();
    check_as::<i32>(spec, &ints, terms);
    check_as::<i64>(spec, &ints, terms);
}

fn arange(shape: &[usize]) -> Strided {
    let n = shape.iter().product::<usize>();
    Strided::contiguous(shape, (0..n).map(|x| x as f64).collect())
}

#[test]
fn numpy_documentation_examples() {
    let a = arange(&[5, 5]);
    let b = arange(&[5]);
    let c = arange(&[2, 3]);
    let three = Strided::contiguous(&[], vec![3.0]);
    let x = Strided::contiguous(&[2], vec![1.0, 2.0]);
    let cases: Vec<(&str, Vec<&Strided>)> = vec![
        ("ii", vec![&a]),
        ("ii->i", vec![&a]),
        ("ij->i", vec![&a]),
        ("...j->...", vec![&a]),
        ("ji", vec![&c]),
        ("ij->ji", vec![&c]),
        ("i,i", vec![&b, &b]),
        ("ij,j", vec![&a, &b]),
        ("...j,j", vec![&a, &b]),
        ("..., ...", vec![&three, &c]),
        (",ij", vec![&three, &c]),
        ("i,j", vec![&x, &b]),
    ];
    for (spec, ops) in cases {
        let ops: Vec<Strided> = ops.into_iter().cloned().collect();
        check_all_types(spec, &ops, 5);
    }
    let (a, b) = (arange(&[3, 4, 5]), arange(&[4, 3, 2]));
    check_all_types("ijk,jil->kl", &[a, b], 12);
    let (a, b) = (arange(&[3, 2]), arange(&[4, 3]));
    for spec in ["ki,jk->ij", "ki,...k->i...", "k...,jk"] {
        check_all_types(spec, &[a.clone(), b.clone()], 3);
    }
    let ones = Strided::contiguous(&[2, 4, 8], vec![1.0; 64]);
    let spec = "ijk,ilm,njm,nlk,abc->";
    check_all_types(spec, &vec![ones; 5], 64 * 64 * 64);
    // The documented value, through the run-time string API.
    let one = Array::<f64>::ones(&[2, 4, 8]);
    let v = one.view();
    let r = einsum_dyn(spec, &[v.clone(), v.clone(), v.clone(), v.clone(), v]).unwrap();
    assert_eq!(r.to_vec(), vec![262144.0]);
}

/// A random equation over random geometry.
struct Case {
    spec: String,
    ops: Vec<Strided>,
    terms: usize,
}

const POOL: [char; 7] = ['a', 'b', 'c', 'd', 'e', 'A', 'Z'];
const SIZES: [usize; 8] = [0, 1, 1, 2, 3, 5, 7, 2];

fn random_case(rng: &mut StdRng) -> Case {
    loop {
        let n_ops = rng.random_range(1..=5usize);
        let pool = &POOL[..rng.random_range(3..=POOL.len())];
        let sizes: Vec<usize> = pool
            .iter()
            .map(|_| {
                let s = SIZES[rng.random_range(0..SIZES.len())];
                // Keep empty dimensions rare.
                if s == 0 && rng.random_bool(0.7) {
                    3
                } else {
                    s
                }
            })
            .collect();
        let size_of = |c: char| sizes[pool.iter().position(|&p| p == c).expect("pooled")];
        let use_ellipsis = rng.random_bool(0.25);
        let broadcast: Vec<usize> = if use_ellipsis {
            (0..rng.random_range(0..=2))
                .map(|_| rng.random_range(1..=3))
                .collect()
        } else {
            Vec::new()
        };
        let mut texts = Vec::new();
        let mut shapes = Vec::new();
        let mut seen: Vec<char> = Vec::new();
        for _ in 0..n_ops {
            let rank = if rng.random_bool(0.1) {
                0
            } else {
                rng.random_range(1..=3)
            };
            let letters: Vec<char> = (0..rank)
                .map(|_| pool[rng.random_range(0..pool.len())])
                .collect();
            let mut shape: Vec<usize> = letters
                .iter()
                .map(|&c| {
                    let n = size_of(c);
                    // Size-1 broadcasting of one label in one operand (not
                    // on a diagonal, whose axes must agree).
                    if letters.iter().filter(|&&d| d == c).count() == 1 && rng.random_bool(0.1) {
                        1
                    } else {
                        n
                    }
                })
                .collect();
            let mut text: String = letters.iter().collect();
            if use_ellipsis && rng.random_bool(0.7) {
                let at = rng.random_range(0..=letters.len());
                let covered = rng.random_range(0..=broadcast.len());
                let dims: Vec<usize> = broadcast[broadcast.len() - covered..]
                    .iter()
                    .map(|&n| if rng.random_bool(0.2) { 1 } else { n })
                    .collect();
                shape.splice(at..at, dims);
                text.insert_str(at, "...");
            }
            seen.extend(&letters);
            texts.push(text);
            shapes.push(shape);
        }
        seen.sort_unstable();
        seen.dedup();
        let mut spec = texts.join(",");
        let any_ellipsis = texts.iter().any(|t| t.contains("..."));
        let mut out: Vec<char>;
        if rng.random_bool(0.5) {
            out = seen
                .iter()
                .copied()
                .filter(|_| rng.random_bool(0.5))
                .collect();
            for i in (1..out.len()).rev() {
                out.swap(i, rng.random_range(0..=i));
            }
            let mut text: String = out.iter().collect();
            if any_ellipsis {
                text.insert_str(rng.random_range(0..=text.len()), "...");
            }
            spec = format!("{spec}->{text}");
        } else {
            // Implicit: the labels that occur once.
            let all: String = texts.concat();
            out = seen
                .iter()
                .copied()
                .filter(|&c| all.matches(c).count() == 1)
                .collect();
        }
        let summed: usize = seen
            .iter()
            .filter(|c| !out.contains(c))
            .map(|&c| size_of(c))
            .product();
        let volume: usize = seen.iter().map(|&c| size_of(c)).product::<usize>()
            * broadcast.iter().product::<usize>();
        if volume > 6000 {
            continue;
        }
        // '...' dims are right-aligned suffixes of one broadcast shape, with
        // some set to 1, so they always broadcast.
        let ops: Vec<Strided> = shapes.iter().map(|s| random_geometry(rng, s)).collect();
        return Case {
            spec,
            ops,
            terms: summed,
        };
    }
}

/// A random view of `shape`: C, F, padded/sliced, reversed or broadcast
/// (stride 0) axes, in a buffer of random values.
fn random_geometry(rng: &mut StdRng, shape: &[usize]) -> Strided {
    let order_f = rng.random_bool(0.3);
    let mut strides = vec![0isize; shape.len()];
    let mut step = 1isize;
    let axes: Vec<usize> = if order_f {
        (0..shape.len()).collect()
    } else {
        (0..shape.len()).rev().collect()
    };
    for &a in &axes {
        let gap = if rng.random_bool(0.2) { 2 } else { 1 };
        strides[a] = step * gap;
        step *= (shape[a].max(1) as isize) * gap;
    }
    for (a, st) in strides.iter_mut().enumerate() {
        if rng.random_bool(0.15) {
            *st = -*st;
        }
        if shape[a] > 1 && rng.random_bool(0.1) {
            *st = 0;
        }
    }
    let (mut lo, mut hi) = (0isize, 0isize);
    for (&n, &s) in shape.iter().zip(&strides) {
        let reach = (n.max(1) as isize - 1) * s;
        if reach < 0 {
            lo += reach;
        } else {
            hi += reach;
        }
    }
    let offset = (-lo) as usize + rng.random_range(0..2);
    let len = offset + hi as usize + 1 + rng.random_range(0..2);
    let data = (0..len).map(|_| rng.random_range(-1.0..1.0)).collect();
    Strided {
        data,
        shape: shape.to_vec(),
        strides,
        offset,
    }
}

#[test]
fn random_equations_match_the_reference_in_every_type() {
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut ran = 0;
    let mut attempts = 0;
    while ran < 600 {
        attempts += 1;
        let case = random_case(&mut rng);
        let refs: Vec<_> = case
            .ops
            .iter()
            .map(|o| (&o.data[..], &o.shape[..], &o.strides[..], o.offset))
            .collect();
        // The generator may draw '...' dims that do not broadcast, or an
        // implicit/explicit output that NumPy rejects; the executor must then
        // fail exactly as the reference does.
        match einsum_reference_f64(&case.spec, &refs) {
            Ok(_) => {
                check_all_types(&case.spec, &case.ops, case.terms);
                ran += 1;
            }
            Err(want) => {
                let bufs: Vec<Vec<f64>> = case.ops.iter().map(Strided::typed::<f64>).collect();
                let views: Vec<ArrayView<'_, f64>> =
                    case.ops.iter().zip(&bufs).map(|(o, b)| o.view(b)).collect();
                let got = einsum_dyn(&case.spec, &views).expect_err(&case.spec);
                assert_eq!(got.to_string(), want.to_string(), "{}", case.spec);
            }
        }
    }
    assert!(attempts < 50_000, "the generator makes mostly valid cases");
}

#[test]
fn large_contractions_take_every_kernel_shape() {
    // Sizes past the accumulate chunk and the pairwise block, primes so no
    // loop divides evenly.
    let mut rng = StdRng::seed_from_u64(7);
    let cases: &[(&str, &[&[usize]])] = &[
        ("ij->i", &[&[37, 2053]]),
        ("ij->j", &[&[37, 2053]]),
        ("ii->", &[&[401, 401]]),
        ("i,i->", &[&[5003], &[5003]]),
        ("i,j->ij", &[&[67], &[1031]]),
        ("ij,jk->ik", &[&[29, 31], &[31, 1033]]),
        ("ij,kj->ik", &[&[29, 131], &[17, 131]]),
        ("bij,bjk->bik", &[&[3, 7, 11], &[3, 11, 13]]),
        ("ij,jk,kl->il", &[&[13, 17], &[17, 19], &[19, 23]]),
        ("abcd,cdef->abef", &[&[5, 6, 7, 4], &[7, 4, 3, 5]]),
        // Labels summed in one operand only are summed out before the GEMM.
        ("ijx,yjk->ik", &[&[19, 23, 5], &[3, 23, 37]]),
        // Matrix-vector: the sum-of-products nest, not the GEMM.
        ("ij,j->i", &[&[67, 1031], &[1031]]),
        // Transposed and batch-inner operands read through their strides.
        ("ji,kj->ik", &[&[131, 29], &[17, 131]]),
        ("ibj,jbk->bik", &[&[13, 3, 17], &[17, 3, 19]]),
    ];
    for &(spec, shapes) in cases {
        let ops: Vec<Strided> = shapes
            .iter()
            .map(|s| {
                let n = s.iter().product();
                Strided::contiguous(s, (0..n).map(|_| rng.random_range(-1.0..1.0)).collect())
            })
            .collect();
        check_as::<f64>(spec, &ops, 5003);
        check_as::<f32>(spec, &ops, 5003);
    }
}

#[test]
fn f32_sum_of_ten_million_matches_numpy_pairwise_accuracy() {
    let n = 10_000_000;
    let x = Array::<f32>::from_vec(&[n], (0..n).map(|i| 0.1 + (i % 13) as f32 * 0.03).collect())
        .expect("n elements");
    let exact: f64 = x.iter().map(f64::from).sum();
    let got = f64::from(einsum!("i->", &x).to_vec()[0]);
    assert!(((got - exact) / exact).abs() < 1e-6, "{got} vs {exact}");
    let dot = f64::from(einsum!("i,i", &x, &x).to_vec()[0]);
    let exact_dot: f64 = x.iter().map(|v| f64::from(v) * f64::from(v)).sum();
    assert!(
        ((dot - exact_dot) / exact_dot).abs() < 1e-6,
        "{dot} vs {exact_dot}"
    );
}

#[test]
fn integer_arithmetic_wraps() {
    let a = Array::<i32>::from_vec(&[2], vec![i32::MAX, 1]).expect("two");
    assert_eq!(einsum!("i->", &a).to_vec(), vec![i32::MIN]);
    let b = Array::<i64>::from_vec(&[1], vec![i64::MAX]).expect("one");
    assert_eq!(einsum!("i,i->i", &b, &b).to_vec(), vec![1]);
}

#[test]
fn macros_accept_arrays_views_and_references() {
    let a = Array::<f64>::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as f64);
    let b = Array::<f64>::from_fn(&[4, 2], |i| (i[0] as f64) - (i[1] as f64));
    let av = a.view();
    let want = einsum_dyn("ij,jk->ik", &[a.view(), b.view()]).unwrap();
    assert_eq!(einsum!("ij,jk->ik", &a, &b), want);
    assert_eq!(einsum!("ij,jk", av.clone(), b.view()), want);
    assert_eq!(einsum!("ij,jk", &av, &b.view()), want);
    assert_eq!(try_einsum!("ij,jk->ik", a.view(), &b).unwrap(), want);
    // Views with strides: a transpose, a reversed slice, a broadcast.
    let t = einsum!("ji", a.t());
    assert_eq!(t, a);
    let rev = a.slice(s![..;-1, ..]).unwrap();
    assert_eq!(
        einsum!("ij->i", rev).to_vec(),
        vec![38.0, 22.0, 6.0],
        "row sums, rows reversed"
    );
    let row = Array::<f64>::from_vec(&[1, 4], vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    let wide = row.broadcast_to(&[3, 4]).unwrap();
    assert_eq!(
        einsum!("ij,ij->i", wide, &a).to_vec(),
        vec![20.0, 60.0, 100.0]
    );
    let f = a.to_order(einkern::Order::F);
    assert_eq!(einsum!("ij->ji", &f), a.t().to_owned());
    // Ellipsis, diagonal, trace, scalar operand, implicit output.
    let sq = Array::<i64>::from_fn(&[3, 3], |i| (i[0] * 3 + i[1]) as i64);
    assert_eq!(einsum!("ii->i", &sq).to_vec(), vec![0, 4, 8]);
    assert_eq!(einsum!("ii", &sq).to_vec(), vec![12]);
    let two = Array::<i64>::full(&[], 2);
    assert_eq!(
        einsum!(",...", &two, &sq).to_vec(),
        einsum!("...->...", &sq)
            .to_vec()
            .iter()
            .map(|x| 2 * x)
            .collect::<Vec<_>>()
    );
    assert_eq!(einsum!("...ij->...ji", &sq), sq.t().to_owned());
}

#[test]
fn macros_take_the_subscripts_from_a_macro_rules_fragment() {
    // `$spec:literal` and `$spec:expr` reach the macro wrapped in invisible
    // delimiters; they are still literals.
    macro_rules! by_literal {
        ($spec:literal, $($x:expr),+) => {
            einsum!($spec, $($x),+)
        };
    }
    macro_rules! by_expr {
        ($spec:expr, $($x:expr),+) => {
            try_einsum!($spec, $($x),+)
        };
    }
    let a = Array::<f64>::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as f64);
    let b = Array::<f64>::from_fn(&[4, 2], |i| (i[0] as f64) - (i[1] as f64));
    let want = einsum_dyn("ij,jk->ik", &[a.view(), b.view()]).unwrap();
    assert_eq!(by_literal!("ij,jk->ik", &a, &b), want);
    assert_eq!(by_expr!("ij,jk->ik", &a, &b).unwrap(), want);
}

#[test]
fn macros_report_shape_errors() {
    let a = Array::<f64>::zeros(&[2, 3]);
    let err = try_einsum!("ij,jk", &a, &a).unwrap_err();
    assert!(matches!(err, einkern::Error::Shape { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        einsum_dyn("ij,jk", &[a.view(), a.view()])
            .unwrap_err()
            .to_string()
    );
    let rank = try_einsum!("ijk", &a).unwrap_err();
    assert!(
        rank.to_string().contains("operand 0 has 2 dimensions"),
        "{rank}"
    );
    let result =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| einsum!("ij,jk", &a, &a)));
    let payload = result.expect_err("bad shapes panic");
    let message = payload
        .downcast_ref::<String>()
        .expect("panic with the error's message");
    assert_eq!(message, &err.to_string());
}

#[test]
fn empty_and_size_one_dimensions() {
    let e = Array::<f64>::zeros(&[0, 3]);
    let b = Array::<f64>::ones(&[3, 2]);
    assert_eq!(einsum!("ij,jk", &e, &b).shape(), &[0, 2]);
    let k0 = Array::<f64>::zeros(&[2, 0]);
    let b0 = Array::<f64>::zeros(&[0, 3]);
    assert_eq!(einsum!("ij,jk", &k0, &b0), Array::zeros(&[2, 3]));
    assert_eq!(einsum!("ij->", &k0).to_vec(), vec![0.0]);
    // A size-1 label broadcasts against the other operand's size (NumPy):
    // j is summed over 3 with `one` read at stride 0.
    let one = Array::<f64>::full(&[1, 1], 2.0);
    assert_eq!(einsum!("ij,jk", &one, &b).to_vec(), vec![6.0, 6.0]);
}

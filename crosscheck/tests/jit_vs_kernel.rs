//! The JIT against `#[kernel]`: every generated expression (see `build.rs`)
//! run through both compilers on the same inputs, in several layouts and
//! broadcast patterns, must give the same shape and the same values.

use einkern::{jit, random, s, Array, ArrayView};
use einkern_crosscheck::CASES;

/// Inputs of one layout: `x` is `m × n`, `y` broadcasts along rows, `z`
/// along columns or not at all; views may be transposed, reversed or
/// strided.
struct Inputs {
    x: Array<f64>,
    y: Array<f64>,
    z: Array<f64>,
}

fn uniform(shape: &[usize], seed: u64) -> Array<f64> {
    random::uniform(shape, -2.0, 2.0, seed).expect("valid bounds")
}

fn check(name: &str, layout: &str, got: &Array<f64>, want: &Array<f64>) {
    assert_eq!(got.shape(), want.shape(), "{name} ({layout}): shapes");
    for (i, (&g, &w)) in got.to_vec().iter().zip(&want.to_vec()).enumerate() {
        let same = g == w
            || (g.is_nan() && w.is_nan())
            || (g - w).abs() <= 1e-9 * g.abs().max(w.abs()).max(1.0);
        assert!(
            same,
            "{name} ({layout}): element {i}: JIT {g}, #[kernel] {w}"
        );
    }
}

#[test]
fn jit_and_kernel_agree_on_generated_expressions() {
    let mut layouts = 0;
    for (k, &(m, n)) in [(1, 1), (3, 7), (17, 5), (4, 67)].iter().enumerate() {
        let seed = 10 * k as u64;
        let inputs = Inputs {
            x: uniform(&[m, n], seed),
            y: uniform(&[n], seed + 1),
            z: uniform(&[m, 1], seed + 2),
        };
        // x in F order (a transposed view), y as a row, z full and reversed.
        let xt = uniform(&[n, m], seed + 3);
        let zr = uniform(&[m, n], seed + 4);
        let y_row = uniform(&[1, n], seed + 5);
        // x a strided slice of a larger array.
        let big = uniform(&[2 * m, 2 * n + 1], seed + 6);
        let views: [(&str, [ArrayView<f64>; 3]); 3] = [
            (
                "contiguous, broadcast y and z",
                [inputs.x.view(), inputs.y.view(), inputs.z.view()],
            ),
            (
                "F-order x, reversed z",
                [
                    xt.t(),
                    y_row.view(),
                    zr.slice(s![..;-1, ..]).expect("in bounds"),
                ],
            ),
            (
                "strided x",
                [
                    big.slice(s![..;2, 1..;2]).expect("in bounds"),
                    inputs.y.view(),
                    inputs.z.view(),
                ],
            ),
        ];
        for (layout, [x, y, z]) in &views {
            let layout = format!("{layout}, {m}×{n}");
            for case in CASES {
                let want = (case.kernel)(x.clone(), y.clone(), z.clone());
                let kernel = jit::compile::<f64>(case.jit, &["x", "y", "z"]).unwrap_or_else(|e| {
                    panic!("{}: {} does not compile: {e}", case.name, case.jit)
                });
                let got = kernel
                    .eval(&[x.clone(), y.clone(), z.clone()])
                    .unwrap_or_else(|e| panic!("{} ({layout}): {e}", case.name));
                check(case.name, &layout, &got, &want);
            }
            layouts += 1;
        }
    }
    assert_eq!(layouts, 12);
}

//! Compile and evaluate arbitrary expressions on fuzzer-built views: the
//! first bytes choose the shapes of `x` and `y` (small, prime, a few
//! thousand, or axes of 2⁶¹ and more that only an empty view can have),
//! their strides (zero, negative) and offsets in a small buffer, and whether
//! they are broadcast from a tiny array; the rest is the expression. Both
//! `eval` and `eval_into` run for f64 and i32 kernels whenever the shapes
//! are cheap enough to compute (see `common::cheap`). Any outcome but a
//! panic, a crash, an out-of-bounds access or a hang is fine.
#![no_main]

mod common;

use common::{base, cheap, shape, view, Bytes};
use einkern_codegen::jit::Kernel;
use einkern_runtime::{broadcast_shapes, Array, Element, Order};
use libfuzzer_sys::fuzz_target;

/// Bytes before the expression: flags, two shapes (1 + 4 each), two views'
/// strides and offsets (4 + 1 each).
const HEADER: usize = 21;

fn run<T: Element>(data: &[u8], src: &str) {
    let mut bytes = Bytes(data);
    let flags = bytes.byte();
    let (xs, ys) = (shape(&mut bytes), shape(&mut bytes));
    let buffer = base::<T>();
    let x = view(&buffer, &xs, &mut bytes);
    let y = view(&buffer, &ys, &mut bytes);
    let Ok(k) = Kernel::<T>::compile(src, &["x", "y"]) else {
        return;
    };
    // Only inputs cheap to compute over (huge axes only in empty views).
    if !cheap(x.shape()) || !cheap(y.shape()) {
        return;
    }
    let result = k.eval(&[x.view(), y.view()]);
    if flags & 1 == 1 {
        let _ = k.eval(&[y.view(), x.view()]);
    }
    // `eval_into` an output of the broadcast shape, C or F order.
    if let (Ok(want), Ok(shape)) = (&result, broadcast_shapes(x.shape(), y.shape())) {
        if want.shape() == shape.as_slice() && cheap(&shape) {
            let mut out = Array::<T>::zeros_with_order(
                &shape,
                if flags & 2 == 2 { Order::F } else { Order::C },
            );
            let into = k.eval_into(out.view_mut(), &[x.view(), y.view()]);
            // Integer kernels are exact whatever the output's layout (float
            // ones may round a vector tail differently from its body).
            if into.is_ok() && !T::DTYPE.is_float() {
                assert!(
                    out.iter().eq(want.iter()),
                    "eval_into and eval disagree on {src:?}"
                );
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    // HEADER bytes of shapes and strides, then the expression.
    if data.len() < HEADER {
        return;
    }
    let Ok(src) = std::str::from_utf8(&data[HEADER..]) else {
        return;
    };
    run::<f64>(&data[..HEADER], src);
    run::<i32>(&data[..HEADER], src);
});

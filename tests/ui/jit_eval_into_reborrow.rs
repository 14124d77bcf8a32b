// Views derived from the output view, or slices of one buffer, cannot be
// passed as inputs of the same `eval_into` either.
use einkern::jit::Kernel;
use einkern::{ArrayView, ArrayViewMut};

fn main() {
    let k = Kernel::<f64>::compile("x + 1", &["x"]).unwrap();
    let mut data = vec![0.0f64; 4];

    let mut out = ArrayViewMut::from_slice_mut(&mut data, &[4]).unwrap();
    let input = out.view();
    let _ = k.eval_into(out.reborrow(), &[input]);

    let out = ArrayViewMut::from_slice_mut(&mut data, &[4]).unwrap();
    let input = ArrayView::from_slice(&data, &[4]).unwrap();
    let _ = k.eval_into(out, &[input]);
}

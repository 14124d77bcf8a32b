// `Kernel::eval_into` cannot write into an array it reads: the output is
// an exclusive view, so the input view of the same array is refused by
// the borrow checker, in either order.
use einkern::jit::Kernel;
use einkern::Array;

fn main() {
    let k = Kernel::<f64>::compile("x * 2", &["x"]).unwrap();
    let mut a = Array::<f64>::zeros(&[3]);
    let _ = k.eval_into(a.view_mut(), &[a.view()]);
    let input = a.view();
    let _ = k.eval_into(a.view_mut(), &[input]);
}

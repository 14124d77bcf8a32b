// An einsum bound to its operands cannot run into one of them: the
// prepared einsum holds shared borrows of its operands while `run_into`
// needs the output exclusively.
use einkern::Array;
use einkern_codegen::einsum::{Equation, Prepared, Spec};

fn main() {
    let mut a = Array::<f64>::zeros(&[2, 2]);
    let spec = Spec::parse("ij->ji").unwrap();
    let equation = Equation::from_spec(&spec, &[2]).unwrap();
    let prepared = Prepared::new(equation, &[a.view()]).unwrap();
    prepared.run_into(&mut a.view_mut(), None).unwrap();
}

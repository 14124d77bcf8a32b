//! Compile and evaluate arbitrary expressions on small arrays: the first
//! bytes choose the shapes of `x` and `y` (broadcastable or not), the rest
//! is the expression. Any outcome but a panic, a crash or an out-of-bounds
//! access is fine.
#![no_main]

use einkern_codegen::jit::Kernel;
use einkern_runtime::Array;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let dims = |b: u8| -> Vec<usize> {
        (0..(b % 4) as usize).map(|k| ((b >> (2 + k)) % 4) as usize).collect()
    };
    let (xs, ys) = (dims(data[0]), dims(data[1]));
    let Ok(src) = std::str::from_utf8(&data[4..]) else {
        return;
    };
    let x = Array::from_fn(&xs, |i| i.iter().sum::<usize>() as f64 * 0.7 - 1.0);
    let y = Array::from_fn(&ys, |i| i.iter().product::<usize>() as f64 + 0.25);
    if let Ok(k) = Kernel::<f64>::compile(src, &["x", "y"]) {
        let _ = k.eval(&[x.view(), y.view()]);
        if data[2] & 1 == 1 {
            let _ = k.eval(&[y.view(), x.view()]);
        }
    }
    let xi = Array::from_fn(&xs, |i| i.iter().sum::<usize>() as i32 - 2);
    if let Ok(k) = Kernel::<i32>::compile(src, &["x", "y"]) {
        let _ = k.eval(&[xi.view(), xi.view()]);
    }
});

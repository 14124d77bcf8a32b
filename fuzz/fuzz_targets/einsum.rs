//! `jit::einsum` on arbitrary spec strings and fuzzer-built operands: up to
//! four views whose shapes (small, prime, a few thousand, or axes of 2⁶¹ and
//! more that only an empty view can have), strides (zero, negative) and
//! broadcasting come from the first bytes; the rest is the spec. Evaluated
//! for f64 and i64 when the operands are cheap together (every label's size
//! is an axis of some operand, so the product of all moderate axes bounds
//! every result and temporary). Any outcome but a panic, a crash or a hang
//! is fine.
#![no_main]

mod common;

use common::{base, cheap, shape, view, Bytes};
use einkern_codegen::jit;
use einkern_runtime::{ArrayView, Element};
use libfuzzer_sys::fuzz_target;

/// Bytes before the spec: the operand count, then per operand a shape
/// (1 + 4) and its strides and offset (4 + 1).
const HEADER: usize = 1 + 4 * 10;

fn run<T: Element>(header: &[u8], spec: &str) {
    let mut bytes = Bytes(header);
    let count = 1 + (bytes.byte() % 4) as usize;
    let shapes: Vec<Vec<usize>> = (0..count).map(|_| shape(&mut bytes)).collect();
    let buffer = base::<T>();
    let views: Vec<ArrayView<T>> = shapes
        .iter()
        .map(|s| view(&buffer, s, &mut bytes))
        .collect();
    let all: Vec<usize> = views.iter().flat_map(|v| v.shape().to_vec()).collect();
    if views.iter().all(|v| cheap(v.shape())) && cheap_together(&all) {
        let _ = jit::einsum(spec, &views);
    }
}

/// Whether the moderate axes of all operands multiply to at most 2¹⁶.
fn cheap_together(axes: &[usize]) -> bool {
    axes.iter()
        .filter(|&&d| d <= 1 << 16)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .is_some_and(|p| p <= 1 << 16)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < HEADER {
        return;
    }
    let Ok(spec) = std::str::from_utf8(&data[HEADER..]) else {
        return;
    };
    run::<f64>(&data[..HEADER], spec);
    run::<i64>(&data[..HEADER], spec);
});

//! The `.npy` reader on arbitrary bytes, headers and data: every input is
//! `Ok` or `Err` within bounded memory (the data buffer grows with what is
//! read, never with what the header claims), never a panic. Whatever reads
//! back is displayed and written again, and must read back the same.
#![no_main]

use einkern_runtime::npy::{read, read_data, read_header, write};
use einkern_runtime::{Array, Element, Order};
use libfuzzer_sys::fuzz_target;

fn round_trip<T: Element>(data: &[u8]) {
    let Ok((shape, fortran, values)) = read::<T>(data) else {
        return;
    };
    let order = if fortran { Order::F } else { Order::C };
    let array = Array::from_vec_with_order(&shape, values.clone(), order)
        .expect("read returns as many elements as its shape holds");
    // Display walks every axis (deep shapes of length-1 axes included).
    let _ = format!("{array}");
    let mut out = Vec::new();
    write(&mut out, &shape, fortran, &values).expect("writing to memory succeeds");
    let (shape2, fortran2, values2) =
        read::<T>(out.as_slice()).expect("einkern reads what it writes");
    assert_eq!(shape, shape2);
    let same_bytes = values
        .iter()
        .zip(&values2)
        .all(|(a, b)| a.to_f64().to_bits() == b.to_f64().to_bits() || a == b);
    assert!(same_bytes && values.len() == values2.len());
    // C and F order are the same bytes when at most one axis exceeds 1.
    if fortran2 != fortran {
        assert!(shape.iter().filter(|&&d| d > 1).count() <= 1 || values.is_empty());
    }
}

fuzz_target!(|data: &[u8]| {
    round_trip::<f32>(data);
    round_trip::<f64>(data);
    round_trip::<i32>(data);
    round_trip::<i64>(data);
    // The two-step reader the command line uses: header, then the data of
    // whatever type the header names.
    let mut r = data;
    if let Ok(header) = read_header(&mut r) {
        let _ = match header.dtype {
            einkern_runtime::DType::F32 => read_data::<f32>(r, &header).map(drop),
            einkern_runtime::DType::F64 => read_data::<f64>(r, &header).map(drop),
            einkern_runtime::DType::I32 => read_data::<i32>(r, &header).map(drop),
            einkern_runtime::DType::I64 => read_data::<i64>(r, &header).map(drop),
        };
    }
});

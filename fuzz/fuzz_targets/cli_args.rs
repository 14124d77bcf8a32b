//! The command line's argument parser on arbitrary words (the input split
//! at NUL bytes): `Ok` or a usage error, never a panic; what it accepts is
//! consistent with the words it was given.
#![no_main]

use einkern::__cli_args::{parse, Failure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let words: Vec<String> = text.split('\0').map(str::to_string).collect();
    for dtype_allowed in [false, true] {
        match parse(&words, dtype_allowed) {
            Ok(p) => {
                // Every positional and the output file are words of the input.
                assert!(p.positional.iter().all(|w| words.contains(w)));
                assert!(words.contains(&p.out));
                assert!(dtype_allowed || p.dtype.is_none());
            }
            Err(Failure::Usage(msg)) => assert!(!msg.is_empty()),
            Err(Failure::Run(e)) => panic!("the parser does no work, yet failed with {e}"),
        }
    }
});

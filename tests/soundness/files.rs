//! Hostile `.npy` files, in the library and through the CLI: headers that
//! claim more than the file holds, more than memory, more than `isize`,
//! absurd dimension counts and malformed numbers. Each is an error before
//! any allocation it implies (the CLI runs under a 2 GiB address-space
//! limit, so an attempted huge allocation cannot succeed quietly), or the
//! right result.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use einkern::{npy, Array};

/// A version-1.0 `.npy` file: `descr`, `shape` (Python tuple text) and
/// `data` bytes, the header padded to 64 bytes as NumPy writes it.
fn npy_file(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    let len = u16::try_from(header.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A version-2.0 file (4-byte header length), for headers past 64 KiB.
fn npy_file_v2(descr: &str, shape: &str) -> Vec<u8> {
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}\n");
    header.insert_str(
        header.len() - 1,
        &" ".repeat((64 - (12 + header.len()) % 64) % 64),
    );
    let mut out = b"\x93NUMPY\x02\x00".to_vec();
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out
}

fn tuple(dims: &[&str]) -> String {
    match dims {
        [d] => format!("({d},)"),
        _ => format!("({})", dims.join(", ")),
    }
}

/// Headers whose claims must be refused, each with the data it ships.
fn hostile() -> Vec<(String, Vec<u8>)> {
    let big = (1u64 << 40).to_string();
    let mut cases = vec![
        (
            "10^12 elements, 16 bytes of data",
            npy_file("<f8", "(1000000000000,)", &[0; 16]),
        ),
        (
            "2^62 x 4 elements",
            npy_file("<f8", "(4611686018427387904, 4)", &[]),
        ),
        (
            "usize::MAX elements",
            npy_file("<f8", "(18446744073709551615,)", &[]),
        ),
        (
            "beyond u64",
            npy_file("<f8", "(99999999999999999999999,)", &[]),
        ),
        ("a negative length", npy_file("<f8", "(-1, 3)", &[0; 24])),
        (
            "2^40 x 2^40, f4",
            npy_file("<f4", &tuple(&[&big, &big]), &[]),
        ),
        ("one element short", npy_file("<f8", "(3,)", &[0; 16])),
    ];
    let ones = vec!["1"; 100_000];
    cases.push((
        "(1,) * 10^5 in a v2 header",
        npy_file_v2("<f8", &tuple(&ones)),
    ));
    cases
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), bytes))
        .collect()
}

#[test]
fn hostile_headers_are_errors_before_allocation() {
    for (name, bytes) in hostile() {
        let r = npy::read::<f64>(Cursor::new(&bytes));
        let r32 = npy::read::<f32>(Cursor::new(&bytes));
        assert!(r.is_err() && r32.is_err(), "{name}: accepted");
        let e = r.unwrap_err().to_string();
        assert!(!e.is_empty() && !e.contains("panicked"), "{name}: {e}");
    }
}

/// Legal files at the edges: an empty array with a huge sibling axis, and
/// a thousand length-1 axes (read, printed and copied without recursion
/// trouble).
#[test]
fn edge_files_read_and_print() {
    let big = (1u64 << 40).to_string();
    let bytes = npy_file("<f8", &tuple(&["0", &big]), &[]);
    let (shape, _, data) = npy::read::<f64>(Cursor::new(&bytes)).unwrap();
    assert_eq!((shape, data.len()), (vec![0, 1 << 40], 0));
    let ones = vec!["1"; 1000];
    let bytes = npy_file("<f8", &tuple(&ones), &2.5f64.to_le_bytes());
    let (shape, _, data) = npy::read::<f64>(Cursor::new(&bytes)).unwrap();
    assert_eq!((shape.len(), &data[..]), (1000, &[2.5][..]));
    let a = Array::from_vec(&shape, data).unwrap();
    let shown = a.to_string();
    assert!(shown.contains("2.5"), "{shown:.80}");
    assert_eq!(a.t().to_owned().to_vec(), vec![2.5]);
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("einkern-soundness-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs the CLI under a 2 GiB address-space limit: an allocation the input
/// merely claims fails there instead of succeeding lazily.
fn cli(args: &[&str]) -> std::process::Output {
    let exe = env!("CARGO_BIN_EXE_einkern");
    let mut script = format!("ulimit -v 2097152; exec '{exe}'");
    for a in args {
        script.push_str(&format!(" '{a}'"));
    }
    Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh runs")
}

#[track_caller]
fn assert_clean_failure(out: &std::process::Output, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: status {:?}, stderr {err}",
        out.status
    );
    assert!(
        !err.contains("panicked") && !err.is_empty(),
        "{what}: {err}"
    );
}

#[test]
fn the_cli_refuses_hostile_files_in_bounded_memory() {
    let out_path = scratch("out.npy");
    let out = out_path.to_str().unwrap();
    for (k, (name, bytes)) in hostile().into_iter().enumerate() {
        let path = scratch(&format!("hostile{k}.npy"));
        std::fs::write(&path, bytes).unwrap();
        let p = path.to_str().unwrap();
        assert_clean_failure(
            &cli(&["eval", "x + 1", &format!("x={p}"), "-o", out]),
            &name,
        );
        assert_clean_failure(&cli(&["einsum", "i->", p, "-o", out]), &name);
    }
    // (0, 2^40): reading is fine and so is an elementwise result (empty);
    // summing the empty axis asks for 2^40 zeros (8 TiB): an error.
    let path = scratch("empty_wide.npy");
    std::fs::write(
        &path,
        npy_file("<f8", &tuple(&["0", &(1u64 << 40).to_string()]), &[]),
    )
    .unwrap();
    let p = path.to_str().unwrap();
    let ok = cli(&["eval", "x + 1", &format!("x={p}"), "-o", out]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(
        Array::<f64>::read_npy(Path::new(out)).unwrap().shape(),
        &[0, 1 << 40]
    );
    assert_clean_failure(
        &cli(&["einsum", "ij->j", p, "-o", out]),
        "ij->j over (0, 2^40)",
    );
    assert_clean_failure(
        &cli(&["eval", "sum(x, axis=0)", &format!("x={p}"), "-o", out]),
        "sum over (0, 2^40)",
    );
}

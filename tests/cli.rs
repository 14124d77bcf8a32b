//! The `einkern` binary: exit codes, usage, and the demo tour end to end.

use std::process::Command;

fn einkern(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_einkern"))
        .args(args)
        .output()
        .expect("the einkern binary runs")
}

#[test]
fn help_succeeds_and_lists_the_commands() {
    let out = einkern(&["--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("demo"));
}

#[test]
fn unknown_commands_and_no_command_are_usage_errors() {
    let out = einkern(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown command 'frobnicate'") && err.contains("usage"),
        "{err}"
    );
    assert_eq!(einkern(&[]).status.code(), Some(2));
}

/// `einkern demo | head`: once the reader is gone, the tour stops quietly
/// with success instead of panicking on the failed write.
#[test]
fn demo_into_a_closed_pipe_exits_quietly() {
    use std::io::Read;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_einkern"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the einkern binary runs");
    let mut first = [0u8; 16];
    let mut stdout = child.stdout.take().expect("piped");
    stdout.read_exact(&mut first).expect("the demo prints");
    drop(stdout);
    let out = child.wait_with_output().expect("the demo ends");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.is_empty(),
        "{:?}: {err}",
        out.status
    );
}

/// An error reported into an already closed stderr keeps its exit code:
/// the failed write is not a panic (exit 101).
#[test]
fn errors_into_a_closed_stderr_keep_their_exit_code() {
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_einkern"))
        .arg("frobnicate")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the einkern binary runs");
    drop(child.stderr.take());
    assert_eq!(child.wait().expect("it ends").code(), Some(2));
}

#[test]
fn demo_runs_every_section() {
    let out = einkern(&["demo"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "print like NumPy",
        "Views share memory",
        "cache-blocked",
        "Fresh outputs",
        ".npy files",
    ] {
        assert!(
            text.contains(section),
            "missing section {section:?} in:\n{text}"
        );
    }
    assert!(text.contains("read it back: equal true"), "{text}");
    assert!(
        text.contains("file holds float64, expected int32"),
        "{text}"
    );
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("einkern-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &std::path::Path, file: &str) -> String {
    dir.join(file).to_str().unwrap().to_string()
}

#[test]
fn einsum_multiplies_npy_files() {
    use einkern::Array;
    let dir = scratch("einsum");
    let a = Array::from_vec(&[2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
    let b = Array::from_fn(&[3, 2], |i| (i[0] + i[1]) as f64);
    a.write_npy(path(&dir, "a.npy")).unwrap();
    b.write_npy(path(&dir, "b.npy")).unwrap();
    let out = einkern(&[
        "einsum",
        "ij,jk->ik",
        &path(&dir, "a.npy"),
        &path(&dir, "b.npy"),
        "-o",
        &path(&dir, "c.npy"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = Array::<f64>::read_npy(path(&dir, "c.npy")).unwrap();
    let want = einkern::einsum!("ij,jk->ik", &a, &b);
    assert_eq!(c.to_vec(), want.to_vec());

    // A shape mismatch is a run-time error (exit 1) naming the sizes.
    let out = einkern(&[
        "einsum",
        "ij,jk->ik",
        &path(&dir, "a.npy"),
        &path(&dir, "a.npy"),
        "-o",
        &path(&dir, "d.npy"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains('3') && err.contains('2'), "{err}");
}

#[test]
fn eval_broadcasts_and_converts_with_dtype() {
    use einkern::Array;
    let dir = scratch("eval");
    let x = Array::from_fn(&[4, 1], |i| i[0] as f64);
    let y = Array::from_fn(&[3], |i| 10.0 * i[0] as f64);
    x.write_npy(path(&dir, "x.npy")).unwrap();
    y.write_npy(path(&dir, "y.npy")).unwrap();
    let x_arg = format!("x={}", path(&dir, "x.npy"));
    let y_arg = format!("y={}", path(&dir, "y.npy"));
    let out = einkern(&[
        "eval",
        "x + y * 2",
        &x_arg,
        &y_arg,
        "-o",
        &path(&dir, "o.npy"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let o = Array::<f64>::read_npy(path(&dir, "o.npy")).unwrap();
    assert_eq!(o.shape(), &[4, 3]);
    assert_eq!(o.get(&[3, 2]), Some(43.0));

    let out = einkern(&[
        "eval",
        "sqrt(x)",
        &x_arg,
        "-o",
        &path(&dir, "f.npy"),
        "--dtype",
        "f32",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = Array::<f32>::read_npy(path(&dir, "f.npy")).unwrap();
    assert_eq!(f.to_vec(), [0.0, 1.0, 2f32.sqrt(), 3f32.sqrt()]);
}

#[test]
fn cli_errors_are_clear_and_nonzero() {
    let dir = scratch("errors");
    einkern::Array::<f64>::zeros(&[2])
        .write_npy(path(&dir, "z.npy"))
        .unwrap();
    let z = format!("x={}", path(&dir, "z.npy"));
    let o = path(&dir, "o.npy");
    let missing = format!("x={}", path(&dir, "missing.npy"));
    let cases: &[(&[&str], i32, &str)] = &[
        (&["eval", "x +", &z, "-o", &o], 1, "column"),
        (&["eval", "exp(w)", &z, "-o", &o], 1, "unknown name 'w'"),
        (&["eval", "x", &missing, "-o", &o], 1, "missing.npy"),
        (
            &["eval", "x", &z, "-o", &o, "--dtype", "f16"],
            2,
            "unknown dtype 'f16'",
        ),
        (&["eval", "x", &z], 2, "-o"),
        (&["eval", "x", "x.npy", "-o", &o], 2, "NAME=FILE"),
        (&["eval", "x", &z, "-o", &o, "--frob"], 2, "unknown option"),
        (&["einsum", "ij->", "-o", &o], 2, "operand"),
        (&["einsum", "ij->k", &path(&dir, "z.npy"), "-o", &o], 1, "k"),
    ];
    for (args, code, want) in cases {
        let out = einkern(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

/// A `.npy` file written byte by byte: version 1.0, the header dict padded
/// to 64 bytes, then `data` (which may be shorter than the header claims).
fn raw_npy(file: &str, descr: &str, shape: &str, data: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    std::fs::write(file, bytes).unwrap();
}

/// Runs the CLI and checks it failed cleanly: exit code 1 (not a panic's
/// 101, not a signal), a message containing `want`, within `secs`.
fn fails_cleanly(args: &[&str], want: &str, secs: u64) {
    let start = std::time::Instant::now();
    let out = einkern(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert!(
        err.starts_with("einkern: ") && err.contains(want),
        "{args:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    assert!(
        start.elapsed().as_secs() < secs,
        "{args:?}: {:?}",
        start.elapsed()
    );
}

/// The hostile file: 82 bytes for shape (0, 2^k). It holds nothing
/// and reads fine; an einsum that sums the empty axis asks for 2^k zeros,
/// which used to abort the CLI on the allocation (shape (0, 2^40): 8 TiB).
/// Here 2^45 (256 TiB, beyond any address space, so the test does not
/// depend on the machine's overcommit policy): a clear error, exit 1.
/// Keeping the empty axis gives an empty result.
#[test]
fn empty_axes_with_huge_siblings_are_errors_or_empty_results() {
    use einkern::Array;
    let dir = scratch("hostile-empty");
    let e = path(&dir, "e.npy");
    raw_npy(&e, "<f8", &format!("(0, {})", 1u64 << 45), &[]);
    let o = path(&dir, "o.npy");
    fails_cleanly(&["einsum", "ij->j", &e, "-o", &o], "memory error", 10);
    fails_cleanly(
        &["einsum", "ij,ij->j", &e, &e, "-o", &o],
        "memory error",
        10,
    );

    let out = einkern(&["einsum", "ij->i", &e, "-o", &o]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Array::<f64>::read_npy(&o).unwrap().shape(), &[0]);
    let out = einkern(&["einsum", "ij->", &e, "-o", &o]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Array::<f64>::read_npy(&o).unwrap().to_vec(), vec![0.0]);
}

/// Headers that claim more than the file holds, or more than any machine
/// could: refused before anything of that size is allocated, exit 1.
#[test]
fn hostile_headers_are_clear_errors() {
    let dir = scratch("hostile-headers");
    let o = path(&dir, "o.npy");
    let claims = [
        (
            "claims 10^12 elements",
            "(1000000, 1000000)".to_string(),
            "<f8",
        ),
        ("size overflows", format!("({}, {})", u64::MAX, 4), "<f8"),
        ("item overflows", format!("({},)", 1u64 << 62), "<i4"),
    ];
    for (what, shape, descr) in claims {
        let f = path(&dir, "h.npy");
        raw_npy(&f, descr, &shape, &[0; 64]);
        let start = std::time::Instant::now();
        for args in [
            vec!["einsum", "ij->ji", f.as_str(), "-o", o.as_str()],
            vec!["einsum", "i->", f.as_str(), "-o", o.as_str()],
        ] {
            let out = einkern(&args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what}: {args:?}: {err}");
            assert!(
                err.contains("h.npy") || err.contains("shape"),
                "{what}: {err}"
            );
        }
        assert!(start.elapsed().as_secs() < 10, "{what}");
    }
}

/// Operands of different element types, shapes that do not fit the
/// subscripts, and an operand count far beyond the limit: clear errors.
#[test]
fn mismatched_operands_are_clear_errors() {
    use einkern::Array;
    let dir = scratch("hostile-mismatch");
    let a = path(&dir, "a.npy");
    let b = path(&dir, "b.npy");
    Array::<f64>::zeros(&[2, 3]).write_npy(&a).unwrap();
    Array::<i32>::zeros(&[3, 2]).write_npy(&b).unwrap();
    let o = path(&dir, "o.npy");
    fails_cleanly(
        &["einsum", "ij,jk->ik", &a, &b, "-o", &o],
        "holds int32",
        10,
    );
    fails_cleanly(&["einsum", "ij,jk->ik", &a, &a, "-o", &o], "operand 1", 10);
    fails_cleanly(&["einsum", "i->i", &a, "-o", &o], "operand 0", 10);
    // 70 000 scalar operands (`,,,…`: empty subscripts, so the spec fits
    // one argument): refused by the operand limit before any file is read.
    let scalar = path(&dir, "s.npy");
    Array::<f64>::zeros(&[]).write_npy(&scalar).unwrap();
    let n = 70_000;
    let spec = ",".repeat(n - 1);
    let mut args = vec!["einsum", spec.as_str()];
    args.extend(std::iter::repeat_n("s.npy", n));
    args.extend(["-o", "o.npy"]);
    let start = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_einkern"))
        .args(&args)
        .current_dir(&dir)
        .output()
        .expect("the einkern binary runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("at most 65536 operands"), "{err}");
    assert!(start.elapsed().as_secs() < 30, "{:?}", start.elapsed());
}

/// `eval` over the (0, 2^45) file: an elementwise result keeps the empty
/// axis and is empty.
#[test]
fn eval_keeps_empty_axes_with_huge_siblings() {
    use einkern::Array;
    let dir = scratch("hostile-eval");
    let e = path(&dir, "e.npy");
    raw_npy(&e, "<f8", &format!("(0, {})", 1u64 << 45), &[]);
    let o = path(&dir, "o.npy");
    let x = format!("x={e}");
    let out = einkern(&["eval", "x * 2 + 1", &x, "-o", &o]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(Array::<f64>::read_npy(&o).unwrap().shape(), &[0, 1 << 45]);
}

/// A reduction over the empty axis asks for 2^45 zeros: it must be a clear
/// error, not an abort on the allocation.
#[test]
fn eval_reducing_an_empty_axis_with_a_huge_sibling_fails_cleanly() {
    let dir = scratch("hostile-eval-reduce");
    let e = path(&dir, "e.npy");
    raw_npy(&e, "<f8", &format!("(0, {})", 1u64 << 45), &[]);
    let o = path(&dir, "o.npy");
    let x = format!("x={e}");
    fails_cleanly(
        &["eval", "sum(x, axis=0)", &x, "-o", &o],
        "memory error",
        10,
    );
}

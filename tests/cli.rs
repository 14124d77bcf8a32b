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

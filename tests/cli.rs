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

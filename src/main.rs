//! The `einkern` command line.
//!
//! `einkern demo` tours what einkern can do on generated data, with timings;
//! `einkern einsum` and `einkern eval` run einsums and expressions on `.npy`
//! files through the run-time compiler.

use std::io::Write;
use std::process::ExitCode;

mod cli;
mod demo;

const USAGE: &str = "\
usage: einkern <command>

commands:
  einsum SPEC A.npy [B.npy ...] -o OUT.npy
          evaluate an einsum (NumPy's grammar) on .npy files
  eval EXPR NAME=FILE.npy ... -o OUT.npy [--dtype f32|f64|i32|i64]
          evaluate an expression (numexpr spelling), inputs broadcast
  demo    a tour of einkern on generated data, with timings";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run().map_err(cli::Failure::Run),
        Some("einsum") => cli::einsum(&args[1..]),
        Some("eval") => cli::eval(&args[1..]),
        Some("-h" | "--help" | "help") => {
            say(&mut std::io::stdout(), format_args!("{USAGE}"));
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            say(
                &mut std::io::stderr(),
                format_args!("einkern: unknown command '{other}'\n\n{USAGE}"),
            );
            return ExitCode::from(2);
        }
        None => {
            say(&mut std::io::stderr(), format_args!("{USAGE}"));
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(cli::Failure::Usage(msg)) => {
            say(
                &mut std::io::stderr(),
                format_args!("einkern: {msg}\n\n{USAGE}"),
            );
            ExitCode::from(2)
        }
        Err(cli::Failure::Run(e)) => {
            say(&mut std::io::stderr(), format_args!("einkern: {e}"));
            ExitCode::FAILURE
        }
    }
}

/// Writes a message line. If the stream is closed (`einkern … 2>&1 | head`)
/// the message has nowhere to go and is dropped: the exit code still tells
/// the outcome, and a failed write must not turn into a panic.
fn say(stream: &mut impl Write, message: std::fmt::Arguments<'_>) {
    let _ = writeln!(stream, "{message}");
}

//! The `einkern` command line.
//!
//! `einkern demo` tours what einkern can do on generated data, with timings.

use std::process::ExitCode;

mod demo;

const USAGE: &str = "\
usage: einkern <command>

commands:
  demo    a tour of einkern on generated data, with timings";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => {
            eprintln!("einkern: unknown command '{other}'\n\n{USAGE}");
            return ExitCode::from(2);
        }
        None => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("einkern: {e}");
            ExitCode::FAILURE
        }
    }
}

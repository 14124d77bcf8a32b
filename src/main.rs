//! The `einkern` command line.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => println!("einkern demo"),
        _ => {
            eprintln!("usage: einkern demo");
            std::process::exit(2);
        }
    }
}

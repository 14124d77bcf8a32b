//! Generates `cases.rs`: random expressions over the whole language, each
//! written twice — as a `#[kernel]` body (Rust spelling) and as a JIT string
//! (numexpr spelling) — from one seeded generator, so the set is the same
//! on every build and each pair means the same thing.

use std::fmt::Write as _;

/// Expressions generated.
const CASES: usize = 48;
/// Rank of the test inputs, which reduction axes are drawn for.
const NDIM: i64 = 2;

/// A tiny xorshift generator: the build script has no dependencies.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    /// A literal in [-3, 3) with three decimals.
    fn literal(&mut self) -> String {
        format!("{:.3}", self.below(6000) as f64 / 1000.0 - 3.0)
    }
}

/// An expression in both spellings: `(rust, numexpr)`.
type Pair = (String, String);

fn both(s: String) -> Pair {
    (s.clone(), s)
}

struct Gen {
    rng: Rng,
    reductions: bool,
}

impl Gen {
    fn num(&mut self, depth: u32) -> Pair {
        if depth == 0 || self.rng.below(10) < 2 {
            return match self.rng.below(6) {
                0 | 5 => both("x".into()),
                1 => both("y".into()),
                2 => both("z".into()),
                3 => both(self.rng.literal()),
                _ => both(format!("{}.0", self.rng.below(9) as i64 - 4)),
            };
        }
        let d = depth - 1;
        match self.rng.below(15) {
            0 => {
                let (r, n) = self.num(d);
                (format!("-({r})"), format!("-({n})"))
            }
            1 | 2 => {
                let op = self.rng.pick(&["+", "-", "*", "/"]);
                let ((ra, na), (rb, nb)) = (self.num(d), self.num(d));
                (format!("({ra} {op} {rb})"), format!("({na} {op} {nb})"))
            }
            3 => {
                let f = self.rng.pick(&[
                    "exp", "sin", "cos", "tan", "tanh", "arctan", "sinh", "cosh", "abs", "floor",
                    "ceil", "expm1",
                ]);
                let scale = if matches!(f, "exp" | "sinh" | "cosh" | "expm1") {
                    "0.25 * "
                } else {
                    ""
                };
                let (r, n) = self.num(d);
                (format!("{f}({scale}{r})"), format!("{f}({scale}{n})"))
            }
            4 => {
                // The method spelling of the Rust front end, on a positive
                // argument.
                let (f, m) =
                    [("log", "ln"), ("sqrt", "sqrt"), ("log1p", "ln_1p")][self.rng.below(3)];
                let (r, n) = self.num(d);
                (
                    format!("(abs({r}) + 0.5).{m}()"),
                    format!("{f}(abs({n}) + 0.5)"),
                )
            }
            5 => {
                let f = self.rng.pick(&["arcsin", "arccos"]);
                let (r, n) = self.num(d);
                (
                    format!("{f}(clip({r}, -1.0, 1.0))"),
                    format!("{f}(clip({n}, -1.0, 1.0))"),
                )
            }
            6 => {
                let f = self.rng.pick(&["minimum", "maximum", "arctan2"]);
                let ((ra, na), (rb, nb)) = (self.num(d), self.num(d));
                (format!("{f}({ra}, {rb})"), format!("{f}({na}, {nb})"))
            }
            7 => {
                let ((rc, nc), (ra, na), (rb, nb)) = (self.cond(d), self.num(d), self.num(d));
                (
                    format!("where_({rc}, {ra}, {rb})"),
                    format!("where({nc}, {na}, {nb})"),
                )
            }
            8 => {
                let hi = self.rng.literal();
                let (r, n) = self.num(d);
                (
                    format!("({r}).clamp(-1.5, {hi})"),
                    format!("clip({n}, -1.5, {hi})"),
                )
            }
            9 => {
                let k = self.rng.below(6) as i64 - 2;
                let (r, n) = self.num(d);
                (format!("({r}).powi({k})"), format!("({n})**{k}"))
            }
            10 => {
                let ((ra, na), (rb, nb)) = (self.num(d), self.num(d));
                (
                    format!("(abs({ra}) + 0.25).powf({rb})"),
                    format!("(abs({na}) + 0.25)**({nb})"),
                )
            }
            11 => {
                // A round trip through another element type (of an array
                // value: a literal alone takes the cast's type, and a float
                // literal is not an int32).
                let (rust_t, np_t) =
                    [("f32", "float32"), ("i32", "int32"), ("i64", "int64")][self.rng.below(3)];
                let (r, n) = self.num(d);
                (
                    format!("((clip(y * {r}, -1000.0, 1000.0) * 7.0) as {rust_t}) as f64"),
                    format!("float64({np_t}(clip(y * {n}, -1000.0, 1000.0) * 7.0))"),
                )
            }
            12 if self.reductions => self.reduction(d),
            _ => {
                let ((ra, na), (rb, nb), (rc, nc)) = (self.num(d), self.num(d), self.num(d));
                (
                    format!("({ra} * {rb} + {rc})"),
                    format!("({na} * {nb} + {nc})"),
                )
            }
        }
    }

    /// `sum prod max min mean` over all axes or one, keeping it.
    fn reduction(&mut self, depth: u32) -> Pair {
        let f = self.rng.pick(&["sum", "prod", "max", "min", "mean"]);
        let (r, n) = self.num(depth);
        let (r, n) = if f == "prod" {
            (
                format!("(0.5 + 0.25 * tanh(x * {r}))"),
                format!("(0.5 + 0.25 * tanh(x * {n}))"),
            )
        } else {
            (format!("(z + {r})"), format!("(z + {n})"))
        };
        if self.rng.below(4) == 0 {
            (format!("{f}({r})"), format!("{f}({n})"))
        } else {
            let axis = self.rng.below(2 * NDIM as usize) as i64 - NDIM;
            (
                format!("{f}_keepdims({r}, {axis})"),
                format!("{f}({n}, axis={axis}, keepdims=True)"),
            )
        }
    }

    fn cond(&mut self, depth: u32) -> Pair {
        let d = depth.saturating_sub(1);
        match self.rng.below(5) {
            0 => {
                let (r, n) = self.cond(d);
                (format!("!({r})"), format!("~({n})"))
            }
            1 | 2 => {
                let op = self.rng.pick(&["&", "|"]);
                let ((ra, na), (rb, nb)) = (self.cond(d), self.cond(d));
                (format!("({ra}) {op} ({rb})"), format!("({na}) {op} ({nb})"))
            }
            _ => {
                let op = self.rng.pick(&["<", "<=", ">", ">=", "==", "!="]);
                let ((ra, na), (rb, nb)) = (self.num(d), self.num(d));
                (format!("({ra} {op} {rb})"), format!("({na} {op} {nb})"))
            }
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let mut gen = Gen {
        rng: Rng(0x9E37_79B9_7F4A_7C15),
        reductions: false,
    };
    let mut out = String::from(
        "// Generated by build.rs: random expressions, each as a #[kernel] and as\n\
         // a JIT string. Every kernel also adds `0.0 * (x + y + z)` so that all\n\
         // three parameters are used (the inputs are finite).\n\
         use einkern::{kernel, Array, ArrayView};\n\n",
    );
    let mut table =
        String::from("/// Every generated expression.\npub const CASES: &[Case] = &[\n");
    for i in 0..CASES {
        // Every third expression is a reduction plus an expression that
        // may hold more of them.
        gen.reductions = i % 3 == 2;
        let (rust, numexpr) = if gen.reductions {
            let ((ra, na), (rb, nb)) = (gen.reduction(3), gen.num(3));
            (format!("{ra} * {rb}"), format!("{na} * {nb}"))
        } else {
            gen.num(4)
        };
        writeln!(
            out,
            "#[kernel]\npub fn case_{i}(x: ArrayView<f64>, y: ArrayView<f64>, z: ArrayView<f64>) -> Array<f64> {{\n    ({rust}) + 0.0 * (x + y + z)\n}}\n"
        )
        .expect("write to a String");
        let jit = format!("({numexpr}) + 0.0 * (x + y + z)").replace('"', "\\\"");
        writeln!(
            table,
            "    Case {{ name: \"case_{i}\", kernel: case_{i}, jit: \"{jit}\" }},"
        )
        .expect("write to a String");
    }
    table.push_str("];\n");
    out.push_str(&table);
    let path = std::path::Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("cases.rs");
    std::fs::write(path, out).expect("OUT_DIR is writable");
}

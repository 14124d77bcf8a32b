//! The one table of elementwise functions.
//!
//! Every path consults this table: the numexpr-spelling parser (JIT
//! strings), the Rust-spelling front end (`#[kernel]` bodies, with method
//! forms), type checking, the reference interpreter, and each lowering.
//! Adding a function (say `erf`) is one row here plus its vector
//! implementation in the runtime.

/// An elementwise function of one or two arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Func {
    Abs,
    Sqrt,
    Exp,
    Log,
    Log1p,
    Expm1,
    Sin,
    Cos,
    Tan,
    Tanh,
    Sinh,
    Cosh,
    Arcsin,
    Arccos,
    Arctan,
    Floor,
    Ceil,
    Arctan2,
    Pow,
    Minimum,
    Maximum,
}

/// What a function accepts and how it is spelled.
#[derive(Clone, Copy, Debug)]
pub struct FuncInfo {
    pub func: Func,
    /// NumPy's name, as written in JIT strings: `arctan2(y, x)`.
    pub name: &'static str,
    /// The `f64` method name in `#[kernel]` bodies (`x.atan2(y)`), if it has one.
    pub method: Option<&'static str>,
    pub arity: usize,
    /// Defined on floats only (`exp`); otherwise also on integers (`abs`).
    pub float_only: bool,
    /// Scalar semantics, used by the reference interpreter and for
    /// constant folding: the correctly rounded (libm) value.
    pub eval: fn(&[f64]) -> f64,
}

macro_rules! row {
    ($f:ident, $name:literal, $method:expr, $arity:literal, $float:literal, $eval:expr) => {
        FuncInfo {
            func: Func::$f,
            name: $name,
            method: $method,
            arity: $arity,
            float_only: $float,
            eval: $eval,
        }
    };
}

/// Every function, in one table.
pub const FUNCS: &[FuncInfo] = &[
    row!(Abs, "abs", Some("abs"), 1, false, |a| a[0].abs()),
    row!(Sqrt, "sqrt", Some("sqrt"), 1, true, |a| a[0].sqrt()),
    row!(Exp, "exp", Some("exp"), 1, true, |a| a[0].exp()),
    row!(Log, "log", Some("ln"), 1, true, |a| a[0].ln()),
    row!(Log1p, "log1p", Some("ln_1p"), 1, true, |a| a[0].ln_1p()),
    row!(Expm1, "expm1", Some("exp_m1"), 1, true, |a| a[0].exp_m1()),
    row!(Sin, "sin", Some("sin"), 1, true, |a| a[0].sin()),
    row!(Cos, "cos", Some("cos"), 1, true, |a| a[0].cos()),
    row!(Tan, "tan", Some("tan"), 1, true, |a| a[0].tan()),
    row!(Tanh, "tanh", Some("tanh"), 1, true, |a| a[0].tanh()),
    row!(Sinh, "sinh", Some("sinh"), 1, true, |a| a[0].sinh()),
    row!(Cosh, "cosh", Some("cosh"), 1, true, |a| a[0].cosh()),
    row!(Arcsin, "arcsin", Some("asin"), 1, true, |a| a[0].asin()),
    row!(Arccos, "arccos", Some("acos"), 1, true, |a| a[0].acos()),
    row!(Arctan, "arctan", Some("atan"), 1, true, |a| a[0].atan()),
    row!(Floor, "floor", Some("floor"), 1, true, |a| a[0].floor()),
    row!(Ceil, "ceil", Some("ceil"), 1, true, |a| a[0].ceil()),
    row!(Arctan2, "arctan2", Some("atan2"), 2, true, |a| a[0]
        .atan2(a[1])),
    row!(Pow, "power", Some("powf"), 2, true, |a| a[0].powf(a[1])),
    row!(
        Minimum,
        "minimum",
        Some("min"),
        2,
        false,
        |a| numpy_minimum(a[0], a[1])
    ),
    row!(
        Maximum,
        "maximum",
        Some("max"),
        2,
        false,
        |a| numpy_maximum(a[0], a[1])
    ),
];

/// NumPy's `minimum`: NaN if either argument is NaN (unlike `f64::min`).
pub fn numpy_minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// NumPy's `maximum`: NaN if either argument is NaN (unlike `f64::max`).
pub fn numpy_maximum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}

impl Func {
    /// Whether the function runs on the runtime's vector math (a
    /// polynomial of some dozens of operations per element) rather than
    /// one instruction: the JIT calls it between stages, and a `#[kernel]`
    /// pass using it is bound by arithmetic, not memory. Exhaustive on
    /// purpose: a new row in the function table must decide.
    pub fn is_vector_math(self) -> bool {
        match self {
            Func::Abs | Func::Sqrt | Func::Floor | Func::Ceil | Func::Minimum | Func::Maximum => {
                false
            }
            Func::Exp
            | Func::Log
            | Func::Log1p
            | Func::Expm1
            | Func::Sin
            | Func::Cos
            | Func::Tan
            | Func::Tanh
            | Func::Sinh
            | Func::Cosh
            | Func::Arcsin
            | Func::Arccos
            | Func::Arctan
            | Func::Arctan2
            | Func::Pow => true,
        }
    }

    pub fn info(self) -> &'static FuncInfo {
        FUNCS
            .iter()
            .find(|f| f.func == self)
            .expect("every Func has a row")
    }

    /// The function a JIT string calls `name`.
    pub fn by_name(name: &str) -> Option<Func> {
        FUNCS.iter().find(|f| f.name == name).map(|f| f.func)
    }

    /// The function a `#[kernel]` body calls as method `name`.
    pub fn by_method(name: &str) -> Option<Func> {
        FUNCS
            .iter()
            .find(|f| f.method == Some(name))
            .map(|f| f.func)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_has_exactly_one_row_and_unique_names() {
        for (i, f) in FUNCS.iter().enumerate() {
            assert_eq!(Func::by_name(f.name), Some(f.func));
            assert!(FUNCS[i + 1..]
                .iter()
                .all(|g| g.func != f.func && g.name != f.name));
            assert_eq!(f.func.info().name, f.name);
            assert!(!(f.eval)(&[0.5, 0.25]).is_nan(), "{}", f.name);
        }
        assert_eq!(Func::by_method("atan2"), Some(Func::Arctan2));
        assert!(numpy_maximum(f64::NAN, 1.0).is_nan());
    }
}

//! The syntax tree both front ends produce: the numexpr-spelling parser
//! (JIT strings) and the `#[kernel]` macro (Rust bodies through syn).
//!
//! Names are not resolved here: `exp(x)`, `x.exp()` and `where_(c, a, b)`
//! all become [`ExprKind::Call`], and [`crate::expr::lower`] resolves them
//! against the one function table. Every node carries an opaque `loc`:
//! a character column for strings, an index into the macro's span table
//! for Rust code, so errors found later can point back at the source.

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    /// `-x`
    Neg,
    /// `~c` / `!c`: logical not of a boolean.
    Not,
}

/// Binary operators, including comparisons and boolean connectives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// `x ** y` (`x.powf(y)`, `x.powi(n)` in Rust).
    Pow,
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
    /// `&` on booleans.
    And,
    /// `|` on booleans.
    Or,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Pow => "**",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::And => "&",
            BinaryOp::Or => "|",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Eq | BinaryOp::Ne
        )
    }
}

/// One expression node and where it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub loc: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    /// An argument or a `let`-bound name.
    Var(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `name(args, key=value, ...)`; methods arrive here with the receiver
    /// as the first argument and the function's table name.
    Call {
        name: String,
        args: Vec<Expr>,
        kwargs: Vec<(String, Expr)>,
    },
    /// `einsum!("ij,jk->ik", a, b)` inside a `#[kernel]` body (the JIT's
    /// strings have `jit::einsum` instead); `spec_loc` locates the string.
    Einsum {
        spec: String,
        spec_loc: usize,
        args: Vec<Expr>,
    },
}

impl Expr {
    pub fn new(kind: ExprKind, loc: usize) -> Self {
        Expr { kind, loc }
    }
}

/// A kernel body: `let` bindings in order, then the result.
#[derive(Clone, Debug, PartialEq)]
pub struct Program {
    pub lets: Vec<(String, Expr)>,
    pub result: Expr,
}

/// Prints fully parenthesised numexpr spelling: `((-x) * 2)`. Two
/// expressions print the same exactly when they parse to the same tree, so
/// the text serves as a normalised key (the JIT's compile cache).
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            ExprKind::Var(v) => f.write_str(v),
            ExprKind::Int(i) => write!(f, "{i}"),
            // `{:?}` keeps a decimal point and round-trips exactly.
            ExprKind::Float(x) => write!(f, "{x:?}"),
            ExprKind::Bool(b) => f.write_str(if *b { "True" } else { "False" }),
            ExprKind::Unary(UnaryOp::Neg, a) => write!(f, "(-{a})"),
            ExprKind::Unary(UnaryOp::Not, a) => write!(f, "(~{a})"),
            ExprKind::Binary(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            ExprKind::Call { name, args, kwargs } => {
                write!(f, "{name}(")?;
                let mut first = true;
                for a in args {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    write!(f, "{a}")?;
                }
                for (k, v) in kwargs {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    write!(f, "{k}={v}")?;
                }
                f.write_str(")")
            }
            ExprKind::Einsum { spec, args, .. } => {
                write!(f, "einsum({spec:?}")?;
                for a in args {
                    write!(f, ", {a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

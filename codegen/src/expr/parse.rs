//! The expression language in NumPy/numexpr spelling, as JIT strings and
//! the command line write it: `exp(-x*x/2) * y`, `where(a < 0.2, 0.2, a)`,
//! `sum((p - q)**2, axis=-1)`.
//!
//! Precedence is Python's, so an expression means what it would mean to
//! numexpr: `**` binds tightest (right-associative, and `-x**2` is
//! `-(x**2)`), then unary `-` `~` `!`, `* /`, `+ -`, `&`, `|`, and the
//! comparisons loosest. Like Python, `a < 1 | b > 2` groups as
//! `a < (1 | b) > 2`; chained comparisons are rejected with a hint to add
//! parentheses rather than silently meaning something else.

use einkern_runtime::Error;

use super::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Int(i64),
    Float(f64),
    Ident(String),
    /// An operator or punctuation: `+ - * / ** < <= > >= == != & | ~ ! ( ) , =`.
    Sym(&'static str),
    End,
}

struct Lexer<'s> {
    chars: Vec<char>,
    src: &'s str,
    pos: usize,
}

const SYMBOLS: &[&str] = &[
    "**", "<=", ">=", "==", "!=", "+", "-", "*", "/", "<", ">", "&", "|", "~", "!", "(", ")", ",",
    "=",
];

impl<'s> Lexer<'s> {
    fn error(&self, column: usize, message: impl Into<String>) -> Error {
        Error::parse(message, self.src, column)
    }

    /// All tokens with their columns, ending with `End`.
    fn tokens(mut self) -> Result<Vec<(Tok, usize)>, Error> {
        let mut out = Vec::new();
        loop {
            while self.pos < self.chars.len() && self.chars[self.pos].is_whitespace() {
                self.pos += 1;
            }
            let start = self.pos;
            let Some(&c) = self.chars.get(self.pos) else {
                out.push((Tok::End, start));
                return Ok(out);
            };
            let tok = if c.is_ascii_digit() || (c == '.' && self.peek_digit(1)) {
                self.number()?
            } else if c.is_alphabetic() || c == '_' {
                while self.pos < self.chars.len()
                    && (self.chars[self.pos].is_alphanumeric() || self.chars[self.pos] == '_')
                {
                    self.pos += 1;
                }
                Tok::Ident(self.chars[start..self.pos].iter().collect())
            } else if let Some(sym) = SYMBOLS.iter().find(|s| self.starts_with(s)) {
                self.pos += sym.chars().count();
                Tok::Sym(sym)
            } else {
                return Err(self.error(start, format!("unexpected character '{c}'")));
            };
            out.push((tok, start));
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.chars.get(self.pos + i) == Some(&c))
    }

    fn peek_digit(&self, ahead: usize) -> bool {
        self.chars
            .get(self.pos + ahead)
            .is_some_and(|c| c.is_ascii_digit())
    }

    /// `12`, `1.5`, `.5`, `1.`, `1e-3`, `2.5E+10`.
    fn number(&mut self) -> Result<Tok, Error> {
        let start = self.pos;
        let digits = |lx: &mut Self| {
            while lx.pos < lx.chars.len() && lx.chars[lx.pos].is_ascii_digit() {
                lx.pos += 1;
            }
        };
        digits(self);
        let mut float = false;
        if self.chars.get(self.pos) == Some(&'.') {
            float = true;
            self.pos += 1;
            digits(self);
        }
        if matches!(self.chars.get(self.pos), Some('e' | 'E')) {
            let save = self.pos;
            self.pos += 1;
            if matches!(self.chars.get(self.pos), Some('+' | '-')) {
                self.pos += 1;
            }
            if self.peek_digit(0) {
                float = true;
                digits(self);
            } else {
                self.pos = save;
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_alphabetic() || *c == '_')
        {
            return Err(self.error(
                self.pos,
                format!("a name cannot start right after the number {text}"),
            ));
        }
        if float {
            text.parse::<f64>()
                .map(Tok::Float)
                .map_err(|_| self.error(start, format!("malformed number '{text}'")))
        } else {
            text.parse::<i64>()
                .map(Tok::Int)
                .map_err(|_| self.error(start, format!("integer {text} does not fit in 64 bits")))
        }
    }
}

/// Parses one expression.
pub fn parse_expr(src: &str) -> Result<Expr, Error> {
    if src.len() > MAX_LEN {
        return Err(Error::value(format!(
            "the expression is {} bytes long; the limit is {MAX_LEN}",
            src.len()
        )));
    }
    let toks = Lexer {
        chars: src.chars().collect(),
        src,
        pos: 0,
    }
    .tokens()?;
    let mut p = Parser {
        toks,
        i: 0,
        src,
        depth: 0,
        nesting: 0,
    };
    let e = p.comparison()?;
    match p.peek() {
        Tok::End => Ok(e),
        Tok::Sym(")") => Err(p.error("unmatched ')'")),
        _ => Err(p.error("expected an operator or the end of the expression")),
    }
}

struct Parser<'s> {
    toks: Vec<(Tok, usize)>,
    i: usize,
    src: &'s str,
    /// The syntax tree's depth so far: nesting of parentheses, calls,
    /// unary operators and powers, plus the operators of the
    /// left-associative chains being parsed (`a+b+c` is a tree as deep as
    /// it is long). Bounded by [`MAX_TREE_DEPTH`], so that the recursive
    /// passes over the tree (lowering, printing, cloning, comparing,
    /// dropping) cannot overflow the stack.
    depth: usize,
    /// The parser's own recursion: nesting without the chains (which it
    /// parses in loops), bounded by [`MAX_NESTING`].
    nesting: usize,
}

/// Nesting of parentheses, calls, unary operators and powers deeper than
/// this is an error, not a stack overflow. Each level costs the parser
/// nine frames, about 3 KiB of stack in the dev profile: 600 levels fit
/// the 2 MiB of a spawned (or test) thread, 700 did not, so 200 leaves a
/// threefold margin for the caller's own frames.
pub const MAX_NESTING: usize = 200;

/// A syntax tree deeper than this (counting each operator of a chain like
/// `a+b+...` as one level) is an error. The recursive passes after the
/// parser take 0.3 to 1 KiB of stack per level: lowering, the deepest,
/// ran a 2000-term sum on a 2 MiB thread and overflowed at 4000.
pub const MAX_TREE_DEPTH: usize = 1000;

/// The longest expression the parser reads, in bytes: parsing is linear,
/// and this bounds its memory (about 100 bytes per token) before the
/// JIT's own size limit (`jit::MAX_OPERATIONS`) applies.
pub const MAX_LEN: usize = 1 << 20;

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].0
    }
    fn col(&self) -> usize {
        self.toks[self.i].1
    }
    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }
    fn eat(&mut self, sym: &str) -> bool {
        if matches!(self.peek(), Tok::Sym(s) if *s == sym) {
            self.bump();
            true
        } else {
            false
        }
    }
    fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(message, self.src, self.col())
    }
    fn binary(op: BinaryOp, a: Expr, b: Expr, loc: usize) -> Expr {
        Expr::new(ExprKind::Binary(op, Box::new(a), Box::new(b)), loc)
    }

    fn comparison(&mut self) -> Result<Expr, Error> {
        let a = self.bit_or()?;
        let Some(op) = self.comparison_op() else {
            return Ok(a);
        };
        let loc = self.bump().1;
        let b = self.bit_or()?;
        if self.comparison_op().is_some() {
            return Err(self.error(
                "comparisons cannot be chained; with '&' or '|', parenthesise each comparison: (a < b) & (b < c)",
            ));
        }
        Ok(Self::binary(op, a, b, loc))
    }

    fn comparison_op(&self) -> Option<BinaryOp> {
        Some(match self.peek() {
            Tok::Sym("<") => BinaryOp::Lt,
            Tok::Sym("<=") => BinaryOp::Le,
            Tok::Sym(">") => BinaryOp::Gt,
            Tok::Sym(">=") => BinaryOp::Ge,
            Tok::Sym("==") => BinaryOp::Eq,
            Tok::Sym("!=") => BinaryOp::Ne,
            _ => return None,
        })
    }

    fn bit_or(&mut self) -> Result<Expr, Error> {
        let mut a = self.bit_and()?;
        let mut chain = 0;
        while matches!(self.peek(), Tok::Sym("|")) {
            self.chained(&mut chain)?;
            let loc = self.bump().1;
            let b = self.bit_and()?;
            a = Self::binary(BinaryOp::Or, a, b, loc);
        }
        self.depth -= chain;
        Ok(a)
    }

    fn bit_and(&mut self) -> Result<Expr, Error> {
        let mut a = self.sum()?;
        let mut chain = 0;
        while matches!(self.peek(), Tok::Sym("&")) {
            self.chained(&mut chain)?;
            let loc = self.bump().1;
            let b = self.sum()?;
            a = Self::binary(BinaryOp::And, a, b, loc);
        }
        self.depth -= chain;
        Ok(a)
    }

    fn sum(&mut self) -> Result<Expr, Error> {
        let mut a = self.product()?;
        let mut chain = 0;
        loop {
            let op = match self.peek() {
                Tok::Sym("+") => BinaryOp::Add,
                Tok::Sym("-") => BinaryOp::Sub,
                _ => {
                    self.depth -= chain;
                    return Ok(a);
                }
            };
            self.chained(&mut chain)?;
            let loc = self.bump().1;
            let b = self.product()?;
            a = Self::binary(op, a, b, loc);
        }
    }

    fn product(&mut self) -> Result<Expr, Error> {
        let mut a = self.unary()?;
        let mut chain = 0;
        loop {
            let op = match self.peek() {
                Tok::Sym("*") => BinaryOp::Mul,
                Tok::Sym("/") => BinaryOp::Div,
                _ => {
                    self.depth -= chain;
                    return Ok(a);
                }
            };
            self.chained(&mut chain)?;
            let loc = self.bump().1;
            let b = self.unary()?;
            a = Self::binary(op, a, b, loc);
        }
    }

    /// Counts one more operator of a left-associative chain as depth.
    fn chained(&mut self, chain: &mut usize) -> Result<(), Error> {
        if self.depth >= MAX_TREE_DEPTH {
            return Err(self.error(Self::too_deep_message()));
        }
        self.depth += 1;
        *chain += 1;
        Ok(())
    }

    fn too_deep_message() -> String {
        format!(
            "expression nested too deeply: more than {MAX_TREE_DEPTH} levels, counting each \
             operator of a chain like a+b+c (parenthesise long sums in halves)"
        )
    }

    /// Runs `f` one nesting level deeper, failing cleanly past
    /// [`MAX_NESTING`] or [`MAX_TREE_DEPTH`].
    fn deeper(&mut self, f: impl FnOnce(&mut Self) -> Result<Expr, Error>) -> Result<Expr, Error> {
        // The error points at the token that opened the level: the
        // parenthesis, call, unary operator or `**` just read.
        let opener = self.toks[self.i.saturating_sub(1)].1;
        if self.nesting >= MAX_NESTING {
            let message = format!(
                "expression nested too deeply: more than {MAX_NESTING} levels of parentheses, \
                 calls, unary operators and powers"
            );
            return Err(Error::parse(message, self.src, opener));
        }
        if self.depth >= MAX_TREE_DEPTH {
            return Err(Error::parse(Self::too_deep_message(), self.src, opener));
        }
        self.depth += 1;
        self.nesting += 1;
        let r = f(self);
        self.depth -= 1;
        self.nesting -= 1;
        r
    }

    fn unary(&mut self) -> Result<Expr, Error> {
        let op = match self.peek() {
            Tok::Sym("-") => Some(UnaryOp::Neg),
            Tok::Sym("~") | Tok::Sym("!") => Some(UnaryOp::Not),
            Tok::Sym("+") => None,
            _ => return self.power(),
        };
        let loc = self.bump().1;
        let e = self.deeper(Self::unary)?;
        Ok(match op {
            Some(op) => Expr::new(ExprKind::Unary(op, Box::new(e)), loc),
            None => e,
        })
    }

    fn power(&mut self) -> Result<Expr, Error> {
        let base = self.primary()?;
        if matches!(self.peek(), Tok::Sym("**")) {
            let loc = self.bump().1;
            // The exponent may itself be signed: x ** -1.
            let exp = self.deeper(Self::unary)?;
            return Ok(Self::binary(BinaryOp::Pow, base, exp, loc));
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        let (tok, loc) = self.bump();
        match tok {
            Tok::Int(i) => Ok(Expr::new(ExprKind::Int(i), loc)),
            Tok::Float(x) => Ok(Expr::new(ExprKind::Float(x), loc)),
            Tok::Ident(name) if name == "True" || name == "False" => {
                Ok(Expr::new(ExprKind::Bool(name == "True"), loc))
            }
            Tok::Ident(name) => {
                if !self.eat("(") {
                    return Ok(Expr::new(ExprKind::Var(name), loc));
                }
                self.call(name, loc)
            }
            Tok::Sym("(") => {
                let e = self.deeper(Self::comparison)?;
                if !self.eat(")") {
                    return Err(self.error(format!(
                        "expected ')' to close the '(' at column {}",
                        loc + 1
                    )));
                }
                Ok(e)
            }
            Tok::End => Err(Error::parse(
                "expected an expression, found the end",
                self.src,
                loc,
            )),
            Tok::Sym(s) => Err(Error::parse(
                format!("expected an expression, found '{s}'"),
                self.src,
                loc,
            )),
        }
    }

    /// `name(` has been read: arguments, `key=value` keywords, `)`.
    fn call(&mut self, name: String, loc: usize) -> Result<Expr, Error> {
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        if !self.eat(")") {
            loop {
                let is_kw = matches!(self.peek(), Tok::Ident(_))
                    && matches!(self.toks.get(self.i + 1), Some((Tok::Sym("="), _)));
                if is_kw {
                    let (Tok::Ident(key), kloc) = self.bump() else {
                        unreachable!("checked")
                    };
                    self.bump();
                    if kwargs.iter().any(|(k, _): &(String, Expr)| *k == key) {
                        return Err(Error::parse(
                            format!("keyword argument '{key}' given twice"),
                            self.src,
                            kloc,
                        ));
                    }
                    kwargs.push((key, self.deeper(Self::comparison)?));
                } else {
                    if !kwargs.is_empty() {
                        return Err(
                            self.error("a positional argument cannot follow a keyword argument")
                        );
                    }
                    args.push(self.deeper(Self::comparison)?);
                }
                if self.eat(")") {
                    break;
                }
                if !self.eat(",") {
                    return Err(
                        self.error(format!("expected ',' or ')' in the arguments of {name}()"))
                    );
                }
            }
        }
        Ok(Expr::new(ExprKind::Call { name, args, kwargs }, loc))
    }
}

//! The subscript language: `"bij,bjk->bik"` → [`Spec`].
//!
//! The grammar is NumPy's, checked against `numpy.einsum` (NumPy 2.4):
//!
//! * operands are separated by `,`; an operand may have no labels at all
//!   (a scalar, `",ij->ij"`), and an empty string is one scalar operand;
//! * a label is one ASCII letter, `a`–`z` or `A`–`Z`; a label may repeat
//!   inside one operand (`"ii->i"` takes a diagonal, `"ii"` a trace);
//! * `...` (three dots, nothing between them) stands for the broadcast
//!   dimensions, at most once per operand and once in the output;
//! * `->` (nothing between the two characters) introduces the explicit output;
//!   without it the output is *implicit*: `...` first if any operand has one,
//!   then every label that occurs exactly once over all operands, in ASCII
//!   order — so upper case sorts before lower case (`"aB"` means `"aB->Ba"`);
//! * spaces are ignored everywhere except inside `...` and `->`;
//! * an explicit output may name `...` even if no operand has one (it then
//!   stands for zero dimensions) — NumPy accepts `"i->..."`.
//!
//! Every error carries the 0-based character column of the offending
//! character, so the proc-macro can point at it.

use std::fmt;

use einkern_runtime::Error;

/// One einsum index: an ASCII letter, or one dimension of the broadcast
/// (`...`) part once ranks are known.
///
/// Letters keep their ASCII code, so `Ord` on labels is NumPy's implicit
/// output order. Broadcast dimensions sort after every letter; they never
/// appear in a parsed [`Spec`], only in an [`Equation`](super::Equation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Label(u16);

/// Where broadcast-dimension labels start; above every ASCII code.
const BROADCAST_BASE: u16 = 256;

impl Label {
    /// The label for an ASCII letter; `None` for anything else.
    pub fn letter(c: char) -> Option<Label> {
        c.is_ascii_alphabetic().then_some(Label(c as u16))
    }

    /// The label of dimension `dim` (counted from the left) of the broadcast
    /// shape that `...` stands for.
    ///
    /// # Panics
    /// If `dim` does not fit the label's `u16` (an [`Equation`](super::Equation)
    /// never asks for more than [`MAX_BROADCAST_RANK`](super::MAX_BROADCAST_RANK)).
    pub fn broadcast(dim: usize) -> Label {
        let dim = u16::try_from(dim)
            .ok()
            .filter(|&d| d <= u16::MAX - BROADCAST_BASE)
            .expect("broadcast dimension fits in a label");
        Label(BROADCAST_BASE + dim)
    }

    /// The letter, if this label is one.
    pub fn as_char(self) -> Option<char> {
        (self.0 < BROADCAST_BASE).then_some(self.0 as u8 as char)
    }

    /// The broadcast dimension, if this label stands for one.
    pub fn broadcast_dim(self) -> Option<usize> {
        (self.0 >= BROADCAST_BASE).then(|| usize::from(self.0 - BROADCAST_BASE))
    }
}

/// How a label reads in a message: `label 'j'` or `'...' dimension 0`.
impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.as_char(), self.broadcast_dim()) {
            (Some(c), _) => write!(f, "label '{c}'"),
            (None, Some(d)) => write!(f, "'...' dimension {d}"),
            (None, None) => unreachable!("a label is a letter or a broadcast dimension"),
        }
    }
}

/// The subscripts of one operand (or of the output): letters in order, and
/// where `...` sits among them.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct Subscripts {
    labels: Vec<Label>,
    /// `Some(i)`: `...` stands before `labels[i]` (`i == labels.len()`: at the end).
    ellipsis: Option<usize>,
}

impl Subscripts {
    /// Subscripts from letters, with `...` before `labels[ellipsis]` if given.
    ///
    /// # Panics
    /// If `ellipsis > labels.len()` or a label is not a letter.
    pub fn new(labels: Vec<Label>, ellipsis: Option<usize>) -> Self {
        assert!(ellipsis.is_none_or(|e| e <= labels.len()));
        assert!(labels.iter().all(|l| l.as_char().is_some()));
        Subscripts { labels, ellipsis }
    }

    /// The letters, in order, without the ellipsis.
    pub fn labels(&self) -> &[Label] {
        &self.labels
    }

    /// Position of `...` among the labels (`Some(labels().len())` = at the end).
    pub fn ellipsis(&self) -> Option<usize> {
        self.ellipsis
    }

    /// True if the subscripts contain `...`.
    pub fn has_ellipsis(&self) -> bool {
        self.ellipsis.is_some()
    }
}

/// Prints the subscripts back in the grammar: `"i...j"`.
impl fmt::Display for Subscripts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.labels.iter().enumerate() {
            if self.ellipsis == Some(i) {
                f.write_str("...")?;
            }
            write!(f, "{}", l.as_char().expect("subscripts hold letters"))?;
        }
        if self.ellipsis == Some(self.labels.len()) {
            f.write_str("...")?;
        }
        Ok(())
    }
}

/// A parsed einsum specification: what the string says, before any ranks or
/// sizes are known. This is all the proc-macro has when it starts.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Spec {
    inputs: Vec<Subscripts>,
    output: Subscripts,
    explicit_output: bool,
}

impl Spec {
    /// Parses a subscript string with any number of operands.
    pub fn parse(spec: &str) -> Result<Spec, Error> {
        Parser::new(spec).parse()
    }

    /// Parses a subscript string that must name exactly `operands` operands
    /// (the count of arrays passed to the macro or the JIT).
    pub fn parse_for(spec: &str, operands: usize) -> Result<Spec, Error> {
        let parsed = Spec::parse(spec)?;
        let named = parsed.inputs.len();
        if named == operands {
            return Ok(parsed);
        }
        let chars: Vec<char> = spec.chars().collect();
        let commas: Vec<usize> = chars
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c == ',')
            .map(|(i, _)| i)
            .collect();
        let input_end = chars
            .windows(2)
            .position(|w| w == ['-', '>'])
            .unwrap_or(chars.len());
        let were = |n: usize| if n == 1 { "was" } else { "were" };
        let (column, message) = if named > operands {
            // Point at the comma that opens the first operand nobody passed.
            let column = operands.checked_sub(1).map_or(0, |k| commas[k]);
            let message = format!(
                "the subscripts name {named} operand{}, but {operands} {} given",
                plural(named),
                were(operands)
            );
            (column, message)
        } else {
            // Point just past the last operand's subscripts.
            let message = format!(
                "{operands} operand{} {} given, but the subscripts name only {named}",
                plural(operands),
                were(operands)
            );
            (input_end, message)
        };
        Err(Error::parse(message, spec, column))
    }

    /// Builds a spec from parts; `None` for the output means implicit
    /// (NumPy's rule). The checks are those of the parser.
    pub fn from_parts(inputs: Vec<Subscripts>, output: Option<Subscripts>) -> Result<Spec, Error> {
        let text = match &output {
            Some(o) => format!("{}->{o}", join(&inputs)),
            None => join(&inputs),
        };
        Spec::parse(&text)
    }

    /// The subscripts of each operand, in order.
    pub fn inputs(&self) -> &[Subscripts] {
        &self.inputs
    }

    /// The output subscripts (computed by NumPy's rule if implicit).
    pub fn output(&self) -> &Subscripts {
        &self.output
    }

    /// True if the string had `->`.
    pub fn has_explicit_output(&self) -> bool {
        self.explicit_output
    }

    /// The number of operands.
    pub fn operand_count(&self) -> usize {
        self.inputs.len()
    }

    /// True if any operand has `...`.
    pub fn inputs_have_ellipsis(&self) -> bool {
        self.inputs.iter().any(Subscripts::has_ellipsis)
    }

    /// The spec with its output written out: `"ij,jk"` → `"ij,jk->ik"`.
    pub fn to_explicit_string(&self) -> String {
        format!("{}->{}", join(&self.inputs), self.output)
    }
}

/// Prints the spec as it was written, minus spaces: implicit stays implicit,
/// so `Spec::parse(&spec.to_string())` gives back an equal spec.
impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&join(&self.inputs))?;
        if self.explicit_output {
            write!(f, "->{}", self.output)?;
        }
        Ok(())
    }
}

fn join(inputs: &[Subscripts]) -> String {
    inputs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Where an operand's subscripts are being read: for messages.
#[derive(Clone, Copy)]
enum Part {
    Operand(usize),
    Output,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Part::Operand(i) => write!(f, "operand {i}"),
            Part::Output => f.write_str("the output"),
        }
    }
}

/// A one-pass reader over the characters of the spec. It reads strictly left
/// to right, so the error reported is always the leftmost problem.
struct Parser<'a> {
    text: &'a str,
    chars: Vec<char>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            chars: text.chars().collect(),
        }
    }

    fn error(&self, column: usize, message: impl Into<String>) -> Error {
        Error::parse(message, self.text, column)
    }

    fn parse(self) -> Result<Spec, Error> {
        let mut inputs: Vec<Subscripts> = Vec::new();
        let mut current = Subscripts::default();
        let mut in_output = false;
        let mut i = 0;
        while i < self.chars.len() {
            let part = if in_output {
                Part::Output
            } else {
                Part::Operand(inputs.len())
            };
            match self.chars[i] {
                c if c.is_ascii_alphabetic() => {
                    let label = Label(c as u16);
                    if in_output {
                        if current.labels.contains(&label) {
                            return Err(self.error(i, format!("output label '{c}' appears more than once")));
                        }
                        if !inputs.iter().any(|s| s.labels.contains(&label)) {
                            return Err(self.error(i, format!("output label '{c}' does not appear in any input")));
                        }
                    }
                    current.labels.push(label);
                    i += 1;
                }
                ' ' => i += 1,
                '.' => i = self.ellipsis(i, &mut current, part)?,
                ',' if in_output => {
                    return Err(self.error(
                        i,
                        "the output has one set of subscripts; ',' is not allowed after '->'",
                    ))
                }
                ',' => {
                    inputs.push(std::mem::take(&mut current));
                    i += 1;
                }
                '-' if self.chars.get(i + 1) == Some(&'>') => {
                    if in_output {
                        return Err(self.error(i, "'->' appears more than once"));
                    }
                    inputs.push(std::mem::take(&mut current));
                    in_output = true;
                    i += 2;
                }
                '-' => {
                    return Err(self.error(
                        i,
                        "'-' must be followed directly by '>' to form the output arrow '->'",
                    ))
                }
                '>' => return Err(self.error(i, "'>' without a '-' before it; the output arrow is '->'")),
                c => {
                    return Err(self.error(
                        i,
                        format!("invalid character '{c}' in the subscripts; labels are the letters a-z and A-Z"),
                    ))
                }
            }
        }
        if in_output {
            Ok(Spec {
                inputs,
                output: current,
                explicit_output: true,
            })
        } else {
            inputs.push(current);
            let output = implicit_output(&inputs);
            Ok(Spec {
                inputs,
                output,
                explicit_output: false,
            })
        }
    }

    /// Reads the `...` starting at column `i` into `current`; returns the
    /// column after it.
    fn ellipsis(&self, i: usize, current: &mut Subscripts, part: Part) -> Result<usize, Error> {
        let run = self.chars[i..].iter().take_while(|&&c| c == '.').count();
        let after_ellipsis =
            current.ellipsis == Some(current.labels.len()) && i >= 3 && self.chars[i - 1] == '.';
        if run < 3 {
            let message = if after_ellipsis {
                format!("'.' in {part} is not part of an ellipsis '...'")
            } else {
                format!(
                    "'{}' in {part} is not an ellipsis; write '...' (three dots)",
                    ".".repeat(run)
                )
            };
            return Err(self.error(i, message));
        }
        if current.ellipsis.is_some() {
            return Err(self.error(i, format!("{part} has more than one ellipsis '...'")));
        }
        current.ellipsis = Some(current.labels.len());
        Ok(i + 3)
    }
}

/// NumPy's implicit output: `...` first if any input has it, then the labels
/// that occur exactly once over all inputs, in ASCII order.
fn implicit_output(inputs: &[Subscripts]) -> Subscripts {
    let mut counts = [0usize; 128];
    for s in inputs {
        for l in &s.labels {
            counts[l.as_char().expect("letters") as usize] += 1;
        }
    }
    let labels = (0u8..128)
        .filter(|&c| counts[c as usize] == 1)
        .filter_map(|c| Label::letter(c as char))
        .collect();
    let ellipsis = inputs.iter().any(Subscripts::has_ellipsis).then_some(0);
    Subscripts { labels, ellipsis }
}

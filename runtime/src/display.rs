//! Printing arrays the way NumPy does.
//!
//! `[[1. 2.]\n [3. 4.]]`: nested brackets, one row per line, elements right-
//! aligned to a common width, floats with at most 8 significant decimals
//! and trailing zeros trimmed (`1.` for a whole number), scientific notation
//! when magnitudes span too much, and `...` in place of the middle of any
//! axis longer than 6 once the array has more than 1000 elements.

use std::fmt;

use crate::element::Element;
use crate::view::ArrayView;

/// More elements than this and long axes are summarised (NumPy's threshold).
const THRESHOLD: usize = 1000;
/// Elements kept at each end of a summarised axis (NumPy's edgeitems).
const EDGE: usize = 3;

/// How to print every element of one array, decided from all of them.
#[derive(Clone, Copy)]
enum Style {
    Int,
    /// Positional, each number with the decimals it needs (at most 8).
    Fixed,
    /// `1.2345e+05`, each mantissa with the decimals it needs.
    Sci,
}

fn style_for(values: &[f64], is_float: bool) -> Style {
    if !is_float {
        return Style::Int;
    }
    let finite = values.iter().copied().filter(|x| x.is_finite());
    let max = finite.clone().fold(0.0f64, |m, x| m.max(x.abs()));
    let min = finite
        .filter(|x| *x != 0.0)
        .fold(f64::INFINITY, |m, x| m.min(x.abs()));
    if max >= 1e8 || (min.is_finite() && (min < 1e-4 || max / min > 1e3)) {
        Style::Sci
    } else {
        Style::Fixed
    }
}

/// Trims trailing zeros of a decimal fraction, keeping the point.
fn trim_fraction(s: &str) -> String {
    match s.split_once('.') {
        Some((int, frac)) => format!("{int}.{}", frac.trim_end_matches('0')),
        None => format!("{s}."),
    }
}

fn format_one(x: f64, style: Style) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    match style {
        Style::Int => format!("{}", x as i64),
        Style::Fixed => trim_fraction(&format!("{x:.8}")),
        Style::Sci => {
            let s = format!("{x:.8e}");
            // Rust writes `1.5e5`; NumPy writes `1.5e+05`.
            let (m, e) = s.split_once('e').expect("exponent");
            let (sign, e) = e.strip_prefix('-').map_or(("+", e), |e| ("-", e));
            format!("{}e{sign}{e:0>2}", trim_fraction(m))
        }
    }
}

/// In scientific notation NumPy gives every mantissa the same number of
/// decimals, padding with zeros (`1.5e+10 -2.0e+00`).
fn pad_mantissas(texts: &mut [String]) {
    let decimals = |t: &str| t.find('e').zip(t.find('.')).map(|(e, p)| e - p - 1);
    let most = texts.iter().filter_map(|t| decimals(t)).max().unwrap_or(0);
    for t in texts.iter_mut() {
        if let (Some(d), Some(e)) = (decimals(t), t.find('e')) {
            t.insert_str(e, &"0".repeat(most - d));
        }
    }
}

/// Column widths shared by every element: digits before the point and from
/// the point on, so that points line up as NumPy lines them up.
#[derive(Clone, Copy)]
struct Widths {
    int: usize,
    frac: usize,
}

impl Widths {
    fn of(texts: &[String]) -> Self {
        let mut w = Widths { int: 0, frac: 0 };
        for t in texts.iter().filter(|t| t.contains('.')) {
            let (int, frac) = split_at_point(t);
            w.int = w.int.max(int.len());
            w.frac = w.frac.max(frac.len());
        }
        let plain = texts
            .iter()
            .filter(|t| !t.contains('.'))
            .map(|t| t.len())
            .max()
            .unwrap_or(0);
        w.int = w.int.max(plain.saturating_sub(w.frac));
        w
    }

    fn pad(self, text: &str) -> String {
        if text.contains('.') {
            let (int, frac) = split_at_point(text);
            format!("{int:>iw$}{frac:<fw$}", iw = self.int, fw = self.frac)
        } else {
            format!("{text:>w$}", w = self.int + self.frac)
        }
    }
}

/// `"-1.25e+00"` → (`"-1"`, `".25e+00"`).
fn split_at_point(t: &str) -> (&str, &str) {
    let p = t.find('.').expect("has a point");
    (&t[..p], &t[p..])
}

/// Which indices of an axis of length `len` are printed; `None` marks `...`.
fn shown(len: usize, summarise: bool) -> Vec<Option<usize>> {
    if summarise && len > 2 * EDGE {
        (0..EDGE)
            .map(Some)
            .chain(std::iter::once(None))
            .chain((len - EDGE..len).map(Some))
            .collect()
    } else {
        (0..len).map(Some).collect()
    }
}

/// Writes the elements of `view` in NumPy's layout.
///
/// Both passes walk the axes with an explicit index, not by recursion: a
/// `.npy` file can hold an array of a million axes of length 1, and one
/// stack frame per axis overflowed the stack.
pub(crate) fn fmt_elements<T: Element>(
    view: &ArrayView<'_, T>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    if view.is_empty() {
        return f.write_str("[]");
    }
    let summarise = view.len() > THRESHOLD;
    let shape = view.shape().to_vec();
    // Which indices of each axis are printed (`None` marks `...`): at most
    // 2·EDGE + 1 of an axis when summarising, and otherwise every axis is
    // short, as the view has at most THRESHOLD elements.
    let lists: Vec<Vec<Option<usize>>> = shape.iter().map(|&d| shown(d, summarise)).collect();
    // Gather the printed elements once, to choose a common style and width.
    let printed = collect(view, &lists);
    let style = style_for(&printed, T::DTYPE.is_float());
    let mut texts: Vec<String> = printed.iter().map(|&x| format_one(x, style)).collect();
    if shape.is_empty() {
        // A 0-d array prints as its scalar does in Python: `0.0`, not `0.`.
        let t = &mut texts[0];
        if t.ends_with('.') {
            t.push('0');
        }
        return f.write_str(t);
    }
    if let Style::Sci = style {
        pad_mantissas(&mut texts);
    }
    let widths = Widths::of(&texts);
    let mut next = texts.iter().map(|t| widths.pad(t));
    write_nested(&lists, &mut next, f)
}

/// The printed elements of a non-empty `view`, in C order over the shown
/// indices of each axis.
fn collect<T: Element>(view: &ArrayView<'_, T>, lists: &[Vec<Option<usize>>]) -> Vec<f64> {
    let shown: Vec<Vec<usize>> = lists
        .iter()
        .map(|l| l.iter().flatten().copied().collect())
        .collect();
    let mut pos = vec![0usize; shown.len()];
    let mut index: Vec<usize> = shown.iter().map(|s| s[0]).collect();
    let mut out = Vec::new();
    loop {
        out.push(view.get(&index).expect("in bounds").to_f64());
        // The odometer: the last axis fastest.
        let mut k = shown.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            pos[k] += 1;
            if pos[k] < shown[k].len() {
                index[k] = shown[k][pos[k]];
                break;
            }
            pos[k] = 0;
            index[k] = shown[k][0];
        }
    }
}

/// Writes the nested brackets of a non-empty array of at least one axis,
/// taking element texts in the order [`collect`] produced them. `open[d]`
/// is the position in `lists[d]` of the item being written at depth `d`.
fn write_nested(
    lists: &[Vec<Option<usize>>],
    next: &mut impl Iterator<Item = String>,
    f: &mut fmt::Formatter<'_>,
) -> fmt::Result {
    let ndim = lists.len();
    let mut open: Vec<usize> = vec![0];
    f.write_str("[")?;
    while let Some(&n) = open.last() {
        let depth = open.len() - 1;
        if n == lists[depth].len() {
            f.write_str("]")?;
            open.pop();
            if let Some(parent) = open.last_mut() {
                *parent += 1;
            }
            continue;
        }
        if n > 0 {
            if depth + 1 == ndim {
                f.write_str(" ")?;
            } else {
                // Rows on new lines, one blank line more per level above.
                f.write_str(&"\n".repeat(ndim - depth - 1))?;
                f.write_str(&" ".repeat(depth + 1))?;
            }
        }
        match lists[depth][n] {
            None => {
                f.write_str("...")?;
                open[depth] += 1;
            }
            Some(_) if depth + 1 == ndim => {
                f.write_str(&next.next().expect("one text per element"))?;
                open[depth] += 1;
            }
            Some(_) => {
                f.write_str("[")?;
                open.push(0);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::Array;

    #[test]
    fn prints_like_numpy() {
        // Every expected string is str() of the same array in NumPy 2.4.
        let f = |shape: &[usize], v: Vec<f64>| Array::from_vec(shape, v).unwrap().to_string();
        assert_eq!(f(&[2, 2], vec![1.0, 2.0, 3.0, 4.0]), "[[1. 2.]\n [3. 4.]]");
        assert_eq!(f(&[3], vec![0.5, -1.25, 10.0]), "[ 0.5  -1.25 10.  ]");
        assert_eq!(f(&[2], vec![1e-5, 1.0]), "[1.e-05 1.e+00]");
        assert_eq!(f(&[3], vec![f64::NAN, f64::INFINITY, 1.5]), "[nan inf 1.5]");
        assert_eq!(f(&[2], vec![f64::NAN, 10.25]), "[  nan 10.25]");
        assert_eq!(f(&[2], vec![1.5e10, -2.0]), "[ 1.5e+10 -2.0e+00]");
        assert_eq!(f(&[2], vec![-1.0, 2.0]), "[-1.  2.]");
        assert_eq!(f(&[2], vec![0.1, 0.25]), "[0.1  0.25]");
        assert_eq!(f(&[2], vec![1.0 / 3.0, 2.0]), "[0.33333333 2.        ]");
        assert_eq!(f(&[], vec![0.0]), "0.0");
        assert_eq!(f(&[2, 0], vec![]), "[]");
        let i = Array::from_vec(&[2, 2, 2], (0..8).collect::<Vec<i32>>()).unwrap();
        assert_eq!(i.to_string(), "[[[0 1]\n  [2 3]]\n\n [[4 5]\n  [6 7]]]");
        let big = Array::from_fn(&[2000], |i| i[0] as i64);
        assert_eq!(big.to_string(), "[   0    1    2 ... 1997 1998 1999]");
        // str(np.arange(1120).reshape(2, 8, 70)): every axis summarised
        // but the first, one blank line between the two blocks.
        let wide = Array::from_fn(&[2, 8, 70], |i| (i[0] * 560 + i[1] * 70 + i[2]) as i32);
        let text = wide.to_string();
        assert!(
            text.starts_with(
                "[[[   0    1    2 ...   67   68   69]\n  [  70   71   72 ...  137  138  139]\n  [ 140"
            ),
            "{text}"
        );
        assert!(
            text.contains("\n  ...\n  [ 350  351  352 ...  417  418  419]"),
            "{text}"
        );
        assert!(text.contains("559]]\n\n [[ 560  561"), "{text}");
        assert!(
            text.ends_with("[1050 1051 1052 ... 1117 1118 1119]]]"),
            "{text}"
        );
        assert_eq!(text.matches("\n\n").count(), 1, "{text}");
    }

    /// A million axes of length 1 (a legal `.npy` shape) printed with one
    /// stack frame per axis overflowed the stack; the walk is iterative.
    #[test]
    fn many_axes_do_not_overflow_the_stack() {
        let n = 1_000_000;
        let a = Array::from_vec(&vec![1; n], vec![2.5f64]).unwrap();
        let text = a.to_string();
        assert_eq!(text, format!("{}2.5{}", "[".repeat(n), "]".repeat(n)));
        let z = Array::<f32>::zeros(&[2, 0, 3]);
        assert_eq!(z.broadcast_to(&[4, 2, 0, 3]).unwrap().to_string(), "[]");
        // An empty axis beside a huge one: nothing to print, nothing listed.
        let huge = Array::<i64>::zeros(&[0, 1 << 40]);
        assert_eq!(huge.to_string(), "[]");
        assert_eq!(format!("{huge:?}"), "Array(shape=(0, 1099511627776), [])");
    }
}

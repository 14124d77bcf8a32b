//! The extreme values every operation is fed, one table each. The suite's
//! cases are generated from these tables (all pairs, or every value at
//! every position), never written out one by one.

/// `isize::MAX` as a length: the largest element count Rust allows.
pub const IMAX: usize = isize::MAX as usize;

/// Axis lengths at each edge of the size arithmetic: empty, one, small and
/// prime, the 32-bit edges, and lengths whose size in bytes is just below
/// and just above `isize::MAX` for 4- and 8-byte elements (and for
/// 1-byte counts), up to `usize::MAX`.
pub fn lengths() -> Vec<usize> {
    vec![
        0,
        1,
        2,
        3,
        7,
        (1 << 31) - 1,
        1 << 32,
        IMAX / 8,
        IMAX / 8 + 1,
        IMAX / 4,
        IMAX / 4 + 1,
        IMAX / 2 + 1,
        IMAX,
        IMAX + 1,
        usize::MAX,
    ]
}

/// Lengths whose products with each other straddle `isize::MAX`: pairs of
/// these make shapes just under and just over the limit.
pub fn factor_pairs() -> Vec<(usize, usize)> {
    let mut pairs = Vec::new();
    for bits in [31u32, 32, 40, 58, 61, 62] {
        let a = 1usize << bits;
        let b = (IMAX / a).max(1);
        pairs.extend([
            (a, b),
            (a, b + 1),
            (a, b / 8),
            (a, b / 8 + 1),
            (a, b / 4 + 1),
        ]);
    }
    pairs
}

/// Strides in elements: zero, unit both ways, and the values whose products
/// with a length overflow.
pub fn strides() -> Vec<isize> {
    vec![
        0,
        1,
        -1,
        2,
        -3,
        1 << 31,
        -(1 << 40),
        isize::MAX / 8,
        isize::MAX / 2 + 1,
        isize::MAX,
        isize::MIN + 1,
        isize::MIN,
    ]
}

/// Integer indices and slice bounds, as the `s!` macro takes them.
pub fn bounds() -> Vec<isize> {
    vec![
        0,
        1,
        -1,
        3,
        -4,
        4,
        -5,
        isize::MAX,
        isize::MAX - 1,
        isize::MIN,
        isize::MIN + 1,
    ]
}

/// Shapes of one to three axes built from the tables: every length alone,
/// every pair, the straddling products, and empty axes beside huge ones.
pub fn shapes() -> Vec<Vec<usize>> {
    let ls = lengths();
    let mut out: Vec<Vec<usize>> = vec![vec![]];
    out.extend(ls.iter().map(|&d| vec![d]));
    for &a in &ls {
        for &b in &ls {
            out.push(vec![a, b]);
        }
    }
    for (a, b) in factor_pairs() {
        out.push(vec![a, b]);
        out.push(vec![b, a, 1]);
        out.push(vec![a, 2, b]);
    }
    for &d in &ls {
        out.push(vec![0, d, d]);
        out.push(vec![d, d, 0]);
        out.push(vec![d, 1, d]);
    }
    out
}

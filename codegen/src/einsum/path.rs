//! The order in which 3+ operands are contracted pairwise.
//!
//! Costs follow opt_einsum's model so paths can be compared with its
//! `contract_path`: contracting two tensors costs the volume of all labels
//! involved, doubled if any label is summed away in that step. Among paths of
//! equal flops the one with the smaller largest intermediate wins, and then
//! the one whose matrix products copy fewer elements into GEMM panels.
//!
//! Everything here is a pure function of the labels and the [`LabelSizes`],
//! so a caller computes a path once per distinct shape set and caches it.

use std::ops::Add;

use super::bind::LabelSizes;
use super::equation::unique;
use super::parse::Label;

/// Up to this many operands, [`Strategy::Auto`] searches every pairwise order.
pub const OPTIMAL_MAX_OPERANDS: usize = 6;

/// What a path costs. Ordered by flops, then by the largest tensor a step
/// produces (the memory tiebreak), then by the elements packed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct Cost {
    /// Multiply-adds counted as opt_einsum does (see the module docs).
    pub flops: u128,
    /// Elements of the largest tensor any step produces.
    pub largest_intermediate: u128,
    /// Elements the steps' matrix products copy into panels ([`packed`]).
    /// Equal-flop orders can differ much in it: in `ij,jk,kl->il` with
    /// 64×1024 · 1024×1024 · 1024×64, `jk,kl` reads the large `jk` in
    /// place, `ij,jk` packs all of it, and that product took 12% longer.
    pub packed: u128,
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, other: Cost) -> Cost {
        Cost {
            flops: self.flops.saturating_add(other.flops),
            largest_intermediate: self.largest_intermediate.max(other.largest_intermediate),
            packed: self.packed.saturating_add(other.packed),
        }
    }
}

/// One pairwise contraction. Operands are numbered SSA-style: the inputs are
/// `0..n`, and step `i` produces operand `n + i`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PathStep {
    /// The first operand contracted (an input or an earlier step's result).
    pub lhs: usize,
    /// The second operand contracted.
    pub rhs: usize,
    /// The labels of the result, in axis order: the output order for the
    /// last step; for an intermediate, the order whose product packs least
    /// (sorted when the order does not matter; see `layout`).
    pub labels: Vec<Label>,
    /// What this step alone costs.
    pub cost: Cost,
}

/// A full contraction order for an equation's operands.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct ContractionPath {
    steps: Vec<PathStep>,
    cost: Cost,
}

impl ContractionPath {
    /// The steps in execution order; empty for one operand.
    pub fn steps(&self) -> &[PathStep] {
        &self.steps
    }

    /// The total cost.
    pub fn cost(&self) -> Cost {
        self.cost
    }

    /// Builds and costs the path that performs `pairs` (SSA numbering, see
    /// [`PathStep`]) on operands with the given labels.
    ///
    /// # Panics
    /// If a pair names an operand that does not exist or was already consumed,
    /// or the pairs do not reduce the operands to one.
    pub fn from_pairs(
        inputs: &[Vec<Label>],
        output: &[Label],
        sizes: &LabelSizes,
        pairs: &[(usize, usize)],
    ) -> ContractionPath {
        let mut live: Vec<(usize, Vec<Label>)> = inputs
            .iter()
            .enumerate()
            .map(|(i, l)| (i, unique(l)))
            .collect();
        let mut path = ContractionPath::default();
        for &(lhs, rhs) in pairs {
            let i = live
                .iter()
                .position(|(id, _)| *id == lhs)
                .expect("lhs is live");
            let j = live
                .iter()
                .position(|(id, _)| *id == rhs)
                .expect("rhs is live");
            assert_ne!(i, j, "a step contracts two different operands");
            let step = pair_step(&live, i, j, output, sizes);
            contract(&mut live, i, j, inputs.len() + path.steps.len(), &step);
            path.push(step);
        }
        assert!(
            inputs.len() <= 1 || live.len() == 1,
            "the pairs leave one operand"
        );
        path
    }

    fn push(&mut self, step: PathStep) {
        self.cost = self.cost + step.cost;
        self.steps.push(step);
    }
}

/// How to search for a path.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Strategy {
    /// Contract operand 0 with 1, the result with 2, and so on.
    LeftToRight,
    /// opt_einsum-style greedy: repeatedly contract, among the pairs that
    /// share a summable label (one not in the output nor in every input),
    /// the pair whose result is smallest relative to its two inputs (with
    /// their private labels summed away); when no such pair is left, the
    /// two smallest operands (outer products).
    Greedy,
    /// Exhaustive branch-and-bound over every pairwise order.
    Optimal,
    /// Optimal up to [`OPTIMAL_MAX_OPERANDS`] operands, else the cheaper of
    /// greedy and left-to-right (so never worse than left-to-right).
    Auto,
}

/// The contraction path for operands with these labels (repeats allowed and
/// ignored), the output labels and the bound sizes, by [`Strategy::Auto`].
pub fn contraction_path(
    inputs: &[Vec<Label>],
    output: &[Label],
    sizes: &LabelSizes,
) -> ContractionPath {
    path_with(Strategy::Auto, inputs, output, sizes)
}

/// The contraction path found by `strategy`.
pub fn path_with(
    strategy: Strategy,
    inputs: &[Vec<Label>],
    output: &[Label],
    sizes: &LabelSizes,
) -> ContractionPath {
    let live: Vec<(usize, Vec<Label>)> = inputs
        .iter()
        .enumerate()
        .map(|(i, l)| (i, unique(l)))
        .collect();
    match strategy {
        Strategy::LeftToRight => left_to_right(live, output, sizes),
        Strategy::Greedy => greedy(live, output, sizes),
        Strategy::Optimal => optimal(live, output, sizes),
        Strategy::Auto if inputs.len() <= OPTIMAL_MAX_OPERANDS => optimal(live, output, sizes),
        Strategy::Auto => {
            let g = greedy(live.clone(), output, sizes);
            let l = left_to_right(live, output, sizes);
            if l.cost < g.cost {
                l
            } else {
                g
            }
        }
    }
}

/// The step contracting `live[i]` with `live[j]`, given what else is live.
fn pair_step(
    live: &[(usize, Vec<Label>)],
    i: usize,
    j: usize,
    output: &[Label],
    sizes: &LabelSizes,
) -> PathStep {
    let (a, b) = (&live[i].1, &live[j].1);
    let mut involved: Vec<Label> = a.iter().chain(b).copied().collect();
    involved.sort_unstable();
    involved.dedup();
    let needed = |l: &Label| {
        output.contains(l)
            || live
                .iter()
                .enumerate()
                .any(|(k, (_, ls))| k != i && k != j && ls.contains(l))
    };
    let last = live.len() == 2;
    let labels: Vec<Label> = if last {
        output.to_vec()
    } else {
        layout(
            a,
            b,
            involved.iter().copied().filter(needed).collect(),
            sizes,
        )
    };
    let summed = involved.len() > labels.len();
    let flops = sizes
        .volume(&involved)
        .saturating_mul(if summed { 2 } else { 1 });
    let cost = Cost {
        flops,
        largest_intermediate: sizes.volume(&labels),
        packed: packed(a, b, &labels, sizes),
    };
    PathStep {
        lhs: live[i].0,
        rhs: live[j].0,
        labels,
        cost,
    }
}

/// Elements the GEMM engine copies into panels to contract `a` with `b` into
/// `out`, if each tensor's axes lie in its label order (row-major: how
/// inputs usually come and how intermediates are made). Zero for a step
/// with no summed label shared by both (not a matrix product).
///
/// The engine's micro-tile rows follow C's unit-stride axis, so the operand
/// holding `out`'s last label is packed; the other is read in place when
/// its own last axis is summed (each tile column is then a run of
/// contiguous elements), else packed too. That is the AVX2 kernel; the
/// others pack both, and then equal-flop orders pack about as much, so
/// counting as AVX2 does costs them nothing.
fn packed(a: &[Label], b: &[Label], out: &[Label], sizes: &LabelSizes) -> u128 {
    let summed = |l: &Label| a.contains(l) && b.contains(l) && !out.contains(l);
    if !a.iter().any(summed) {
        return 0;
    }
    let (rows, cols) = match out.last() {
        Some(l) if a.contains(l) && !b.contains(l) => (a, b),
        Some(l) if b.contains(l) && !a.contains(l) => (b, a),
        // A batch label or nothing innermost: no side to prefer.
        _ => return 0,
    };
    let in_place = cols.last().is_some_and(summed);
    let cols = if in_place { 0 } else { sizes.volume(cols) };
    sizes.volume(rows).saturating_add(cols)
}

/// The axis order of an intermediate with the (sorted) `labels`, made from
/// `a` and `b`: sorted; or the labels of both, then `a`'s own, then `b`'s
/// own; or that with the last two groups swapped — whichever packs least
/// ([`packed`]), the earlier on ties. Which operand holds the result's
/// last label decides which one is packed, so this keeps the product from
/// depending on what the labels are called: `ij,jk,ka->ia` with the sizes
/// of chain3 took 15–19% longer than `ij,jk,kl->il` while its `jk,ka`
/// step's result was sorted (`aj`: all of `jk` packed).
fn layout(a: &[Label], b: &[Label], labels: Vec<Label>, sizes: &LabelSizes) -> Vec<Label> {
    let group = |in_a: bool, in_b: bool| -> Vec<Label> {
        labels
            .iter()
            .copied()
            .filter(|l| a.contains(l) == in_a && b.contains(l) == in_b)
            .collect()
    };
    let (both, a_only, b_only) = (group(true, true), group(true, false), group(false, true));
    let a_last = [&both[..], &b_only, &a_only].concat();
    let b_last = [&both[..], &a_only, &b_only].concat();
    [b_last, a_last].into_iter().fold(labels, |best, order| {
        if packed(a, b, &order, sizes) < packed(a, b, &best, sizes) {
            order
        } else {
            best
        }
    })
}

/// Replaces `live[i]` and `live[j]` by the step's result, numbered `id`.
fn contract(live: &mut Vec<(usize, Vec<Label>)>, i: usize, j: usize, id: usize, step: &PathStep) {
    let (hi, lo) = if i > j { (i, j) } else { (j, i) };
    live.remove(hi);
    live.remove(lo);
    live.push((id, step.labels.clone()));
}

fn left_to_right(
    mut live: Vec<(usize, Vec<Label>)>,
    output: &[Label],
    sizes: &LabelSizes,
) -> ContractionPath {
    let n = live.len();
    let mut path = ContractionPath::default();
    while live.len() > 1 {
        // The running result sits at the end after the first step; the next
        // input is always at the front.
        let (i, j) = if path.steps.is_empty() {
            (0, 1)
        } else {
            (live.len() - 1, 0)
        };
        let step = pair_step(&live, i, j, output, sizes);
        contract(&mut live, i, j, n + path.steps.len(), &step);
        path.push(step);
    }
    path
}

/// The volume of `live[i]` once its private labels (in no other operand and
/// not in the output) are summed away: greedy measures how much a pair
/// shrinks against this, as opt_einsum does after its single-term reductions.
fn kept_volume(
    live: &[(usize, Vec<Label>)],
    i: usize,
    output: &[Label],
    sizes: &LabelSizes,
) -> u128 {
    let kept: Vec<Label> = live[i]
        .1
        .iter()
        .copied()
        .filter(|l| {
            output.contains(l)
                || live
                    .iter()
                    .enumerate()
                    .any(|(k, (_, ls))| k != i && ls.contains(l))
        })
        .collect();
    sizes.volume(&kept)
}

fn greedy(
    mut live: Vec<(usize, Vec<Label>)>,
    output: &[Label],
    sizes: &LabelSizes,
) -> ContractionPath {
    let n = live.len();
    // Labels that never make a pair worth contracting early: output labels,
    // and labels every input has (batch-like, they survive every step).
    let passive: Vec<Label> = live[0]
        .1
        .iter()
        .copied()
        .filter(|l| live.iter().all(|(_, ls)| ls.contains(l)))
        .chain(output.iter().copied())
        .collect();
    let mut path = ContractionPath::default();
    while live.len() > 1 {
        // Pairs that share a summable label: the one that grows the data least.
        let mut best: Option<(i128, Cost, usize, usize)> = None;
        for i in 0..live.len() {
            for j in i + 1..live.len() {
                let shares = live[i]
                    .1
                    .iter()
                    .any(|l| !passive.contains(l) && live[j].1.contains(l));
                if !shares {
                    continue;
                }
                let step = pair_step(&live, i, j, output, sizes);
                let grow = step.cost.largest_intermediate as i128
                    - kept_volume(&live, i, output, sizes) as i128
                    - kept_volume(&live, j, output, sizes) as i128;
                if best.is_none_or(|(g, c, ..)| (grow, step.cost) < (g, c)) {
                    best = Some((grow, step.cost, i, j));
                }
            }
        }
        // Otherwise the two smallest operands (outer products, smallest first).
        let (i, j) = match best {
            Some((_, _, i, j)) => (i, j),
            None => {
                let mut order: Vec<usize> = (0..live.len()).collect();
                order.sort_by_key(|&k| (kept_volume(&live, k, output, sizes), live[k].0));
                (order[0], order[1])
            }
        };
        let step = pair_step(&live, i, j, output, sizes);
        contract(&mut live, i, j, n + path.steps.len(), &step);
        path.push(step);
    }
    path
}

fn optimal(
    live: Vec<(usize, Vec<Label>)>,
    output: &[Label],
    sizes: &LabelSizes,
) -> ContractionPath {
    let n = live.len();
    let mut best: Option<ContractionPath> = None;
    search(
        live,
        n,
        output,
        sizes,
        &mut ContractionPath::default(),
        &mut best,
    );
    best.unwrap_or_default()
}

/// Depth-first over all pair choices, abandoning a branch once it costs at
/// least as much as the best complete path.
fn search(
    live: Vec<(usize, Vec<Label>)>,
    n: usize,
    output: &[Label],
    sizes: &LabelSizes,
    current: &mut ContractionPath,
    best: &mut Option<ContractionPath>,
) {
    if live.len() <= 1 {
        if best.as_ref().is_none_or(|b| current.cost < b.cost) {
            *best = Some(current.clone());
        }
        return;
    }
    for i in 0..live.len() {
        for j in i + 1..live.len() {
            let step = pair_step(&live, i, j, output, sizes);
            let saved = current.cost;
            current.push(step);
            if best.as_ref().is_none_or(|b| current.cost < b.cost) {
                let mut next = live.clone();
                let id = n + current.steps.len() - 1;
                let step = current.steps.last().expect("just pushed");
                contract(&mut next, i, j, id, step);
                search(next, n, output, sizes, current, best);
            }
            current.steps.pop();
            current.cost = saved;
        }
    }
}

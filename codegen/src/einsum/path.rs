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

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
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
    /// Elements the steps' matrix products copy into panels
    /// ([`PairModel::packed`]).
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
        let in_output = output_flags(inputs, output);
        let mut live = Live::new(inputs, &in_output, sizes);
        let mut path = ContractionPath::default();
        for &(lhs, rhs) in pairs {
            assert!(live.ops.contains_key(&lhs), "lhs is live");
            assert!(live.ops.contains_key(&rhs), "rhs is live");
            assert_ne!(lhs, rhs, "a step contracts two different operands");
            let step = live.pair_step(lhs, rhs, output);
            live.contract(&step, inputs.len() + path.steps.len());
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
    /// two smallest operands (outer products). A label shared by more than
    /// 32 live operands offers only its two smallest holders as a pair
    /// (below that every sharing pair is scored), so planning `n` operands
    /// takes about `O(n log n)` time, not the `O(n²)` pairs per step of a
    /// full rescan.
    Greedy,
    /// Exhaustive branch-and-bound over every pairwise order: exponential
    /// in the operand count, for the few operands [`Strategy::Auto`] gives
    /// it.
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
    let in_output = output_flags(inputs, output);
    let live = Live::new(inputs, &in_output, sizes);
    match strategy {
        Strategy::LeftToRight => left_to_right(live, output),
        Strategy::Greedy => greedy(live, output),
        Strategy::Optimal => optimal(live, output),
        Strategy::Auto if inputs.len() <= OPTIMAL_MAX_OPERANDS => optimal(live, output),
        Strategy::Auto => {
            let g = greedy(live.clone(), output);
            let l = left_to_right(live, output);
            if l.cost < g.cost {
                l
            } else {
                g
            }
        }
    }
}

/// What [`PairModel::packed`] needs to know of one pair `a`, `b` contracted into a
/// result holding the labels `kept` (in any order): membership by binary
/// search in sorted copies, so that the intermediate's three candidate
/// layouts ([`PairModel::layout`]) are each costed in `O(log L)`.
struct PairModel<'p> {
    a: &'p [Label],
    b: &'p [Label],
    sorted_a: Vec<Label>,
    sorted_b: Vec<Label>,
    /// Some label is in both operands and not in the result.
    any_summed: bool,
    volume_a: u128,
    volume_b: u128,
    /// `a`'s (`b`'s) last axis is summed: it can be read in place.
    a_in_place: bool,
    b_in_place: bool,
}

impl<'p> PairModel<'p> {
    /// The model for `a` and `b`; [`PairModel::keep`] completes it.
    fn new(a: &'p [Label], b: &'p [Label], sizes: &LabelSizes) -> Self {
        let sorted = |x: &[Label]| {
            let mut v = x.to_vec();
            v.sort_unstable();
            v
        };
        PairModel {
            sorted_a: sorted(a),
            sorted_b: sorted(b),
            any_summed: false,
            volume_a: sizes.volume(a),
            volume_b: sizes.volume(b),
            a_in_place: false,
            b_in_place: false,
            a,
            b,
        }
    }

    /// Records which labels the result keeps (any order).
    fn keep(&mut self, kept: &[Label]) {
        let mut kept = kept.to_vec();
        kept.sort_unstable();
        let summed = |l: &Label| self.in_a(l) && self.in_b(l) && kept.binary_search(l).is_err();
        let any_summed = self.a.iter().any(summed);
        let a_in_place = self.a.last().is_some_and(summed);
        let b_in_place = self.b.last().is_some_and(summed);
        (self.any_summed, self.a_in_place, self.b_in_place) = (any_summed, a_in_place, b_in_place);
    }

    fn in_a(&self, l: &Label) -> bool {
        self.sorted_a.binary_search(l).is_ok()
    }

    fn in_b(&self, l: &Label) -> bool {
        self.sorted_b.binary_search(l).is_ok()
    }

    /// Elements the GEMM engine copies into panels to contract `a` with `b`
    /// into a result whose last label is `last`, if each tensor's axes lie
    /// in its label order (row-major: how inputs usually come and how
    /// intermediates are made). Zero for a step with no summed label shared
    /// by both (not a matrix product).
    ///
    /// The engine's micro-tile rows follow C's unit-stride axis, so the
    /// operand holding the result's last label is packed; the other is read
    /// in place when its own last axis is summed (each tile column is then
    /// a run of contiguous elements), else packed too. That is the AVX2
    /// kernel; the others pack both, and then equal-flop orders pack about
    /// as much, so counting as AVX2 does costs them nothing.
    fn packed(&self, last: Option<&Label>) -> u128 {
        if !self.any_summed {
            return 0;
        }
        let (rows, cols, cols_in_place) = match last {
            Some(l) if self.in_a(l) && !self.in_b(l) => {
                (self.volume_a, self.volume_b, self.b_in_place)
            }
            Some(l) if self.in_b(l) && !self.in_a(l) => {
                (self.volume_b, self.volume_a, self.a_in_place)
            }
            // A batch label or nothing innermost: no side to prefer.
            _ => return 0,
        };
        rows.saturating_add(if cols_in_place { 0 } else { cols })
    }

    /// The axis order of an intermediate with the (sorted) `labels`: sorted;
    /// or the labels of both, then `a`'s own, then `b`'s own; or that with
    /// the last two groups swapped — whichever packs least, the earlier on
    /// ties. Which operand holds the result's last label decides which one
    /// is packed, so this keeps the product from depending on what the
    /// labels are called: `ij,jk,ka->ia` with the sizes of chain3 took
    /// 15–19% longer than `ij,jk,kl->il` while its `jk,ka` step's result
    /// was sorted (`aj`: all of `jk` packed).
    fn layout(&self, labels: Vec<Label>) -> Vec<Label> {
        let group = |in_a: bool, in_b: bool| -> Vec<Label> {
            (labels.iter().copied())
                .filter(|l| self.in_a(l) == in_a && self.in_b(l) == in_b)
                .collect()
        };
        let (both, a_only, b_only) = (group(true, true), group(true, false), group(false, true));
        let last_of =
            |groups: [&Vec<Label>; 3]| groups.iter().rev().find_map(|g| g.last()).copied();
        let sorted_cost = self.packed(labels.last());
        let b_last = last_of([&both, &a_only, &b_only]);
        let a_last = last_of([&both, &b_only, &a_only]);
        let (b_cost, a_cost) = (self.packed(b_last.as_ref()), self.packed(a_last.as_ref()));
        // The fold of "replace if strictly cheaper" over sorted, b-last,
        // a-last.
        let best_b = b_cost < sorted_cost;
        let best_cost = if best_b { b_cost } else { sorted_cost };
        if a_cost < best_cost {
            [both, b_only, a_only].concat()
        } else if best_b {
            [both, a_only, b_only].concat()
        } else {
            labels
        }
    }
}

/// Live operands: labels by SSA id (a `BTreeMap`, so iteration is in id
/// order, which is also the order operands became live) and how many live
/// operands hold each label. Whether a label is still needed after a step
/// and whether it is private to one operand are questions about that count,
/// so each costs a lookup rather than a scan of the other operands.
/// Counts and output flags are tables indexed by [`slot`], not hash maps:
/// the planner asks about one label per pair and label, millions of times
/// for thousands of operands.
#[derive(Clone)]
struct Live<'a> {
    ops: BTreeMap<usize, Vec<Label>>,
    count: Vec<usize>,
    in_output: &'a [bool],
    sizes: &'a LabelSizes,
}

/// A label's index in [`Live`]'s tables: letters by ASCII code, broadcast
/// dimensions after them.
fn slot(label: Label) -> usize {
    match (label.as_char(), label.broadcast_dim()) {
        (Some(c), _) => c as usize,
        (None, Some(d)) => 128 + d,
        (None, None) => unreachable!("a label is a letter or a broadcast dimension"),
    }
}

/// Per [`slot`]: whether the label is in `output`; long enough for every
/// label of `inputs` and `output`.
fn output_flags(inputs: &[Vec<Label>], output: &[Label]) -> Vec<bool> {
    let len = (inputs.iter().flatten().chain(output))
        .map(|&l| slot(l) + 1)
        .max()
        .unwrap_or(0);
    let mut flags = vec![false; len];
    for &l in output {
        flags[slot(l)] = true;
    }
    flags
}

impl<'a> Live<'a> {
    fn new(inputs: &[Vec<Label>], in_output: &'a [bool], sizes: &'a LabelSizes) -> Self {
        let mut live = Live {
            ops: BTreeMap::new(),
            count: vec![0; in_output.len()],
            in_output,
            sizes,
        };
        for (id, labels) in inputs.iter().enumerate() {
            live.insert(id, unique(labels));
        }
        live
    }

    fn len(&self) -> usize {
        self.ops.len()
    }

    fn labels(&self, id: usize) -> &[Label] {
        &self.ops[&id]
    }

    fn count(&self, label: Label) -> usize {
        self.count[slot(label)]
    }

    fn is_output(&self, label: Label) -> bool {
        self.in_output[slot(label)]
    }

    fn insert(&mut self, id: usize, labels: Vec<Label>) {
        for &l in &labels {
            self.count[slot(l)] += 1;
        }
        self.ops.insert(id, labels);
    }

    fn remove(&mut self, id: usize) -> Vec<Label> {
        let labels = self.ops.remove(&id).expect("the operand is live");
        for &l in &labels {
            self.count[slot(l)] -= 1;
        }
        labels
    }

    /// The volume of operand `id` once its private labels (in no other
    /// operand and not in the output) are summed away: greedy measures how
    /// much a pair shrinks against this, as opt_einsum does after its
    /// single-term reductions.
    fn kept_volume(&self, id: usize) -> u128 {
        let kept: Vec<Label> = (self.labels(id).iter().copied())
            .filter(|&l| self.is_output(l) || self.count(l) >= 2)
            .collect();
        self.sizes.volume(&kept)
    }

    /// The step contracting operands `lhs` and `rhs`, given what else is
    /// live.
    fn pair_step(&self, lhs: usize, rhs: usize, output: &[Label]) -> PathStep {
        let (a, b) = (self.labels(lhs), self.labels(rhs));
        let mut involved: Vec<Label> = a.iter().chain(b).copied().collect();
        involved.sort_unstable();
        involved.dedup();
        let sizes = self.sizes;
        let mut model = PairModel::new(a, b, sizes);
        let labels = if self.len() == 2 {
            model.keep(output);
            output.to_vec()
        } else {
            // Needed after the step: in the output, or held by an operand
            // other than these two.
            let mut kept = involved.clone();
            kept.retain(|l| {
                self.is_output(*l)
                    || self.count(*l) > usize::from(model.in_a(l)) + usize::from(model.in_b(l))
            });
            model.keep(&kept);
            model.layout(kept)
        };
        let summed = involved.len() > labels.len();
        let flops = sizes
            .volume(&involved)
            .saturating_mul(if summed { 2 } else { 1 });
        let cost = Cost {
            flops,
            largest_intermediate: sizes.volume(&labels),
            packed: model.packed(labels.last()),
        };
        PathStep {
            lhs,
            rhs,
            labels,
            cost,
        }
    }

    /// Replaces the step's two operands by its result, numbered `id`.
    fn contract(&mut self, step: &PathStep, id: usize) {
        self.remove(step.lhs);
        self.remove(step.rhs);
        self.insert(id, step.labels.clone());
    }
}

fn left_to_right(mut live: Live<'_>, output: &[Label]) -> ContractionPath {
    let n = live.len();
    let mut path = ContractionPath::default();
    let mut running = 0;
    for next in 1..n {
        let step = live.pair_step(running, next, output);
        running = n + path.steps.len();
        live.contract(&step, running);
        path.push(step);
    }
    path
}

/// Labels held by more than this many live operands are *crowded*: greedy
/// scores only the pair of their two smallest holders, not every pair (which
/// is quadratic in the operand count: 10⁴ operands over 52 letters share
/// each label among hundreds). A label is crowded only in equations of more
/// than this many operands, so below that greedy sees every sharing pair.
const CROWDED: usize = 32;

/// A pair greedy may contract, ordered as greedy prefers them: least
/// growth, then cheapest, then the lowest ids (the order a scan of the live
/// operands would meet them in). `versions` are those of `lhs` and `rhs`
/// when it was scored: a candidate is stale once either changed.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    grow: i128,
    cost: Cost,
    lhs: usize,
    rhs: usize,
    versions: (u32, u32),
}

/// opt_einsum's greedy with a priority queue. A pair's score depends on its
/// two operands and, for each of their labels, on whether the label is held
/// by 1, 2 or 3+ live operands (summed in the step? private to one operand?).
/// When a contraction moves a label between those classes, its holders get
/// a new version and their pairs are scored again; every other queued score
/// stays exact. So each step picks what a full rescan of every sharing pair
/// would pick (crowded labels aside), and the work per step is the new
/// operand's pairs: `O(n · L · CROWDED · log)` over `n` operands and `L`
/// labels, where the rescan was `O(n³)`.
struct Greedy<'a, 'o> {
    live: Live<'a>,
    output: &'o [Label],
    /// Labels that never make a pair worth contracting early: output labels,
    /// and labels every input has (batch-like, they survive every step);
    /// by [`slot`].
    passive: Vec<bool>,
    /// Live holders of each label not in the output, by `(kept volume, id)`.
    holders: HashMap<Label, BTreeSet<(u128, usize)>>,
    /// Every live operand by `(kept volume, id)`: the outer-product fallback.
    smallest: BTreeSet<(u128, usize)>,
    /// Per id: the kept volume ([`Live::kept_volume`]) and the version.
    kept: Vec<u128>,
    version: Vec<u32>,
    queue: BinaryHeap<Reverse<Candidate>>,
    /// The pair last queued for each crowded label, with its versions: it
    /// is queued again only when it changed.
    queued_top: HashMap<Label, (usize, usize, u32, u32)>,
}

fn greedy(live: Live<'_>, output: &[Label]) -> ContractionPath {
    let n = live.len();
    let mut path = ContractionPath::default();
    if n <= 1 {
        return path;
    }
    // Labels of operand 0 that every operand has: a count of n.
    let mut passive = live.in_output.to_vec();
    for &l in live.labels(0) {
        if live.count(l) == n {
            passive[slot(l)] = true;
        }
    }
    let mut g = Greedy {
        passive,
        holders: HashMap::new(),
        smallest: BTreeSet::new(),
        kept: Vec::with_capacity(2 * n),
        version: vec![0; 2 * n],
        queue: BinaryHeap::new(),
        queued_top: HashMap::new(),
        output,
        live,
    };
    for id in 0..n {
        let kept = g.live.kept_volume(id);
        g.kept.push(kept);
        g.enter(id);
    }
    let labels: Vec<Label> = g.holders.keys().copied().collect();
    for l in labels {
        g.queue_label(l);
    }
    while g.live.len() > 1 {
        let (lhs, rhs) = match g.best() {
            Some(pair) => pair,
            None => {
                // No pair shares a summable label: the two smallest operands
                // (outer products, smallest first).
                let mut two = g.smallest.iter().map(|&(_, id)| id);
                let lhs = two.next().expect("two operands are live");
                let rhs = two.next().expect("two operands are live");
                (lhs, rhs)
            }
        };
        let step = g.live.pair_step(lhs, rhs, output);
        g.contract(&step, n + path.steps.len());
        path.push(step);
    }
    path
}

impl Greedy<'_, '_> {
    /// Files operand `id` under its labels and in the fallback order.
    fn enter(&mut self, id: usize) {
        let key = (self.kept[id], id);
        self.smallest.insert(key);
        for &l in self.live.labels(id) {
            if !self.live.is_output(l) {
                self.holders.entry(l).or_default().insert(key);
            }
        }
    }

    /// Undoes [`Greedy::enter`] (the operand's labels are still live).
    fn leave(&mut self, id: usize) {
        let key = (self.kept[id], id);
        self.smallest.remove(&key);
        for &l in self.live.labels(id) {
            if let Some(set) = self.holders.get_mut(&l) {
                set.remove(&key);
            }
        }
    }

    fn summable(&self, label: Label) -> bool {
        !self.passive[slot(label)]
    }

    fn crowded(&self, label: Label) -> bool {
        self.holders.get(&label).is_some_and(|s| s.len() > CROWDED)
    }

    /// Scores and queues the pair `(a, b)`.
    fn queue_pair(&mut self, a: usize, b: usize) {
        let (lhs, rhs) = if a < b { (a, b) } else { (b, a) };
        let step = self.live.pair_step(lhs, rhs, self.output);
        let volume = |v: u128| i128::try_from(v).unwrap_or(i128::MAX);
        let grow = volume(step.cost.largest_intermediate)
            .saturating_sub(volume(self.kept[lhs]))
            .saturating_sub(volume(self.kept[rhs]));
        self.queue.push(Reverse(Candidate {
            grow,
            cost: step.cost,
            lhs,
            rhs,
            versions: (self.version[lhs], self.version[rhs]),
        }));
    }

    /// Queues the pairs that share summable `label`: every pair, or for a
    /// crowded label its two smallest holders.
    fn queue_label(&mut self, label: Label) {
        if !self.summable(label) {
            return;
        }
        let Some(set) = self.holders.get(&label) else {
            return;
        };
        let ids: Vec<usize> = if set.len() > CROWDED {
            let mut top = set.iter().map(|&(_, id)| id);
            let (Some(a), Some(b)) = (top.next(), top.next()) else {
                unreachable!("a crowded label has holders")
            };
            let key = (a, b, self.version[a], self.version[b]);
            if self.queued_top.insert(label, key) == Some(key) {
                return;
            }
            vec![a, b]
        } else {
            set.iter().map(|&(_, id)| id).collect()
        };
        for (i, &a) in ids.iter().enumerate() {
            for &b in &ids[i + 1..] {
                self.queue_pair(a, b);
            }
        }
    }

    /// Queues `id` with every holder of its uncrowded summable labels.
    fn queue_partners(&mut self, id: usize) {
        let mut partners: Vec<usize> = (self.live.labels(id).iter())
            .filter(|&&l| self.summable(l) && !self.crowded(l))
            .flat_map(|l| self.holders[l].iter().map(|&(_, p)| p))
            .filter(|&p| p != id)
            .collect();
        partners.sort_unstable();
        partners.dedup();
        for p in partners {
            self.queue_pair(id, p);
        }
    }

    /// The best queued pair still live and scored against the present
    /// counts; `None` when no live pair shares a summable label.
    fn best(&mut self) -> Option<(usize, usize)> {
        while let Some(Reverse(c)) = self.queue.pop() {
            let current =
                |id: usize, v: u32| self.live.ops.contains_key(&id) && self.version[id] == v;
            if current(c.lhs, c.versions.0) && current(c.rhs, c.versions.1) {
                return Some((c.lhs, c.rhs));
            }
        }
        None
    }

    /// Performs `step`, numbering its result `id`, and queues what changed.
    fn contract(&mut self, step: &PathStep, id: usize) {
        let class = |c: usize| c.min(3);
        let mut touched: Vec<Label> = (self.live.labels(step.lhs).iter())
            .chain(self.live.labels(step.rhs))
            .copied()
            .filter(|&l| !self.live.is_output(l))
            .collect();
        touched.sort_unstable();
        touched.dedup();
        let before: Vec<usize> = touched.iter().map(|&l| self.live.count(l)).collect();
        self.leave(step.lhs);
        self.leave(step.rhs);
        self.live.contract(step, id);
        self.kept.push(self.live.kept_volume(id));
        self.enter(id);
        // Holders of labels whose count class changed are rescored.
        let mut bumped: Vec<usize> = Vec::new();
        for (&l, &old) in touched.iter().zip(&before) {
            let now = self.live.count(l);
            if class(now) != class(old) {
                bumped.extend(self.holders[&l].iter().map(|&(_, h)| h));
            }
        }
        bumped.sort_unstable();
        bumped.dedup();
        let mut dirty = touched.clone();
        for &b in &bumped {
            self.leave(b);
            self.version[b] += 1;
            self.kept[b] = self.live.kept_volume(b);
            self.enter(b);
            dirty.extend(self.live.labels(b).iter().copied());
        }
        if !bumped.contains(&id) {
            bumped.push(id);
        }
        for b in bumped {
            self.queue_partners(b);
        }
        dirty.sort_unstable();
        dirty.dedup();
        for &l in &dirty {
            let old = touched.binary_search(&l).ok().map(|k| before[k]);
            let now = self.holders.get(&l).map_or(0, |s| s.len());
            if self.crowded(l) || (old.is_some_and(|o| o > CROWDED) && now <= CROWDED) {
                // A crowded label's two smallest may have changed; a label
                // just uncrowded has all its pairs queued once.
                self.queue_label(l);
            }
        }
    }
}

fn optimal(live: Live<'_>, output: &[Label]) -> ContractionPath {
    let n = live.len();
    let mut best: Option<ContractionPath> = None;
    search(live, n, output, &mut ContractionPath::default(), &mut best);
    best.unwrap_or_default()
}

/// Depth-first over all pair choices, abandoning a branch once it costs at
/// least as much as the best complete path.
fn search(
    live: Live<'_>,
    n: usize,
    output: &[Label],
    current: &mut ContractionPath,
    best: &mut Option<ContractionPath>,
) {
    if live.len() <= 1 {
        if best.as_ref().is_none_or(|b| current.cost < b.cost) {
            *best = Some(current.clone());
        }
        return;
    }
    let ids: Vec<usize> = live.ops.keys().copied().collect();
    for (i, &lhs) in ids.iter().enumerate() {
        for &rhs in &ids[i + 1..] {
            let step = live.pair_step(lhs, rhs, output);
            let saved = current.cost;
            current.push(step);
            if best.as_ref().is_none_or(|b| current.cost < b.cost) {
                let mut next = live.clone();
                let id = n + current.steps.len() - 1;
                let step = current.steps.last().expect("just pushed");
                next.contract(step, id);
                search(next, n, output, current, best);
            }
            current.steps.pop();
            current.cost = saved;
        }
    }
}

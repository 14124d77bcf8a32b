//! Property tests over random valid einsum equations: the printer and parser
//! round-trip, paths are never worse than left to right, and the reference
//! evaluator agrees with a direct computation on arbitrary strides.

use einkern_codegen::einsum::{
    contraction_path, einsum_reference_f64, path_with, ContractionPath, Equation, Label,
    LabelSizes, Spec, Strategy as PathStrategy,
};
use proptest::prelude::*;
use proptest::sample::Index;

/// Labels drawn by the generators: both cases, so implicit-output ordering
/// of upper vs lower case is exercised.
const POOL: [char; 8] = ['a', 'b', 'c', 'd', 'e', 'A', 'B', 'Z'];

/// One generated operand: its letters and where its `...` sits.
#[derive(Clone, Debug)]
struct GenOperand {
    labels: Vec<char>,
    ellipsis: Option<usize>,
}

/// A generated valid equation.
#[derive(Clone, Debug)]
struct GenEquation {
    inputs: Vec<GenOperand>,
    /// `Some((letters, ellipsis position))` for an explicit output.
    output: Option<(Vec<char>, Option<usize>)>,
}

impl GenEquation {
    /// The subscript tokens in order (letters, `...`, `,`, `->`).
    fn tokens(&self) -> Vec<String> {
        let mut tokens = Vec::new();
        let push = |tokens: &mut Vec<String>, labels: &[char], ellipsis: Option<usize>| {
            for (i, c) in labels.iter().enumerate() {
                if ellipsis == Some(i) {
                    tokens.push("...".to_string());
                }
                tokens.push(c.to_string());
            }
            if ellipsis == Some(labels.len()) {
                tokens.push("...".to_string());
            }
        };
        for (k, op) in self.inputs.iter().enumerate() {
            if k > 0 {
                tokens.push(",".to_string());
            }
            push(&mut tokens, &op.labels, op.ellipsis);
        }
        if let Some((labels, ellipsis)) = &self.output {
            tokens.push("->".to_string());
            push(&mut tokens, labels, *ellipsis);
        }
        tokens
    }

    fn text(&self) -> String {
        self.tokens().concat()
    }
}

fn operand(max_labels: usize, ellipsis: bool) -> impl Strategy<Value = GenOperand> {
    (
        prop::collection::vec(prop::sample::select(&POOL[..]), 0..=max_labels),
        any::<bool>(),
        any::<Index>(),
    )
        .prop_map(move |(labels, has, at)| GenOperand {
            ellipsis: (ellipsis && has).then(|| at.index(labels.len() + 1)),
            labels,
        })
}

/// Random valid equations: `operands` operands, repeated labels, implicit or
/// explicit output, `...` anywhere if `ellipsis`.
fn equation(
    operands: std::ops::RangeInclusive<usize>,
    ellipsis: bool,
) -> impl Strategy<Value = GenEquation> {
    (
        prop::collection::vec(operand(4, ellipsis), operands),
        any::<bool>(),
        prop::collection::vec((any::<bool>(), any::<u32>()), POOL.len()),
        any::<Index>(),
    )
        .prop_map(|(inputs, explicit, picks, at)| {
            let output = explicit.then(|| {
                let mut chosen: Vec<(u32, char)> = POOL
                    .iter()
                    .zip(&picks)
                    .filter(|(c, (take, _))| *take && inputs.iter().any(|op| op.labels.contains(c)))
                    .map(|(&c, &(_, key))| (key, c))
                    .collect();
                chosen.sort_unstable();
                let labels: Vec<char> = chosen.into_iter().map(|(_, c)| c).collect();
                let any_ellipsis = inputs.iter().any(|op| op.ellipsis.is_some());
                let pos = any_ellipsis.then(|| at.index(labels.len() + 1));
                (labels, pos)
            });
            GenEquation { inputs, output }
        })
}

fn labels(s: &[char]) -> Vec<Label> {
    s.iter().map(|&c| Label::letter(c).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_print_parse_round_trips(eq in equation(1..=5, true)) {
        let text = eq.text();
        let spec = Spec::parse(&text).unwrap();
        prop_assert_eq!(spec.to_string(), text.clone());
        prop_assert_eq!(Spec::parse(&spec.to_string()).unwrap(), spec.clone());
        // The explicit form names the same output.
        let explicit = Spec::parse(&spec.to_explicit_string()).unwrap();
        prop_assert_eq!(explicit.inputs(), spec.inputs());
        prop_assert_eq!(explicit.output(), spec.output());
        prop_assert!(explicit.has_explicit_output());
        prop_assert_eq!(spec.has_explicit_output(), eq.output.is_some());
        prop_assert_eq!(Spec::parse_for(&text, eq.inputs.len()).unwrap(), spec);
    }

    #[test]
    fn spaces_between_tokens_do_not_matter(eq in equation(1..=5, true), gaps in prop::collection::vec(0usize..3, 64)) {
        let tokens = eq.tokens();
        let mut spaced = String::new();
        for (i, t) in tokens.iter().enumerate() {
            spaced.push_str(&" ".repeat(gaps[i % gaps.len()]));
            spaced.push_str(t);
        }
        spaced.push_str(&" ".repeat(gaps[tokens.len() % gaps.len()]));
        prop_assert_eq!(Spec::parse(&spaced).unwrap(), Spec::parse(&eq.text()).unwrap());
    }

    #[test]
    fn implicit_output_is_the_once_labels_in_ascii_order(eq in equation(1..=5, true)) {
        let eq = GenEquation { output: None, ..eq };
        let spec = Spec::parse(&eq.text()).unwrap();
        let all: Vec<char> = eq.inputs.iter().flat_map(|op| op.labels.clone()).collect();
        let mut once: Vec<char> = all.iter().copied().filter(|c| all.iter().filter(|d| *d == c).count() == 1).collect();
        once.sort_unstable();
        let want = labels(&once);
        prop_assert_eq!(spec.output().labels(), want.as_slice());
        let any_ellipsis = eq.inputs.iter().any(|op| op.ellipsis.is_some());
        prop_assert_eq!(spec.output().ellipsis(), any_ellipsis.then_some(0));
    }

    #[test]
    fn path_is_never_worse_than_left_to_right(
        eq in equation(1..=5, false),
        sizes in prop::collection::vec(1usize..=64, POOL.len()),
    ) {
        check_path(&eq, &sizes)?;
    }

    #[test]
    fn greedy_paths_for_many_operands_are_valid_and_not_worse_than_left_to_right(
        eq in equation(6..=9, false),
        sizes in prop::collection::vec(1usize..=16, POOL.len()),
    ) {
        check_path(&eq, &sizes)?;
    }

    #[test]
    fn reference_matches_a_direct_computation_on_arbitrary_strides(
        case in reference_case(),
    ) {
        let operands: Vec<_> = case
            .operands
            .iter()
            .map(|o| (o.data.as_slice(), o.shape.as_slice(), o.strides.as_slice(), o.offset))
            .collect();
        let (shape, values) = einsum_reference_f64(&case.spec, &operands).unwrap();
        let (want_shape, want) = direct(&case);
        prop_assert_eq!(shape, want_shape);
        prop_assert_eq!(values.len(), want.len());
        for (x, y) in values.iter().zip(&want) {
            prop_assert!((x - y).abs() <= 1e-9 * (1.0 + y.abs()), "{} vs {}", x, y);
        }
    }
}

/// Checks Auto against left to right and that every strategy's path is well
/// formed: each operand consumed once, the last result has the output labels.
fn check_path(eq: &GenEquation, sizes: &[usize]) -> Result<(), TestCaseError> {
    let spec = Spec::parse(&eq.text()).unwrap();
    let ranks: Vec<usize> = eq.inputs.iter().map(|op| op.labels.len()).collect();
    let equation = Equation::from_spec(&spec, &ranks).unwrap();
    let sizes = LabelSizes::from_pairs(
        POOL.iter()
            .zip(sizes)
            .map(|(&c, &n)| (Label::letter(c).unwrap(), n)),
    );
    let auto = contraction_path(equation.inputs(), equation.output(), &sizes);
    let naive = path_with(
        PathStrategy::LeftToRight,
        equation.inputs(),
        equation.output(),
        &sizes,
    );
    prop_assert!(
        auto.cost() <= naive.cost(),
        "auto {:?} > left-to-right {:?}",
        auto.cost(),
        naive.cost()
    );
    for strategy in [
        PathStrategy::Greedy,
        PathStrategy::LeftToRight,
        PathStrategy::Auto,
    ] {
        let path = path_with(strategy, equation.inputs(), equation.output(), &sizes);
        well_formed(&path, &equation, &sizes)?;
    }
    Ok(())
}

fn well_formed(
    path: &ContractionPath,
    eq: &Equation,
    sizes: &LabelSizes,
) -> Result<(), TestCaseError> {
    let n = eq.operand_count();
    prop_assert_eq!(path.steps().len(), n.saturating_sub(1));
    let mut used = vec![false; n + path.steps().len()];
    for (i, step) in path.steps().iter().enumerate() {
        for id in [step.lhs, step.rhs] {
            prop_assert!(
                id < n + i,
                "step {} reads operand {} before it exists",
                i,
                id
            );
            prop_assert!(!used[id], "operand {} consumed twice", id);
            used[id] = true;
        }
    }
    if let Some(last) = path.steps().last() {
        prop_assert_eq!(last.labels.as_slice(), eq.output());
    }
    // Re-costing the same pairs gives the same total.
    let pairs: Vec<(usize, usize)> = path.steps().iter().map(|s| (s.lhs, s.rhs)).collect();
    let again = ContractionPath::from_pairs(eq.inputs(), eq.output(), sizes, &pairs);
    prop_assert_eq!(again.cost(), path.cost());
    Ok(())
}

/// A strided operand for the reference test.
#[derive(Clone, Debug)]
struct StridedOperand {
    data: Vec<f64>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    offset: usize,
    /// The label of each axis, with `...` dimensions spelled as the hidden
    /// letters `x` (broadcast dim 0) and `y` (dim 1).
    axis_labels: Vec<char>,
}

#[derive(Clone, Debug)]
struct ReferenceCase {
    spec: String,
    operands: Vec<StridedOperand>,
    /// Output labels, `...` spelled as in `axis_labels`.
    output: Vec<char>,
}

const HIDDEN: [char; 2] = ['x', 'y'];

/// Random equations (explicit output, `...`, repeats) with random sizes,
/// size-1 broadcasting, and random strides in -3..=3 (zero included).
fn reference_case() -> impl Strategy<Value = ReferenceCase> {
    (
        equation(1..=3, true),
        prop::collection::vec(1usize..=3, POOL.len() + HIDDEN.len()),
        prop::collection::vec((0usize..3, 0usize..4, -3isize..=3, any::<u64>()), 20),
    )
        .prop_map(|(mut eq, sizes, per_op)| {
            let any_ellipsis = eq.inputs.iter().any(|op| op.ellipsis.is_some());
            // Explicit output, so the test computes it without the implicit rule.
            if eq.output.is_none() {
                let all: Vec<char> = eq.inputs.iter().flat_map(|op| op.labels.clone()).collect();
                let mut once: Vec<char> = all
                    .iter()
                    .copied()
                    .filter(|c| all.iter().filter(|d| *d == c).count() == 1)
                    .collect();
                once.sort_unstable();
                eq.output = Some((once, any_ellipsis.then_some(0)));
            }
            let sizes: Vec<(char, usize)> =
                POOL.iter().chain(&HIDDEN).copied().zip(sizes).collect();
            let size_of = |c: char| sizes.iter().find(|(d, _)| *d == c).unwrap().1;
            // How many `...` dimensions each operand has, right-aligned.
            let extras: Vec<usize> = eq
                .inputs
                .iter()
                .zip(per_op.chunks(4))
                .map(|(op, rand)| if op.ellipsis.is_some() { rand[0].0 } else { 0 })
                .collect();
            let broadcast_rank = extras.iter().copied().max().unwrap_or(0);
            let operands = eq
                .inputs
                .iter()
                .zip(per_op.chunks(4))
                .zip(&extras)
                .map(|((op, rand), &extra)| {
                    let hidden = &HIDDEN[broadcast_rank - extra..broadcast_rank];
                    let mut axis_labels = op.labels.clone();
                    if let Some(at) = op.ellipsis {
                        axis_labels.splice(at..at, hidden.iter().copied());
                    }
                    // In a quarter of the operands, size 1 for a random set of
                    // labels (broadcast against the others), the same for
                    // every axis of a repeated label.
                    let ones = rand[1].3;
                    let shape: Vec<usize> = axis_labels
                        .iter()
                        .map(|&c| {
                            let bit = POOL.iter().chain(&HIDDEN).position(|&d| d == c).unwrap();
                            if ones >> bit & 1 == 1 && ones >> 20 & 3 == 0 {
                                1
                            } else {
                                size_of(c)
                            }
                        })
                        .collect();
                    let strides: Vec<isize> = (0..shape.len()).map(|a| rand[a % 4].2).collect();
                    // Offset and buffer length so every addressed element exists.
                    let (mut lo, mut hi) = (0isize, 0isize);
                    for (&n, &s) in shape.iter().zip(&strides) {
                        let reach = (n as isize - 1) * s;
                        if reach < 0 {
                            lo += reach
                        } else {
                            hi += reach
                        }
                    }
                    let offset = (-lo) as usize + rand[2].1;
                    let len = offset + hi as usize + 1 + rand[3].1;
                    let seed = rand[0].3;
                    let data = (0..len)
                        .map(|i| ((seed.wrapping_mul(i as u64 + 1) >> 40) % 17) as f64 - 8.0)
                        .collect();
                    StridedOperand {
                        data,
                        shape,
                        strides,
                        offset,
                        axis_labels,
                    }
                })
                .collect();
            let (out_labels, out_ellipsis) = eq.output.clone().unwrap();
            let mut output = out_labels;
            if let Some(at) = out_ellipsis {
                output.splice(at..at, HIDDEN[..broadcast_rank].iter().copied());
            }
            ReferenceCase {
                spec: eq.text(),
                operands,
                output,
            }
        })
}

/// The einsum by definition: for every assignment of every label, multiply
/// the operands' elements (size-1 axes read at index 0) and add into the
/// output element. Independent of the crate's binding and strides logic.
fn direct(case: &ReferenceCase) -> (Vec<usize>, Vec<f64>) {
    let mut letters: Vec<char> = case
        .operands
        .iter()
        .flat_map(|o| o.axis_labels.clone())
        .collect();
    letters.sort_unstable();
    letters.dedup();
    let size = |c: char| {
        let sizes: Vec<usize> = case
            .operands
            .iter()
            .flat_map(|o| {
                o.axis_labels
                    .iter()
                    .zip(&o.shape)
                    .filter(|(d, _)| **d == c)
                    .map(|(_, &n)| n)
            })
            .collect();
        // A label's size is its largest size among operands (1 broadcasts).
        sizes
            .iter()
            .copied()
            .max()
            .expect("every label is on some axis")
    };
    let lens: Vec<usize> = letters.iter().map(|&c| size(c)).collect();
    let out_shape: Vec<usize> = case.output.iter().map(|&c| size(c)).collect();
    let mut out = vec![0.0; out_shape.iter().product()];
    let total: usize = lens.iter().product();
    for flat in 0..total {
        let mut rest = flat;
        let mut value = vec![0usize; letters.len()];
        for d in (0..letters.len()).rev() {
            value[d] = rest % lens[d];
            rest /= lens[d];
        }
        let at = |c: char| value[letters.iter().position(|&d| d == c).unwrap()];
        let mut product = 1.0;
        for o in &case.operands {
            let mut offset = o.offset as isize;
            for ((&c, &n), &s) in o.axis_labels.iter().zip(&o.shape).zip(&o.strides) {
                let i = if n == 1 { 0 } else { at(c) };
                offset += i as isize * s;
            }
            product *= o.data[offset as usize];
        }
        let index = case
            .output
            .iter()
            .zip(&out_shape)
            .fold(0, |acc, (&c, &n)| acc * n + at(c));
        out[index] += product;
    }
    (out_shape, out)
}

#[test]
fn reference_reads_negative_and_zero_strides() {
    // x[::-1] (shape [3], stride -1 from offset 2) against a row broadcast to
    // 2×3 by a zero stride: "i,ji->j" = [x·r, x·r] with x reversed.
    let x = [1.0, 2.0, 3.0];
    let r = [10.0, 20.0, 30.0];
    let (shape, values) = einsum_reference_f64(
        "i,ji->j",
        &[(&x, &[3], &[-1], 2), (&r, &[2, 3], &[0, 1], 0)],
    )
    .unwrap();
    assert_eq!(shape, vec![2]);
    let dot = 3.0 * 10.0 + 2.0 * 20.0 + 1.0 * 30.0;
    assert_eq!(values, vec![dot, dot]);
}

//! Running an einsum on arrays: bind, plan, execute.
//!
//! Every step of a [`Plan`](super::Plan) runs on one of three kernels:
//!
//! | step | kernel |
//! |---|---|
//! | one operand, nothing summed (permutation, diagonal) | a strided view of the input, copied into the output by [`copy_strided`] (blocked for transposes) |
//! | one operand with summed labels; two operands without a shared summed label (elementwise, outer, batched outer) | [`sum_of_products`] |
//! | two operands sharing a summed label | [`contract_gemm`]: the runtime's packed GEMM on the step's [`GemmDims`] |
//!
//! Three or more operands are contracted pairwise along a
//! [`ContractionPath`] chosen for the bound sizes and cached per distinct
//! `(Equation, LabelSizes)`. Intermediates are fresh C-order arrays, each
//! freed once the step that reads it has run; the last step writes straight
//! into the output. Outputs are allocated uninitialised (every kernel writes
//! each element once), in C order.
//!
//! Sizes: an output or intermediate whose size in bytes does not fit in
//! `isize`, or that the system will not allocate, is an `Err` (never an
//! abort), found before any kernel runs for that step. An empty output is
//! returned without running anything, and a nonempty output over an empty
//! summed label is zeros (the empty sum), so the kernels only ever see
//! extents without zeros, where every product of the output's sizes fits
//! (the output is a legal array) and every operand's does (so is each
//! operand).
//!
//! [`Prepared::run_into`] writes into any output and can fuse elementwise
//! work into the write-back of a packed contraction ([`OutputEpilogue`]):
//! what `#[kernel]` does with an `einsum!` inside its body.
//!
//! [`einsum_compiled`] is what the `einsum!` macros call: the subscripts were
//! parsed at compile time and arrive as constant data ([`CompiledSpec`]), so
//! no string is parsed at run time unless an error message needs it.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use einkern_runtime::copy::copy_strided;
use einkern_runtime::ew::check_out_shape;
use einkern_runtime::gemm::{
    BatchDim, Contraction, Epilogue, EpilogueInput, EpilogueRow, GemmScalar, KDim, MDim, NDim,
};
use einkern_runtime::layout::checked_size;
use einkern_runtime::sop::{sum_of_products, SopOperand};
use einkern_runtime::{Array, ArrayView, ArrayViewMut, DType, Element, Error, Order};

use super::bind::{Bound, LabelSizes};
use super::classify::{classify_pair, Dim, GemmDims, StepKind};
use super::equation::{Equation, MAX_BROADCAST_RANK};
use super::parse::{Label, Spec};
use super::path::{contraction_path, ContractionPath};

/// The subscripts of one operand (or the output) as compile-time data:
/// ASCII letters, and where `...` stands among them (`Some(letters.len())`
/// means at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompiledSubscripts {
    pub letters: &'static [u8],
    pub ellipsis: Option<usize>,
}

/// A spec parsed by the proc-macro: the original text (for error messages),
/// the subscripts of each operand and of the output (implicit output already
/// resolved).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompiledSpec {
    pub text: &'static str,
    pub inputs: &'static [CompiledSubscripts],
    pub output: CompiledSubscripts,
}

impl CompiledSubscripts {
    /// The compile-time form of parsed subscripts.
    pub fn letters_of(s: &super::Subscripts) -> Vec<u8> {
        s.labels()
            .iter()
            .map(|l| l.as_char().expect("parsed subscripts hold letters") as u8)
            .collect()
    }

    /// Labels with `...` expanded to broadcast dimensions `first..last`;
    /// `None` if a byte is not a letter.
    fn expand(&self, first: usize, last: usize) -> Option<Vec<Label>> {
        let letters: Option<Vec<Label>> = self
            .letters
            .iter()
            .map(|&c| Label::letter(char::from(c)))
            .collect();
        let letters = letters?;
        Some(match self.ellipsis {
            None => letters,
            Some(at) => {
                let at = at.min(letters.len());
                letters[..at]
                    .iter()
                    .copied()
                    .chain((first..last).map(Label::broadcast))
                    .chain(letters[at..].iter().copied())
                    .collect()
            }
        })
    }
}

/// Evaluates the einsum `spec` (NumPy's grammar) on `operands`.
///
/// ```
/// use einkern_codegen::einsum::einsum;
/// use einkern_runtime::Array;
///
/// let a = Array::from_vec(&[2, 2], vec![1.0, 2.0, 3.0, 4.0])?;
/// let c = einsum("ij,jk", &[a.view(), a.view()])?;
/// assert_eq!(c.to_vec(), vec![7.0, 10.0, 15.0, 22.0]);
/// assert_eq!(einsum("ii", &[a.view()])?.to_vec(), vec![5.0]);
/// # Ok::<(), einkern_runtime::Error>(())
/// ```
pub fn einsum<T: Element>(spec: &str, operands: &[ArrayView<'_, T>]) -> Result<Array<T>, Error> {
    let spec = Spec::parse_for(spec, operands.len())?;
    let ranks: Vec<usize> = operands.iter().map(|o| o.ndim()).collect();
    einsum_equation(&Equation::from_spec(&spec, &ranks)?, operands)
}

/// Evaluates a spec parsed at compile time (what `einsum!` expands to).
/// Errors are those of [`einsum`] on `spec.text`.
pub fn einsum_compiled<T: Element>(
    spec: &CompiledSpec,
    operands: &[ArrayView<'_, T>],
) -> Result<Array<T>, Error> {
    Prepared::compiled(spec, operands)?.run()
}

/// Expands `...` for the given ranks without parsing; `None` if the ranks do
/// not fit the subscripts (the caller then reports the error).
fn equation_of(spec: &CompiledSpec, ranks: &[usize]) -> Option<Equation> {
    if ranks.len() != spec.inputs.len() {
        return None;
    }
    let mut extra = Vec::with_capacity(ranks.len());
    for (s, &rank) in spec.inputs.iter().zip(ranks) {
        let named = s.letters.len();
        if rank < named || (rank > named && s.ellipsis.is_none()) {
            return None;
        }
        extra.push(rank - named);
    }
    let broadcast = extra.iter().copied().max().unwrap_or(0);
    if broadcast > MAX_BROADCAST_RANK || (broadcast > 0 && spec.output.ellipsis.is_none()) {
        return None;
    }
    let inputs: Option<Vec<Vec<Label>>> = spec
        .inputs
        .iter()
        .zip(&extra)
        .map(|(s, &e)| s.expand(broadcast - e, broadcast))
        .collect();
    let output = spec.output.expand(0, broadcast)?;
    Equation::new(inputs?, output).ok()
}

/// Evaluates an [`Equation`] (ranks already expanded) on `operands`.
pub fn einsum_equation<T: Element>(
    equation: &Equation,
    operands: &[ArrayView<'_, T>],
) -> Result<Array<T>, Error> {
    Prepared::new(equation.clone(), operands)?.run()
}

/// An einsum bound to its operands: shapes checked, ready to run into an
/// output of [`Prepared::shape`]. What `#[kernel]` uses to write an einsum
/// straight into its output, with the kernel's elementwise work fused into
/// the write-back.
pub struct Prepared<'v, T> {
    equation: Equation,
    bound: Bound,
    operands: Vec<ArrayView<'v, T>>,
}

/// Elementwise work fused into an einsum's write-back (see
/// [`Prepared::run_into`]): a row function of `ew`'s row ABI that reads the
/// einsum's result and other arrays at the same index and writes over the
/// result.
pub struct OutputEpilogue<'a> {
    /// The row function's inputs, in the order it takes them.
    pub inputs: Vec<OutputInput>,
    pub row: &'a EpilogueRow<'a>,
}

/// One input of an [`OutputEpilogue`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputInput {
    /// The einsum's result itself.
    Output,
    /// An array with a byte stride per output axis (0 where it broadcasts).
    Array { ptr: *const u8, strides: Vec<isize> },
}

impl<'v, T: Element> Prepared<'v, T> {
    /// Binds `operands` to `equation` (errors name the operand, the label
    /// and both sizes). More than [`MAX_OPERANDS`] operands are an error.
    pub fn new(equation: Equation, operands: &[ArrayView<'v, T>]) -> Result<Self, Error> {
        if operands.is_empty() {
            return Err(Error::value("einsum needs at least one operand"));
        }
        if operands.len() > MAX_OPERANDS {
            return Err(Error::value(format!(
                "einsum takes at most {MAX_OPERANDS} operands, but {} were given",
                operands.len()
            )));
        }
        let shapes: Vec<&[usize]> = operands.iter().map(|o| o.shape()).collect();
        let bound = equation.bind(&shapes)?;
        Ok(Prepared {
            equation,
            bound,
            operands: operands.to_vec(),
        })
    }

    /// Binds a spec parsed at compile time; errors as [`einsum`]'s on
    /// `spec.text`.
    pub fn compiled(spec: &CompiledSpec, operands: &[ArrayView<'v, T>]) -> Result<Self, Error> {
        let ranks: Vec<usize> = operands.iter().map(|o| o.ndim()).collect();
        let equation = match equation_of(spec, &ranks) {
            Some(e) => e,
            None => {
                let parsed = Spec::parse_for(spec.text, operands.len())?;
                Equation::from_spec(&parsed, &ranks)?
            }
        };
        Prepared::new(equation, operands)
    }

    /// The shape of the result.
    pub fn shape(&self) -> &[usize] {
        self.bound.output_shape()
    }

    /// The result in a new C-order array. An output the machine cannot
    /// hold is an error ([`Error::Alloc`], or [`Error::Shape`] when its
    /// size in bytes does not fit in `isize`).
    pub fn run(&self) -> Result<Array<T>, Error> {
        // SAFETY: `run_into` writes every element of the output exactly
        // once before it is returned (the kernels' contracts), or fails and
        // the array is dropped unread.
        let mut out = unsafe { Array::<T>::try_uninit(self.shape(), Order::C) }?;
        self.run_into(&mut out.view_mut(), None)?;
        Ok(out)
    }

    /// Writes the result into `out` (any strides; its shape must be
    /// [`Prepared::shape`]). With an `epilogue`, returns whether it ran
    /// fused into the write-back of a packed contraction; if not, the
    /// caller runs it over `out` itself (the einsum was not a GEMM, or its
    /// last step was a dot or matrix-vector product).
    ///
    /// Errors: `out`'s shape is not the result's; an intermediate of a
    /// 3+-operand einsum (or a summed-out operand of a contraction) the
    /// machine cannot hold. `out` cannot overlap an operand: the operands
    /// are borrowed for `'v` and `out` is an exclusive borrow, and the
    /// runtime makes no mutable view that overlaps itself.
    ///
    /// # Safety of the epilogue
    /// Its array inputs must be readable at every offset their strides give
    /// over the output shape and must not overlap `out`; its row function
    /// must read only its inputs and write only its output, at the indices
    /// it is given.
    pub fn run_into(
        &self,
        out: &mut ArrayViewMut<'_, T>,
        epilogue: Option<&OutputEpilogue<'_>>,
    ) -> Result<bool, Error> {
        check_out_shape(out.shape(), self.shape())?;
        let equation = &self.equation;
        let bound = &self.bound;
        let sizes = bound.sizes();
        if checked_size(self.shape()) == Some(0) {
            return Ok(false);
        }
        if sizes.iter().any(|(_, n)| n == 0) {
            // A summed label is empty (an output label is not: the output
            // is not empty): every element is the empty sum.
            out.fill(T::ZERO);
            return Ok(false);
        }
        let inputs: Vec<Operand<T>> = (self.operands.iter().enumerate())
            .map(|(k, o)| Operand {
                ptr: o.as_ptr(),
                strides: bound.label_strides(k, o.strides()),
            })
            .collect();
        let out_strides = label_strides(equation.output(), out.strides());
        let out_ptr = out.as_mut_ptr();
        let epilogue = epilogue.map(|e| LabelEpilogue::new(e, equation.output()));
        let epilogue = epilogue.as_ref();
        Ok(match inputs.len() {
            1 => {
                let input = &inputs[0];
                check_work(sizes, &[&input.strides])?;
                if equation.output().len() == input.strides.len() {
                    // A view: every input label is kept. Copy it out.
                    let src: Vec<isize> = (equation.output().iter())
                        .map(|&l| stride_of(&input.strides, l))
                        .collect();
                    // SAFETY: `src` walks the input through its own (summed
                    // for diagonals) strides over the label sizes, which
                    // `bind` checked against its shape; `out` is exclusive
                    // and of the output shape.
                    unsafe {
                        copy_strided(self.shape(), out_ptr, out.strides(), input.ptr, &src);
                    }
                } else {
                    // SAFETY: strides come from the bound shapes; `out` is
                    // exclusive.
                    unsafe { sop_step(equation.output(), out_ptr, &out_strides, sizes, &[input]) };
                }
                false
            }
            2 => {
                let out = StepOut {
                    labels: equation.output(),
                    ptr: out_ptr,
                    strides: &out_strides,
                    epilogue,
                };
                // SAFETY: as above.
                unsafe { pair_step(out, sizes, &inputs[0], &inputs[1]) }?
            }
            _ => {
                let path = cached_path(equation, sizes);
                let n = inputs.len();
                let mut operands: Vec<Option<Operand<T>>> = inputs.into_iter().map(Some).collect();
                // Intermediate `n + i` is `temps[i]`, alive until the step
                // that reads it has run.
                let mut temps: Vec<Option<Array<T>>> = Vec::with_capacity(path.steps().len());
                let last = path.steps().len() - 1;
                let mut fused = false;
                for (i, step) in path.steps().iter().enumerate() {
                    let a = operands[step.lhs]
                        .take()
                        .expect("the path consumes each operand once");
                    let b = operands[step.rhs]
                        .take()
                        .expect("the path consumes each operand once");
                    // Freed when this step is done: nothing else reads them.
                    let _consumed = [step.lhs, step.rhs]
                        .map(|id| id.checked_sub(n).and_then(|t| temps[t].take()));
                    if i == last {
                        let out = StepOut {
                            labels: &step.labels,
                            ptr: out_ptr,
                            strides: &out_strides,
                            epilogue,
                        };
                        // SAFETY: as above; the last step produces the output.
                        fused = unsafe { pair_step(out, sizes, &a, &b) }?;
                    } else {
                        let shape: Vec<usize> =
                            step.labels.iter().map(|&l| sizes.size(l)).collect();
                        // SAFETY: `pair_step` writes every element (or
                        // fails, and `t` is dropped unread).
                        let mut t = unsafe { Array::<T>::try_uninit(&shape, Order::C) }?;
                        let t_strides = label_strides(&step.labels, t.strides());
                        let out = StepOut {
                            labels: &step.labels,
                            ptr: t.as_mut_ptr(),
                            strides: &t_strides,
                            epilogue: None,
                        };
                        // SAFETY: `t` is fresh, shaped by the label sizes.
                        unsafe { pair_step(out, sizes, &a, &b) }?;
                        operands.push(Some(Operand {
                            ptr: t.as_ptr(),
                            strides: t_strides,
                        }));
                        temps.push(Some(t));
                    }
                }
                fused
            }
        })
    }
}

/// An [`OutputEpilogue`] with its array inputs' strides keyed by label.
struct LabelEpilogue<'e> {
    epilogue: &'e OutputEpilogue<'e>,
    strides: Vec<Vec<(Label, isize)>>,
}

impl<'e> LabelEpilogue<'e> {
    fn new(epilogue: &'e OutputEpilogue<'e>, labels: &[Label]) -> Self {
        let strides = (epilogue.inputs.iter())
            .map(|x| match x {
                OutputInput::Output => Vec::new(),
                OutputInput::Array { strides, .. } => label_strides(labels, strides),
            })
            .collect();
        LabelEpilogue { epilogue, strides }
    }
}

/// Where a pairwise step writes: the result's labels, data and strides, and
/// the epilogue to fuse into its write-back, if any.
struct StepOut<'s, T> {
    labels: &'s [Label],
    ptr: *mut T,
    strides: &'s [(Label, isize)],
    epilogue: Option<&'s LabelEpilogue<'s>>,
}

/// An operand of one step: its data and its stride per distinct label.
struct Operand<T> {
    ptr: *const T,
    strides: Vec<(Label, isize)>,
}

fn label_strides(labels: &[Label], strides: &[isize]) -> Vec<(Label, isize)> {
    labels
        .iter()
        .copied()
        .zip(strides.iter().copied())
        .collect()
}

fn stride_of(strides: &[(Label, isize)], label: Label) -> isize {
    strides
        .iter()
        .find(|(l, _)| *l == label)
        .map_or(0, |&(_, s)| s)
}

fn labels_of(strides: &[(Label, isize)]) -> Vec<Label> {
    strides.iter().map(|&(l, _)| l).collect()
}

/// The most operands one einsum takes (NumPy takes 64). Planning is about
/// linear in the operand count (the greedy path search scores only pairs
/// that share a label, see `path`): 10⁴ operands plan in well under a
/// second in a release build, this many in a few seconds and ~200 MB; the
/// limit keeps a hostile spec from asking for more.
pub const MAX_OPERANDS: usize = 1 << 16;

/// Paths cached per distinct equation and label sizes.
type PathCache = HashMap<(Equation, LabelSizes), ContractionPath>;

/// At most this many paths are cached; the cache is cleared when it is full.
const PATH_CACHE_CAPACITY: usize = 256;

/// Equations with more operands than this are planned afresh on every call
/// (planning is about linear in the operand count, like running the
/// steps), so the cache holds small entries only: 256 entries of up to
/// 64 operands each, where 256 of [`MAX_OPERANDS`] would be gigabytes.
const PATH_CACHE_MAX_OPERANDS: usize = 64;

fn cached_path(equation: &Equation, sizes: &LabelSizes) -> ContractionPath {
    if equation.operand_count() > PATH_CACHE_MAX_OPERANDS {
        return contraction_path(equation.inputs(), equation.output(), sizes);
    }
    static CACHE: OnceLock<Mutex<PathCache>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (equation.clone(), sizes.clone());
    if let Some(path) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return path.clone();
    }
    let path = contraction_path(equation.inputs(), equation.output(), sizes);
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() >= PATH_CACHE_CAPACITY {
        map.clear();
    }
    map.insert(key, path.clone());
    path
}

/// Refuses a step whose index space (the product of the sizes of every
/// label its operands hold) does not fit in `usize`: more than 1.8·10¹⁹
/// multiply-adds, which would never finish, and whose loop counts the
/// kernels could not represent. Legal operands reach it only through
/// broadcasting (`i,j->` over two stride-0 views of 2⁴⁰ elements each).
fn check_work(sizes: &LabelSizes, operands: &[&[(Label, isize)]]) -> Result<(), Error> {
    let mut labels: Vec<Label> = operands.iter().flat_map(|o| labels_of(o)).collect();
    labels.sort_unstable();
    labels.dedup();
    let lens: Vec<usize> = labels.iter().map(|&l| sizes.size(l)).collect();
    match checked_size(&lens) {
        Some(_) => Ok(()),
        None => {
            Err(Error::value(format!(
            "einsum step over sizes {lens:?} (labels {}) has more index combinations than fit in \
             usize: too much work to ever finish",
            labels.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", ")
        )))
        }
    }
}

/// One pairwise step `a, b -> out.labels`, written to `out`. Returns
/// whether `out.epilogue` ran fused into the step; an error when a
/// summed-out temporary cannot be allocated (nothing is written then).
///
/// # Safety
/// Each operand's strides must address valid elements over the label sizes;
/// `out` must be valid for writes over its strides and overlap nothing; the
/// epilogue as in [`Prepared::run_into`].
unsafe fn pair_step<T: Element>(
    out: StepOut<'_, T>,
    sizes: &LabelSizes,
    a: &Operand<T>,
    b: &Operand<T>,
) -> Result<bool, Error> {
    check_work(sizes, &[&a.strides, &b.strides])?;
    let class = classify_pair(&labels_of(&a.strides), &labels_of(&b.strides), out.labels);
    if class.kind == StepKind::Gemm {
        let dims = (class.groups).dims(sizes, &a.strides, &b.strides, out.strides);
        let epilogue = out.epilogue.map(|e| Epilogue {
            inputs: (e.epilogue.inputs.iter().zip(&e.strides))
                .map(|(x, by_label)| match x {
                    OutputInput::Output => EpilogueInput::Output,
                    OutputInput::Array { ptr, .. } => {
                        // The input's strides per GEMM dim: its own strides
                        // in the place of C's.
                        let d = (class.groups).dims(sizes, &a.strides, &b.strides, by_label);
                        let of = |g: &[Dim]| g.iter().map(|x| x.strides[2]).collect();
                        EpilogueInput::Array {
                            ptr: *ptr,
                            batch: of(&d.batch),
                            m: of(&d.m),
                            n: of(&d.n),
                        }
                    }
                })
                .collect(),
            row: e.epilogue.row,
        });
        // SAFETY: forwarded; the dims carry the same strides.
        unsafe { contract_gemm(&dims, a.ptr, b.ptr, out.ptr, epilogue.as_ref()) }
    } else {
        // SAFETY: forwarded.
        unsafe { sop_step(out.labels, out.ptr, out.strides, sizes, &[a, b]) };
        Ok(false)
    }
}

/// `out = Σ Π operands` over the output labels then every other label.
///
/// # Safety
/// As [`pair_step`].
unsafe fn sop_step<T: Element>(
    out_labels: &[Label],
    out: *mut T,
    out_strides: &[(Label, isize)],
    sizes: &LabelSizes,
    operands: &[&Operand<T>],
) {
    let mut labels = out_labels.to_vec();
    for op in operands {
        for &(l, _) in &op.strides {
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
    }
    let lens: Vec<usize> = labels.iter().map(|&l| sizes.size(l)).collect();
    let os: Vec<isize> = out_labels
        .iter()
        .map(|&l| stride_of(out_strides, l))
        .collect();
    let strides: Vec<Vec<isize>> = operands
        .iter()
        .map(|op| labels.iter().map(|&l| stride_of(&op.strides, l)).collect())
        .collect();
    let sop: Vec<SopOperand<'_, T>> = operands
        .iter()
        .zip(&strides)
        .map(|(op, s)| SopOperand {
            ptr: op.ptr,
            strides: s,
        })
        .collect();
    // SAFETY: forwarded; labels absent from an operand get stride 0.
    unsafe { sum_of_products(&lens, out, &os, &sop) };
}

/// The pairwise contraction with a shared summed group:
/// `C[batch, m, n] = Σ_{k, sum_a, sum_b} A[batch, m, k, sum_a] · B[batch, n, k, sum_b]`,
/// every group a list of [`Dim`](super::Dim)s with A's, B's and C's strides.
/// `C` is write-only (beta = 0). Returns whether `epilogue` ran, fused into
/// the packed GEMM's write-back (never on the dot/matrix-vector path); an
/// error, with nothing written, when a summed-out temporary cannot be
/// allocated.
///
/// Labels summed in one operand only (`sum_a`, `sum_b`) are summed out of
/// that operand first, into a C-order temporary of the operand's other
/// labels, as NumPy does; the rest runs on the runtime's packed GEMM
/// ([`Contraction`]), which reads every group through its own strides (no
/// transposition copies).
///
/// # Safety
/// `a`, `b` must be valid for reads and `c` for writes at every offset the
/// dims address, and `c` must overlap neither input nor itself; the
/// epilogue as in [`Contraction::run_with_epilogue`]. The extents of C's
/// dims (batch, M, N) must have a product that fits in `usize` (an output
/// that exists, or is empty).
pub unsafe fn contract_gemm<T: Element>(
    dims: &GemmDims,
    a: *const T,
    b: *const T,
    c: *mut T,
    epilogue: Option<&Epilogue<'_>>,
) -> Result<bool, Error> {
    let extent = |ds: &[Dim]| checked_size(&ds.iter().map(|d| d.len).collect::<Vec<_>>());
    let (rows, cols) = (extent(&dims.m), extent(&dims.n));
    if rows == Some(1) || cols == Some(1) {
        // A dot product or a matrix-vector product: memory-bound, nothing
        // to gain from packing, and the sum-of-products nest's pairwise
        // accumulators keep long sums as accurate as NumPy's.
        // SAFETY: forwarded.
        unsafe { contract_sop(dims, a, b, c) };
        return Ok(false);
    }
    if !dims.sum_a.is_empty() || !dims.sum_b.is_empty() {
        let mut dims = dims.clone();
        // SAFETY: forwarded; each temporary holds the summed-out operand
        // and lives until the contraction below has read it.
        let ta = unsafe { sum_out(&mut dims, 0, a) }?;
        let tb = unsafe { sum_out(&mut dims, 1, b) }?;
        let pa = ta.as_ref().map_or(a, |t| t.as_ptr());
        let pb = tb.as_ref().map_or(b, |t| t.as_ptr());
        // SAFETY: the dims now address the temporaries where they exist.
        return unsafe { contract_gemm(&dims, pa, pb, c, epilogue) };
    }
    let contraction = Contraction {
        batch: dims
            .batch
            .iter()
            .map(|d| BatchDim {
                len: d.len,
                stride_a: d.strides[0],
                stride_b: d.strides[1],
                stride_c: d.strides[2],
            })
            .collect(),
        m: dims
            .m
            .iter()
            .map(|d| MDim {
                len: d.len,
                stride_a: d.strides[0],
                stride_c: d.strides[2],
            })
            .collect(),
        n: dims
            .n
            .iter()
            .map(|d| NDim {
                len: d.len,
                stride_b: d.strides[1],
                stride_c: d.strides[2],
            })
            .collect(),
        k: dims
            .k
            .iter()
            .map(|d| KDim {
                len: d.len,
                stride_a: d.strides[0],
                stride_b: d.strides[1],
            })
            .collect(),
    };
    // SAFETY (all arms): `T::DTYPE` names `T` itself, so the casts are
    // identities; the address contract is the caller's.
    unsafe {
        match T::DTYPE {
            DType::F32 => run_as::<f32, T>(&contraction, a, b, c, epilogue),
            DType::F64 => run_as::<f64, T>(&contraction, a, b, c, epilogue),
            DType::I32 => run_as::<i32, T>(&contraction, a, b, c, epilogue),
            DType::I64 => run_as::<i64, T>(&contraction, a, b, c, epilogue),
        }
    }
    Ok(epilogue.is_some())
}

/// [`Contraction::run`] with `alpha = 1, beta = 0` on `T`'s pointers seen as
/// `G`'s.
///
/// # Safety
/// `G` and `T` must be the same type; as [`Contraction::run`] otherwise.
unsafe fn run_as<G: GemmScalar, T>(
    contraction: &Contraction,
    a: *const T,
    b: *const T,
    c: *mut T,
    epilogue: Option<&Epilogue<'_>>,
) {
    let (a, b, c) = (a.cast::<G>(), b.cast::<G>(), c.cast::<G>());
    // SAFETY: forwarded.
    unsafe {
        match epilogue {
            Some(e) => contraction.run_with_epilogue(G::ONE, a, b, G::ZERO, c, e),
            None => contraction.run(G::ONE, a, b, G::ZERO, c),
        }
    }
}

/// Sums operand `which` (0 = A, 1 = B) over its own summed labels into a
/// fresh C-order array over its other dims (batch, then M or N, then K),
/// and points those dims at it. `None` when there is nothing to sum; an
/// error when the temporary cannot be had.
///
/// # Safety
/// `ptr` must be valid for reads at every offset the operand's dims address.
unsafe fn sum_out<T: Element>(
    dims: &mut GemmDims,
    which: usize,
    ptr: *const T,
) -> Result<Option<Array<T>>, Error> {
    let summed = std::mem::take(if which == 0 {
        &mut dims.sum_a
    } else {
        &mut dims.sum_b
    });
    if summed.is_empty() {
        return Ok(None);
    }
    let free = if which == 0 { &mut dims.m } else { &mut dims.n };
    let mut kept: Vec<&mut super::Dim> = dims
        .batch
        .iter_mut()
        .chain(free.iter_mut())
        .chain(dims.k.iter_mut())
        .collect();
    let shape: Vec<usize> = kept.iter().map(|d| d.len).collect();
    let lens: Vec<usize> = shape
        .iter()
        .copied()
        .chain(summed.iter().map(|d| d.len))
        .collect();
    let strides: Vec<isize> = kept
        .iter()
        .map(|d| d.strides[which])
        .chain(summed.iter().map(|d| d.strides[which]))
        .collect();
    // SAFETY: `sum_of_products` writes every element.
    let mut t = unsafe { Array::<T>::try_uninit(&shape, Order::C) }?;
    let operand = SopOperand {
        ptr,
        strides: &strides,
    };
    // SAFETY: the operand's strides address what the caller vouched for;
    // `t` is fresh, C order, shaped by the kept dims.
    unsafe { sum_of_products(&lens, t.as_mut_ptr(), t.strides(), &[operand]) };
    for (d, &s) in kept.iter_mut().zip(t.strides()) {
        d.strides[which] = s;
    }
    Ok(Some(t))
}

/// [`contract_gemm`] as one [`sum_of_products`] nest over every dim.
///
/// # Safety
/// As [`contract_gemm`].
unsafe fn contract_sop<T: Element>(dims: &GemmDims, a: *const T, b: *const T, c: *mut T) {
    let out_dims = dims.batch.iter().chain(&dims.m).chain(&dims.n);
    let summed = dims.k.iter().chain(&dims.sum_a).chain(&dims.sum_b);
    let all: Vec<_> = out_dims.clone().chain(summed).collect();
    let lens: Vec<usize> = all.iter().map(|d| d.len).collect();
    let cs: Vec<isize> = out_dims.map(|d| d.strides[2]).collect();
    let sa: Vec<isize> = all.iter().map(|d| d.strides[0]).collect();
    let sb: Vec<isize> = all.iter().map(|d| d.strides[1]).collect();
    let ops = [
        SopOperand {
            ptr: a,
            strides: &sa,
        },
        SopOperand {
            ptr: b,
            strides: &sb,
        },
    ];
    // SAFETY: forwarded to the caller; dims a tensor lacks have stride 0.
    unsafe { sum_of_products(&lens, c, &cs, &ops) };
}

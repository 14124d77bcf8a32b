//! Binding an [`Equation`] to run-time shapes: one size per label.
//!
//! NumPy's rules, checked against `numpy.einsum` 2.4:
//!
//! * the axes of a label repeated within one operand (a diagonal) must have
//!   exactly equal sizes — no broadcasting there (`"ii->i"` on a 3×1 array
//!   is an error);
//! * across operands a label's sizes must agree, except that size 1
//!   broadcasts against any size, including 0 (`"ij,jk->ik"` with `j` of
//!   size 1 in one operand and 3 in the other sums over 3, reading the
//!   size-1 operand with stride 0);
//! * `...` dimensions are right-aligned and follow the same size-1 rule.

use einkern_runtime::Error;

use super::equation::{unique, Equation};
use super::parse::Label;

/// The size of every label of an equation, sorted by label.
///
/// `Hash + Eq` on purpose: everything size-dependent (the contraction path,
/// blocking) is a pure function of this, so a caller caches plans keyed on it.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
pub struct LabelSizes(Vec<(Label, usize)>);

impl LabelSizes {
    /// Sizes from `(label, size)` pairs; a later pair for the same label wins.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Label, usize)>) -> Self {
        let mut sizes = LabelSizes::default();
        for (l, n) in pairs {
            sizes.set(l, n);
        }
        sizes
    }

    /// Sets the size of `label`.
    pub fn set(&mut self, label: Label, size: usize) {
        match self.0.binary_search_by_key(&label, |&(l, _)| l) {
            Ok(i) => self.0[i].1 = size,
            Err(i) => self.0.insert(i, (label, size)),
        }
    }

    /// The size of `label`, if known.
    pub fn get(&self, label: Label) -> Option<usize> {
        self.0
            .binary_search_by_key(&label, |&(l, _)| l)
            .ok()
            .map(|i| self.0[i].1)
    }

    /// The size of `label`.
    ///
    /// # Panics
    /// If the label has no size: a planner bug, not a user error.
    pub fn size(&self, label: Label) -> usize {
        self.get(label)
            .unwrap_or_else(|| panic!("no size bound for {label}"))
    }

    /// The number of elements spanned by `labels` (saturating; a `u128` so
    /// flop counts of large contractions do not wrap).
    pub fn volume(&self, labels: &[Label]) -> u128 {
        labels
            .iter()
            .fold(1u128, |acc, &l| acc.saturating_mul(self.size(l) as u128))
    }

    /// All `(label, size)` pairs, sorted by label.
    pub fn iter(&self) -> impl Iterator<Item = (Label, usize)> + '_ {
        self.0.iter().copied()
    }
}

/// Where one label of one operand lives.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LabelAxes {
    /// The label.
    pub label: Label,
    /// The operand axes that carry it: more than one for a diagonal, whose
    /// effective stride is the sum of these axes' strides.
    pub axes: Vec<usize>,
    /// The operand has size 1 here but the label is larger: read with stride 0.
    pub broadcast: bool,
}

/// An equation bound to concrete shapes.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Bound {
    sizes: LabelSizes,
    operands: Vec<Vec<LabelAxes>>,
    output_shape: Vec<usize>,
}

impl Bound {
    /// The size of every label.
    pub fn sizes(&self) -> &LabelSizes {
        &self.sizes
    }

    /// Operand `k`'s distinct labels in first-appearance order, with their axes.
    pub fn operand(&self, k: usize) -> &[LabelAxes] {
        &self.operands[k]
    }

    /// The shape of the result.
    pub fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }

    /// Operand `k`'s stride per distinct label, given the operand's axis
    /// strides: diagonal axes add, broadcast labels get stride 0. This is the
    /// `(label, stride)` list the kernels iterate with.
    ///
    /// # Panics
    /// If `strides` does not have one entry per axis of operand `k`.
    pub fn label_strides(&self, k: usize, strides: &[isize]) -> Vec<(Label, isize)> {
        let rank: usize = self.operands[k].iter().map(|a| a.axes.len()).sum();
        assert_eq!(strides.len(), rank, "one stride per axis of operand {k}");
        self.operands[k]
            .iter()
            .map(|a| {
                // A diagonal's strides add. The sum fits whenever the
                // label is longer than 1 (the view's byte span bounds each
                // stride times its length minus one); over length 1 the
                // stride is never multiplied by a nonzero index, so 0
                // stands in for a sum that overflows there.
                let stride = if a.broadcast {
                    0
                } else {
                    (a.axes.iter())
                        .try_fold(0isize, |acc, &ax| acc.checked_add(strides[ax]))
                        .unwrap_or(0)
                };
                (a.label, stride)
            })
            .collect()
    }
}

impl Equation {
    /// Binds the equation to the operands' shapes.
    ///
    /// Errors (as [`Error::Shape`]) name the operand, the label and both sizes.
    pub fn bind(&self, shapes: &[&[usize]]) -> Result<Bound, Error> {
        if shapes.len() != self.operand_count() {
            return Err(Error::shape(format!(
                "the equation has {} operands, but {} shapes were given",
                self.operand_count(),
                shapes.len()
            )));
        }
        // (size, operand that set it) per label.
        let mut found: Vec<(Label, usize, usize)> = Vec::new();
        let mut operands = Vec::with_capacity(shapes.len());
        for (k, (labels, shape)) in self.inputs().iter().zip(shapes).enumerate() {
            if labels.len() != shape.len() {
                return Err(Error::shape(format!(
                    "operand {k} has shape {shape:?} ({} dimensions), but its subscripts expect {}",
                    shape.len(),
                    labels.len()
                )));
            }
            let mut axes_of = Vec::new();
            for label in unique(labels) {
                let axes: Vec<usize> = (0..labels.len()).filter(|&a| labels[a] == label).collect();
                let size = shape[axes[0]];
                if let Some(&other) = axes.iter().find(|&&a| shape[a] != size) {
                    return Err(Error::shape(format!(
                        "operand {k} has sizes {size} and {} for the repeated {label} (axes {} and {other}); \
                         the axes of a diagonal must have equal sizes",
                        shape[other], axes[0]
                    )));
                }
                match found.iter_mut().find(|(l, _, _)| *l == label) {
                    None => found.push((label, size, k)),
                    Some((_, known, owner)) => {
                        if *known == 1 {
                            *known = size;
                            *owner = k;
                        } else if size != *known && size != 1 {
                            return Err(Error::shape(format!(
                                "operand {k} has size {size} for {label}, but operand {owner} has size {known}"
                            )));
                        }
                    }
                }
                axes_of.push(LabelAxes {
                    label,
                    axes,
                    broadcast: false,
                });
            }
            operands.push(axes_of);
        }
        let sizes = LabelSizes::from_pairs(found.iter().map(|&(l, n, _)| (l, n)));
        for (axes_of, shape) in operands.iter_mut().zip(shapes) {
            for a in axes_of.iter_mut() {
                a.broadcast = shape[a.axes[0]] == 1 && sizes.size(a.label) != 1;
            }
        }
        let output_shape = self.output().iter().map(|&l| sizes.size(l)).collect();
        Ok(Bound {
            sizes,
            operands,
            output_shape,
        })
    }
}

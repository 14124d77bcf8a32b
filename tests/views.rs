//! Property tests of every view operation against a naive model.
//!
//! The model of a view is `(offset, shape, strides)` over the flat buffer of
//! the array it was made from: the element at multi-index `i` is
//! `buf[offset + Σ i_k·strides_k]`. Every operation is re-implemented here on
//! the model, as plainly as possible (Python's slice rules by building the
//! index list, NumPy's no-copy reshape rule by brute force over all
//! elements), and einkern's views must agree with it on shape, strides,
//! elements, contiguity flags, aliasing and errors.
//!
//! A second part replays chains that real NumPy evaluated
//! (`tests/fixtures/views/make_cases.py` → `cases.txt`).

// The model is written with plain index loops on purpose.
#![allow(clippy::needless_range_loop)]

use einkern::*;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------- the model

#[derive(Clone, Debug, PartialEq)]
struct Model {
    off: isize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

fn naive_size(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Every multi-index of `shape`, the last axis fastest (C order).
fn c_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if shape.contains(&0) {
        return out;
    }
    let mut idx = vec![0usize; shape.len()];
    loop {
        out.push(idx.clone());
        let mut k = shape.len();
        loop {
            if k == 0 {
                return out;
            }
            k -= 1;
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
}

/// Every multi-index of `shape`, the first axis fastest (F order).
fn f_indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let rev: Vec<usize> = shape.iter().rev().copied().collect();
    c_indices(&rev)
        .into_iter()
        .map(|i| i.into_iter().rev().collect())
        .collect()
}

/// The multi-index of C-order position `flat` in `shape`.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for k in (0..shape.len()).rev() {
        idx[k] = flat % shape[k];
        flat /= shape[k];
    }
    idx
}

/// Strides of a fresh contiguous array (a length-0 axis counts as 1).
fn naive_strides(shape: &[usize], f_order: bool) -> Vec<isize> {
    let n = shape.len();
    let mut s = vec![0isize; n];
    for (k, sk) in s.iter_mut().enumerate() {
        let later: Vec<usize> = if f_order {
            shape[..k].to_vec()
        } else {
            shape[k + 1..].to_vec()
        };
        *sk = later.iter().map(|&d| d.max(1)).product::<usize>() as isize;
    }
    s
}

/// The flag rule, written plainly: empty, or every axis longer than 1 has
/// the stride equal to the product of the lengths of the faster axes.
fn naive_c_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    if naive_size(shape) == 0 {
        return true;
    }
    for k in 0..shape.len() {
        if shape[k] > 1 {
            let later: usize = shape[k + 1..].iter().product();
            if strides[k] != later as isize {
                return false;
            }
        }
    }
    true
}

fn naive_f_contiguous(shape: &[usize], strides: &[isize]) -> bool {
    let rs: Vec<usize> = shape.iter().rev().copied().collect();
    let rt: Vec<isize> = strides.iter().rev().copied().collect();
    naive_c_contiguous(&rs, &rt)
}

impl Model {
    fn base(shape: &[usize], f_order: bool) -> Self {
        Model {
            off: 0,
            shape: shape.to_vec(),
            strides: naive_strides(shape, f_order),
        }
    }
    fn len(&self) -> usize {
        naive_size(&self.shape)
    }
    fn at(&self, idx: &[usize]) -> isize {
        let mut o = self.off;
        for k in 0..idx.len() {
            o += idx[k] as isize * self.strides[k];
        }
        o
    }
    fn gather<T: Copy>(&self, buf: &[T]) -> Vec<T> {
        c_indices(&self.shape)
            .iter()
            .map(|i| buf[self.at(i) as usize])
            .collect()
    }
}

/// Python's `range(len)[start:end:step]`, by walking the range.
fn py_slice(start: Option<isize>, end: Option<isize>, step: isize, len: usize) -> Vec<isize> {
    let n = len as isize;
    let mut out = Vec::new();
    if step > 0 {
        let norm = |b: isize| (if b < 0 { b + n } else { b }).clamp(0, n);
        let (s, e) = (start.map_or(0, norm), end.map_or(n, norm));
        let mut i = s;
        while i < e {
            out.push(i);
            match i.checked_add(step) {
                Some(next) => i = next,
                None => break,
            }
        }
    } else {
        let norm = |b: isize| (if b < 0 { b + n } else { b }).clamp(-1, n - 1);
        let (s, e) = (start.map_or(n - 1, norm), end.map_or(-1, norm));
        let mut i = s;
        while i > e {
            out.push(i);
            match i.checked_add(step) {
                Some(next) => i = next,
                None => break,
            }
        }
    }
    out
}

#[derive(Clone, Debug)]
enum Op {
    Slice(Vec<SliceElem>),
    T,
    Permute(Vec<usize>),
    InsertAxis(usize),
    Squeeze,
    Reshape(Vec<usize>),
    Broadcast(Vec<usize>),
    Window(Vec<usize>),
    Diagonal,
}

impl Op {
    fn writable(&self) -> bool {
        !matches!(self, Op::Broadcast(_) | Op::Window(_))
    }
}

/// The model's answer: `None` where einkern must return an error.
fn model_apply(m: &Model, op: &Op) -> Option<Model> {
    let nd = m.shape.len();
    match op {
        Op::Slice(elems) => {
            let used = elems
                .iter()
                .filter(|e| !matches!(e, SliceElem::NewAxis))
                .count();
            if used > nd {
                return None;
            }
            let mut out = Model {
                off: m.off,
                shape: vec![],
                strides: vec![],
            };
            let mut axis = 0;
            for e in elems {
                match *e {
                    SliceElem::NewAxis => {
                        out.shape.push(1);
                        out.strides.push(0);
                    }
                    SliceElem::Index(i) => {
                        let n = m.shape[axis] as isize;
                        let j = if i < 0 { i + n } else { i };
                        if !(0..n).contains(&j) {
                            return None;
                        }
                        out.off += j * m.strides[axis];
                        axis += 1;
                    }
                    SliceElem::IndexOutOfRange(_) => return None,
                    SliceElem::Range { start, end, step } => {
                        if step == 0 {
                            return None;
                        }
                        let list = py_slice(start, end, step, m.shape[axis]);
                        if let Some(&first) = list.first() {
                            out.off += first * m.strides[axis];
                        }
                        out.shape.push(list.len());
                        // A step so large that this overflows leaves at most
                        // one element, whose stride addresses nothing.
                        let stride = m.strides[axis].checked_mul(step);
                        assert!(stride.is_some() || list.len() <= 1 || m.len() == 0);
                        out.strides.push(stride.unwrap_or(0));
                        axis += 1;
                    }
                }
            }
            out.shape.extend_from_slice(&m.shape[axis..]);
            out.strides.extend_from_slice(&m.strides[axis..]);
            Some(out)
        }
        Op::T => Some(Model {
            off: m.off,
            shape: m.shape.iter().rev().copied().collect(),
            strides: m.strides.iter().rev().copied().collect(),
        }),
        Op::Permute(p) => {
            let mut sorted = p.clone();
            sorted.sort();
            if sorted != (0..nd).collect::<Vec<_>>() {
                return None;
            }
            Some(Model {
                off: m.off,
                shape: p.iter().map(|&a| m.shape[a]).collect(),
                strides: p.iter().map(|&a| m.strides[a]).collect(),
            })
        }
        Op::InsertAxis(a) => {
            if *a > nd {
                return None;
            }
            let mut out = m.clone();
            out.shape.insert(*a, 1);
            out.strides.insert(*a, 0);
            Some(out)
        }
        Op::Squeeze => {
            let keep: Vec<usize> = (0..nd).filter(|&k| m.shape[k] != 1).collect();
            Some(Model {
                off: m.off,
                shape: keep.iter().map(|&k| m.shape[k]).collect(),
                strides: keep.iter().map(|&k| m.strides[k]).collect(),
            })
        }
        Op::Reshape(new) => {
            if naive_size(new) != m.len() {
                return None;
            }
            if m.len() == 0 {
                return Some(Model {
                    off: m.off,
                    shape: new.clone(),
                    strides: naive_strides(new, false),
                });
            }
            // A view exists iff some strides reproduce, for every element,
            // the offset of the old element at the same C-order position.
            // Moving one step along new axis k from the origin fixes stride k.
            let old_at = |flat: usize| m.at(&unravel(flat, &m.shape));
            let mut strides = vec![0isize; new.len()];
            for k in 0..new.len() {
                if new[k] > 1 {
                    let step: usize = new[k + 1..].iter().product();
                    strides[k] = old_at(step) - m.off;
                }
            }
            let cand = Model {
                off: m.off,
                shape: new.clone(),
                strides,
            };
            for (flat, idx) in c_indices(new).iter().enumerate() {
                if cand.at(idx) != old_at(flat) {
                    return None;
                }
            }
            Some(cand)
        }
        Op::Broadcast(target) => {
            if target.len() < nd {
                return None;
            }
            let lead = target.len() - nd;
            let mut strides = vec![0isize; target.len()];
            for k in 0..nd {
                let (d, t) = (m.shape[k], target[lead + k]);
                if d == t {
                    strides[lead + k] = m.strides[k];
                } else if d != 1 {
                    return None;
                }
            }
            Some(Model {
                off: m.off,
                shape: target.clone(),
                strides,
            })
        }
        Op::Window(w) => {
            if w.len() != nd || (0..nd).any(|k| w[k] > m.shape[k]) {
                return None;
            }
            let mut shape: Vec<usize> = (0..nd).map(|k| m.shape[k] - w[k] + 1).collect();
            shape.extend_from_slice(w);
            let mut strides = m.strides.clone();
            strides.extend_from_slice(&m.strides);
            Some(Model {
                off: m.off,
                shape,
                strides,
            })
        }
        Op::Diagonal => {
            if nd < 2 {
                return None;
            }
            let mut shape = m.shape[2..].to_vec();
            let mut strides = m.strides[2..].to_vec();
            shape.push(m.shape[0].min(m.shape[1]));
            // Overflows only when the diagonal has at most one element.
            strides.push(m.strides[0].wrapping_add(m.strides[1]));
            Some(Model {
                off: m.off,
                shape,
                strides,
            })
        }
    }
}

fn view_apply<'a>(v: &ArrayView<'a, i64>, op: &Op) -> Result<ArrayView<'a, i64>, Error> {
    match op {
        Op::Slice(e) => v.slice(SliceInfo::new(e.clone())),
        Op::T => Ok(v.t()),
        Op::Permute(p) => v.permute_axes(p),
        Op::InsertAxis(a) => v.insert_axis(*a),
        Op::Squeeze => Ok(v.squeeze()),
        Op::Reshape(s) => v.reshape(s),
        Op::Broadcast(s) => v.broadcast_to(s),
        Op::Window(w) => v.sliding_window(w),
        Op::Diagonal => v.diagonal(),
    }
}

fn mut_apply<'a>(v: ArrayViewMut<'a, i64>, op: &Op) -> Result<ArrayViewMut<'a, i64>, Error> {
    match op {
        Op::Slice(e) => v.slice(SliceInfo::new(e.clone())),
        Op::T => Ok(v.t()),
        Op::Permute(p) => v.permute_axes(p),
        Op::InsertAxis(a) => v.insert_axis(*a),
        Op::Squeeze => Ok(v.squeeze()),
        Op::Reshape(s) => v.reshape(s),
        Op::Diagonal => v.diagonal(),
        Op::Broadcast(_) | Op::Window(_) => unreachable!("not an operation of mutable views"),
    }
}

// ------------------------------------------------------------ generators

fn gen_shape(rng: &mut StdRng) -> Vec<usize> {
    let nd = rng.random_range(0..=5usize);
    let max = if nd >= 4 { 3 } else { 5 };
    (0..nd)
        .map(|_| match rng.random_range(0..10) {
            0 => 0,
            1 | 2 => 1,
            _ => rng.random_range(2..=max),
        })
        .collect()
}

/// A uniform `isize` in `lo..=hi` (rand samples no `isize`).
fn irange(rng: &mut StdRng, lo: isize, hi: isize) -> isize {
    rng.random_range(lo as i64..=hi as i64) as isize
}

fn gen_bound(rng: &mut StdRng, len: usize) -> Option<isize> {
    let n = len as isize;
    if rng.random_bool(0.35) {
        None
    } else if rng.random_ratio(1, 25) {
        Some([isize::MIN, isize::MIN + 1, isize::MAX - 1, isize::MAX][rng.random_range(0..4)])
    } else {
        Some(irange(rng, -n - 2, n + 2))
    }
}

fn gen_slice(rng: &mut StdRng, shape: &[usize], allow_err: bool) -> Vec<SliceElem> {
    let nd = shape.len();
    let mut used = rng.random_range(0..=nd);
    if allow_err && rng.random_ratio(1, 25) {
        used = nd + 1;
    }
    let mut elems = Vec::new();
    for axis in 0..used {
        if rng.random_ratio(1, 6) {
            elems.push(SliceElem::NewAxis);
        }
        let len = shape.get(axis).copied().unwrap_or(3);
        let n = len as isize;
        let roll = rng.random_range(0..10);
        if roll < 2 && (len > 0 || allow_err) {
            let i = if allow_err && rng.random_ratio(1, 10) {
                if rng.random_bool(0.5) {
                    n
                } else {
                    -n - 1
                }
            } else if n > 0 {
                irange(rng, -n, n - 1)
            } else {
                0
            };
            elems.push(SliceElem::Index(i));
        } else {
            let steps = [1, 1, 1, 2, 3, -1, -1, -2, -3];
            let mut step = steps[rng.random_range(0..steps.len())];
            if allow_err && rng.random_ratio(1, 30) {
                step = 0;
            } else if rng.random_ratio(1, 30) {
                step =
                    [isize::MIN, -isize::MAX, isize::MAX / 3, isize::MAX][rng.random_range(0..4)];
            }
            elems.push(SliceElem::Range {
                start: gen_bound(rng, len),
                end: gen_bound(rng, len),
                step,
            });
        }
    }
    if rng.random_ratio(1, 6) {
        elems.push(SliceElem::NewAxis);
    }
    elems
}

fn gen_perm(rng: &mut StdRng, nd: usize, allow_err: bool) -> Vec<usize> {
    let mut p: Vec<usize> = (0..nd).collect();
    for i in (1..nd).rev() {
        let j = rng.random_range(0..=i);
        p.swap(i, j);
    }
    if allow_err && rng.random_ratio(1, 8) {
        match rng.random_range(0..3) {
            0 if nd >= 2 => p[0] = p[1],
            1 => p.push(nd),
            _ => {
                p.pop();
            }
        }
    }
    p
}

/// A random shape with `n` elements (or, rarely, a wrong count).
fn gen_reshape(rng: &mut StdRng, shape: &[usize], allow_err: bool) -> Vec<usize> {
    let n = naive_size(shape);
    let mut factors = Vec::new();
    if n == 0 {
        factors.push(0);
        for _ in 0..rng.random_range(0..3) {
            factors.push(rng.random_range(1..4));
        }
    } else {
        let mut r = n;
        let mut p = 2;
        while r > 1 {
            while r % p == 0 {
                factors.push(p);
                r /= p;
            }
            p += 1;
        }
    }
    // Shuffle the prime factors, then group neighbours at random.
    for i in (1..factors.len()).rev() {
        let j = rng.random_range(0..=i);
        factors.swap(i, j);
    }
    let mut out: Vec<usize> = Vec::new();
    for f in factors {
        match out.last_mut() {
            Some(last) if rng.random_bool(0.4) => *last *= f,
            _ => out.push(f),
        }
    }
    for _ in 0..rng.random_range(0..=2) {
        let at = rng.random_range(0..=out.len());
        out.insert(at, 1);
    }
    // Keep the original axis order sometimes, so that splitting and merging
    // the existing axes (the view cases) come up often.
    if rng.random_bool(0.3) && n > 0 {
        out = shape.iter().copied().filter(|&d| d != 1).collect();
        if out.len() >= 2 && rng.random_bool(0.5) {
            let k = rng.random_range(0..out.len() - 1);
            let merged = out[k] * out[k + 1];
            out.splice(k..k + 2, [merged]);
        }
    }
    if allow_err && rng.random_ratio(1, 12) {
        out.push(2);
        if n == 0 {
            out = vec![1];
        }
    }
    out
}

fn gen_broadcast(rng: &mut StdRng, shape: &[usize], allow_err: bool) -> Vec<usize> {
    let mut t: Vec<usize> = (0..rng.random_range(0..=2))
        .map(|_| rng.random_range(0..=3))
        .collect();
    t.extend(
        shape
            .iter()
            .map(|&d| if d == 1 { rng.random_range(0..=3) } else { d }),
    );
    if allow_err && rng.random_ratio(1, 8) {
        let lead = t.len() - shape.len();
        match shape.iter().position(|&d| d != 1) {
            Some(k) if rng.random_bool(0.7) => t[lead + k] = shape[k] + 1,
            _ if !shape.is_empty() => {
                t = shape[1..].to_vec();
            }
            _ => {}
        }
    }
    t
}

fn gen_window(rng: &mut StdRng, shape: &[usize], allow_err: bool) -> Vec<usize> {
    let mut w: Vec<usize> = shape.iter().map(|&d| rng.random_range(0..=d)).collect();
    if allow_err && rng.random_ratio(1, 8) {
        if !shape.is_empty() && rng.random_bool(0.6) {
            let k = rng.random_range(0..shape.len());
            w[k] = shape[k] + 1;
        } else {
            w.push(1);
        }
    }
    w
}

/// A random operation that makes sense (mostly) for a view of `m`; `None`
/// when the drawn kind would make the view too large to check quickly.
fn gen_op(rng: &mut StdRng, m: &Model, writable: bool) -> Op {
    let nd = m.shape.len();
    loop {
        let op = match rng.random_range(0..9) {
            0 | 1 => Op::Slice(gen_slice(rng, &m.shape, true)),
            2 => Op::T,
            3 => Op::Permute(gen_perm(rng, nd, true)),
            4 => {
                if rng.random_bool(0.5) {
                    Op::Squeeze
                } else {
                    let extra = usize::from(rng.random_ratio(1, 10));
                    Op::InsertAxis(rng.random_range(0..=nd + extra))
                }
            }
            5 => Op::Reshape(gen_reshape(rng, &m.shape, true)),
            6 => Op::Broadcast(gen_broadcast(rng, &m.shape, true)),
            7 => Op::Window(gen_window(rng, &m.shape, true)),
            _ => Op::Diagonal,
        };
        if writable && !op.writable() {
            continue;
        }
        // Keep views small enough to check element by element.
        if let Some(next) = model_apply(m, &op) {
            if next.len() > 3000 || next.shape.len() > 8 {
                continue;
            }
        }
        return op;
    }
}

// ------------------------------------------------------------- the checks

fn base_array(shape: &[usize], f_order: bool) -> Array<i64> {
    let mut flat = 0i64;
    let a = Array::from_fn(shape, |_| {
        flat += 1;
        flat * 10
    });
    if f_order {
        a.to_order(Order::F)
    } else {
        a
    }
}

/// Everything a read-only view must agree on with its model.
fn check_view(
    v: &ArrayView<'_, i64>,
    m: &Model,
    buf: &[i64],
    base: *const i64,
    rng: &mut StdRng,
    ctx: &str,
) {
    assert_eq!(v.shape(), &m.shape[..], "shape; {ctx}");
    assert_eq!(v.ndim(), m.shape.len(), "ndim; {ctx}");
    assert_eq!(v.len(), m.len(), "len; {ctx}");
    assert_eq!(v.is_empty(), m.len() == 0, "is_empty; {ctx}");
    if m.len() > 0 {
        // A length-1 axis's stride never addresses memory; every other
        // stride is determined by the operation.
        for k in 0..m.shape.len() {
            if m.shape[k] != 1 {
                assert_eq!(v.strides()[k], m.strides[k], "stride {k}; {ctx}");
            }
        }
        assert_eq!(v.as_ptr(), base.wrapping_offset(m.off), "origin; {ctx}");
    }
    let want = m.gather(buf);
    assert_eq!(v.to_vec(), want, "to_vec; {ctx}");
    assert_eq!(v.iter().collect::<Vec<_>>(), want, "iter; {ctx}");
    assert_eq!(v.iter().len(), want.len(), "iter len; {ctx}");
    let c = naive_c_contiguous(&m.shape, &m.strides);
    let f = naive_f_contiguous(&m.shape, &m.strides);
    assert_eq!(v.is_c_contiguous(), c, "C flag; {ctx}");
    assert_eq!(v.is_f_contiguous(), f, "F flag; {ctx}");
    match v.as_slice() {
        Some(s) => {
            assert!(c, "as_slice on a non-contiguous view; {ctx}");
            assert_eq!(s, &want[..], "as_slice; {ctx}");
        }
        None => assert!(!c, "as_slice None on a contiguous view; {ctx}"),
    }
    // get: random in-bounds indices, then out-of-bounds ones.
    if m.len() > 0 {
        for _ in 0..4 {
            let idx: Vec<usize> = m.shape.iter().map(|&d| rng.random_range(0..d)).collect();
            assert_eq!(
                v.get(&idx),
                Some(buf[m.at(&idx) as usize]),
                "get {idx:?}; {ctx}"
            );
        }
    }
    if !m.shape.is_empty() {
        let mut idx: Vec<usize> = m.shape.iter().map(|&d| d.saturating_sub(1)).collect();
        let k = rng.random_range(0..m.shape.len());
        idx[k] = m.shape[k] + rng.random_range(0..3);
        assert_eq!(v.get(&idx), None, "get {idx:?} out of bounds; {ctx}");
    }
    let mut long: Vec<usize> = vec![0; m.shape.len() + 1];
    assert_eq!(v.get(&long), None, "get with too many axes; {ctx}");
    long.truncate(m.shape.len().saturating_sub(1));
    if !m.shape.is_empty() {
        assert_eq!(v.get(&long), None, "get with too few axes; {ctx}");
    }
    // Copies.
    let c_copy = v.to_owned();
    assert_eq!(c_copy.shape(), &m.shape[..], "to_owned shape; {ctx}");
    assert!(c_copy.is_c_contiguous(), "to_owned is C; {ctx}");
    assert_eq!(c_copy.as_slice_memory_order(), &want[..], "to_owned; {ctx}");
    let f_copy = v.to_order(Order::F);
    assert_eq!(f_copy.shape(), &m.shape[..], "to_order(F) shape; {ctx}");
    assert!(f_copy.is_f_contiguous(), "to_order(F) is F; {ctx}");
    let f_want: Vec<i64> = f_indices(&m.shape)
        .iter()
        .map(|i| buf[m.at(i) as usize])
        .collect();
    assert_eq!(
        f_copy.as_slice_memory_order(),
        &f_want[..],
        "to_order(F) memory; {ctx}"
    );
    assert_eq!(f_copy.to_vec(), want, "to_order(F) logical; {ctx}");
}

/// Applies a random chain of read-only operations and checks every step.
fn run_view_chain(shape: &[usize], f_order: bool, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let a = base_array(shape, f_order);
    let buf = a.as_slice_memory_order().to_vec();
    let mut m = Model::base(shape, f_order);
    let mut v = a.view();
    let mut ctx = format!("base {shape:?} {}", if f_order { "F" } else { "C" });
    check_view(&v, &m, &buf, a.as_ptr(), &mut rng, &ctx);
    for _ in 0..steps {
        let op = gen_op(&mut rng, &m, false);
        ctx.push_str(&format!(" -> {op:?}"));
        match (model_apply(&m, &op), view_apply(&v, &op)) {
            (Some(next), Ok(w)) => {
                m = next;
                v = w;
                check_view(&v, &m, &buf, a.as_ptr(), &mut rng, &ctx);
            }
            (None, Err(_)) => {}
            (Some(next), Err(e)) => {
                panic!("einkern refused a valid operation ({e}); model {next:?}; {ctx}")
            }
            (None, Ok(w)) => panic!("einkern accepted an invalid operation: {w:?}; {ctx}"),
        }
    }
}

/// A random source that broadcasts to `shape` (or, rarely, one that does not).
fn gen_src(rng: &mut StdRng, shape: &[usize]) -> (Vec<usize>, bool) {
    let drop = rng.random_range(0..=shape.len());
    let mut s: Vec<usize> = shape[drop..]
        .iter()
        .map(|&d| if rng.random_ratio(1, 3) { 1 } else { d })
        .collect();
    let mut ok = true;
    if rng.random_ratio(1, 10) {
        if let Some(k) = s.iter().position(|&d| d > 0) {
            s[k] += 1;
            ok = s[k] == 1 || shape[drop + k] == s[k];
        }
    }
    (s, ok)
}

/// Applies a random chain of operations to an exclusive view, writes through
/// it, and compares the whole base buffer with the model doing the same.
fn run_mut_chain(shape: &[usize], f_order: bool, seed: u64, steps: usize) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut a = base_array(shape, f_order);
    let mut buf = a.as_slice_memory_order().to_vec();
    let base_ptr = a.as_ptr();
    let mut m = Model::base(shape, f_order);
    let mut ctx = format!("base {shape:?} {}", if f_order { "F" } else { "C" });
    let mut v = a.view_mut();
    for _ in 0..steps {
        let op = gen_op(&mut rng, &m, true);
        let want = model_apply(&m, &op);
        ctx.push_str(&format!(" -> {op:?}"));
        // A failed operation consumes the view; start again from the last
        // good geometry through a reborrow.
        let attempt = mut_apply(v.reborrow(), &op);
        match (want, attempt) {
            (Some(next), Ok(w)) => {
                m = next;
                // SAFETY-free re-shaping: `w` borrows from `v`; move on from it.
                let (shape_w, strides_w) = (w.shape().to_vec(), w.strides().to_vec());
                assert_eq!(shape_w, m.shape, "shape; {ctx}");
                if m.len() > 0 {
                    for k in 0..m.shape.len() {
                        if m.shape[k] != 1 {
                            assert_eq!(strides_w[k], m.strides[k], "stride {k}; {ctx}");
                        }
                    }
                }
                v = mut_apply(v, &op).expect("the same operation succeeds again");
            }
            (None, Err(_)) => {}
            (Some(next), Err(e)) => {
                panic!("einkern refused a valid operation ({e}); model {next:?}; {ctx}")
            }
            (None, Ok(w)) => panic!("einkern accepted an invalid operation: {w:?}; {ctx}"),
        }
    }
    if m.len() > 0 {
        assert_eq!(
            v.as_mut_ptr() as *const i64,
            base_ptr.wrapping_offset(m.off),
            "origin; {ctx}"
        );
    }
    // The read-only side of an exclusive view agrees with the model too.
    let before = m.gather(&buf);
    assert_eq!(v.to_vec(), before, "to_vec before writing; {ctx}");
    assert_eq!(v.len(), m.len(), "len; {ctx}");
    let c = naive_c_contiguous(&m.shape, &m.strides);
    assert_eq!(v.is_c_contiguous(), c, "C flag; {ctx}");
    assert_eq!(
        v.is_f_contiguous(),
        naive_f_contiguous(&m.shape, &m.strides),
        "F flag; {ctx}"
    );
    assert_eq!(
        v.as_slice().map(<[i64]>::to_vec),
        c.then(|| before.clone()),
        "as_slice; {ctx}"
    );
    assert_eq!(v.view().to_vec(), before, "view(); {ctx}");
    assert_eq!(v.to_owned().to_vec(), before, "to_owned; {ctx}");
    assert_eq!(v.to_order(Order::F).to_vec(), before, "to_order(F); {ctx}");
    if m.len() > 0 {
        let idx: Vec<usize> = m.shape.iter().map(|&d| rng.random_range(0..d)).collect();
        assert_eq!(
            v.get(&idx),
            Some(buf[m.at(&idx) as usize]),
            "get {idx:?}; {ctx}"
        );
    }
    match rng.random_range(0..5) {
        4 => {
            // Writes through the C-order slice, when there is one.
            let c = naive_c_contiguous(&m.shape, &m.strides);
            ctx.push_str(" -> as_slice_mut");
            match v.as_slice_mut() {
                Some(s) => {
                    assert!(c, "as_slice_mut on a non-contiguous view; {ctx}");
                    for (k, x) in s.iter_mut().enumerate() {
                        *x = -(k as i64) - 1;
                    }
                    for (k, idx) in c_indices(&m.shape).iter().enumerate() {
                        buf[m.at(idx) as usize] = -(k as i64) - 1;
                    }
                }
                None => assert!(!c, "as_slice_mut None on a contiguous view; {ctx}"),
            }
        }
        0 => {
            let x = -rng.random_range(1..1000i64);
            ctx.push_str(&format!(" -> fill({x})"));
            v.fill(x);
            for idx in c_indices(&m.shape) {
                buf[m.at(&idx) as usize] = x;
            }
        }
        1 => {
            // Point writes through get_mut, including refused ones.
            for _ in 0..3 {
                if m.len() == 0 {
                    break;
                }
                let idx: Vec<usize> = m.shape.iter().map(|&d| rng.random_range(0..d)).collect();
                *v.get_mut(&idx).expect("in bounds") = -7;
                buf[m.at(&idx) as usize] = -7;
            }
            let mut bad = m.shape.clone();
            bad.push(0);
            assert!(
                v.get_mut(&bad).is_none(),
                "get_mut with too many axes; {ctx}"
            );
            v.map_inplace(|x| x * 3 + 1);
            for idx in c_indices(&m.shape) {
                let o = m.at(&idx) as usize;
                buf[o] = buf[o] * 3 + 1;
            }
        }
        _ => {
            let (sshape, ok) = gen_src(&mut rng, &m.shape);
            // The source is sometimes a transposed view, to mix layouts.
            let transposed = rng.random_bool(0.5);
            let alloc_shape: Vec<usize> = if transposed {
                sshape.iter().rev().copied().collect()
            } else {
                sshape.clone()
            };
            let mut flat = 0i64;
            let src_arr = Array::from_fn(&alloc_shape, |_| {
                flat -= 1;
                flat
            });
            let src = if transposed {
                src_arr.t()
            } else {
                src_arr.view()
            };
            ctx.push_str(&format!(
                " -> assign(shape {sshape:?}, transposed {transposed})"
            ));
            let r = v.assign(&src);
            assert_eq!(r.is_ok(), ok, "assign result {r:?}; {ctx}");
            if ok {
                let lead = m.shape.len() - sshape.len();
                for idx in c_indices(&m.shape) {
                    let sidx: Vec<usize> = (0..sshape.len())
                        .map(|k| if sshape[k] == 1 { 0 } else { idx[lead + k] })
                        .collect();
                    buf[m.at(&idx) as usize] = src.get(&sidx).expect("source index");
                }
            }
        }
    }
    drop(v);
    assert_eq!(
        a.as_slice_memory_order(),
        &buf[..],
        "whole buffer after writes; {ctx}"
    );
}

// ------------------------------------------------------------- proptests

fn shape_and_order() -> impl Strategy<Value = (Vec<usize>, bool, u64)> {
    (any::<u64>(), any::<bool>(), any::<u64>()).prop_map(|(s, f, seed)| {
        let mut rng = StdRng::seed_from_u64(s);
        (gen_shape(&mut rng), f, seed)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2500))]

    #[test]
    fn view_chains_match_the_model((shape, f_order, seed) in shape_and_order(), steps in 1usize..=4) {
        run_view_chain(&shape, f_order, seed, steps);
    }

    #[test]
    fn writes_through_mutable_chains_match_the_model(
        (shape, f_order, seed) in shape_and_order(),
        steps in 1usize..=4,
    ) {
        run_mut_chain(&shape, f_order, seed, steps);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// `as_strided` is `Ok` exactly when every reachable offset lies in the
    /// buffer (and, for an empty view, the origin is at most one past its
    /// end); then it reads what the model reads.
    #[test]
    fn as_strided_is_checked_exactly(
        len in 0usize..24,
        shape in prop::collection::vec(0usize..4, 0..4),
        strides in prop::collection::vec(-7isize..8, 0..4),
        offset in 0usize..30,
        seed in any::<u64>(),
    ) {
        // Mostly matching ranks, sometimes not.
        let strides: Vec<isize> = if seed % 7 == 0 {
            strides
        } else {
            (0..shape.len()).map(|k| strides.get(k).copied().unwrap_or(k as isize + 1)).collect()
        };
        let data: Vec<i64> = (0..len as i64).map(|x| 100 + x).collect();
        let m = Model { off: offset as isize, shape: shape.clone(), strides: strides.clone() };
        let ok = shape.len() == strides.len()
            && if m.len() == 0 {
                offset <= len
            } else {
                c_indices(&shape).iter().all(|i| (0..len as isize).contains(&m.at(i)))
            };
        let r = ArrayView::as_strided(&data, &shape, &strides, offset);
        prop_assert_eq!(r.is_ok(), ok, "as_strided({:?}, {:?}, {}) over {} elements: {:?}", shape, strides, offset, len, r.as_ref().err());
        if let Ok(v) = r {
            let mut rng = StdRng::seed_from_u64(seed);
            check_view(&v, &m, &data, data.as_ptr(), &mut rng, &format!("as_strided {shape:?} {strides:?} {offset}"));
        }
        // The same through an owned array's buffer.
        let a = Array::from_vec(&[len], data.clone()).unwrap();
        prop_assert_eq!(a.as_strided(&shape, &strides, offset).is_ok(), ok);
    }

    /// Layout-changing copies of larger 2-d and 3-d views (the blocked and
    /// vectorised transpose paths), for every element type.
    #[test]
    fn copies_of_large_views_keep_every_element(
        rows in 1usize..80,
        cols in 1usize..80,
        depth in 1usize..3,
        f_order in any::<bool>(),
        step0 in prop::sample::select(vec![1isize, 2, -1, -3]),
        step1 in prop::sample::select(vec![1isize, 1, 2, -1]),
        transpose in any::<bool>(),
    ) {
        fn check<T: Element>(shape: &[usize], f_order: bool, s: &SliceInfo, transpose: bool, conv: fn(i64) -> T) {
            let mut flat = 0i64;
            let a = Array::from_fn(shape, |_| { flat += 1; conv(flat) });
            let a = if f_order { a.to_order(Order::F) } else { a };
            let v = a.slice(s.clone()).unwrap();
            let v = if transpose { v.t() } else { v };
            let want: Vec<T> = v.iter().collect();
            assert_eq!(want.len(), v.len());
            for order in [Order::C, Order::F] {
                let c = v.to_order(order);
                assert_eq!(c.to_vec(), want, "{shape:?} {s:?} t={transpose} {order:?}");
                for i in [0, want.len() / 2, want.len() - 1] {
                    let idx = unravel(i, v.shape());
                    assert_eq!(c.get(&idx), Some(want[i]));
                }
            }
        }
        let shape = [rows, cols, depth];
        let s = SliceInfo::new(vec![
            SliceElem::Range { start: None, end: None, step: step0 },
            SliceElem::Range { start: None, end: None, step: step1 },
        ]);
        if rows * cols * depth > 0 && py_slice(None, None, step0, rows).len() * py_slice(None, None, step1, cols).len() > 0 {
            check::<f64>(&shape, f_order, &s, transpose, |x| x as f64);
            check::<f32>(&shape, f_order, &s, transpose, |x| x as f32);
            check::<i32>(&shape, f_order, &s, transpose, |x| x as i32);
            check::<i64>(&shape, f_order, &s, transpose, |x| x);
        }
    }
}

// -------------------------------------------------------- explicit cases

#[test]
fn the_naive_slice_oracle_is_python() {
    // Values from CPython: list(range(n))[a:b:c].
    assert_eq!(py_slice(Some(2), Some(8), 2, 10), vec![2, 4, 6]);
    assert_eq!(py_slice(None, None, -1, 4), vec![3, 2, 1, 0]);
    assert_eq!(py_slice(Some(-1), Some(-100), -3, 10), vec![9, 6, 3, 0]);
    assert_eq!(py_slice(Some(100), Some(-100), -4, 5), vec![4, 0]);
    assert_eq!(py_slice(Some(-2), None, 1, 5), vec![3, 4]);
    assert_eq!(py_slice(None, Some(-1), -1, 5), Vec::<isize>::new());
    assert_eq!(py_slice(Some(0), None, -1, 0), Vec::<isize>::new());
}

#[test]
fn the_s_macro_agrees_with_the_model() {
    let a = base_array(&[4, 5, 3], false);
    let buf = a.as_slice_memory_order().to_vec();
    let m = Model::base(&[4, 5, 3], false);
    let last = -1;
    let cases: Vec<(SliceInfo, Vec<SliceElem>)> = vec![
        (
            s![.., 1..;2, -1],
            vec![
                SliceElem::Range {
                    start: None,
                    end: None,
                    step: 1,
                },
                SliceElem::Range {
                    start: Some(1),
                    end: None,
                    step: 2,
                },
                SliceElem::Index(-1),
            ],
        ),
        (
            s![NewAxis, ..;-1, 2, NewAxis],
            vec![
                SliceElem::NewAxis,
                SliceElem::Range {
                    start: None,
                    end: None,
                    step: -1,
                },
                SliceElem::Index(2),
                SliceElem::NewAxis,
            ],
        ),
        (
            s![1..=last, -4..-1;-1],
            vec![
                SliceElem::Range {
                    start: Some(1),
                    end: None,
                    step: 1,
                },
                SliceElem::Range {
                    start: Some(-4),
                    end: Some(-1),
                    step: -1,
                },
            ],
        ),
        (
            s![3, 4, 2],
            vec![
                SliceElem::Index(3),
                SliceElem::Index(4),
                SliceElem::Index(2),
            ],
        ),
        (
            s![..2, ..=2, 5..],
            vec![
                SliceElem::Range {
                    start: None,
                    end: Some(2),
                    step: 1,
                },
                SliceElem::Range {
                    start: None,
                    end: Some(3),
                    step: 1,
                },
                SliceElem::Range {
                    start: Some(5),
                    end: None,
                    step: 1,
                },
            ],
        ),
    ];
    let mut rng = StdRng::seed_from_u64(1);
    for (info, elems) in cases {
        assert_eq!(info.elems, elems);
        let want = model_apply(&m, &Op::Slice(elems)).unwrap();
        let v = a.slice(info).unwrap();
        check_view(&v, &want, &buf, a.as_ptr(), &mut rng, "s! case");
    }
}

/// Reshapes NumPy performs without a copy, and ones it copies (checked with
/// NumPy 2.4: `np.reshape(x, shape, copy=False)` raises exactly when a copy
/// is needed). einkern must return a view with NumPy's strides (in elements,
/// for axes longer than 1) for the first kind and refuse the second.
#[test]
fn reshape_views_exactly_where_numpy_does() {
    let a = base_array(&[4, 6], false);
    let b = base_array(&[2, 3, 4], false);
    let bc = a.broadcast_to(&[3, 4, 6]).unwrap();
    type Case<'v> = (ArrayView<'v, i64>, Vec<usize>, Option<Vec<isize>>);
    let cases: Vec<Case<'_>> = vec![
        (a.view(), vec![24], Some(vec![1])),
        (a.view(), vec![2, 2, 3, 2], Some(vec![12, 6, 2, 1])),
        (a.t(), vec![3, 2, 4], Some(vec![2, 1, 6])),
        (a.slice(s![.., ..;2]).unwrap(), vec![12], Some(vec![2])),
        (
            a.slice(s![..;-1]).unwrap(),
            vec![2, 2, 6],
            Some(vec![-12, -6, 1]),
        ),
        (a.slice(s![1..2]).unwrap(), vec![6], Some(vec![1])),
        (
            b.slice(s![.., 1]).unwrap(),
            vec![2, 2, 2],
            Some(vec![12, 2, 1]),
        ),
        (
            b.permute_axes(&[1, 0, 2]).unwrap(),
            vec![3, 2, 2, 2],
            Some(vec![4, 12, 2, 1]),
        ),
        (bc.clone(), vec![3, 24], Some(vec![0, 1])),
        (
            a.slice(s![.., NewAxis, ..]).unwrap(),
            vec![1, 24, 1],
            Some(vec![0, 1, 0]),
        ),
        (a.t(), vec![24], None),
        (a.slice(s![.., 1..5]).unwrap(), vec![16], None),
        (a.slice(s![..;2, ..;-1]).unwrap(), vec![12], None),
        (bc.clone(), vec![72], None),
        (b.permute_axes(&[1, 0, 2]).unwrap(), vec![6, 4], None),
    ];
    for (v, shape, want) in cases {
        let r = v.reshape(&shape);
        match (want, r) {
            (Some(strides), Ok(w)) => {
                for k in 0..shape.len() {
                    if shape[k] != 1 {
                        assert_eq!(w.strides()[k], strides[k], "{v:?} -> {shape:?}");
                    }
                }
                assert_eq!(w.to_vec(), v.to_vec());
                assert_eq!(
                    w.as_ptr(),
                    v.as_ptr(),
                    "a reshape view starts where its source does"
                );
            }
            (None, Err(e)) => assert!(matches!(e, Error::Shape { .. }), "{e}"),
            (want, r) => panic!("{v:?} -> {shape:?}: NumPy view strides {want:?}, einkern {r:?}"),
        }
    }
}

/// Steps and bounds at the ends of `isize`: Python clamps them, and so must
/// einkern, without overflowing (checked against CPython:
/// `list(range(4))[::sys.maxsize] == [0]`; CPython clamps a step of
/// `-2**63` to `-sys.maxsize`).
#[test]
fn extreme_steps_and_bounds_behave_like_python() {
    let a = Array::from_vec(&[4], vec![0i64, 1, 2, 3]).unwrap();
    let range = |start, end, step| {
        a.slice(SliceInfo::new(vec![SliceElem::Range { start, end, step }]))
            .unwrap()
            .to_vec()
    };
    let (min, max) = (isize::MIN, isize::MAX);
    assert_eq!(range(None, None, max), vec![0]);
    assert_eq!(range(Some(1), None, max), vec![1]);
    assert_eq!(range(None, None, -max), vec![3]);
    assert_eq!(range(None, None, min), vec![3]);
    assert_eq!(range(Some(min), Some(max), 1), vec![0, 1, 2, 3]);
    assert_eq!(range(Some(max), Some(min), -1), vec![3, 2, 1, 0]);
    assert_eq!(range(Some(max), Some(min), min), vec![3]);
    assert_eq!(range(Some(min), None, 3), vec![0, 3]);
    for step in [max, -max, min, max / 2 + 1] {
        assert_eq!(
            range(None, None, step),
            py_slice(None, None, step, 4)
                .iter()
                .map(|&i| i as i64)
                .collect::<Vec<_>>(),
            "step {step}"
        );
    }
    // A huge step on an axis with a stride: one element, no overflow.
    let b = base_array(&[2, 4], false);
    let v = b.slice(s![..;max / 2, ..;min]).unwrap();
    assert_eq!(v.shape(), &[1, 1]);
    assert_eq!(v.to_vec(), vec![b.get(&[0, 3]).unwrap()]);
    assert!(v.is_c_contiguous() && v.is_f_contiguous());
    // Integer indices at the ends of isize are just out of range.
    assert!(a.slice(s![min]).is_err());
    assert!(a.slice(s![max]).is_err());
}

#[test]
fn broadcast_windows_and_diagonals_by_hand() {
    // np.lib.stride_tricks.sliding_window_view(np.arange(6).reshape(2,3), (2,2))
    let a = Array::from_vec(&[2, 3], vec![0i64, 1, 2, 3, 4, 5]).unwrap();
    let w = a.sliding_window(&[2, 2]).unwrap();
    assert_eq!(w.shape(), &[1, 2, 2, 2]);
    assert_eq!(w.to_vec(), vec![0, 1, 3, 4, 1, 2, 4, 5]);
    // np.arange(6).reshape(2,3).diagonal() == [0, 4]
    assert_eq!(a.diagonal().unwrap().to_vec(), vec![0, 4]);
    // np.broadcast_to(np.arange(3), (2, 3)) has strides (0, 8)
    let r = Array::from_vec(&[3], vec![7i64, 8, 9]).unwrap();
    let b = r.broadcast_to(&[2, 3]).unwrap();
    assert_eq!(b.strides(), &[0, 1]);
    assert_eq!(b.to_vec(), vec![7, 8, 9, 7, 8, 9]);
    assert!(!b.is_c_contiguous() && !b.is_f_contiguous());
}

// ------------------------------------------------------- NumPy's own answers

/// One parsed operation of `cases.txt`, in the fixture's spelling.
fn parse_op(line: &str) -> Op {
    let mut parts = line.split_whitespace();
    let name = parts.next().unwrap();
    let arg = parts.next().unwrap_or("");
    let nums = |s: &str| -> Vec<usize> {
        s.split(',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().unwrap())
            .collect()
    };
    match name {
        "slice" => Op::Slice(
            arg.split(',')
                .filter(|t| !t.is_empty())
                .map(|t| {
                    if t == "new" {
                        SliceElem::NewAxis
                    } else if let Some((a, rest)) = t.split_once(':') {
                        let (b, c) = rest.split_once(':').unwrap();
                        let opt = |x: &str| (!x.is_empty()).then(|| x.parse().unwrap());
                        SliceElem::Range {
                            start: opt(a),
                            end: opt(b),
                            step: c.parse().unwrap(),
                        }
                    } else {
                        SliceElem::Index(t.parse().unwrap())
                    }
                })
                .collect(),
        ),
        "t" => Op::T,
        "permute" => Op::Permute(nums(arg)),
        "insert" => Op::InsertAxis(arg.parse().unwrap()),
        "squeeze" => Op::Squeeze,
        "reshape" => Op::Reshape(nums(arg)),
        "broadcast" => Op::Broadcast(nums(arg)),
        "window" => Op::Window(nums(arg)),
        "diagonal" => Op::Diagonal,
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn numpy_recorded_chains_replay_exactly() {
    let text = include_str!("fixtures/views/cases.txt");
    let field = |line: &str, key: &str| -> String {
        line.split_whitespace()
            .find_map(|t| t.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in {line}"))
            .to_string()
    };
    let list = |s: &str| -> Vec<i64> {
        s.split(',')
            .filter(|t| !t.is_empty())
            .map(|t| t.parse().unwrap())
            .collect()
    };
    let mut cases = 0;
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty());
    while let Some(head) = lines.next() {
        // case <id> order=C shape=2,3
        assert!(head.starts_with("case "), "{head}");
        let shape: Vec<usize> = list(&field(head, "shape"))
            .iter()
            .map(|&d| d as usize)
            .collect();
        let a = Array::from_fn(&shape, |i| {
            let mut flat = 0;
            for k in 0..i.len() {
                flat = flat * shape[k] + i[k];
            }
            flat as i64
        });
        let a = if field(head, "order") == "F" {
            a.to_order(Order::F)
        } else {
            a
        };
        let mut v = a.view();
        let mut ctx = head.to_string();
        loop {
            let line = lines.next().expect("case ends with a result");
            if let Some(op) = line.strip_prefix("op ") {
                ctx.push_str(&format!(" | {op}"));
                match view_apply(&v, &parse_op(op)) {
                    Ok(w) => v = w,
                    Err(e) => panic!("einkern refused what NumPy did ({e}): {ctx}"),
                }
            } else if let Some(op) = line.strip_prefix("refused ") {
                // NumPy raised (or would copy, for a reshape): einkern must refuse too.
                ctx.push_str(&format!(" | {op}"));
                let r = view_apply(&v, &parse_op(op));
                assert!(
                    r.is_err(),
                    "einkern accepted what NumPy refused: {ctx} gave {r:?}"
                );
                let _ = lines.next().filter(|l| l.starts_with("end")).expect("end");
                break;
            } else {
                // result shape=.. strides=.. c=1 f=0 values=..
                let want_shape: Vec<usize> = list(&field(line, "shape"))
                    .iter()
                    .map(|&d| d as usize)
                    .collect();
                let want_strides = list(&field(line, "strides"));
                assert_eq!(v.shape(), &want_shape[..], "{ctx}");
                if !v.is_empty() {
                    for k in 0..want_shape.len() {
                        if want_shape[k] != 1 {
                            assert_eq!(v.strides()[k] as i64, want_strides[k], "stride {k}: {ctx}");
                        }
                    }
                }
                assert_eq!(
                    v.is_c_contiguous(),
                    field(line, "c") == "1",
                    "C flag: {ctx}"
                );
                assert_eq!(
                    v.is_f_contiguous(),
                    field(line, "f") == "1",
                    "F flag: {ctx}"
                );
                assert_eq!(v.to_vec(), list(&field(line, "values")), "values: {ctx}");
                let _ = lines.next().filter(|l| l.starts_with("end")).expect("end");
                break;
            }
        }
        cases += 1;
    }
    assert!(cases >= 200, "only {cases} cases in cases.txt");
}

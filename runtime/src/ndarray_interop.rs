//! Conversions between einkern arrays and [`ndarray`] 0.17 arrays (cargo
//! feature `ndarray`).
//!
//! Views convert both ways **without copying**, for any ndarray dimension
//! type, keeping the pointer, the shape and every stride — negative strides
//! (reversed axes) and zero strides (broadcast axes) included:
//!
//! | from | to | how |
//! |---|---|---|
//! | `ndarray::ArrayView<'a, T, D>` | [`ArrayView<'a, T>`] | `ArrayView::try_from(v)` / `v.try_into()` |
//! | `ndarray::ArrayViewMut<'a, T, D>` | [`ArrayViewMut<'a, T>`] | `ArrayViewMut::try_from(v)` / `v.try_into()` |
//! | [`ArrayView<'a, T>`] | `ndarray::ArrayViewD<'a, T>` | [`ArrayView::to_ndarray`], or `From` |
//! | [`ArrayViewMut<'a, T>`] | `ndarray::ArrayViewMutD<'a, T>` | [`ArrayViewMut::into_ndarray`], or `From` |
//!
//! Owned arrays convert by **copying** the elements once, keeping C or F
//! order: `Array::from(ndarray::Array<T, D>)` and [`Array::into_ndarray`].
//! A zero-copy hand-over is impossible in either direction: an einkern
//! buffer is 64-byte aligned (and large ones are mapped directly, not
//! taken from the global allocator), while an ndarray array owns a `Vec<T>`
//! that must be freed with `T`'s own layout. To share an owned array without
//! a copy, convert a view: `a.view().to_ndarray()`, `ArrayView::try_from(b.view())`.
//!
//! Limits:
//! - Conversions *in* are fallible: an ndarray view obeys ndarray's rules,
//!   which bound the element count but not its size in bytes (a broadcast
//!   `f64` view of 2⁶² elements is legal there), while every einkern view
//!   obeys [`crate::layout::check_extent`]; a mutable view whose strides
//!   reach one element twice is refused too. Conversions *out* cannot
//!   fail: einkern's rule is stricter than what ndarray's constructors
//!   require.
//! - ndarray's constructors take only non-negative strides; a negative
//!   stride is handed over as its absolute value from the other end of the
//!   axis, then that axis is inverted (`invert_axis`), which gives back the
//!   same pointer and the same negative stride.
//! - A length-1 axis with stride `isize::MIN` (what `..;isize::MIN` leaves)
//!   gets stride 0 in ndarray, which cannot represent its absolute value;
//!   the stride of a length-1 axis addresses nothing.
//! - The strides of an *empty* view (some axis of length 0) are not kept
//!   when converting to ndarray: such a view addresses no element, and
//!   ndarray's own empty arrays have all-zero strides, which is what the
//!   conversion gives it. The pointer is kept.
//! - The results always have dynamic dimension (`IxD`); use
//!   `into_dimensionality::<Ix2>()` and friends for a fixed one.

use ndarray::{Axis, Dimension, IxDyn, ShapeBuilder};

use crate::array::Array;
use crate::element::Element;
use crate::error::Error;
use crate::layout::{self, Order};
use crate::view::{check_mut_geometry, ArrayView, ArrayViewMut};

/// ndarray's view of einkern's `(shape, strides)` from `ptr`: the pointer to
/// start from, non-negative strides, and the axes to invert afterwards.
struct NdParts {
    offset: isize,
    strides: Vec<usize>,
    invert: Vec<usize>,
}

fn nd_parts(shape: &[usize], strides: &[isize]) -> NdParts {
    if shape.contains(&0) {
        return NdParts {
            offset: 0,
            strides: vec![0; shape.len()],
            invert: Vec::new(),
        };
    }
    let mut parts = NdParts {
        offset: 0,
        strides: Vec::with_capacity(shape.len()),
        invert: Vec::new(),
    };
    for (k, (&d, &s)) in shape.iter().zip(strides).enumerate() {
        if s == isize::MIN {
            // Only a length-1 axis can have it (after `..;isize::MIN`), and
            // its stride addresses nothing; ndarray cannot hold |isize::MIN|.
            debug_assert_eq!(d, 1);
            parts.strides.push(0);
            continue;
        }
        if s < 0 {
            // Start from the far end, where this axis's lowest address is.
            parts.offset += (d as isize - 1) * s;
            parts.invert.push(k);
        }
        parts.strides.push(s.unsigned_abs());
    }
    parts
}

impl<'a, T: Element> ArrayView<'a, T> {
    /// The same elements as an `ndarray::ArrayViewD`, without copying: same
    /// pointer, shape and strides (see the [module docs](self) for how
    /// negative strides and empty views are handed over).
    ///
    /// It cannot fail: ndarray's raw constructor needs the element count
    /// and the byte offsets of every element to fit in `isize`, which the
    /// construction rule of every einkern view guarantees
    /// ([`layout::check_extent`]; a broadcast to 2⁶³ + 1 rows is refused
    /// when it is made, never handed over).
    pub fn to_ndarray(&self) -> ndarray::ArrayViewD<'a, T> {
        debug_assert!(
            layout::check_extent(self.shape(), self.strides(), std::mem::size_of::<T>()).is_ok()
        );
        let p = nd_parts(self.shape(), self.strides());
        let shape = IxDyn(self.shape()).strides(IxDyn(&p.strides));
        // SAFETY: einkern checked this view when it was made: every
        // multi-index reaches an element valid for reads during `'a`. With
        // the start moved to the lowest address of each negative-stride axis
        // and that stride made positive, ndarray's view reaches exactly the
        // same elements (all non-negative offsets from the new start, inside
        // the same allocation); inverting those axes moves the start back.
        // An empty view reaches nothing and gets zero strides. The pointer
        // is aligned (einkern views only ever move by whole elements).
        unsafe {
            let start = self.as_ptr().offset(p.offset);
            let mut raw = ndarray::RawArrayView::from_shape_ptr(shape, start);
            for &k in &p.invert {
                raw.invert_axis(Axis(k));
            }
            raw.deref_into_view()
        }
    }
}

impl<'a, T: Element> ArrayViewMut<'a, T> {
    /// The same elements as an `ndarray::ArrayViewMutD`, without copying:
    /// same pointer, shape and strides (see the [module docs](self)).
    pub fn into_ndarray(mut self) -> ndarray::ArrayViewMutD<'a, T> {
        let p = nd_parts(self.shape(), self.strides());
        let shape = IxDyn(self.shape()).strides(IxDyn(&p.strides));
        // SAFETY: as `ArrayView::to_ndarray`, for writes: `self` is consumed,
        // so its exclusive borrow for `'a` passes to the ndarray view, and an
        // einkern mutable view never reaches one element twice.
        unsafe {
            let start = self.as_mut_ptr().offset(p.offset);
            let mut raw = ndarray::RawArrayViewMut::from_shape_ptr(shape, start);
            for &k in &p.invert {
                raw.invert_axis(Axis(k));
            }
            raw.deref_into_view_mut()
        }
    }
}

impl<'a, T: Element, D: Dimension> TryFrom<ndarray::ArrayView<'a, T, D>> for ArrayView<'a, T> {
    type Error = Error;

    /// Zero-copy: the same pointer, shape and strides; an error when the
    /// view breaks einkern's construction rule (see the [module docs](self)).
    fn try_from(v: ndarray::ArrayView<'a, T, D>) -> Result<Self, Error> {
        layout::check_extent(v.shape(), v.strides(), std::mem::size_of::<T>())?;
        // SAFETY: an ndarray view reaches, for every in-bounds multi-index,
        // an element valid for reads during `'a` (ndarray's own invariant),
        // and it obeys einkern's size rule (checked above).
        Ok(unsafe { ArrayView::from_raw_parts(v.as_ptr(), v.shape(), v.strides()) })
    }
}

impl<'a, T: Element, D: Dimension> TryFrom<ndarray::ArrayViewMut<'a, T, D>>
    for ArrayViewMut<'a, T>
{
    type Error = Error;

    /// Zero-copy: the same pointer, shape and strides; an error when the
    /// view breaks einkern's construction rule or its strides reach one
    /// element twice.
    fn try_from(mut v: ndarray::ArrayViewMut<'a, T, D>) -> Result<Self, Error> {
        let shape = v.shape().to_vec();
        let strides = v.strides().to_vec();
        check_mut_geometry(&shape, &strides, std::mem::size_of::<T>())?;
        let ptr = v.as_mut_ptr();
        // SAFETY: `v` is consumed, so its exclusive borrow for `'a` passes
        // to the einkern view; every multi-index reaches an element valid
        // for reads and writes (ndarray's invariant), and distinct ones
        // distinct elements, within einkern's size rule (both checked).
        Ok(unsafe { ArrayViewMut::from_raw_parts(ptr, &shape, &strides) })
    }
}

impl<'a, T: Element> From<ArrayView<'a, T>> for ndarray::ArrayViewD<'a, T> {
    /// Zero-copy; see [`ArrayView::to_ndarray`].
    fn from(v: ArrayView<'a, T>) -> Self {
        v.to_ndarray()
    }
}

impl<'a, T: Element> From<ArrayViewMut<'a, T>> for ndarray::ArrayViewMutD<'a, T> {
    /// Zero-copy; see [`ArrayViewMut::into_ndarray`].
    fn from(v: ArrayViewMut<'a, T>) -> Self {
        v.into_ndarray()
    }
}

impl<T: Element, D: Dimension> From<ndarray::Array<T, D>> for Array<T> {
    /// Copies the elements once (see the [module docs](self) for why it
    /// cannot take the buffer over). An F-ordered ndarray array gives an
    /// F-ordered einkern array; any other layout gives C order.
    fn from(a: ndarray::Array<T, D>) -> Self {
        let order = if !a.is_standard_layout() && a.t().is_standard_layout() {
            Order::F
        } else {
            Order::C
        };
        // An owned ndarray array holds its elements in one `Vec`, so it
        // obeys the construction rule and the conversion cannot fail.
        ArrayView::try_from(a.view())
            .expect("an owned ndarray array fits in memory")
            .to_order(order)
    }
}

impl<T: Element> Array<T> {
    /// Converts to an owned `ndarray::ArrayD`, copying the elements once and
    /// keeping the memory order (C or F). For a zero-copy view use
    /// `self.view().to_ndarray()`.
    pub fn into_ndarray(self) -> ndarray::ArrayD<T> {
        let data = self.as_slice_memory_order().to_vec();
        let shape = IxDyn(self.shape());
        // C when the array is C-contiguous (1-d and empty arrays are both).
        let shape = if self.is_c_contiguous() {
            shape.into_shape_with_order()
        } else {
            shape.f().into_shape_with_order()
        };
        ndarray::ArrayD::from_shape_vec(shape, data)
            .expect("an owned array's buffer fits its shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{s, NewAxis};
    use proptest::prelude::*;

    fn arange(shape: &[usize]) -> Array<f64> {
        let mut k = 0.0;
        Array::from_fn(shape, |_| {
            k += 1.0;
            k
        })
    }

    /// The ndarray view holds exactly the einkern view: pointer, shape,
    /// strides (for non-empty views) and every element in logical order.
    #[track_caller]
    fn same(e: &ArrayView<'_, f64>, n: &ndarray::ArrayViewD<'_, f64>) {
        assert_eq!(n.shape(), e.shape());
        if !e.is_empty() {
            let kept: Vec<isize> = e
                .strides()
                .iter()
                .map(|&s| if s == isize::MIN { 0 } else { s })
                .collect();
            assert_eq!(n.strides(), &kept[..]);
            assert_eq!(n.as_ptr(), e.as_ptr());
        }
        assert_eq!(n.iter().copied().collect::<Vec<_>>(), e.to_vec());
        assert_eq!(n.is_standard_layout(), e.is_c_contiguous());
    }

    #[test]
    fn einkern_views_to_ndarray_keep_negative_and_zero_strides() {
        let a = arange(&[4, 5, 3]);
        // `1..0;-1` is Python's [1:0:-1]: one element, walking backwards.
        let (hi, lo) = (1, 0);
        let cases: Vec<ArrayView<'_, f64>> = vec![
            a.view(),
            a.t(),
            a.slice(s![..;-1, 1..;2, ..;-2]).unwrap(),
            a.slice(s![1, ..;-1]).unwrap(),
            a.slice(s![.., 2, NewAxis]).unwrap(),
            a.slice(s![hi..lo;-1, ..;-1]).unwrap(), // len-1 axis with a negative stride
            a.slice(s![2, 3, 1]).unwrap(),          // 0-d
            a.slice(s![3..3]).unwrap(),             // empty
            a.slice(s![0]).unwrap().broadcast_to(&[2, 5, 3]).unwrap(),
            a.slice(s![.., ..;-1, 0])
                .unwrap()
                .broadcast_to(&[3, 4, 5])
                .unwrap(),
            a.diagonal().unwrap(),
            a.slice(s![0]).unwrap().sliding_window(&[2, 2]).unwrap(), // overlapping
            // A length-1 axis with a huge stride (one element of a huge step).
            a.slice(s![.., 1..2;isize::MAX, ..;isize::MIN]).unwrap(),
        ];
        for v in &cases {
            let n = v.to_ndarray();
            same(v, &n);
            // And back: the same view again.
            let back = ArrayView::try_from(n.clone()).unwrap();
            assert_eq!(back.shape(), v.shape());
            assert_eq!(back.to_vec(), v.to_vec());
            if !v.is_empty() {
                assert_eq!(back.strides(), n.strides());
                assert_eq!(back.as_ptr(), v.as_ptr());
            }
            let via_from: ndarray::ArrayViewD<'_, f64> = v.clone().into();
            assert_eq!(via_from, n);
        }
        // The explicit strides, to be sure they are not just equal to each other.
        let r = a.slice(s![..;-1, ..;-2, 0]).unwrap().to_ndarray();
        assert_eq!(r.strides(), &[-15, -6]);
        assert_eq!(r[[0, 0]], a.get(&[3, 4, 0]).unwrap());
        // A length-1 axis keeps its negative stride too.
        let one = a.slice(s![hi..lo;-1, ..;-1, 0]).unwrap().to_ndarray();
        assert_eq!(one.shape(), &[1, 5]);
        assert_eq!(one.strides(), &[-15, -3]);
        let b = a
            .slice(s![0, 0])
            .unwrap()
            .broadcast_to(&[2, 3])
            .unwrap()
            .to_ndarray();
        assert_eq!(b.strides(), &[0, 1]);
    }

    #[test]
    fn ndarray_views_to_einkern_keep_every_stride() {
        let n = ndarray::Array::from_shape_fn((4, 5, 3), |(i, j, k)| (i * 15 + j * 3 + k) as f64);
        let row = n.slice(ndarray::s![0, 0, ..]);
        let views: Vec<ndarray::ArrayViewD<'_, f64>> = vec![
            n.view().into_dyn(),
            n.view().reversed_axes().into_dyn(),
            n.slice(ndarray::s![..;-1, 1..;2, ..;-2]).into_dyn(),
            n.slice(ndarray::s![1, ..;-1, ..]).into_dyn(),
            row.broadcast((2, 4, 3)).unwrap().into_dyn(),
            n.slice(ndarray::s![2, 3, 1]).into_dyn(),
            n.slice(ndarray::s![3..3, .., ..]).into_dyn(),
            n.slice(ndarray::s![.., ndarray::NewAxis, 0, ..;-1])
                .into_dyn(),
        ];
        for v in &views {
            let e = ArrayView::try_from(v.clone()).unwrap();
            assert_eq!(e.shape(), v.shape());
            assert_eq!(e.strides(), v.strides());
            assert_eq!(e.as_ptr(), v.as_ptr());
            assert_eq!(e.to_vec(), v.iter().copied().collect::<Vec<_>>());
            same(&e, &e.to_ndarray());
        }
        // Fixed dimension types convert too.
        let two: ndarray::ArrayView2<'_, f64> = n.slice(ndarray::s![.., ..;-1, 0]);
        let e: ArrayView<'_, f64> = two.try_into().unwrap();
        assert_eq!(e.strides(), &[15, -3]);
        assert_eq!(e.get(&[1, 0]), Some(two[[1, 0]]));
    }

    /// ndarray bounds a view's element count, einkern its size in bytes:
    /// a broadcast of 2^61 `f64`s is an ndarray view but no einkern one.
    #[test]
    fn ndarray_views_that_break_the_rule_are_refused() {
        let one = ndarray::arr1(&[1.5f64]);
        let huge = one.broadcast(1usize << 61).expect("ndarray allows it");
        let e = ArrayView::try_from(huge).unwrap_err().to_string();
        assert!(e.contains("(2305843009213693952,)"), "{e}");
        let fits = one.broadcast((1usize << 30, 1usize << 29)).unwrap();
        let v = ArrayView::try_from(fits).unwrap();
        assert_eq!((v.len(), v.strides()), (1 << 59, &[0, 0][..]));
        assert_eq!(v.get(&[(1 << 30) - 1, 7]), Some(1.5));
        // And back out: the same huge view, no copy.
        let n = v.to_ndarray();
        assert_eq!(n.len(), 1 << 59);
        assert_eq!(n[[5, 5]], 1.5);
    }

    #[test]
    fn writes_go_through_in_both_directions() {
        // einkern exclusive view → ndarray, reversed axes included.
        let mut a = arange(&[3, 4]);
        {
            let v = a.slice_mut(s![..;-1, 1..;2]).unwrap();
            let mut n = v.into_ndarray();
            assert_eq!(n.strides(), &[-4, 2]);
            n[[0, 0]] = -1.0; // a[2, 1]
            n[[2, 1]] = -2.0; // a[0, 3]
            n.index_axis_mut(Axis(0), 1).fill(-3.0); // a[1, 1], a[1, 3]
        }
        let mut want = arange(&[3, 4]).to_vec();
        want[2 * 4 + 1] = -1.0;
        want[3] = -2.0;
        want[4 + 1] = -3.0;
        want[4 + 3] = -3.0;
        assert_eq!(a.to_vec(), want);
        let via_from: ndarray::ArrayViewMutD<'_, f64> = a.view_mut().into();
        assert_eq!(via_from.shape(), &[3, 4]);

        // ndarray exclusive view → einkern.
        let mut n = ndarray::Array2::<i32>::zeros((3, 4));
        {
            let v = n.slice_mut(ndarray::s![.., ..;-2]);
            let mut e = ArrayViewMut::try_from(v).unwrap();
            assert_eq!(e.strides(), &[4, -2]);
            let src = Array::from_vec(&[2], vec![7, 9]).unwrap();
            e.assign(&src.view()).unwrap(); // broadcast over rows
            *e.get_mut(&[2, 0]).unwrap() = 1;
        }
        assert_eq!(
            n,
            ndarray::arr2(&[[0, 9, 0, 7], [0, 9, 0, 7], [0, 9, 0, 1]])
        );
        // Through a fixed-dimension mutable view of the whole array.
        let mut e: ArrayViewMut<'_, i32> = n.view_mut().try_into().unwrap();
        e.fill(5);
        assert!(n.iter().all(|&x| x == 5));
    }

    #[test]
    fn owned_arrays_copy_once_and_keep_their_order() {
        let c = ndarray::Array::from_shape_fn((2, 3), |(i, j)| (i * 3 + j) as i64);
        // The same (2, 3) values in F order: a C-order copy of the
        // transpose, with its axes reversed back.
        let f = c.t().as_standard_layout().into_owned().reversed_axes();
        assert!(!f.is_standard_layout() && f.t().is_standard_layout());
        let ec = Array::from(c.clone());
        let ef = Array::from(f.clone());
        assert!(ec.is_c_contiguous() && !ec.is_f_contiguous());
        assert!(ef.is_f_contiguous() && !ef.is_c_contiguous());
        assert_eq!(ec.to_vec(), vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(ef.to_vec(), vec![0, 1, 2, 3, 4, 5]);
        // An owned ndarray array with a reversed axis becomes C order.
        let mut r = c.clone();
        r.invert_axis(Axis(1));
        let er = Array::from(r.clone());
        assert!(er.is_c_contiguous());
        assert_eq!(er.to_vec(), vec![2, 1, 0, 5, 4, 3]);

        // And back, keeping memory order.
        let nc = ec.into_ndarray();
        assert!(nc.is_standard_layout());
        assert_eq!(nc, c.clone().into_dyn());
        let nf = ef.into_ndarray();
        assert!(!nf.is_standard_layout() && nf.t().is_standard_layout());
        assert_eq!(nf, c.clone().into_dyn());
        let z = Array::<f32>::zeros(&[2, 0, 3]).into_ndarray();
        assert_eq!(z.shape(), &[2, 0, 3]);
        let s = Array::full(&[], 4.5f64).into_ndarray();
        assert_eq!(s.ndim(), 0);
        assert_eq!(s[[]], 4.5);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Random slices (negative steps included), transposes and
        /// broadcasts of random shapes survive einkern → ndarray → einkern
        /// with pointer, shape, strides and elements unchanged.
        #[test]
        fn random_views_round_trip(
            shape in prop::collection::vec(0usize..5, 0..4),
            steps in prop::collection::vec(prop::sample::select(vec![1isize, 2, -1, -2, -3]), 4),
            transpose in any::<bool>(),
            lead in 0usize..3,
        ) {
            let a = arange(&shape);
            let elems: Vec<crate::SliceElem> = (0..shape.len())
                .map(|k| crate::SliceElem::Range { start: None, end: None, step: steps[k] })
                .collect();
            let v = a.slice(crate::SliceInfo::new(elems)).unwrap();
            let v = if transpose { v.t() } else { v };
            let mut target = vec![lead + 1; lead];
            target.extend(v.shape().iter().map(|&d| if d == 1 { 3 } else { d }));
            let v = v.broadcast_to(&target).unwrap();
            let n = v.to_ndarray();
            same(&v, &n);
            let back = ArrayView::try_from(n).unwrap();
            prop_assert_eq!(back.to_vec(), v.to_vec());
            if !v.is_empty() {
                prop_assert_eq!(back.strides(), v.strides());
                prop_assert_eq!(back.as_ptr(), v.as_ptr());
            }
        }
    }
}

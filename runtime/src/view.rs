//! Views: a pointer, a shape and element strides, borrowed for `'a`.
//!
//! A view is checked once, when it is made (every reachable element lies in
//! memory the view may use), so kernels can then address it without bounds
//! checks. Every operation that only changes geometry (slicing, transposes,
//! broadcasting, windows) returns another view of the same memory, never a
//! copy: NumPy's view semantics.

use std::marker::PhantomData;
use std::ptr::NonNull;

use crate::array::Array;
use crate::copy::copy_strided;
use crate::element::Element;
use crate::error::Error;
use crate::geometry::{self, Geometry};
use crate::layout::{self, fmt_shape, Order};
use crate::slice::SliceInfo;

/// A shared, strided view of `T`s (like `&'a [T]` with a shape).
pub struct ArrayView<'a, T> {
    ptr: NonNull<T>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    _borrow: PhantomData<&'a T>,
}

/// An exclusive, strided view of `T`s (like `&'a mut [T]` with a shape).
/// Its strides never alias two indices to one element.
pub struct ArrayViewMut<'a, T> {
    ptr: NonNull<T>,
    shape: Vec<usize>,
    strides: Vec<isize>,
    _borrow: PhantomData<&'a mut T>,
}

// SAFETY: a view is a shared borrow of `T`s, as `&'a [T]` is.
unsafe impl<T: Sync> Send for ArrayView<'_, T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for ArrayView<'_, T> {}
// SAFETY: an exclusive view is a unique borrow, as `&'a mut [T]` is.
unsafe impl<T: Send> Send for ArrayViewMut<'_, T> {}
// SAFETY: shared access through `&ArrayViewMut` only reads.
unsafe impl<T: Sync> Sync for ArrayViewMut<'_, T> {}

impl<T> Clone for ArrayView<'_, T> {
    fn clone(&self) -> Self {
        ArrayView {
            ptr: self.ptr,
            shape: self.shape.clone(),
            strides: self.strides.clone(),
            _borrow: PhantomData,
        }
    }
}

/// Checks that a `(shape, strides)` view starting `offset` elements into a
/// buffer of `len` elements stays inside it.
fn check_in_bounds(
    len: usize,
    shape: &[usize],
    strides: &[isize],
    offset: usize,
) -> Result<(), Error> {
    layout::check_one_stride_per_axis(shape, strides)?;
    layout::size_of(shape)?;
    if shape.contains(&0) {
        return if offset <= len {
            Ok(())
        } else {
            Err(Error::index(format!(
                "offset {offset} is past the end of a buffer of {len} elements"
            )))
        };
    }
    // The reach, with checked arithmetic: a stride large enough to overflow
    // must be refused, not wrapped into a small in-bounds-looking span.
    let reach = shape
        .iter()
        .zip(strides)
        .try_fold((0isize, 0isize), |(lo, hi), (&d, &s)| {
            // `d - 1` fits: `size_of` bounds a non-empty shape's product.
            let span = (d as isize - 1).checked_mul(s)?;
            if span < 0 {
                Some((lo.checked_add(span)?, hi))
            } else {
                Some((lo, hi.checked_add(span)?))
            }
        })
        .and_then(|(lo, hi)| {
            let o = isize::try_from(offset).ok()?;
            Some((o.checked_add(lo)?, o.checked_add(hi)?))
        });
    let Some((first, last)) = reach else {
        return Err(Error::index(format!(
            "a view of shape {} with strides {strides:?} at offset {offset} reaches offsets \
             that overflow isize, outside a buffer of {len} elements",
            fmt_shape(shape)
        )));
    };
    if first < 0 || last >= len as isize {
        return Err(Error::index(format!(
            "a view of shape {} with strides {strides:?} at offset {offset} reaches elements {first}..={last}, \
             outside a buffer of {len} elements",
            fmt_shape(shape)
        )));
    }
    Ok(())
}

/// [`layout::check_extent`] plus, for a mutable view, no aliasing: the
/// check every safe way to an [`ArrayViewMut`] passes, in release builds
/// too.
pub(crate) fn check_mut_geometry(
    shape: &[usize],
    strides: &[isize],
    item: usize,
) -> Result<(), Error> {
    layout::check_extent(shape, strides, item)?;
    if may_alias(shape, strides) {
        return Err(Error::value(format!(
            "a mutable view of shape {} with strides {strides:?} would reach some element \
             twice (a zero or overlapping stride); write through a copy instead",
            fmt_shape(shape)
        )));
    }
    Ok(())
}

/// Whether two distinct in-bounds multi-indices can reach one element.
/// Conservative: sorts axes by |stride| and requires each to step past
/// everything the smaller ones can reach, which covers every layout einkern
/// itself makes (contiguous, sliced, permuted, reversed).
fn may_alias(shape: &[usize], strides: &[isize]) -> bool {
    if shape.contains(&0) {
        return false;
    }
    let mut axes: Vec<(usize, usize)> = shape
        .iter()
        .zip(strides)
        .filter(|(&d, _)| d > 1)
        .map(|(&d, &s)| (s.unsigned_abs(), d))
        .collect();
    axes.sort_unstable();
    let mut reach = 0usize;
    for (stride, len) in axes {
        if stride <= reach {
            return true;
        }
        // Saturating: the reach is a distance inside the view, which fits
        // once `check_extent` passed; a saturated reach refuses the rest.
        reach = reach.saturating_add(stride.saturating_mul(len - 1));
    }
    false
}

impl<'a, T: Element> ArrayView<'a, T> {
    /// A view of `data` with `shape`, in C order.
    pub fn from_slice(data: &'a [T], shape: &[usize]) -> Result<Self, Error> {
        let n = layout::size_of(shape)?;
        if n != data.len() {
            return Err(Error::shape(format!(
                "a slice of {} elements cannot be viewed as shape {} ({n} elements)",
                data.len(),
                fmt_shape(shape)
            )));
        }
        // SAFETY: C-contiguous `shape` over exactly `data.len()` elements.
        Ok(unsafe {
            Self::from_raw_parts(
                data.as_ptr(),
                shape,
                &layout::contiguous_strides(shape, Order::C),
            )
        })
    }

    /// NumPy's `as_strided`, checked: a view of `data` starting at element
    /// `offset` with arbitrary (even overlapping or negative) strides, or an
    /// error unless every element it can reach lies inside `data`.
    pub fn as_strided(
        data: &'a [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<Self, Error> {
        check_in_bounds(data.len(), shape, strides, offset)?;
        layout::check_extent(shape, strides, std::mem::size_of::<T>())?;
        // SAFETY: just checked that every reachable offset is inside `data`.
        Ok(unsafe { Self::from_raw_parts(data.as_ptr().wrapping_add(offset), shape, strides) })
    }

    /// A view from raw parts, unchecked.
    ///
    /// # Safety
    /// `ptr` must be non-null, and for every multi-index `i` with
    /// `i[k] < shape[k]`, `ptr.offset(Σ i[k]·strides[k])` must be valid for
    /// reads of a `T` for `'a`, with no writes through other pointers during
    /// `'a`. `shape.len() == strides.len()`, and the view obeys
    /// [`layout::check_extent`] (its size and span in bytes fit in `isize`).
    pub unsafe fn from_raw_parts(ptr: *const T, shape: &[usize], strides: &[isize]) -> Self {
        debug_assert!(layout::check_extent(shape, strides, std::mem::size_of::<T>()).is_ok());
        ArrayView {
            ptr: NonNull::new(ptr as *mut T).expect("einkern: null pointer for a view"),
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            _borrow: PhantomData,
        }
    }

    /// Unchecked `as_strided`.
    ///
    /// # Safety
    /// As [`from_raw_parts`](Self::from_raw_parts) with
    /// `ptr = data.as_ptr() + offset`: every reachable element must lie
    /// inside `data`.
    pub unsafe fn as_strided_unchecked(
        data: &'a [T],
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Self {
        // SAFETY: forwarded to the caller.
        unsafe { Self::from_raw_parts(data.as_ptr().wrapping_add(offset), shape, strides) }
    }

    /// A view of the same memory with the same lifetime.
    pub fn view(&self) -> ArrayView<'a, T> {
        self.clone()
    }

    /// Pointer to the element at the origin (multi-index all zeros).
    pub fn as_ptr(&self) -> *const T {
        self.ptr.as_ptr()
    }

    /// The view with geometry `g`, relative to this one, checked against
    /// [`layout::check_extent`]: every geometry operation that can make a
    /// view larger than its parent (broadcasting, windows, reshapes,
    /// slices with huge steps) comes through here.
    fn with(&self, g: Geometry) -> Result<ArrayView<'a, T>, Error> {
        layout::check_extent(&g.shape, &g.strides, std::mem::size_of::<T>())?;
        Ok(self.rearranged(g))
    }

    /// The view with geometry `g` unchecked: only for `g` that reorders or
    /// drops this view's axes at its own origin, whose extent is then this
    /// view's.
    fn rearranged(&self, g: Geometry) -> ArrayView<'a, T> {
        ArrayView {
            // Wrapping: an empty view may sit one past its parent's memory.
            ptr: NonNull::new(self.ptr.as_ptr().wrapping_offset(g.offset)).expect("non-null"),
            shape: g.shape,
            strides: g.strides,
            _borrow: PhantomData,
        }
    }

    /// The transpose: axes reversed, no copy (`a.T`).
    pub fn t(&self) -> ArrayView<'a, T> {
        self.rearranged(geometry::transpose(&self.shape, &self.strides))
    }

    /// Axis `i` of the result is axis `axes[i]` of `self` (`np.transpose(a, axes)`).
    pub fn permute_axes(&self, axes: &[usize]) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::permute(&self.shape, &self.strides, axes)?)
    }

    /// Basic indexing: `a.slice(s![.., 1..;2, -1])` is `a[:, 1::2, -1]`.
    pub fn slice(&self, s: impl Into<SliceInfo>) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::slice(&self.shape, &self.strides, &s.into())?)
    }

    /// A new length-1 axis at position `axis` (`np.expand_dims`).
    pub fn insert_axis(&self, axis: usize) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::insert_axis(&self.shape, &self.strides, axis)?)
    }

    /// Drops every length-1 axis.
    pub fn squeeze(&self) -> ArrayView<'a, T> {
        self.rearranged(geometry::squeeze(&self.shape, &self.strides))
    }

    /// The same elements in C order with another shape, as a view; an error
    /// when that needs a copy (NumPy would copy; einkern asks you to, with
    /// `to_owned`, so that copies are never hidden).
    pub fn reshape(&self, shape: &[usize]) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::reshape(&self.shape, &self.strides, shape)?)
    }

    /// A read-only view with shape `shape`, repeating along zero strides.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::broadcast_to(&self.shape, &self.strides, shape)?)
    }

    /// `numpy.lib.stride_tricks.sliding_window_view(a, window)`.
    pub fn sliding_window(&self, window: &[usize]) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::sliding_window(
            &self.shape,
            &self.strides,
            window,
        )?)
    }

    /// `a.diagonal()`: the diagonal of the first two axes, as the last axis.
    pub fn diagonal(&self) -> Result<ArrayView<'a, T>, Error> {
        self.with(geometry::diagonal(&self.shape, &self.strides)?)
    }

    /// The elements in C order, borrowed, when the view is C-contiguous.
    pub fn as_slice(&self) -> Option<&'a [T]> {
        if !self.is_c_contiguous() {
            return None;
        }
        let n = self.len();
        // A contiguous view's origin is its lowest address, except for
        // length-1 axes with negative strides, which are never stepped.
        // SAFETY: C-contiguous: the `n` elements from the origin are exactly
        // the view's elements, valid for `'a`.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), n) })
    }

    /// The element at `index`, or `None` if it is out of bounds or has the
    /// wrong number of axes.
    pub fn get(&self, index: &[usize]) -> Option<T> {
        if index.len() != self.ndim() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return None;
        }
        // SAFETY: the index is inside the view, which was checked at creation.
        Some(unsafe {
            *self
                .ptr
                .as_ptr()
                .offset(layout::offset_of(index, &self.strides))
        })
    }

    /// A new array in `order` holding a copy of the elements.
    ///
    /// # Panics
    /// If the memory cannot be had (a view may repeat its elements, so a
    /// copy can be far larger than the memory it reads);
    /// [`try_to_order`](Self::try_to_order) returns the error instead.
    pub fn to_order(&self, order: Order) -> Array<T> {
        self.try_to_order(order)
            .unwrap_or_else(|e| panic!("einkern: {e}"))
    }

    /// A C-order copy.
    ///
    /// # Panics
    /// As [`to_order`](Self::to_order).
    pub fn to_owned(&self) -> Array<T> {
        self.to_order(Order::C)
    }

    /// [`to_owned`](Self::to_owned), with an [`Error::Alloc`] when the
    /// memory cannot be had: how a `Result` API copies a view.
    pub fn try_to_owned(&self) -> Result<Array<T>, Error> {
        self.try_to_order(Order::C)
    }

    /// [`to_order`](Self::to_order), with an [`Error::Alloc`] when the
    /// memory cannot be had.
    pub fn try_to_order(&self, order: Order) -> Result<Array<T>, Error> {
        // SAFETY: every element of the fresh array is written by the copy.
        let mut out = unsafe { Array::try_uninit(&self.shape, order) }?;
        let strides = out.strides().to_vec();
        // SAFETY: both views cover their shape; the fresh buffer cannot
        // overlap `self`, and its contiguous strides do not alias.
        unsafe {
            copy_strided(
                &self.shape,
                out.as_mut_ptr(),
                &strides,
                self.as_ptr(),
                &self.strides,
            )
        };
        Ok(out)
    }

    /// The elements in logical (C) order.
    pub fn to_vec(&self) -> Vec<T> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.to_owned().into_vec(),
        }
    }

    /// Iterates over the elements in logical (C) order.
    pub fn iter(&self) -> Iter<'a, T> {
        Iter {
            view: self.clone(),
            index: vec![0; self.ndim()],
            offset: 0,
            remaining: self.len(),
        }
    }
}

impl<'a, T: Element> ArrayViewMut<'a, T> {
    /// An exclusive view of `data` with `shape`, in C order.
    pub fn from_slice_mut(data: &'a mut [T], shape: &[usize]) -> Result<Self, Error> {
        let n = layout::size_of(shape)?;
        if n != data.len() {
            return Err(Error::shape(format!(
                "a slice of {} elements cannot be viewed as shape {} ({n} elements)",
                data.len(),
                fmt_shape(shape)
            )));
        }
        // SAFETY: C-contiguous `shape` over exactly `data.len()` elements,
        // exclusively borrowed.
        Ok(unsafe {
            Self::from_raw_parts(
                data.as_mut_ptr(),
                shape,
                &layout::contiguous_strides(shape, Order::C),
            )
        })
    }

    /// An exclusive view from raw parts, unchecked.
    ///
    /// # Safety
    /// As [`ArrayView::from_raw_parts`], valid for writes, with no other
    /// access during `'a`, and no two multi-indices reaching one element.
    pub unsafe fn from_raw_parts(ptr: *mut T, shape: &[usize], strides: &[isize]) -> Self {
        debug_assert!(layout::check_extent(shape, strides, std::mem::size_of::<T>()).is_ok());
        debug_assert!(
            !may_alias(shape, strides),
            "aliasing strides in a mutable view"
        );
        ArrayViewMut {
            ptr: NonNull::new(ptr).expect("einkern: null pointer for a view"),
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            _borrow: PhantomData,
        }
    }

    /// A shared view of the same elements, borrowing `self`.
    pub fn view(&self) -> ArrayView<'_, T> {
        // SAFETY: same memory, shared for the borrow of `self`.
        unsafe { ArrayView::from_raw_parts(self.ptr.as_ptr(), &self.shape, &self.strides) }
    }

    /// An exclusive view borrowing `self`, so `self` can be used again later.
    pub fn reborrow(&mut self) -> ArrayViewMut<'_, T> {
        ArrayViewMut {
            ptr: self.ptr,
            shape: self.shape.clone(),
            strides: self.strides.clone(),
            _borrow: PhantomData,
        }
    }

    /// Gives up exclusivity for the whole lifetime.
    pub fn into_view(self) -> ArrayView<'a, T> {
        // SAFETY: the exclusive borrow becomes a shared one for `'a`.
        unsafe { ArrayView::from_raw_parts(self.ptr.as_ptr(), &self.shape, &self.strides) }
    }

    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.ptr.as_ptr()
    }

    /// As [`ArrayView::with`]: the checked way to a new geometry, which
    /// also refuses strides that reach one element twice. Every geometry
    /// operation maps distinct indices to distinct elements of a view that
    /// does not alias, so this never fires for einkern's own; it is the
    /// release-build guard of the exclusivity the type promises.
    fn with(self, g: Geometry) -> Result<ArrayViewMut<'a, T>, Error> {
        check_mut_geometry(&g.shape, &g.strides, std::mem::size_of::<T>())?;
        Ok(self.rearranged(g))
    }

    /// As [`ArrayView::rearranged`].
    fn rearranged(self, g: Geometry) -> ArrayViewMut<'a, T> {
        ArrayViewMut {
            ptr: NonNull::new(self.ptr.as_ptr().wrapping_offset(g.offset)).expect("non-null"),
            shape: g.shape,
            strides: g.strides,
            _borrow: PhantomData,
        }
    }

    /// Basic indexing of an exclusive view (see [`ArrayView::slice`]).
    pub fn slice(self, s: impl Into<SliceInfo>) -> Result<ArrayViewMut<'a, T>, Error> {
        let g = geometry::slice(&self.shape, &self.strides, &s.into())?;
        self.with(g)
    }

    pub fn t(self) -> ArrayViewMut<'a, T> {
        let g = geometry::transpose(&self.shape, &self.strides);
        self.rearranged(g)
    }

    pub fn permute_axes(self, axes: &[usize]) -> Result<ArrayViewMut<'a, T>, Error> {
        let g = geometry::permute(&self.shape, &self.strides, axes)?;
        self.with(g)
    }

    pub fn insert_axis(self, axis: usize) -> Result<ArrayViewMut<'a, T>, Error> {
        let g = geometry::insert_axis(&self.shape, &self.strides, axis)?;
        self.with(g)
    }

    pub fn squeeze(self) -> ArrayViewMut<'a, T> {
        let g = geometry::squeeze(&self.shape, &self.strides);
        self.rearranged(g)
    }

    pub fn reshape(self, shape: &[usize]) -> Result<ArrayViewMut<'a, T>, Error> {
        let g = geometry::reshape(&self.shape, &self.strides, shape)?;
        self.with(g)
    }

    pub fn diagonal(self) -> Result<ArrayViewMut<'a, T>, Error> {
        let g = geometry::diagonal(&self.shape, &self.strides)?;
        self.with(g)
    }

    /// The elements in C order, borrowed mutably, when C-contiguous.
    pub fn as_slice_mut(&mut self) -> Option<&mut [T]> {
        if !self.is_c_contiguous() {
            return None;
        }
        let n = self.len();
        // SAFETY: C-contiguous: exactly the view's elements, exclusively borrowed.
        Some(unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), n) })
    }

    /// A mutable reference to the element at `index`, if it is in bounds.
    pub fn get_mut(&mut self, index: &[usize]) -> Option<&mut T> {
        if index.len() != self.ndim() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return None;
        }
        // SAFETY: in bounds, exclusively borrowed.
        Some(unsafe {
            &mut *self
                .ptr
                .as_ptr()
                .offset(layout::offset_of(index, &self.strides))
        })
    }

    /// Sets every element to `value`.
    pub fn fill(&mut self, value: T) {
        // A contiguous view is one vectorised store loop (kernels fill
        // their reduction targets with the identity this way), streamed
        // when it is too large to stay in cache anyway.
        if let Some(s) = self.as_slice_mut() {
            if std::mem::size_of_val(s) >= crate::stream::STREAM_BYTES {
                // SAFETY: the slice is this view's exclusive memory.
                unsafe { crate::stream::fill(s.as_mut_ptr(), s.len(), value) };
            } else {
                s.fill(value);
            }
            return;
        }
        let zero = vec![0isize; self.ndim()];
        // SAFETY: the source is the one element `value`, read through zero
        // strides; the destination is this exclusive view.
        unsafe { copy_strided(&self.shape, self.ptr.as_ptr(), &self.strides, &value, &zero) }
    }

    /// Copies `src` into this view, broadcasting `src` to this view's shape
    /// (NumPy's `out[...] = src`).
    pub fn assign(&mut self, src: &ArrayView<'_, T>) -> Result<(), Error> {
        let strides = layout::broadcast_strides(src.shape(), src.strides(), &self.shape)?;
        // SAFETY: `src` reads in bounds through broadcast strides; the
        // destination is this exclusive view, which the borrow rules keep
        // apart from any shared view `src`.
        unsafe {
            copy_strided(
                &self.shape,
                self.ptr.as_ptr(),
                &self.strides,
                src.as_ptr(),
                &strides,
            )
        };
        Ok(())
    }

    /// Applies `f` to every element in place.
    pub fn map_inplace(&mut self, mut f: impl FnMut(T) -> T) {
        let n = self.len();
        if let Some(s) = self.as_slice_mut() {
            s.iter_mut().for_each(|x| *x = f(*x));
            return;
        }
        let mut index = vec![0usize; self.ndim()];
        for _ in 0..n {
            // SAFETY: `index` stays inside the view (odometer below).
            unsafe {
                let p = self
                    .ptr
                    .as_ptr()
                    .offset(layout::offset_of(&index, &self.strides));
                *p = f(*p);
            }
            for k in (0..index.len()).rev() {
                index[k] += 1;
                if index[k] < self.shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
    }
}

/// Element iterator of a view, in logical (C) order.
pub struct Iter<'a, T> {
    view: ArrayView<'a, T>,
    index: Vec<usize>,
    offset: isize,
    remaining: usize,
}

impl<T: Element> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        if self.remaining == 0 {
            return None;
        }
        // SAFETY: `offset` is the offset of `index`, which is in bounds
        // while elements remain.
        let x = unsafe { *self.view.ptr.as_ptr().offset(self.offset) };
        self.remaining -= 1;
        // Wrapping: stepping a length-1 axis whose stride is huge (after
        // `..;isize::MAX`) leaves the range for a moment; the carry takes
        // the step back, and the wrapped sum is then exact.
        for k in (0..self.index.len()).rev() {
            self.index[k] += 1;
            self.offset = self.offset.wrapping_add(self.view.strides[k]);
            if self.index[k] < self.view.shape[k] {
                break;
            }
            self.offset = self
                .offset
                .wrapping_sub(self.view.strides[k].wrapping_mul(self.view.shape[k] as isize));
            self.index[k] = 0;
        }
        Some(x)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T: Element> ExactSizeIterator for Iter<'_, T> {}

/// The read-only methods every array type has, forwarded to a view.
macro_rules! common_methods {
    () => {
        /// The length of each axis.
        pub fn shape(&self) -> &[usize] {
            &self.shape
        }
        /// The distance, in elements, between neighbours along each axis.
        pub fn strides(&self) -> &[isize] {
            &self.strides
        }
        /// Number of axes.
        pub fn ndim(&self) -> usize {
            self.shape.len()
        }
        /// Number of elements (NumPy's `size`). The product cannot wrap:
        /// every array and view obeys `layout::check_extent`.
        pub fn len(&self) -> usize {
            // Checked, not `product()`: an empty axis beside huge ones
            // overflows a running product. The construction rule bounds
            // every non-empty count, so the default is never taken.
            $crate::layout::checked_size(&self.shape).unwrap_or(usize::MAX)
        }
        pub fn is_empty(&self) -> bool {
            self.len() == 0
        }
        /// NumPy's `C_CONTIGUOUS` flag.
        pub fn is_c_contiguous(&self) -> bool {
            $crate::layout::is_c_contiguous(&self.shape, &self.strides)
        }
        /// NumPy's `F_CONTIGUOUS` flag.
        pub fn is_f_contiguous(&self) -> bool {
            $crate::layout::is_f_contiguous(&self.shape, &self.strides)
        }
    };
}
pub(crate) use common_methods;

impl<T: Element> ArrayView<'_, T> {
    common_methods!();
}

impl<T: Element> ArrayViewMut<'_, T> {
    common_methods!();

    pub fn get(&self, index: &[usize]) -> Option<T> {
        self.view().get(index)
    }
    pub fn to_vec(&self) -> Vec<T> {
        self.view().to_vec()
    }
    pub fn to_owned(&self) -> Array<T> {
        self.view().to_owned()
    }
    pub fn to_order(&self, order: Order) -> Array<T> {
        self.view().to_order(order)
    }
    pub fn try_to_owned(&self) -> Result<Array<T>, Error> {
        self.view().try_to_owned()
    }
    pub fn try_to_order(&self, order: Order) -> Result<Array<T>, Error> {
        self.view().try_to_order(order)
    }
    /// The elements in C order, borrowed, when C-contiguous.
    pub fn as_slice(&self) -> Option<&[T]> {
        if !self.is_c_contiguous() {
            return None;
        }
        // SAFETY: C-contiguous: exactly the view's elements, borrowed via `self`.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) })
    }
}

impl<T: Element> std::fmt::Debug for ArrayView<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ArrayView(shape={}, strides={:?}, ",
            fmt_shape(&self.shape),
            self.strides
        )?;
        crate::display::fmt_elements(self, f)?;
        f.write_str(")")
    }
}

impl<T: Element> std::fmt::Debug for ArrayViewMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.view().fmt(f)
    }
}

impl<T: Element> std::fmt::Display for ArrayView<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::display::fmt_elements(self, f)
    }
}

impl<T: Element> std::fmt::Display for ArrayViewMut<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::display::fmt_elements(&self.view(), f)
    }
}

impl<'a, T: Element> From<&'a Array<T>> for ArrayView<'a, T> {
    fn from(a: &'a Array<T>) -> Self {
        a.view()
    }
}

impl<'a, T: Element> From<&'a ArrayView<'_, T>> for ArrayView<'a, T> {
    fn from(v: &'a ArrayView<'_, T>) -> Self {
        v.view()
    }
}

impl<'a, T: Element> From<&'a mut Array<T>> for ArrayViewMut<'a, T> {
    fn from(a: &'a mut Array<T>) -> Self {
        a.view_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_strided_is_checked() {
        let data: Vec<f64> = (0..10).map(f64::from).collect();
        let v = ArrayView::as_strided(&data, &[3, 2], &[3, 1], 1).unwrap();
        assert_eq!(v.to_vec(), vec![1.0, 2.0, 4.0, 5.0, 7.0, 8.0]);
        // Overlapping windows are fine for a shared view.
        let w = ArrayView::as_strided(&data, &[8, 3], &[1, 1], 0).unwrap();
        assert_eq!(w.get(&[7, 2]), Some(9.0));
        assert!(ArrayView::as_strided(&data, &[3, 2], &[3, 1], 3).is_err());
        assert!(ArrayView::as_strided(&data, &[3], &[-1], 1).is_err());
        assert_eq!(
            ArrayView::as_strided(&data, &[3], &[-1], 2)
                .unwrap()
                .to_vec(),
            vec![2.0, 1.0, 0.0]
        );
        assert!(ArrayView::as_strided(&data, &[0, 5], &[100, 100], 10).is_ok());
        assert!(ArrayView::as_strided(&data, &[2], &[1, 1], 0).is_err());
    }

    #[test]
    fn aliasing_detection() {
        assert!(!may_alias(&[3, 4], &[4, 1]));
        assert!(!may_alias(&[3, 4], &[1, 3]));
        assert!(!may_alias(&[3, 4], &[-8, 2]));
        assert!(may_alias(&[3, 4], &[-4, 2]));
        assert!(may_alias(&[3, 4], &[0, 1]));
        assert!(may_alias(&[8, 3], &[1, 1]));
        assert!(!may_alias(&[1, 4], &[0, 1]));
    }

    /// The check every safe way to an `ArrayViewMut` passes (its geometry
    /// operations, the ndarray conversion), in release builds too.
    #[test]
    fn mutable_geometry_refuses_aliasing_and_oversized_views() {
        assert!(check_mut_geometry(&[3, 4], &[4, 1], 8).is_ok());
        assert!(check_mut_geometry(&[3, 4], &[-1, -3], 8).is_ok());
        let e = check_mut_geometry(&[2, 3], &[0, 1], 8)
            .unwrap_err()
            .to_string();
        assert!(e.contains("(2, 3)") && e.contains("[0, 1]"), "{e}");
        assert!(check_mut_geometry(&[8, 3], &[1, 1], 4).is_err());
        assert!(check_mut_geometry(&[3, 4], &[-4, 2], 4).is_err());
        // Zero strides on length-1 axes and empty views reach nothing twice.
        assert!(check_mut_geometry(&[1, 4, 1], &[0, 1, 0], 8).is_ok());
        assert!(check_mut_geometry(&[0, 4], &[0, 0], 8).is_ok());
        // The size rule comes first: no saturated reach hides an overflow.
        assert!(check_mut_geometry(&[2], &[isize::MIN], 1).is_err());
        assert!(check_mut_geometry(&[1 << 62, 4], &[4, 1], 8).is_err());
    }

    #[test]
    fn assign_broadcasts() {
        let mut a = Array::<f64>::zeros(&[2, 3]);
        let row = Array::from_vec(&[3], vec![1.0, 2.0, 3.0]).unwrap();
        a.view_mut().assign(&row.view()).unwrap();
        assert_eq!(a.to_vec(), vec![1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        let bad = Array::<f64>::zeros(&[2]);
        assert!(a.view_mut().assign(&bad.view()).is_err());
    }
}

//! `Array<T>`: an owned, contiguous (C or F order), 64-byte-aligned array.

use std::path::Path;

use crate::alloc::RawBuffer;
use crate::element::Element;
use crate::error::Error;
use crate::layout::{self, contiguous_strides, fmt_shape, Order};
use crate::slice::SliceInfo;
use crate::view::{common_methods, ArrayView, ArrayViewMut, Iter};

/// An owned n-dimensional array. Its buffer is always contiguous in C or F
/// order; views ([`ArrayView`], [`ArrayViewMut`]) describe everything else.
pub struct Array<T> {
    buf: RawBuffer<T>,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl<T: Element> Array<T> {
    /// An array whose elements are unspecified: every element must be
    /// written before it is read. This is how kernels allocate their outputs
    /// (NumPy's `np.empty`): no time is spent zeroing memory that is about to
    /// be overwritten.
    ///
    /// # Safety
    /// The caller must write every element before reading any of them.
    ///
    /// # Panics
    /// If the size in bytes overflows `isize` or the memory cannot be had
    /// ([`try_uninit`](Self::try_uninit) returns the error instead).
    pub unsafe fn uninit(shape: &[usize], order: Order) -> Self {
        // SAFETY: forwarded to the caller.
        unsafe { Self::try_uninit(shape, order) }.unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`uninit`](Self::uninit), with an [`Error`] when the size overflows
    /// or the allocation fails: how every `Result` API allocates its output.
    ///
    /// # Safety
    /// As [`uninit`](Self::uninit).
    pub unsafe fn try_uninit(shape: &[usize], order: Order) -> Result<Self, Error> {
        let n = layout::bytes_of(shape, std::mem::size_of::<T>())? / std::mem::size_of::<T>();
        Ok(Array {
            buf: RawBuffer::try_uninit(n)?,
            shape: shape.to_vec(),
            strides: contiguous_strides(shape, order),
        })
    }

    /// An array of zeros in C order.
    ///
    /// # Panics
    /// As [`uninit`](Self::uninit); [`try_zeros`](Self::try_zeros) returns
    /// the error instead.
    pub fn zeros(shape: &[usize]) -> Self {
        Self::zeros_with_order(shape, Order::C)
    }

    /// An array of zeros in the given order. Large arrays are fresh pages the
    /// kernel zeroes at first touch, or recycled ones cleared with streaming
    /// stores ([`crate::alloc`]).
    ///
    /// # Panics
    /// As [`zeros`](Self::zeros).
    pub fn zeros_with_order(shape: &[usize], order: Order) -> Self {
        Self::try_zeros_with_order(shape, order).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`zeros`](Self::zeros), with an [`Error`] when the size overflows or
    /// the memory cannot be had (`Array::<f64>::try_zeros(&[1 << 61])` is
    /// an error, not an abort).
    pub fn try_zeros(shape: &[usize]) -> Result<Self, Error> {
        Self::try_zeros_with_order(shape, Order::C)
    }

    /// [`zeros_with_order`](Self::zeros_with_order), with an [`Error`]
    /// instead of a panic.
    pub fn try_zeros_with_order(shape: &[usize], order: Order) -> Result<Self, Error> {
        let n = layout::bytes_of(shape, std::mem::size_of::<T>())? / std::mem::size_of::<T>();
        Ok(Array {
            buf: RawBuffer::try_zeroed(n)?,
            shape: shape.to_vec(),
            strides: contiguous_strides(shape, order),
        })
    }

    pub fn ones(shape: &[usize]) -> Self {
        Self::full(shape, T::ONE)
    }

    /// An array (C order) with every element `value`.
    pub fn full(shape: &[usize], value: T) -> Self {
        // SAFETY: `fill` writes every element.
        let mut a = unsafe { Self::uninit(shape, Order::C) };
        a.fill(value);
        a
    }

    /// Takes `data` as the elements of `shape` in C order.
    pub fn from_vec(shape: &[usize], data: Vec<T>) -> Result<Self, Error> {
        Self::from_vec_with_order(shape, data, Order::C)
    }

    /// Takes `data` as the elements of `shape` laid out in `order`.
    pub fn from_vec_with_order(shape: &[usize], data: Vec<T>, order: Order) -> Result<Self, Error> {
        let n = layout::size_of(shape)?;
        if n != data.len() {
            return Err(Error::shape(format!(
                "{} elements cannot form an array of shape {} ({n} elements)",
                data.len(),
                fmt_shape(shape)
            )));
        }
        // SAFETY: the copy writes every element.
        let mut a = unsafe { Self::try_uninit(shape, order) }?;
        a.as_mut_slice_memory_order().copy_from_slice(&data);
        Ok(a)
    }

    /// An array (C order) whose element at each multi-index is `f(index)`;
    /// `f` is called in C order.
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> T) -> Self {
        // SAFETY: the loop below writes every element once.
        let mut a = unsafe { Self::uninit(shape, Order::C) };
        let mut index = vec![0usize; shape.len()];
        for x in a.as_mut_slice() {
            *x = f(&index);
            for k in (0..index.len()).rev() {
                index[k] += 1;
                if index[k] < shape[k] {
                    break;
                }
                index[k] = 0;
            }
        }
        a
    }

    /// The `n`×`n` identity matrix.
    pub fn eye(n: usize) -> Self {
        let mut a = Self::zeros(&[n, n]);
        let s = a.as_mut_slice();
        for i in 0..n {
            s[i * n + i] = T::ONE;
        }
        a
    }

    /// A shared view of the whole array.
    pub fn view(&self) -> ArrayView<'_, T> {
        // SAFETY: the buffer holds exactly the elements that the contiguous
        // shape and strides address, and lives as long as the borrow.
        unsafe { ArrayView::from_raw_parts(self.buf.as_ptr(), &self.shape, &self.strides) }
    }

    /// An exclusive view of the whole array.
    pub fn view_mut(&mut self) -> ArrayViewMut<'_, T> {
        // SAFETY: as `view`, exclusively borrowed; contiguous strides do not
        // alias.
        unsafe { ArrayViewMut::from_raw_parts(self.buf.as_mut_ptr(), &self.shape, &self.strides) }
    }

    pub fn as_ptr(&self) -> *const T {
        self.buf.as_ptr()
    }

    pub fn as_mut_ptr(&mut self) -> *mut T {
        self.buf.as_mut_ptr()
    }

    /// The elements in memory order (C or F, whichever this array has).
    pub fn as_slice_memory_order(&self) -> &[T] {
        // SAFETY: the buffer holds `len` initialised elements.
        unsafe { std::slice::from_raw_parts(self.buf.as_ptr(), self.buf.len()) }
    }

    /// The elements in memory order, mutably.
    pub fn as_mut_slice_memory_order(&mut self) -> &mut [T] {
        // SAFETY: as above, exclusively borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.buf.as_mut_ptr(), self.buf.len()) }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        self.as_mut_slice_memory_order()
    }

    /// The elements in C order, when the array is C-contiguous.
    pub fn as_slice(&self) -> Option<&[T]> {
        self.is_c_contiguous().then(|| self.as_slice_memory_order())
    }

    /// The elements in C order, mutably, when the array is C-contiguous.
    pub fn as_slice_mut(&mut self) -> Option<&mut [T]> {
        if self.is_c_contiguous() {
            Some(self.as_mut_slice_memory_order())
        } else {
            None
        }
    }

    /// The elements in logical (C) order, as a `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        match self.as_slice() {
            Some(s) => s.to_vec(),
            None => self.view().to_vec(),
        }
    }

    pub fn get(&self, index: &[usize]) -> Option<T> {
        self.view().get(index)
    }

    pub fn get_mut(&mut self, index: &[usize]) -> Option<&mut T> {
        if index.len() != self.ndim() || index.iter().zip(&self.shape).any(|(&i, &d)| i >= d) {
            return None;
        }
        let off = layout::offset_of(index, &self.strides) as usize;
        Some(&mut self.as_mut_slice_memory_order()[off])
    }

    pub fn to_vec(&self) -> Vec<T> {
        self.view().to_vec()
    }

    /// A C-order copy.
    pub fn to_owned(&self) -> Array<T> {
        self.view().to_owned()
    }

    /// A copy in `order`.
    pub fn to_order(&self, order: Order) -> Array<T> {
        self.view().to_order(order)
    }

    pub fn iter(&self) -> Iter<'_, T> {
        self.view().iter()
    }

    pub fn t(&self) -> ArrayView<'_, T> {
        self.view().t()
    }
    pub fn permute_axes(&self, axes: &[usize]) -> Result<ArrayView<'_, T>, Error> {
        self.view().permute_axes(axes)
    }
    pub fn slice(&self, s: impl Into<SliceInfo>) -> Result<ArrayView<'_, T>, Error> {
        self.view().slice(s)
    }
    pub fn slice_mut(&mut self, s: impl Into<SliceInfo>) -> Result<ArrayViewMut<'_, T>, Error> {
        self.view_mut().slice(s)
    }
    pub fn insert_axis(&self, axis: usize) -> Result<ArrayView<'_, T>, Error> {
        self.view().insert_axis(axis)
    }
    pub fn squeeze(&self) -> ArrayView<'_, T> {
        self.view().squeeze()
    }
    pub fn reshape(&self, shape: &[usize]) -> Result<ArrayView<'_, T>, Error> {
        self.view().reshape(shape)
    }
    /// Reshapes the owned array in place (C order), keeping its buffer:
    /// `Err` if the element count differs or the array is F-ordered with
    /// more than one non-trivial axis (that would need a copy).
    pub fn into_shape(self, shape: &[usize]) -> Result<Array<T>, Error> {
        let strides = crate::geometry::reshape(&self.shape, &self.strides, shape)?.strides;
        // The element count is unchanged, but an empty array could
        // otherwise take an axis longer than isize::MAX.
        layout::check_extent(shape, &strides, std::mem::size_of::<T>())?;
        Ok(Array {
            buf: self.buf,
            shape: shape.to_vec(),
            strides,
        })
    }
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<ArrayView<'_, T>, Error> {
        self.view().broadcast_to(shape)
    }
    pub fn sliding_window(&self, window: &[usize]) -> Result<ArrayView<'_, T>, Error> {
        self.view().sliding_window(window)
    }
    pub fn diagonal(&self) -> Result<ArrayView<'_, T>, Error> {
        self.view().diagonal()
    }

    /// `as_strided` over this array's buffer (see [`ArrayView::as_strided`]).
    pub fn as_strided(
        &self,
        shape: &[usize],
        strides: &[isize],
        offset: usize,
    ) -> Result<ArrayView<'_, T>, Error> {
        ArrayView::as_strided(self.as_slice_memory_order(), shape, strides, offset)
    }

    /// Sets every element to `value` (with streaming stores when the array
    /// is large, see [`crate::stream`]). An array covers its whole buffer,
    /// so a recycled `zeros` buffer is written once, not zeroed first.
    pub fn fill(&mut self, value: T) {
        let len = self.buf.len();
        let ptr = self.buf.as_mut_ptr_for_overwrite();
        // SAFETY: the buffer holds `len` elements, all of them this array's
        // (C or F contiguous), and `&mut self` excludes any other access.
        unsafe {
            if len * std::mem::size_of::<T>() >= crate::stream::STREAM_BYTES {
                crate::stream::fill(ptr, len, value);
            } else {
                std::slice::from_raw_parts_mut(ptr, len).fill(value);
            }
        }
    }

    /// Reads a `.npy` file holding elements of type `T`.
    ///
    /// The header's shape is checked (its size in bytes fits in `isize`)
    /// and, for a regular file, compared with the bytes the file really has
    /// before the array is allocated: a header that claims 10¹² elements in
    /// a small file is an error that costs a few kilobytes. From a pipe or
    /// another stream of unknown length, memory grows only with the data
    /// read.
    pub fn read_npy(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        // Name the file: with several inputs, "file holds float64, expected
        // float32" alone does not say which one.
        let in_file = |e: Error| match e {
            Error::Io(source) => Error::io(Some(path), source),
            Error::Type { message } => Error::type_(format!("{}: {message}", path.display())),
            Error::Format { message } => Error::format(format!("{}: {message}", path.display())),
            Error::Alloc { message } => Error::alloc(format!("{}: {message}", path.display())),
            other => other,
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(Some(path), e))?;
        let file_len = file
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .map(|m| m.len());
        let mut r = std::io::BufReader::new(file);
        let header = crate::npy::read_header(&mut r).map_err(in_file)?;
        if header.dtype != T::DTYPE {
            return Err(in_file(Error::type_(format!(
                "file holds {}, expected {}",
                header.dtype,
                T::DTYPE
            ))));
        }
        let order = if header.fortran_order {
            Order::F
        } else {
            Order::C
        };
        let Some(file_len) = file_len else {
            let data = crate::npy::read_data::<T>(&mut r, &header).map_err(in_file)?;
            return Self::from_vec_with_order(&header.shape, data, order);
        };
        let need = crate::npy::data_bytes(&header).map_err(in_file)?;
        let at = std::io::Seek::stream_position(&mut r).map_err(|e| Error::io(Some(path), e))?;
        let have = file_len.saturating_sub(at);
        if have < need as u64 {
            return Err(in_file(Error::format(format!(
                "truncated .npy file: shape {} of {} needs {need} data bytes, the file has {have}",
                fmt_shape(&header.shape),
                T::DTYPE
            ))));
        }
        // SAFETY: `read_data_into` writes every element, or fails, and then
        // the array is dropped unread.
        let mut a = unsafe { Self::try_uninit(&header.shape, order) }.map_err(in_file)?;
        crate::npy::read_data_into(&mut r, &header, a.as_mut_slice_memory_order())
            .map_err(in_file)?;
        Ok(a)
    }

    /// Writes this array to a `.npy` file, keeping its memory order.
    pub fn write_npy(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let file = std::fs::File::create(path).map_err(|e| Error::io(Some(path), e))?;
        let fortran = !self.is_c_contiguous();
        crate::npy::write(
            std::io::BufWriter::new(file),
            &self.shape,
            fortran,
            self.as_slice_memory_order(),
        )
        .map_err(|e| match e {
            Error::Io(source) => Error::io(Some(path), source),
            other => other,
        })
    }

    common_methods!();
}

impl<T: Element> Clone for Array<T> {
    fn clone(&self) -> Self {
        Array {
            buf: RawBuffer::from_slice(self.as_slice_memory_order()),
            shape: self.shape.clone(),
            strides: self.strides.clone(),
        }
    }
}

impl<T: Element> PartialEq for Array<T> {
    /// Equal shapes and equal elements (NaN ≠ NaN, as `==` on floats).
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<T: Element> From<Vec<T>> for Array<T> {
    /// A 1-d array.
    fn from(data: Vec<T>) -> Self {
        let n = data.len();
        Array::from_vec(&[n], data).expect("length matches")
    }
}

impl<T: Element> std::fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Array(shape={}, ", fmt_shape(&self.shape))?;
        crate::display::fmt_elements(&self.view(), f)?;
        f.write_str(")")
    }
}

impl<T: Element> std::fmt::Display for Array<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        crate::display::fmt_elements(&self.view(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s;

    /// A large `zeros` array reads as zeros through every access path, and
    /// `fill` overwrites it whole, whether or not its buffer was recycled.
    #[test]
    fn large_zeros_read_as_zeros_and_fill_overwrites() {
        let n = 3 << 20; // 12 MiB of f32: mapped, recyclable
        for _ in 0..2 {
            let mut junk = Array::<f32>::full(&[n], f32::NAN);
            junk.fill(-1.0);
            drop(junk);
            let z = Array::<f32>::zeros(&[n]);
            assert_eq!(z.get(&[n - 1]), Some(0.0));
            assert!(z.iter().all(|x| x == 0.0));
            drop(z);
            let mut f = Array::<f32>::zeros(&[2, n / 2]);
            f.fill(3.0);
            assert!(f.as_slice().expect("C order").iter().all(|&x| x == 3.0));
            drop(f);
            let mut w = Array::<f32>::zeros(&[n]);
            w.slice_mut(s![..;2]).expect("in range").fill(1.0);
            assert_eq!(w.to_vec()[..4], [1.0, 0.0, 1.0, 0.0]);
        }
    }

    #[test]
    fn constructors() {
        assert_eq!(Array::<i32>::eye(2).to_vec(), vec![1, 0, 0, 1]);
        assert_eq!(Array::<f32>::ones(&[2]).to_vec(), vec![1.0, 1.0]);
        assert_eq!(Array::full(&[2, 1], 7i64).to_vec(), vec![7, 7]);
        let a = Array::from_fn(&[2, 3], |i| (10 * i[0] + i[1]) as f64);
        assert_eq!(a.to_vec(), vec![0.0, 1.0, 2.0, 10.0, 11.0, 12.0]);
        assert!(Array::from_vec(&[2, 2], vec![1.0f64; 3]).is_err());
        let z = Array::<f64>::zeros_with_order(&[2, 3], Order::F);
        assert!(z.is_f_contiguous() && !z.is_c_contiguous());
        assert_eq!(Array::<f64>::zeros(&[0, 3]).len(), 0);
        assert_eq!(Array::<f64>::zeros(&[]).to_vec(), vec![0.0]);
    }

    #[test]
    fn f_order_round_trip() {
        let a = Array::from_fn(&[3, 4], |i| (i[0] * 4 + i[1]) as i32);
        let f = a.to_order(Order::F);
        assert!(f.is_f_contiguous());
        assert_eq!(f.to_vec(), a.to_vec());
        assert_eq!(
            f.as_slice_memory_order(),
            &[0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
        );
        assert_eq!(f.as_slice(), None);
        assert_eq!(f.get(&[2, 1]), Some(9));
        assert_eq!(f, a);
    }

    #[test]
    fn views_share_memory() {
        let mut a = Array::from_fn(&[4, 4], |i| (i[0] * 4 + i[1]) as f64);
        {
            let mut col = a.slice_mut(s![.., 1]).unwrap();
            col.fill(-1.0);
        }
        assert_eq!(a.get(&[3, 1]), Some(-1.0));
        assert_eq!(a.t().get(&[1, 3]), Some(-1.0));
        *a.get_mut(&[0, 0]).unwrap() = 5.0;
        assert_eq!(a.view().iter().next(), Some(5.0));
        let r = a.into_shape(&[2, 8]).unwrap();
        assert_eq!(r.get(&[1, 1]), Some(-1.0));
        let z = Array::<f32>::zeros(&[0, 2]);
        assert!(z.into_shape(&[0, usize::MAX]).is_err());
        let z = Array::<f32>::zeros(&[0, 2]).into_shape(&[isize::MAX as usize, 0]);
        assert_eq!(z.unwrap().shape(), &[isize::MAX as usize, 0]);
    }
}

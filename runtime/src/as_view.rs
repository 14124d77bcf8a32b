//! [`AsArrayView`]: what einsum operands may be.

use crate::array::Array;
use crate::element::Element;
use crate::view::{ArrayView, ArrayViewMut};

/// Anything that lends a shared [`ArrayView`]: arrays, views, and references
/// to them. The `einsum!` macros convert each operand with it, so
/// `einsum!("ij,jk", &a, b.view())` accepts `&Array<T>`, `ArrayView<T>` and
/// `&ArrayView<T>` alike.
pub trait AsArrayView<T: Element> {
    /// A view of the whole array, borrowed from `self`.
    fn as_array_view(&self) -> ArrayView<'_, T>;
}

impl<T: Element> AsArrayView<T> for Array<T> {
    fn as_array_view(&self) -> ArrayView<'_, T> {
        self.view()
    }
}

impl<T: Element> AsArrayView<T> for ArrayView<'_, T> {
    fn as_array_view(&self) -> ArrayView<'_, T> {
        self.view()
    }
}

impl<T: Element> AsArrayView<T> for ArrayViewMut<'_, T> {
    fn as_array_view(&self) -> ArrayView<'_, T> {
        self.view()
    }
}

impl<T: Element, A: AsArrayView<T> + ?Sized> AsArrayView<T> for &A {
    fn as_array_view(&self) -> ArrayView<'_, T> {
        (**self).as_array_view()
    }
}

impl<T: Element, A: AsArrayView<T> + ?Sized> AsArrayView<T> for &mut A {
    fn as_array_view(&self) -> ArrayView<'_, T> {
        (**self).as_array_view()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_views_and_references_convert() {
        let a = Array::from_vec(&[2], vec![1.0f64, 2.0]).expect("two elements");
        let v = a.view();
        assert_eq!(a.as_array_view().to_vec(), vec![1.0, 2.0]);
        // Through the blanket impl for references, as `einsum!(.., &a)` does.
        fn through<T: Element>(x: impl AsArrayView<T>) -> Vec<T> {
            x.as_array_view().to_vec()
        }
        assert_eq!(through(&a), vec![1.0, 2.0]);
        assert_eq!(through(&v), vec![1.0, 2.0]);
        assert_eq!(v.t().as_array_view().strides(), &[1]);
    }
}

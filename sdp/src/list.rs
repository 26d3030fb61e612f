//! [`List`]: a sequence that keeps its first element inline.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A sequence of `T` that holds a single element inline and moves to a `Vec` from the
/// second on.
///
/// The `t=` lines ([`crate::Sdp::times`]) and the `m=` sections ([`crate::Sdp::media`]) of
/// a description use it: nearly every SIP description has exactly one of each, so parsing
/// one allocates nothing for it (and dropping it frees nothing). It dereferences to a slice
/// (`list[0]`, `iter()`, `first()`, `last_mut()`, `len()`...), compares as one and prints
/// as a `Vec` does.
#[derive(Clone)]
pub struct List<T>(Repr<T>);

#[derive(Clone)]
enum Repr<T> {
    Empty,
    One(T),
    Many(Vec<T>),
}

impl<T> List<T> {
    /// An empty list.
    pub const fn new() -> Self {
        Self(Repr::Empty)
    }

    /// Appends an element.
    #[inline]
    pub fn push(&mut self, value: T) {
        match &mut self.0 {
            Repr::Empty => {
                // The value replaced is `Empty`: nothing to drop (an assignment would call
                // the drop glue of `Repr<T>` on it).
                std::mem::forget(std::mem::replace(&mut self.0, Repr::One(value)));
            }
            Repr::Many(v) => v.push(value),
            Repr::One(_) => {
                let mut v = Vec::with_capacity(4);
                if let Repr::One(first) = std::mem::replace(&mut self.0, Repr::Empty) {
                    v.push(first);
                }
                v.push(value);
                self.0 = Repr::Many(v);
            }
        }
    }

    /// The elements as a slice.
    pub fn as_slice(&self) -> &[T] {
        match &self.0 {
            Repr::Empty => &[],
            Repr::One(t) => std::slice::from_ref(t),
            Repr::Many(v) => v,
        }
    }

    /// The elements as a mutable slice.
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        match &mut self.0 {
            Repr::Empty => &mut [],
            Repr::One(t) => std::slice::from_mut(t),
            Repr::Many(v) => v,
        }
    }

    /// Removes every element.
    pub fn clear(&mut self) {
        self.0 = Repr::Empty;
    }

    /// Keeps the elements for which `keep` returns true, in order.
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match &mut self.0 {
            Repr::Empty => {}
            Repr::One(t) => {
                if !keep(t) {
                    self.0 = Repr::Empty;
                }
            }
            Repr::Many(v) => v.retain(keep),
        }
    }

    /// The elements as a `Vec`.
    pub fn into_vec(self) -> Vec<T> {
        match self.0 {
            Repr::Empty => Vec::new(),
            Repr::One(t) => vec![t],
            Repr::Many(v) => v,
        }
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        self.as_slice()
    }
}

impl<T> DerefMut for List<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        self.as_mut_slice()
    }
}

impl<T: fmt::Debug> fmt::Debug for List<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl<T: PartialEq> PartialEq for List<T> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<T: Eq> Eq for List<T> {}

impl<T> From<Vec<T>> for List<T> {
    fn from(v: Vec<T>) -> Self {
        Self(Repr::Many(v))
    }
}

impl<T> From<List<T>> for Vec<T> {
    fn from(list: List<T>) -> Self {
        list.into_vec()
    }
}

impl<T> FromIterator<T> for List<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut list = Self::new();
        list.extend(iter);
        list
    }
}

impl<T> Extend<T> for List<T> {
    fn extend<I: IntoIterator<Item = T>>(&mut self, iter: I) {
        for t in iter {
            self.push(t);
        }
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

impl<'a, T> IntoIterator for &'a mut List<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.as_mut_slice().iter_mut()
    }
}

impl<T> IntoIterator for List<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;

    fn into_iter(self) -> Self::IntoIter {
        self.into_vec().into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::List;

    #[test]
    fn a_list_is_its_slice_whatever_the_storage() {
        for n in 0..6u32 {
            let want: Vec<u32> = (0..n).collect();
            let mut list = List::new();
            for i in 0..n {
                list.push(i);
            }
            assert_eq!(list.as_slice(), want.as_slice());
            assert_eq!(list.len(), want.len());
            assert_eq!(format!("{list:?}"), format!("{want:?}"));
            assert_eq!(list.clone(), list);
            assert_eq!(List::from(want.clone()), list);
            assert_eq!(want.iter().copied().collect::<List<_>>(), list);
            assert_eq!(
                list.iter().collect::<Vec<_>>(),
                want.iter().collect::<Vec<_>>()
            );
            assert_eq!(list.clone().into_vec(), want);
            assert_eq!(Vec::from(list.clone()), want);
            assert_eq!(list.clone().into_iter().collect::<Vec<_>>(), want);
            for x in &mut list {
                *x += 1;
            }
            if let Some(last) = list.last_mut() {
                *last = 99;
            }
            let mut bumped: Vec<u32> = want.iter().map(|x| x + 1).collect();
            if let Some(last) = bumped.last_mut() {
                *last = 99;
            }
            assert_eq!(list.as_slice(), bumped.as_slice());
            let mut odd = list.clone();
            odd.retain(|x| x % 2 == 1);
            bumped.retain(|x| x % 2 == 1);
            assert_eq!(odd.as_slice(), bumped.as_slice());
            list.clear();
            assert!(list.is_empty());
            assert_eq!(list, List::default());
        }
    }
}

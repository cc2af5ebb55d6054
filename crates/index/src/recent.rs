//! A short list of recently used values by key, oldest first: the caches of built views and
//! tree slices here, of built indexes in the server. Lookups are linear: they hold a handful.

use std::borrow::Borrow;
use std::collections::VecDeque;

/// Recently used `(key, value)` pairs, oldest first. The owner decides when to drop the
/// oldest (by count, bytes or nodes).
#[derive(Debug)]
pub struct Recent<K, V> {
    items: VecDeque<(K, V)>,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Recent { items: VecDeque::new() }
    }
}

impl<K: PartialEq, V: Clone> Recent<K, V> {
    /// The value of `key`, now the most recent.
    pub fn get<Q: PartialEq + ?Sized>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        let i = self.items.iter().position(|(k, _)| k.borrow() == key)?;
        let item = self.items.remove(i)?;
        let v = item.1.clone();
        self.items.push_back(item);
        Some(v)
    }
    /// Adds (or replaces) `key` as the most recent.
    pub fn insert(&mut self, key: K, value: V) {
        self.items.retain(|(k, _)| *k != key);
        self.items.push_back((key, value));
    }
    /// Forgets `key`.
    pub fn remove<Q: PartialEq + ?Sized>(&mut self, key: &Q)
    where
        K: Borrow<Q>,
    {
        self.items.retain(|(k, _)| k.borrow() != key);
    }
    /// Drops and returns the least recent pair.
    pub fn pop_oldest(&mut self) -> Option<(K, V)> {
        self.items.pop_front()
    }
    /// Whether `key` is here (without making it recent).
    pub fn contains<Q: PartialEq + ?Sized>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
    {
        self.items.iter().any(|(k, _)| k.borrow() == key)
    }
    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// No pairs.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// The pairs, oldest first (without making any recent).
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.items.iter().map(|(k, v)| (k, v))
    }
    /// The values, oldest first.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.items.iter().map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn get_makes_recent_and_the_oldest_goes_first() {
        let mut r: Recent<String, u32> = Recent::default();
        for (k, v) in [("a", 1), ("b", 2), ("c", 3)] {
            r.insert(k.to_owned(), v);
        }
        assert_eq!(r.get("a"), Some(1)); // now b, c, a
        assert_eq!(r.get("zz"), None);
        r.insert("b".to_owned(), 20); // replaced and recent: c, a, b
        assert_eq!(r.len(), 3);
        assert!(r.contains("c"));
        assert_eq!(r.values().copied().collect::<Vec<_>>(), vec![3, 1, 20]);
        assert_eq!(r.pop_oldest(), Some(("c".to_owned(), 3)));
        r.remove("a");
        assert_eq!(r.pop_oldest(), Some(("b".to_owned(), 20)));
        assert!(r.is_empty());
    }
}

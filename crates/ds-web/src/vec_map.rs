//! A map for the handful of entries the browser crates keep (calls of one phone, elements on one
//! page, stylesheets).
//!
//! Why not `HashMap`/`HashSet`: each key/value type instantiates hashbrown's table code again in
//! the embed bundle, and std's `RandomState` links SipHash and a seed source; with a few entries a
//! linear search over a `Vec` is as fast and far smaller (size work, docs/benchmarks.md).

use ds_core::CallHandle;

/// Entries in insertion order; a key appears at most once.
#[derive(Debug, Clone, PartialEq)]
pub struct VecMap<K, V>(Vec<(K, V)>);

/// The per-call tables of a phone.
pub type CallMap<V> = VecMap<CallHandle, V>;

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        VecMap(Vec::new())
    }
}

impl<K: PartialEq, V> VecMap<K, V> {
    pub fn new() -> Self {
        VecMap(Vec::new())
    }

    fn position(&self, key: &K) -> Option<usize> {
        self.0.iter().position(|(k, _)| k == key)
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.0.iter_mut().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.position(key).is_some()
    }

    /// Sets `key`'s value, returning the one it replaces.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        match self.position(&key) {
            Some(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            None => {
                self.0.push((key, value));
                None
            }
        }
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.position(key).map(|at| self.0.swap_remove(at).1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.0.iter().map(|(k, _)| k)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.0.iter().map(|(k, value)| (k, value))
    }

    pub fn drain(&mut self) -> std::vec::Drain<'_, (K, V)> {
        self.0.drain(..)
    }
}

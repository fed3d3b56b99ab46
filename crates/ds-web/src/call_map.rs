//! A map keyed by call, for the handful of calls a phone has at once.
//!
//! Why not `HashMap`/`HashSet`: each key/value type instantiates hashbrown's table code (and
//! SipHash) again in the embed bundle; a phone holds one or two calls, so a linear search over a
//! `Vec` is as fast and far smaller (size work).

use ds_core::CallHandle;

pub(crate) struct CallMap<V>(Vec<(CallHandle, V)>);

impl<V> CallMap<V> {
    pub fn new() -> CallMap<V> {
        CallMap(Vec::new())
    }

    fn position(&self, call: CallHandle) -> Option<usize> {
        self.0.iter().position(|(handle, _)| *handle == call)
    }

    pub fn get(&self, call: &CallHandle) -> Option<&V> {
        self.0.iter().find(|(handle, _)| handle == call).map(|(_, value)| value)
    }

    pub fn get_mut(&mut self, call: &CallHandle) -> Option<&mut V> {
        self.0.iter_mut().find(|(handle, _)| handle == call).map(|(_, value)| value)
    }

    pub fn contains_key(&self, call: &CallHandle) -> bool {
        self.position(*call).is_some()
    }

    /// Sets `call`'s value, returning the one it replaces.
    pub fn insert(&mut self, call: CallHandle, value: V) -> Option<V> {
        match self.position(call) {
            Some(at) => Some(std::mem::replace(&mut self.0[at].1, value)),
            None => {
                self.0.push((call, value));
                None
            }
        }
    }

    pub fn remove(&mut self, call: &CallHandle) -> Option<V> {
        self.position(*call).map(|at| self.0.swap_remove(at).1)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&CallHandle, &V)> {
        self.0.iter().map(|(handle, value)| (handle, value))
    }

    pub fn drain(&mut self) -> std::vec::Drain<'_, (CallHandle, V)> {
        self.0.drain(..)
    }
}

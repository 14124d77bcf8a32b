//! The compile cache: one compiled kernel per (IR, argument names, element
//! type), least recently used evicted first.
//!
//! The key is the type-checked IR itself, so `2*x+1` and `2 * x + 1`, or
//! any two spellings that lower to the same graph, share one entry. The
//! cache holds `Arc`s: evicting an entry frees the machine code as soon as
//! no [`super::Kernel`] handle holds it either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use einkern_runtime::{DType, Error};

use super::build::Compiled;
use crate::expr::{Graph, Node, NodeId, ScalarType};

/// Entries kept; compiling more distinct kernels evicts the least recently
/// used.
pub const CACHE_CAPACITY: usize = 256;

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    nodes: Vec<Node>,
    root: NodeId,
    inputs: Vec<(String, ScalarType)>,
    dtype: DType,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<Key, (Arc<Compiled>, u64)>,
    tick: u64,
}

static CACHE: Mutex<Option<Cache>> = Mutex::new(None);

fn with_cache<R>(f: impl FnOnce(&mut Cache) -> R) -> R {
    // A panic while holding the lock cannot leave the map inconsistent
    // (every update is one insert or remove), so a poisoned lock is reused.
    let mut guard = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    f(guard.get_or_insert_with(Cache::default))
}

/// Graphs larger than this are compiled but not cached: the cache then
/// holds at most `CACHE_CAPACITY` small kernels (a few hundred KB each),
/// not 256 of the largest the JIT accepts (megabytes of code and plan
/// each), and a caller that compiles a huge expression keeps its own
/// [`super::Kernel`].
pub const CACHE_MAX_NODES: usize = 2000;

/// The cached kernel for `graph`, or a new one from `build`, cached.
pub(super) fn get_or_build(
    graph: &Graph,
    dtype: DType,
    build: impl FnOnce() -> Result<Arc<Compiled>, Error>,
) -> Result<Arc<Compiled>, Error> {
    if graph.nodes().len() > CACHE_MAX_NODES {
        return build();
    }
    let key = Key {
        nodes: graph.nodes().to_vec(),
        root: graph.root(),
        inputs: graph.inputs().to_vec(),
        dtype,
    };
    let hit = with_cache(|c| {
        c.tick += 1;
        let tick = c.tick;
        c.entries.get_mut(&key).map(|(code, used)| {
            *used = tick;
            Arc::clone(code)
        })
    });
    if let Some(code) = hit {
        return Ok(code);
    }
    // Compile outside the lock: other threads keep using the cache.
    let code = build()?;
    let evicted = with_cache(|c| {
        let mut evicted = None;
        if c.entries.len() >= CACHE_CAPACITY && !c.entries.contains_key(&key) {
            let oldest = c
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            evicted = oldest.and_then(|k| c.entries.remove(&k));
        }
        c.tick += 1;
        let tick = c.tick;
        c.entries.insert(key, (Arc::clone(&code), tick));
        evicted
    });
    // The evicted code (if unused elsewhere) is freed here, unlocked.
    drop(evicted);
    Ok(code)
}

/// How many kernels the cache holds now.
pub fn cache_len() -> usize {
    with_cache(|c| c.entries.len())
}

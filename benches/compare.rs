//! Prints `<workload> <peer> <median_ms> <min_ms>` rows (see ../shared/bench/WORKLOADS.md).
fn main() {}

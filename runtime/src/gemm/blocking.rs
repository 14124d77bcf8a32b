//! Cache blocking: how big the `mc × kc` block of A and the `kc × nc` block of
//! B are, derived from the micro-kernel shape and the cache sizes.
//!
//! The BLIS analysis: the inner two loops stream `mr`-wide A micro-panels past
//! one `nr`-wide B micro-panel, so the B micro-panel (`kc · nr` elements) must
//! stay in L1 next to the A micro-panel being streamed; the packed A block
//! (`mc · kc`) is reused for every B micro-panel and must stay in L2; the packed
//! B block (`kc · nc`) is reused for every A block and lives in L3.

/// L1 data cache assumed per core, in bytes: 48 KiB on Ice Lake, Sapphire
/// Rapids and later Intel cores. Half of it holds the B micro-panel, which
/// still fits the 32 KiB L1 of Zen 4 or Skylake.
const L1_BYTES: usize = 48 * 1024;
/// L2 per core, in bytes: 2 MiB on Sapphire Rapids, 1 MiB on Zen 4 and
/// Skylake-SP. Half of the smaller one holds the packed A block.
const L2_BYTES: usize = 1024 * 1024;
/// The share of L3 the packed B block may use, in bytes.
const L3_SHARE_BYTES: usize = 8 * 1024 * 1024;

/// Block sizes of the 5-loop nest (all in elements).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// Rows of A packed at once (a multiple of `mr`).
    pub mc: usize,
    /// Depth of one packed block (the K extent of a rank-`kc` update).
    pub kc: usize,
    /// Columns of B packed at once (a multiple of `nr`).
    pub nc: usize,
    /// Operands of at most this many bytes are read in place rather than
    /// packed (when their strides allow): they stay in L1/L2 anyway, and
    /// packing would cost about as much as the few micro-kernel passes that
    /// read them, which is what decides batched small products.
    pub direct_bytes: usize,
}

/// Upper bounds on the block sizes (the loop nest balances them against
/// the problem) for a micro-kernel of shape `mr × nr` over elements of
/// `elem_bytes` bytes.
pub(crate) const fn blocking(mr: usize, nr: usize, elem_bytes: usize) -> Blocking {
    // B micro-panel in half of L1; a multiple of 8 so k-unrolling stays even.
    let kc = round_down(L1_BYTES / 2 / (nr * elem_bytes), 8);
    let kc = if kc < 64 { 64 } else { kc };
    // Packed A block in half of L2.
    let mc = round_down(L2_BYTES / 2 / (kc * elem_bytes), mr);
    let mc = if mc < mr { mr } else { mc };
    // Packed B block in the L3 share.
    let nc = round_down(L3_SHARE_BYTES / (kc * elem_bytes), nr);
    let nc = if nc < nr { nr } else { nc };
    Blocking {
        mc,
        kc,
        nc,
        direct_bytes: 64 * 1024,
    }
}

const fn round_down(x: usize, multiple: usize) -> usize {
    x / multiple * multiple
}

/// Splits `len` into the fewest blocks of at most about `max`, all of equal
/// size rounded up to a multiple of `multiple`: 512 with `max` 384 becomes
/// two blocks of 256 rather than 384 + 128, so no block is a sliver whose
/// C update or packing overhead dominates its arithmetic.
pub(crate) fn balanced(len: usize, max: usize, multiple: usize) -> usize {
    let blocks = len.div_ceil(max).max(1);
    len.div_ceil(blocks)
        .next_multiple_of(multiple)
        .max(multiple)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_multiples_of_the_micro_tile() {
        for &(mr, nr, bytes) in &[(16, 12, 8), (32, 12, 4), (8, 6, 8), (4, 4, 4), (4, 4, 8)] {
            let b = blocking(mr, nr, bytes);
            assert_eq!(b.mc % mr, 0, "{b:?}");
            assert_eq!(b.nc % nr, 0, "{b:?}");
            assert!(b.kc >= 64 && b.mc >= mr && b.nc >= nr, "{b:?}");
            assert!(b.kc * nr * bytes <= L1_BYTES / 2, "{b:?}");
        }
    }

    #[test]
    fn balanced_blocks_avoid_slivers() {
        assert_eq!(balanced(512, 384, 8), 256);
        assert_eq!(balanced(512, 512, 8), 512);
        assert_eq!(balanced(513, 512, 16), 272);
        assert_eq!(balanced(5, 512, 16), 16);
        assert_eq!(balanced(0, 512, 16), 16);
    }
}

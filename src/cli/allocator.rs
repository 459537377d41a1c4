//! The command's allocator: mimalloc, asked the way C asks it.
//!
//! Invariant: every block handed out is aligned to its layout's alignment.
//! mimalloc's blocks are multiples of a word, carved from pages whose first
//! block is at least 16-aligned, so a plain `mi_malloc` block is aligned
//! to 8 whatever its size; a layout asking for more goes to
//! `mi_malloc_aligned`, as the `mimalloc` crate sends every layout.
//!
//! Why not the `mimalloc` crate's allocator: it calls `mi_malloc_aligned`
//! for every layout, and mimalloc 3 takes its plain path for that only when
//! the block size is a power of two. Every other block over 1 KiB (a boxed
//! future, a turn's record and flow) and some smaller ones (a free block
//! that happens not to sit on the alignment) went through its generic path,
//! which over-allocates: 7 of a USSD bank choice's 74 allocations, some
//! 1,200 of its 53,800 instructions served (issue 13's callgrind profile),
//! and larger blocks than asked. Known upstream (mimalloc_rust#170,
//! microsoft/mimalloc#314).
//!
//! The benchmarks' bare handlers (`examples/fixed_con.rs`,
//! `examples/fixed_json.rs`) include this file too, so their comparison
//! stays one of handlers, not of allocators. The library itself has no
//! `unsafe` (`#![forbid(unsafe_code)]` in `lib.rs`); this file is the
//! command's only `unsafe`, each call as `std::alloc::System`'s are to
//! `malloc`.
#![allow(unsafe_code)]

use libmimalloc_sys::{
    mi_free, mi_malloc, mi_malloc_aligned, mi_realloc, mi_realloc_aligned, mi_zalloc,
    mi_zalloc_aligned,
};
use std::alloc::{GlobalAlloc, Layout};

/// The alignment every mimalloc block has: a word.
const BLOCK_ALIGN: usize = std::mem::size_of::<usize>();

/// mimalloc as the global allocator, plain calls where a block's own
/// alignment is enough.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mimalloc;

// SAFETY (for the impl): each method forwards to the mimalloc function
// made for it, with the layout's size (and its alignment, where a block's
// own may fall short of it); mimalloc returns null on failure, as
// `GlobalAlloc` requires, and frees any block it returned with `mi_free`,
// aligned or not.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: any size; the block is word-aligned (module doc).
            unsafe { mi_malloc(layout.size()).cast() }
        } else {
            // SAFETY: the alignment is a power of two (a `Layout`'s is).
            unsafe { mi_malloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: as `alloc`.
            unsafe { mi_zalloc(layout.size()).cast() }
        } else {
            // SAFETY: as `alloc`.
            unsafe { mi_zalloc_aligned(layout.size(), layout.align()).cast() }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's contract),
        // so from mimalloc, aligned or not.
        unsafe { mi_free(ptr.cast()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= BLOCK_ALIGN {
            // SAFETY: `ptr` is mimalloc's (as `dealloc`); the new block is
            // word-aligned like any.
            unsafe { mi_realloc(ptr.cast(), new_size).cast() }
        } else {
            // SAFETY: as above, keeping the layout's alignment.
            unsafe { mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every size from 1 byte to 5 KiB (the small bins, the boxed futures'
    /// sizes and past them), at every alignment up to a page, comes back
    /// aligned, writable to its last byte, zeroed when asked, and keeps its
    /// bytes when grown.
    #[test]
    fn blocks_are_aligned_at_every_size() {
        let a = Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in (1..=5120).step_by(7).chain([8, 16, 24, 48, 1024, 1025]) {
                let layout = Layout::from_size_align(size, align).unwrap();
                // SAFETY: a nonzero size; every block is freed once, with
                // its own layout.
                unsafe {
                    let p = a.alloc(layout);
                    assert!(!p.is_null());
                    assert_eq!(p as usize % align, 0, "size {size}, align {align}");
                    p.write_bytes(0xa5, size);
                    let z = a.alloc_zeroed(layout);
                    assert_eq!(z as usize % align, 0, "zeroed: size {size}, align {align}");
                    assert!(std::slice::from_raw_parts(z, size).iter().all(|&b| b == 0));
                    let grown = a.realloc(p, layout, size * 2 + 9);
                    assert_eq!(
                        grown as usize % align,
                        0,
                        "grown: size {size}, align {align}"
                    );
                    assert!(std::slice::from_raw_parts(grown, size)
                        .iter()
                        .all(|&b| b == 0xa5));
                    a.dealloc(grown, Layout::from_size_align(size * 2 + 9, align).unwrap());
                    a.dealloc(z, layout);
                }
            }
        }
    }
}

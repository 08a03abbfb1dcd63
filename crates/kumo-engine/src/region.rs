//! A memory region that holds a whole QuickJS runtime, so the runtime can be saved and put back.
//!
//! A realm with the SDK loaded takes far longer to build (and, at the end of a run, to collect)
//! than a run takes. Instead, an engine thread builds each kind of realm once in a region of its
//! own, copies the region's used part aside (the snapshot), and after every run copies the
//! snapshot back: the next run starts from exactly the state the first one found, with nothing
//! left over from the run before (no objects, no atoms, no changed built-ins).
//!
//! Everything the runtime allocates lives in the region, including the allocator's own
//! bookkeeping (at the region's start), so putting the bytes back also puts back which blocks
//! are free. The region is only reserved address space: it is made writable step by step as
//! the allocator reaches into it (so even a system that never overcommits charges only what is
//! used), pages cost memory once touched, and pages a run touched beyond the snapshot are given
//! back after it.
//!
//! The allocator also enforces a run's memory limit (QuickJS's own is left off), so that when
//! memory runs out the engine knows it from the allocator itself, not from the text of an error
//! the code may have thrown on its own.

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

/// Small blocks come in multiples of this, up to `SMALL_MAX`.
const GRAIN: usize = 16;
const SMALL_MAX: usize = 1024;
const SMALL_CLASSES: usize = SMALL_MAX / GRAIN;
/// Large blocks are kept in bins by power of two, from `SMALL_MAX` up.
const LARGE_BINS: usize = 48;
/// Each block is preceded by its size.
const HEADER: usize = 16;
/// Pages a run touched beyond the snapshot are given back once they are this many.
const GIVE_BACK_OVER: usize = 1 << 20;
/// The region is made writable in steps of this many bytes.
const COMMIT_STEP: usize = 1 << 20;

/// The allocator's state, at the start of the region.
#[repr(C)]
struct Book {
    /// Offset of the first byte never handed out.
    bump: usize,
    /// The most `bump` has been since the snapshot was taken or put back.
    high_water: usize,
    /// Bytes of the blocks in use.
    live: usize,
    small: [usize; SMALL_CLASSES],
    large: [usize; LARGE_BINS],
}

/// A reserved address range and the allocator working in it. Not `Send`: a region belongs to
/// the thread that runs its runtime.
pub(crate) struct Region {
    base: NonNull<u8>,
    size: usize,
    /// How much of the region is writable (outside it: putting the snapshot back does not
    /// make pages read-only again).
    writable: Rc<Cell<usize>>,
    /// Bytes in use, the saved realm's included, beyond which an allocation is refused.
    limit: Rc<Cell<usize>>,
    snapshot: Vec<u8>,
}

thread_local! {
    /// Set when an allocation of this thread's regions was refused (the limit, or the region
    /// full); cleared when a region's snapshot is put back. A thread runs one run at a time.
    static REFUSED: Cell<bool> = const { Cell::new(false) };
}

/// Whether an allocation was refused since this thread last put a snapshot back: the run being
/// executed ran out of memory.
pub(crate) fn allocation_refused() -> bool {
    REFUSED.with(Cell::get)
}

fn refuse() {
    REFUSED.with(|r| r.set(true));
}

impl Region {
    /// Reserves `size` bytes of address space.
    pub(crate) fn reserve(size: usize) -> Option<Region> {
        // SAFETY: an anonymous private mapping with no access yet; the result is checked.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let region = Region {
            base: NonNull::new(base.cast())?,
            size,
            writable: Rc::new(Cell::new(0)),
            limit: Rc::new(Cell::new(usize::MAX)),
            snapshot: Vec::new(),
        };
        let book = std::mem::size_of::<Book>().next_multiple_of(GRAIN);
        if !region.allocator().make_writable(book) {
            return None;
        }
        // SAFETY: the book's pages are writable and zeroed.
        unsafe {
            region.book().bump = book;
        }
        Some(region)
    }

    /// The allocator QuickJS is given. It works on the region's memory only.
    pub(crate) fn allocator(&self) -> RegionAllocator {
        RegionAllocator {
            base: self.base,
            size: self.size,
            writable: self.writable.clone(),
            limit: self.limit.clone(),
        }
    }

    /// From now on, allocations that would take the bytes in use past `bytes` are refused.
    pub(crate) fn limit(&self, bytes: usize) {
        self.limit.set(bytes);
    }

    /// Keeps the region's used part as the state to return to.
    pub(crate) fn take_snapshot(&mut self) {
        // SAFETY: the book is at the start of the mapping.
        let used = unsafe {
            let book = self.book();
            book.high_water = book.bump;
            book.bump
        };
        // SAFETY: `used` bytes from the base are mapped.
        self.snapshot = unsafe { std::slice::from_raw_parts(self.base.as_ptr(), used) }.to_vec();
    }

    /// Puts the snapshot back, and gives back the pages the run touched beyond it.
    ///
    /// # Safety
    /// Nothing may use the runtime in the region while this runs, and no value handed out by
    /// it after the snapshot may be used afterwards.
    pub(crate) unsafe fn restore(&mut self) {
        let used = self.snapshot.len();
        let touched = self.book().high_water.max(self.book().bump);
        std::ptr::copy_nonoverlapping(self.snapshot.as_ptr(), self.base.as_ptr(), used);
        REFUSED.with(|r| r.set(false));
        if touched > used + GIVE_BACK_OVER {
            let page = match libc::sysconf(libc::_SC_PAGESIZE) {
                n if n > 0 => n as usize,
                _ => 4096,
            };
            let from = used.next_multiple_of(page);
            libc::madvise(
                self.base.as_ptr().add(from).cast(),
                touched.next_multiple_of(page) - from,
                libc::MADV_DONTNEED,
            );
        }
    }

    /// Bytes the snapshot holds.
    pub(crate) fn snapshot_len(&self) -> usize {
        self.snapshot.len()
    }

    /// # Safety
    /// The caller must not hold another reference to the book.
    #[allow(clippy::mut_from_ref)]
    unsafe fn book(&self) -> &mut Book {
        &mut *self.base.as_ptr().cast::<Book>()
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours; the runtime in it was dropped before the region.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.size);
        }
    }
}

/// QuickJS's allocator for a runtime in a [`Region`].
pub(crate) struct RegionAllocator {
    base: NonNull<u8>,
    size: usize,
    writable: Rc<Cell<usize>>,
    limit: Rc<Cell<usize>>,
}

/// `(free-list index, block size)` for a request of `size` bytes.
fn class_of(size: usize) -> (Bin, usize) {
    let size = size.max(1);
    if size <= SMALL_MAX {
        let rounded = size.next_multiple_of(GRAIN);
        (Bin::Small(rounded / GRAIN - 1), rounded)
    } else {
        let rounded = size.next_power_of_two();
        (Bin::Large(rounded.trailing_zeros() as usize), rounded)
    }
}

enum Bin {
    Small(usize),
    Large(usize),
}

impl RegionAllocator {
    fn book(&mut self) -> &mut Book {
        // SAFETY: the book is at the start of the mapping, and this allocator is its only user
        // while a runtime call is in progress.
        unsafe { &mut *self.base.as_ptr().cast::<Book>() }
    }

    fn at(&self, offset: usize) -> *mut u8 {
        // SAFETY: offsets come from the book and stay inside the mapping.
        unsafe { self.base.as_ptr().add(offset) }
    }

    /// Makes the region writable up to `end` at least; false if the system refuses.
    fn make_writable(&self, end: usize) -> bool {
        let from = self.writable.get();
        if end <= from {
            return true;
        }
        let to = end.next_multiple_of(COMMIT_STEP).min(self.size);
        // SAFETY: the range lies inside the mapping.
        let changed = unsafe {
            libc::mprotect(
                self.base.as_ptr().add(from).cast(),
                to - from,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if changed != 0 {
            return false;
        }
        self.writable.set(to);
        true
    }

    /// A block of `size` bytes, unless the limit or the region refuses it.
    fn take(&mut self, size: usize) -> *mut u8 {
        if self.over_limit(size, 0) {
            return std::ptr::null_mut();
        }
        self.take_unchecked(size)
    }

    /// Whether growing the bytes in use by `size` less `freed` crosses the limit (counted as
    /// QuickJS counts: the size asked for against the sizes of the blocks in use); a crossing
    /// is remembered.
    fn over_limit(&mut self, size: usize, freed: usize) -> bool {
        let after = (self.book().live + size).saturating_sub(freed);
        if after > self.limit.get() {
            refuse();
            return true;
        }
        false
    }

    fn take_unchecked(&mut self, size: usize) -> *mut u8 {
        let (bin, rounded) = class_of(size);
        let head = match bin {
            Bin::Small(i) => &mut self.book().small[i] as *mut usize,
            Bin::Large(i) if i < LARGE_BINS => &mut self.book().large[i] as *mut usize,
            Bin::Large(_) => return std::ptr::null_mut(),
        };
        // SAFETY: `head` points into the book; a free block's first word links to the next.
        unsafe {
            if *head != 0 {
                let block = self.at(*head);
                *head = *block.cast::<usize>();
                self.book().live += rounded;
                return block;
            }
        }
        let offset = self.book().bump + HEADER;
        let end = offset + rounded;
        if end > self.size || !self.make_writable(end) {
            refuse();
            return std::ptr::null_mut();
        }
        let book = self.book();
        book.live += rounded;
        book.bump = end;
        book.high_water = book.high_water.max(end);
        let block = self.at(offset);
        // SAFETY: the header lies just before the block, inside the mapping.
        unsafe { *block.sub(HEADER).cast::<usize>() = rounded };
        block
    }
}

// SAFETY: blocks are distinct, inside the mapping, aligned to 16 bytes (the book's size and
// every block size are multiples of 16, as is the header), and at least as large as asked.
unsafe impl rquickjs::allocator::Allocator for RegionAllocator {
    fn alloc(&mut self, size: usize) -> *mut u8 {
        self.take(size)
    }

    fn calloc(&mut self, count: usize, size: usize) -> *mut u8 {
        let Some(bytes) = count.checked_mul(size) else {
            return std::ptr::null_mut();
        };
        let block = self.take(bytes);
        if !block.is_null() {
            // SAFETY: the block holds at least `bytes` bytes.
            unsafe { std::ptr::write_bytes(block, 0, bytes) };
        }
        block
    }

    unsafe fn dealloc(&mut self, ptr: *mut u8) {
        let size = Self::usable_size(ptr);
        self.book().live -= size;
        let offset = ptr.offset_from(self.base.as_ptr()) as usize;
        let head = match class_of(size).0 {
            Bin::Small(i) => &mut self.book().small[i],
            Bin::Large(i) => &mut self.book().large[i],
        };
        *ptr.cast::<usize>() = *head;
        *head = offset;
    }

    unsafe fn realloc(&mut self, ptr: *mut u8, new_size: usize) -> *mut u8 {
        let old = Self::usable_size(ptr);
        if new_size <= old {
            return ptr;
        }
        if self.over_limit(new_size, old) {
            return std::ptr::null_mut();
        }
        let block = self.take_unchecked(new_size);
        if !block.is_null() {
            std::ptr::copy_nonoverlapping(ptr, block, old);
            self.dealloc(ptr);
        }
        block
    }

    unsafe fn usable_size(ptr: *mut u8) -> usize {
        *ptr.sub(HEADER).cast::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::allocator::Allocator;

    #[test]
    fn blocks_are_reused_and_restore_returns_to_the_snapshot() {
        let mut region = Region::reserve(64 << 20).unwrap();
        let mut a = region.allocator();
        let kept = a.alloc(100);
        // SAFETY: the block holds 100 bytes.
        unsafe { kept.write_bytes(7, 100) };
        region.take_snapshot();
        let small = a.alloc(40);
        let large = a.alloc(5000);
        assert_eq!(small as usize % 16, 0);
        assert_eq!(large as usize % 16, 0);
        // SAFETY: blocks from this allocator.
        unsafe {
            assert_eq!(RegionAllocator::usable_size(large), 8192);
            a.dealloc(small);
            assert_eq!(a.alloc(33), small, "a freed block of the class is reused");
            let grown = a.realloc(small, 2000);
            assert_ne!(grown, small);
            kept.write_bytes(9, 100);
            region.restore();
            assert_eq!(*kept, 7, "restored bytes");
        }
        // The block handed out after the snapshot is free again.
        assert_eq!(a.alloc(40), small);
        // Blocks past the first writable step can be written (the region grows writable).
        let big = a.alloc(3 << 20);
        // SAFETY: the block holds 3 MiB.
        unsafe { big.write_bytes(1, 3 << 20) };
        assert!(a.alloc(1 << 40).is_null(), "more than the region");
    }

    #[test]
    fn the_limit_refuses_and_says_so_until_restored() {
        let mut region = Region::reserve(64 << 20).unwrap();
        let mut a = region.allocator();
        region.take_snapshot();
        region.limit(1 << 20);
        let first = a.alloc(600 << 10);
        assert!(!first.is_null());
        assert!(!allocation_refused());
        assert!(a.alloc(600 << 10).is_null(), "past the limit");
        assert!(allocation_refused());
        // SAFETY: blocks from this allocator.
        unsafe {
            a.dealloc(first);
            let again = a.alloc(600 << 10);
            assert!(!again.is_null(), "freed bytes count no more");
            assert!(
                a.realloc(again, 2 << 20).is_null(),
                "growing past the limit"
            );
            region.restore();
        }
        assert!(!allocation_refused(), "a restored region starts over");
        region.limit(usize::MAX);
        assert!(!a.alloc(4 << 20).is_null());
    }
}

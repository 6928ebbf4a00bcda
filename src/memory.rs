//! What the service asks of glibc's allocator so that its resident memory is what it uses:
//! transient builds (the OpenAPI document behind each worker's routes and the route table) hand
//! their pages back, and large blocks (argon2id's 19 MiB) live in their own mappings. Both are
//! no-ops off Linux/glibc.

/// Each HTTP worker builds its `App` once, and with it the OpenAPI document utoipa collects
/// from the routes, dropped at once: megabytes of short-lived allocations in that worker's own
/// malloc arena, which glibc keeps resident while the service idles. Handing the free pages back
/// after the build keeps the idle footprint to what is in use (a fresh SQLite database, 2
/// workers: idle RSS 33.8 → 24.7 MB).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes no pointers; it only returns free pages of the allocator's
    // arenas to the kernel, under the allocator's own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// glibc serves a freed large block's size from the heap from then on (its mmap threshold
/// rises to the largest block freed, up to 32 MiB), so after a burst of sign-ins every thread
/// that ran argon2id keeps its 19 MiB buffer resident: scripts/bench measured ~500 MB after 20
/// concurrent sign-ins. A fixed threshold keeps blocks of 4 MiB and more (argon2id's memory, a
/// large export's buffer) in their own mappings, returned on free; smaller ones stay in the
/// arenas as usual.
pub fn return_large_blocks_on_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt takes no pointers; it sets an allocator parameter under the allocator's
    // own lock.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

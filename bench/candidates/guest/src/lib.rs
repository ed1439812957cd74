//! A core wasm module (`wasm32-unknown-unknown`) with the smallest interface that measures a
//! candidate: the runner asks for a buffer, copies the input into it as the host lowers a
//! `list<u8>` into a guest, and calls `run`, which reads the input in the given form and
//! returns its digest (0 when it does not decode). The runner's native side calls the same
//! `candidates_model::read`.

use std::alloc::{Layout, alloc};

use candidates_model::{Form, read};

/// rkyv's archives want 16-byte alignment; the same holds for every form, so all pay alike.
const ALIGN: usize = 16;

/// A buffer of `len` bytes for the runner to fill; 0 when it cannot be had.
#[unsafe(no_mangle)]
pub extern "C" fn input(len: usize) -> *mut u8 {
    match Layout::from_size_align(len.max(1), ALIGN) {
        // SAFETY: a non-zero size with a valid alignment.
        Ok(layout) => unsafe { alloc(layout) },
        Err(_) => std::ptr::null_mut(),
    }
}

/// Reads the `len` bytes at `ptr` (filled by the runner) in form `form`.
///
/// # Safety
/// `ptr` is a buffer of at least `len` bytes that [`input`] returned.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn run(form: u32, ptr: *const u8, len: usize) -> u64 {
    let Some(form) = Form::from_u32(form) else {
        return 0;
    };
    // SAFETY: the caller's promise above.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    read(form, bytes).unwrap_or(0)
}

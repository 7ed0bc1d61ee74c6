//! The two things that differ per architecture: the syscall instruction and the program entry.
//!
//! `_start` receives the initial stack (argc, argv, envp, auxv) from the kernel. It passes the stack
//! pointer, the run-time address of the ELF header (the load base of a static PIE) and of
//! `_DYNAMIC` (the relocation table) to [`crate::start::start`], all computed PC-relative so
//! nothing needs to be relocated yet.

use core::arch::{asm, global_asm};

#[cfg(target_arch = "x86_64")]
global_asm!(
    ".text",
    ".globl _start",
    ".type _start,@function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "lea rsi, [rip + __ehdr_start]",
    "lea rdx, [rip + _DYNAMIC]",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym crate::start::start,
);

#[cfg(target_arch = "aarch64")]
global_asm!(
    ".text",
    ".globl _start",
    ".type _start,%function",
    "_start:",
    "mov x29, xzr",
    "mov x30, xzr",
    "mov x0, sp",
    "adrp x1, __ehdr_start",
    "add x1, x1, :lo12:__ehdr_start",
    "adrp x2, _DYNAMIC",
    "add x2, x2, :lo12:_DYNAMIC",
    "bl {entry}",
    "brk #0",
    entry = sym crate::start::start,
);

// riscv64: gp must hold __global_pointer$ before any code the linker relaxed against it runs; the
// load of gp itself must not be relaxed (it would be relative to the unset gp).
#[cfg(target_arch = "riscv64")]
global_asm!(
    ".text",
    ".globl _start",
    ".type _start,@function",
    "_start:",
    ".option push",
    ".option norelax",
    "lla gp, __global_pointer$",
    ".option pop",
    "mv a0, sp",
    "lla a1, __ehdr_start",
    "lla a2, _DYNAMIC",
    "andi sp, sp, -16",
    "call {entry}",
    "unimp",
    entry = sym crate::start::start,
);


/// [`syscall`] with up to three arguments: r10/x3/a3 and the two after it are left as they are
/// (not zeroed at each of ~40 call sites; the kernel ignores what a call does not take).
///
/// # Safety
/// As for [`syscall`].
#[inline(always)]
pub unsafe fn syscall3(nr: u32, a: usize, b: usize, c: usize) -> usize {
    let ret: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller upholds the syscall's contract; rcx and r11 are clobbered by `syscall`.
    unsafe {
        asm!("syscall", inlateout("rax") nr as usize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             lateout("rcx") _, lateout("r11") _, options(nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the caller upholds the syscall's contract; `svc 0` changes only x0.
    unsafe {
        asm!("svc 0", in("x8") nr as usize, inlateout("x0") a => ret, in("x1") b, in("x2") c,
             options(nostack, preserves_flags));
    }
    #[cfg(target_arch = "riscv64")]
    // SAFETY: the caller upholds the syscall's contract; `ecall` changes only a0.
    unsafe {
        asm!("ecall", in("a7") nr as usize, inlateout("a0") a => ret, in("a1") b, in("a2") c,
             options(nostack, preserves_flags));
    }
    ret
}

/// Raw system call with up to six arguments; returns the kernel's value (-4095..-1 is -errno).
///
/// # Safety
/// The caller must uphold what syscall `nr` requires of its arguments (valid pointers, lengths,
/// and no memory the program still relies on being changed behind its back).
#[inline(always)]
pub unsafe fn syscall(nr: u32, a: usize, b: usize, c: usize, d: usize, e: usize, f: usize) -> usize {
    let ret: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the caller upholds the syscall's contract; rcx and r11 are clobbered by `syscall`.
    unsafe {
        asm!("syscall", inlateout("rax") nr as usize => ret, in("rdi") a, in("rsi") b, in("rdx") c,
             in("r10") d, in("r8") e, in("r9") f, lateout("rcx") _, lateout("r11") _,
             options(nostack, preserves_flags));
    }
    #[cfg(target_arch = "aarch64")]
    // SAFETY: the caller upholds the syscall's contract; `svc 0` changes only x0.
    unsafe {
        asm!("svc 0", in("x8") nr as usize, inlateout("x0") a => ret, in("x1") b, in("x2") c,
             in("x3") d, in("x4") e, in("x5") f, options(nostack, preserves_flags));
    }
    #[cfg(target_arch = "riscv64")]
    // SAFETY: the caller upholds the syscall's contract; `ecall` changes only a0.
    unsafe {
        asm!("ecall", in("a7") nr as usize, inlateout("a0") a => ret, in("a1") b, in("a2") c,
             in("a3") d, in("a4") e, in("a5") f, options(nostack, preserves_flags));
    }
    ret
}

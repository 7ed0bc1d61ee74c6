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

// riscv64's save/restore routines for `-C target-feature=+save-restore` (.cargo/config.toml says
// what they save in bytes): with it, LLVM replaces each prologue's stores of ra and s0..s11 by
// `call t0, __riscv_save_N` (N = the highest of ra=0, s0=1 .. s11=12 the function saves) and its
// epilogue's loads by `tail __riscv_restore_N`. Normally libgcc brings them; mote links no libgcc,
// so here they are, written from the convention LLVM's RISCVFrameLowering assumes (the psABI's
// `-msave-restore`, as GCC uses it): save_N moves sp down by 8*(N+1) rounded up to 16, stores ra at
// old sp-8, s0 at old sp-16 and sK at old sp-8*(K+2), and returns through t0, touching nothing
// else (the argument registers are live); restore_N loads the same slots back, pops the same
// frame and returns through ra (a0/a1 hold the result). N and N+1 for even N share one frame
// size, so they share the code: saving and restoring one more callee-saved register than the
// function uses is harmless (the slot is inside the frame and gets the register's own value back).
// The restores fall through from the biggest frame down, 16 bytes at a time; each save is whole.
#[cfg(target_arch = "riscv64")]
global_asm!(
    ".text",
    ".globl __riscv_save_0, __riscv_save_1, __riscv_save_2, __riscv_save_3, __riscv_save_4",
    ".globl __riscv_save_5, __riscv_save_6, __riscv_save_7, __riscv_save_8, __riscv_save_9",
    ".globl __riscv_save_10, __riscv_save_11, __riscv_save_12",
    ".hidden __riscv_save_0, __riscv_save_1, __riscv_save_2, __riscv_save_3, __riscv_save_4",
    ".hidden __riscv_save_5, __riscv_save_6, __riscv_save_7, __riscv_save_8, __riscv_save_9",
    ".hidden __riscv_save_10, __riscv_save_11, __riscv_save_12",
    "__riscv_save_12:",
    "addi sp, sp, -112",
    "sd s11, 8(sp)",
    "sd s10, 16(sp)", "sd s9, 24(sp)", "sd s8, 32(sp)", "sd s7, 40(sp)", "sd s6, 48(sp)",
    "sd s5, 56(sp)", "sd s4, 64(sp)", "sd s3, 72(sp)", "sd s2, 80(sp)", "sd s1, 88(sp)",
    "sd s0, 96(sp)", "sd ra, 104(sp)",
    "jr t0",
    "__riscv_save_11:",
    "__riscv_save_10:",
    "addi sp, sp, -96",
    "sd s10, 0(sp)", "sd s9, 8(sp)", "sd s8, 16(sp)", "sd s7, 24(sp)", "sd s6, 32(sp)",
    "sd s5, 40(sp)", "sd s4, 48(sp)", "sd s3, 56(sp)", "sd s2, 64(sp)", "sd s1, 72(sp)",
    "sd s0, 80(sp)", "sd ra, 88(sp)",
    "jr t0",
    "__riscv_save_9:",
    "__riscv_save_8:",
    "addi sp, sp, -80",
    "sd s8, 0(sp)", "sd s7, 8(sp)", "sd s6, 16(sp)", "sd s5, 24(sp)", "sd s4, 32(sp)",
    "sd s3, 40(sp)", "sd s2, 48(sp)", "sd s1, 56(sp)", "sd s0, 64(sp)", "sd ra, 72(sp)",
    "jr t0",
    "__riscv_save_7:",
    "__riscv_save_6:",
    "addi sp, sp, -64",
    "sd s6, 0(sp)", "sd s5, 8(sp)", "sd s4, 16(sp)", "sd s3, 24(sp)", "sd s2, 32(sp)",
    "sd s1, 40(sp)", "sd s0, 48(sp)", "sd ra, 56(sp)",
    "jr t0",
    "__riscv_save_5:",
    "__riscv_save_4:",
    "addi sp, sp, -48",
    "sd s4, 0(sp)", "sd s3, 8(sp)", "sd s2, 16(sp)", "sd s1, 24(sp)", "sd s0, 32(sp)",
    "sd ra, 40(sp)",
    "jr t0",
    "__riscv_save_3:",
    "__riscv_save_2:",
    "addi sp, sp, -32",
    "sd s2, 0(sp)", "sd s1, 8(sp)", "sd s0, 16(sp)", "sd ra, 24(sp)",
    "jr t0",
    "__riscv_save_1:",
    "__riscv_save_0:",
    "addi sp, sp, -16",
    "sd s0, 0(sp)", "sd ra, 8(sp)",
    "jr t0",
    ".globl __riscv_restore_0, __riscv_restore_1, __riscv_restore_2, __riscv_restore_3",
    ".globl __riscv_restore_4, __riscv_restore_5, __riscv_restore_6, __riscv_restore_7",
    ".globl __riscv_restore_8, __riscv_restore_9, __riscv_restore_10, __riscv_restore_11",
    ".globl __riscv_restore_12",
    ".hidden __riscv_restore_0, __riscv_restore_1, __riscv_restore_2, __riscv_restore_3",
    ".hidden __riscv_restore_4, __riscv_restore_5, __riscv_restore_6, __riscv_restore_7",
    ".hidden __riscv_restore_8, __riscv_restore_9, __riscv_restore_10, __riscv_restore_11",
    ".hidden __riscv_restore_12",
    "__riscv_restore_12:",
    "ld s11, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_11:",
    "__riscv_restore_10:",
    "ld s10, 0(sp)", "ld s9, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_9:",
    "__riscv_restore_8:",
    "ld s8, 0(sp)", "ld s7, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_7:",
    "__riscv_restore_6:",
    "ld s6, 0(sp)", "ld s5, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_5:",
    "__riscv_restore_4:",
    "ld s4, 0(sp)", "ld s3, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_3:",
    "__riscv_restore_2:",
    "ld s2, 0(sp)", "ld s1, 8(sp)",
    "addi sp, sp, 16",
    "__riscv_restore_1:",
    "__riscv_restore_0:",
    "ld s0, 0(sp)", "ld ra, 8(sp)",
    "addi sp, sp, 16",
    "ret",
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

//! Program start: relocate ourselves, read argv/envp/auxv off the initial stack, run main, exit.

use core::ffi::CStr;

use crate::raw;

const DT_NULL: u64 = 0;
const DT_RELA: u64 = 7;
const DT_REL: u64 = 17;
const DT_TEXTREL: u64 = 22;
const DT_JMPREL: u64 = 23;
const DT_RELRSZ: u64 = 35;
const DT_RELR: u64 = 36;
const PT_GNU_RELRO: u32 = 0x6474_e552;
const AT_PAGESZ: usize = 6;

unsafe extern "Rust" {
    /// The binary's main, defined with [`crate::main!`].
    fn __mote_main(args: Args) -> i32;
}

/// Defines the program's main: `mote_sys::main!(my_main)` with `fn my_main(Args) -> i32`.
#[macro_export]
macro_rules! main {
    ($f:path) => {
        #[unsafe(no_mangle)]
        fn __mote_main(args: $crate::start::Args) -> i32 {
            $f(args)
        }
    };
}

/// The process's arguments and environment, as the kernel laid them out on the initial stack.
/// They live for the whole run of the program.
#[derive(Clone, Copy)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
}

impl Args {
    /// Number of arguments, the program name included.
    pub fn len(&self) -> usize {
        self.argc
    }
    /// Whether there are no arguments at all (not even a program name).
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }
    /// Argument `i` as bytes, without its NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: argv has argc valid entries, each a NUL-terminated string the kernel placed on
        // the initial stack, which is never freed.
        Some(unsafe { c_str(*self.argv.add(i)) }.to_bytes())
    }
    /// Argument `i` as a C string.
    pub fn cstr(&self, i: usize) -> Option<&'static CStr> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: as in `get`.
        Some(unsafe { c_str(*self.argv.add(i)) })
    }
    /// argv from index `i` on, NULL-terminated, as execve wants it.
    pub fn argv_from(&self, i: usize) -> *const *const u8 {
        // SAFETY: i is clamped to argc, where argv holds its terminating NULL.
        unsafe { self.argv.add(if i > self.argc { self.argc } else { i }) }
    }
    /// execveat(2) of descriptor `fd` (AT_EMPTY_PATH) with this argv and envp; returns only on failure.
    pub fn exec_fd(&self, fd: rustix::fd::BorrowedFd<'_>) -> rustix::io::Errno {
        use rustix::fd::AsRawFd;
        let at_empty_path = linux_raw_sys::general::AT_EMPTY_PATH as usize;
        // SAFETY: "" is NUL-terminated; argv and envp are the NULL-terminated arrays the kernel
        // gave us, alive for the whole run; execveat only reads them.
        let r = unsafe {
            crate::arch::syscall(linux_raw_sys::general::__NR_execveat, fd.as_raw_fd() as usize, c"".as_ptr() as usize,
                self.argv as usize, self.envp as usize, at_empty_path, 0)
        };
        crate::raw::ret(r).err().unwrap_or(rustix::io::Errno::INVAL)
    }
    /// execve(2) of `path` with this argv and envp; returns only on failure.
    pub fn exec_path(&self, path: &CStr) -> rustix::io::Errno {
        // SAFETY: path is NUL-terminated; argv and envp are the kernel's NULL-terminated arrays.
        unsafe { raw::execve(path.as_ptr() as *const u8, self.argv, self.envp) }
    }
    /// The environment block, NULL-terminated, as execve wants it.
    pub fn envp(&self) -> *const *const u8 {
        self.envp
    }
    /// The value of environment variable `name`, if set.
    pub fn env(&self, name: &[u8]) -> Option<&'static [u8]> {
        let mut p = self.envp;
        loop {
            // SAFETY: envp is a NULL-terminated array of NUL-terminated strings on the initial stack.
            let s = unsafe { *p };
            if s.is_null() {
                return None;
            }
            // SAFETY: as above; s is non-null and NUL-terminated.
            let kv = unsafe { c_str(s) }.to_bytes();
            // (A byte loop, not starts_with: mote-init has no memcmp otherwise.)
            if kv.len() > name.len() && kv.iter().zip(name).all(|(x, y)| x == y) && kv[name.len()] == b'=' {
                return Some(&kv[name.len() + 1..]);
            }
            // SAFETY: we stop at the NULL terminator, so p+1 is still inside the array.
            p = unsafe { p.add(1) };
        }
    }
}

/// The NUL-terminated string at `p`. A byte loop: CStr::from_ptr calls strlen, whose
/// word-at-a-time copy in compiler_builtins is ~100 bytes of mote-init's 16 KiB, for arguments
/// and environment words of a few dozen bytes.
///
/// # Safety
/// `p` must point to a NUL-terminated string that lives for the rest of the program.
#[inline(never)]
unsafe fn c_str(p: *const u8) -> &'static CStr {
    let mut n = 0;
    // SAFETY: the string ends with a NUL, so each byte up to it can be read.
    while unsafe { *p.add(n) } != 0 {
        // (black_box: LLVM would recognize the loop and call strlen after all.)
        n = core::hint::black_box(n + 1);
    }
    // SAFETY: bytes ..n hold no NUL and byte n is one; the caller guarantees the lifetime.
    unsafe { CStr::from_bytes_with_nul_unchecked(core::slice::from_raw_parts(p, n + 1)) }
}

/// Called by `_start` with the initial stack pointer, the load base and the address of _DYNAMIC.
///
/// # Safety
/// Only `_start` may call this, once, with the values the kernel gave the process.
pub unsafe extern "C" fn start(sp: *const usize, base: usize, dynamic: *const u64) -> ! {
    // Nothing that holds an absolute address may be touched before this returns.
    // SAFETY: base and dynamic come from _start and describe this very image.
    unsafe { relocate(base, dynamic) };
    // SAFETY: the initial stack is argc, argv[argc], NULL, envp..., NULL, auxv pairs, AT_NULL.
    let (argc, argv, envp, auxv) = unsafe {
        let argc = *sp;
        let argv = sp.add(1) as *const *const u8;
        let envp = argv.add(argc + 1);
        let mut e = envp;
        while !(*e).is_null() {
            e = e.add(1);
        }
        (argc, argv, envp, e.add(1) as *const usize)
    };
    // SAFETY: envp is the original environment block; no rustix call has been made yet.
    unsafe { rustix::param::init(envp as *mut *mut u8) };
    // SAFETY: base is our load base and auxv the kernel's vector; relocation is done.
    unsafe { protect_relro(base, page_size(auxv)) };
    // SAFETY: __mote_main is the binary's main, defined through the main! macro.
    let code = unsafe { __mote_main(Args { argc, argv, envp }) };
    raw::exit(code)
}

/// Applies the relative relocations of a static PIE: each says "add the load base here". The
/// linker packs them as RELR (.cargo/config.toml: `--pack-dyn-relocs=relr`; 8 bytes for up to 63
/// aligned pointers, where RELA took 24 bytes each); a RELA, REL or PLT (JMPREL) table or text
/// relocations (what RELR cannot hold) stop the program with a message: no build of ours makes them.
///
/// # Safety
/// `base` must be this image's load base and `dynamic` its _DYNAMIC array.
unsafe fn relocate(base: usize, dynamic: *const u64) {
    let (mut relr, mut relrsz) = (0usize, 0usize);
    let mut d = dynamic;
    // SAFETY: _DYNAMIC is an array of (tag, value) pairs ended by DT_NULL.
    unsafe {
        while *d != DT_NULL {
            let v = *d.add(1) as usize;
            match *d {
                DT_RELR => relr = base + v,
                DT_RELRSZ => relrsz = v,
                // PLT relocations and text relocations, like RELA/REL, are none this start
                // applies: a build that has them must stop here, not run half-relocated.
                DT_RELA | DT_REL | DT_JMPREL | DT_TEXTREL => raw::die(b"mote: unsupported relocation table (RELA/REL/JMPREL/TEXTREL: link with RELR)\n"),
                _ => {}
            }
            d = d.add(2);
        }
    }
    // An even word is the offset of one pointer to relocate; an odd word is a bitmap of the 63
    // words that follow the last place named, bit i for word i - 1.
    let (mut place, mut off) = (0usize, 0usize);
    while off < relrsz {
        // SAFETY: relr..relr+relrsz is the image's RELR table of 8-byte words.
        let w = unsafe { *((relr + off) as *const usize) };
        let mut bits = w;
        if w & 1 == 0 {
            place = base + w;
            bits = 3; // this place alone, then on by one word
        }
        let mut at = place;
        bits >>= 1;
        while bits != 0 {
            if bits & 1 != 0 {
                // SAFETY: the linker named this place: a pointer-sized word of our image holding
                // its link-time address.
                unsafe { *(at as *mut usize) += base };
            }
            at += 8;
            bits >>= 1;
        }
        place += if w & 1 == 0 { 8 } else { 63 * 8 };
        off += 8;
    }
}

/// Makes the relocated read-only data (PT_GNU_RELRO) read-only again, as a dynamic loader would.
///
/// # Safety
/// `base` must be this image's load base, with relocation done.
unsafe fn protect_relro(base: usize, page: usize) {
    // SAFETY: the ELF header is mapped at base; e_phoff at 32, e_phentsize at 54, e_phnum at 56.
    let (phoff, phent, phnum) = unsafe {
        (*((base + 32) as *const u64) as usize, *((base + 54) as *const u16) as usize,
         *((base + 56) as *const u16) as usize)
    };
    for i in 0..phnum {
        let ph = base + phoff + i * phent;
        // SAFETY: program headers are mapped with the ELF header; p_type at 0, p_vaddr at 16,
        // p_memsz at 40.
        let (ty, vaddr, memsz) = unsafe {
            (*(ph as *const u32), *((ph + 16) as *const u64) as usize, *((ph + 40) as *const u64) as usize)
        };
        if ty == PT_GNU_RELRO {
            let start = (base + vaddr) & !(page - 1);
            let end = (base + vaddr + memsz) & !(page - 1);
            if end > start {
                // Failure only costs hardening, never correctness: ignore it.
                // SAFETY: the range lies in our own RELRO segment, which nothing writes after this.
                let _ = unsafe { raw::mprotect_read(start, end - start) };
            }
        }
    }
}

/// AT_PAGESZ from the auxiliary vector (4096 if absent).
fn page_size(mut auxv: *const usize) -> usize {
    loop {
        // SAFETY: auxv is a list of (key, value) pairs ended by AT_NULL (0).
        let (k, v) = unsafe { (*auxv, *auxv.add(1)) };
        match k {
            0 => return 4096,
            AT_PAGESZ => return v,
            // SAFETY: not at the end yet, so the next pair exists.
            _ => auxv = unsafe { auxv.add(2) },
        }
    }
}

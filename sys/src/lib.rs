//! mote-sys: the one place with `unsafe` for both mote and mote-init.
//!
//! - `arch`: the syscall instruction and `_start` for x86_64, aarch64 and riscv64
//! - `start`: self-relocation of the static PIE, argv/envp/auxv, main, exit
//! - `raw`: the system calls rustix lacks, one line each
//! - `exe`: the sealed copy of an executable (CVE-2019-5736)
//! - `io`: fixed-buffer output without core::fmt
//! - `num`: the one checked decimal parser
//! - `txt`: printed text, stored packed (`t!`)
//! - `sig`: signal masks, signalfd, kill, wait, exec: what a process supervisor needs
#![no_std]

pub mod arch;
pub mod exe;
pub mod io;
pub mod mem;
pub mod num;
pub mod panic;
pub mod raw;
pub mod sig;
pub mod start;
pub mod txt;

pub use linux_raw_sys;
pub use rustix;
pub use start::Args;

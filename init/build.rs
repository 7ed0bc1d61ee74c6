//! Link flags for mote-init alone, to fit its 16 KiB budget.
//!
//! - `-z norelro` (aarch64 already links this way, see .cargo/config.toml): with RELRO, ld pads
//!   the file so that the part made read-only after relocation ends on a page boundary, up to
//!   4 KiB of zeros. W^X holds without it (no segment is both writable and executable); what is
//!   lost is the re-protection of a handful of relocated pointers (start.rs skips that step when
//!   there is no PT_GNU_RELRO).
//! (`-z common-page-size=64` and `--no-eh-frame-hdr` apply to both binaries: .cargo/config.toml.)
fn main() {
    println!("cargo:rustc-link-arg-bins=-Wl,-z,norelro");
}

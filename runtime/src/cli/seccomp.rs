//! `mote seccomp [--bundle DIR] [--config F] [--raw]`: the bundle's linux.seccomp compiled as
//! create compiles it, printed one instruction a line with the count last, or with --raw as the
//! struct sock_filter bytes the kernel is given.

use mote_sys::io::{self, Buf};
use mote_sys::rustix::process;
use mote_sys::Args;

use super::{given, flag, parse, Flag, Global};
use crate::error::{Ctx, Error, Result};
use crate::linux::seccomp::{self, Program};
use crate::spec::{self, limits};

pub const FLAGS: &[Flag] = &[flag("bundle", b'b', true), flag("config", 0, true), flag("raw", 0, false)];

#[inline(never)]
pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, t!("seccomp"), FLAGS, g, usize::MAX)?;
    let bundle = given!(p, FLAGS, "bundle").unwrap_or(c".");
    process::chdir(bundle).ctx(t!("bundle"), bundle.to_bytes())?;
    let mut bundle_abs = Buf::<{ limits::PATH }>::new();
    super::create::cwd(&mut bundle_abs)?;
    let cfg = given!(p, FLAGS, "config").unwrap_or(c"config.json");
    let buf = mote_sys::mem::take_arena().ok_or_else(|| Error::msg(t!("config"), cfg.to_bytes(), t!("read twice")))?;
    let doc = super::create::read_config(cfg, &bundle_abs, buf)?;
    let spec = spec::parse(doc.0, doc.1)?;
    let sc = spec.linux.seccomp.as_ref().ok_or_else(|| Error::msg(t!("config.json:"), "linux.seccomp", t!("missing")))?;
    let mut prog = Program::lend()?;
    seccomp::compile(sc, &mut prog)?;
    if given!(p, FLAGS, "raw").is_some() {
        for chunk in prog.insns().chunks(64) {
            let mut b = Buf::<512>::new(); // 64 instructions of 8 bytes: always fits
            for w in chunk {
                b.s(w.to_le_bytes());
            }
            io::out(b.lossy());
        }
        return Ok(0);
    }
    seccomp::dump(&prog, &mut |l| io::out(l));
    let mut b = Buf::<64>::new();
    b.u(prog.insns().len() as u64).s(b" instructions\n");
    super::print(&b, t!("seccomp output:"))?;
    Ok(0)
}

//! `mote spec [--bundle DIR] [--rootless]`: writes a default config.json (runtime-spec 1.2), as
//! `runc spec` does; an existing config.json is never overwritten.

use mote_sys::io::{self, Buf};
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::Args;

use super::spec_json::{GID5, HEAD, MIDDLE, SYS_ROOT, SYS_ROOTLESS, TAIL};
use super::{given, flag, parse, Flag, Global};
use crate::error::{Fits, Ctx, Error, Result, Txt};
use crate::spec::limits;

const FLAGS: &[Flag] = &[flag("bundle", b'b', true), flag("rootless", 0, false)];

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, t!("spec"), FLAGS, g, usize::MAX)?;
    let rootless = given!(p, FLAGS, "rootless").is_some();
    let parts: [Txt; 5] = if rootless { [HEAD, MIDDLE, SYS_ROOTLESS, TAIL, t!("")] } else { [HEAD, GID5, MIDDLE, SYS_ROOT, TAIL] };
    let mut compact = Buf::<4096>::new();
    for part in parts {
        compact.t(part);
    }
    // Made whole before the file is.
    let mut out = Buf::<8192>::new();
    crate::json::indent(compact.get().fits(t!("spec: config.json is"))?, &mut out, b"\t");
    out.c(b'\n');
    let text = out.get().fits(t!("spec: config.json is"))?;
    let mut path = Buf::<{ limits::PATH }>::new();
    if let Some(b) = given!(p, FLAGS, "bundle") {
        path.s(b.to_bytes()).c(b'/');
    }
    path.s(b"config.json");
    let f = fs::open(path.cstr().fits(t!("spec: config.json path:"))?, OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC, Mode::from_raw_mode(0o666));
    let path = path.lossy();
    let f = match f {
        Err(Errno::EXIST) => return Err(Error::msg(t!("spec:"), path, t!("already exists; remove it first"))),
        r => r.ctx(t!("spec: create"), path)?,
    };
    io::write_all(io::fd_of(&f), text).ctx(t!("spec: write"), path)?;
    Ok(0)
}

//! `mote list [--format table|json] [--quiet]`: every container under --root.

use mote_sys::io::{self, Buf};
use core::mem::MaybeUninit;

use mote_sys::rustix::fs::{self, FileType, Mode, OFlags, RawDir};
use mote_sys::Args;

use super::{given, flag, parse, Flag, Global};
use crate::spec::limits;
use crate::error::Result;
use crate::state::{oci_json, Dir};

const FLAGS: &[Flag] = &[flag("format", b'f', true), flag("quiet", b'q', false)];
// Parsed::json_format reads --format as the first flag.
const _: () = assert!(super::index(FLAGS, "format") == 0);

#[inline(never)]
pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, t!("list"), FLAGS, g, usize::MAX)?;
    let json = p.json_format()?;
    let quiet = given!(p, FLAGS, "quiet").is_some();
    if json {
        io::out(b"[");
    } else if !quiet {
        io::out(b"ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n");
    }
    // One buffer per entry, printed whole: the list is unbounded, an entry is not.
    let mut out = Buf::<{ limits::STATE + 256 }>::new();
    let mut first = true;
    if let Ok(root) = fs::open(g.root, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty()) {
        let mut dbuf = [MaybeUninit::<u8>::uninit(); 4096];
        let mut d = RawDir::new(&root, &mut dbuf);
        {
            while let Some(Ok(e)) = d.next() {
                let name = e.file_name().to_bytes();
                if name.starts_with(b".") || e.file_type() != FileType::Directory {
                    continue;
                }
                // A container being created or deleted right now is skipped, not waited for.
                let Ok(dir) = Dir::open(g.root, name) else { continue };
                let mut buf = crate::state::read_buf()?;
                let Ok(st) = dir.read(&mut buf[..]) else { continue };
                let status = st.status(&dir);
                out.clear();
                if json {
                    if !first {
                        out.c(b',');
                    }
                    oci_json(&mut out, &st, status);
                } else if quiet {
                    out.s(st.id).c(b'\n');
                } else {
                    out.s(st.id).c(b'\t').u(if status == crate::state::Status::Stopped { 0 } else { st.pid as u64 });
                    out.c(b'\t').s(status.name()).c(b'\t').s(st.bundle).c(b'\t').s(st.created).s(b"\troot\n");
                }
                first = false;
                super::print(&out, t!("list entry:"))?;
            }
        }
    }
    if json {
        io::out(b"]\n");
    }
    Ok(0)
}

//! The API filesystems every program expects. Anything already mounted is left alone (the kernel
//! may have mounted devtmpfs, a test may have prepared a namespace), except /proc: a fresh one
//! is the only way to see our own PID namespace.

use core::ffi::CStr;

use mote_sys::rustix::fs::{mkdir, open, statx, AtFlags, Mode, OFlags, StatxAttributes, StatxFlags, CWD};
use mote_sys::rustix::io::write;
use mote_sys::rustix::mount::{mount, MountFlags};

use mote_sys::sig::cstr;

use super::read_file;
use crate::say;

/// What to mount, in order: type, directory and options, each ending in NUL, then a flags byte:
/// MS_NOSUID (2), MS_NODEV (4), MS_NOEXEC (8), 1 for "even over an existing mount" and 16 for
/// "then delegate the cgroup controllers" (a bit, not a compare of the name). (One
/// string rather than a call per mount or a table of pointers: the least code, and nothing to
/// relocate at start.)
const MOUNTS: &[u8] = b"proc\0/proc\0\0\x0f\
sysfs\0/sys\0\0\x0e\
devtmpfs\0/dev\0mode=0755\0\x02\
devpts\0/dev/pts\0gid=5,mode=620,ptmxmode=666\0\x0a\
tmpfs\0/dev/shm\0mode=1777\0\x06\
tmpfs\0/run\0mode=0755\0\x06\
cgroup2\0/sys/fs/cgroup\0\0\x1e";

pub fn setup() {
    let mut rest = MOUNTS;
    while !rest.is_empty() {
        let (kind, dir, data) = (take(&mut rest), take(&mut rest), take(&mut rest));
        let flags = rest.first().copied().unwrap_or(0);
        rest = rest.get(1..).unwrap_or_default();
        let mounted = fs(kind, dir, MountFlags::from_bits_retain(flags as u32 & 14), data, flags & 1 != 0);
        if mounted && flags & 16 != 0 {
            delegate_controllers();
        }
    }
}

/// The C string at the start of `rest`, which then starts after it.
fn take<'a>(rest: &mut &'a [u8]) -> &'a CStr {
    let s = cstr(rest).unwrap_or_default();
    *rest = rest.get(s.to_bytes_with_nul().len()..).unwrap_or_default();
    s
}

/// Mounts a `kind` filesystem on `dir` (created if missing) unless something is mounted there
/// already and `always` is false. Returns whether it mounted.
fn fs(kind: &CStr, dir: &CStr, flags: MountFlags, data: &CStr, always: bool) -> bool {
    let _ = mkdir(dir, Mode::from_raw_mode(0o755));
    let mounted = statx(CWD, dir, AtFlags::empty(), StatxFlags::empty())
        .is_ok_and(|st| st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT));
    if mounted && !always {
        return false;
    }
    let ok = mount(kind, dir, kind, flags, data).is_ok();
    if !ok {
        say(b"cannot mount @", dir.to_bytes());
    }
    ok
}

/// Lets the services' cgroups use every controller: "+name" for each in cgroup.controllers,
/// one write each, so that one the kernel refuses does not take the others along.
fn delegate_controllers() {
    let Some(mut list) = crate::proc::SCRATCH.get() else { return };
    let n = read_file(c"/sys/fs/cgroup/cgroup.controllers", &mut list[..256]);
    let Ok(f) = open(c"/sys/fs/cgroup/cgroup.subtree_control", OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return;
    };
    for name in list[..n].split(|c| c.is_ascii_whitespace()).filter(|w| !w.is_empty()) {
        let mut b = [b'+'; 64];
        for (d, &c) in b[1..].iter_mut().zip(name) {
            *d = c;
        }
        let _ = write(&f, &b[..=name.len().min(63)]);
    }
}

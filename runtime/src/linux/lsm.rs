//! AppArmor and SELinux: process.apparmorProfile, process.selinuxLabel and linux.mountLabel are
//! applied when the host's kernel has that LSM enabled, and refused by name when it does not
//! (a profile asked for and silently not applied is a container less confined than its owner
//! believes).

use core::ffi::CStr;

use mote_sys::io::{Buf, Text};
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, Mode, OFlags};

use super::procfs;
use crate::error::{Ctx, Error, Result};
use crate::spec::{limits, Process};

const SELINUX_MAGIC: i64 = 0xf97c_ff8c;

fn apparmor_enabled() -> bool {
    let Ok(f) = fs::open(c"/sys/module/apparmor/parameters/enabled", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    let mut b = [0u8; 4];
    crate::state::read_all(&f, &mut b).is_ok() && b[0] == b'Y'
}

fn selinux_enabled() -> bool {
    fs::statfs(c"/sys/fs/selinux").is_ok_and(|s| s.f_type as i64 == SELINUX_MAGIC)
}

/// In the parent, before anything is made: every label asked for (by the process `p`, or
/// linux.mountLabel) has its LSM enabled on this host.
#[inline(never)]
pub fn check(p: Option<&Process<'_>>, mount_label: Option<&CStr>) -> Result<()> {
    if p.is_some_and(|p| p.apparmor_profile.is_some()) && !apparmor_enabled() {
        return Err(Error::msg(t!("config.json:"), "process.apparmorProfile", t!("AppArmor is not enabled on this host")));
    }
    // Probed only when a label asks for it (one statfs fewer per create otherwise).
    let selinux = (p.is_some_and(|p| p.selinux_label.is_some()) || mount_label.is_some()) && selinux_enabled();
    if p.is_some_and(|p| p.selinux_label.is_some()) && !selinux {
        return Err(Error::msg(t!("config.json:"), "process.selinuxLabel", t!("SELinux is not enabled on this host")));
    }
    if mount_label.is_some() && !selinux {
        return Err(Error::msg(t!("config.json:"), "linux.mountLabel", t!("SELinux is not enabled on this host")));
    }
    Ok(())
}

/// In the child, last before exec: the profile and label the kernel applies at execve.
#[inline(never)]
pub fn exec_labels(p: &Process<'_>) -> Result<()> {
    if let Some(prof) = p.apparmor_profile {
        let mut v = Buf::<{ limits::APPARMOR_PROFILE + 5 }>::new();
        v.s(b"exec ").s(prof.to_bytes());
        let Ok(v) = v.get() else {
            return Err(Error::msg(t!("config.json:"), "process.apparmorProfile", t!("longer than 500 bytes (spec/limits.rs)")));
        };
        // The per-LSM file since Linux 5.8; the shared one before.
        match procfs::open(b"self/attr/apparmor/exec", OFlags::WRONLY) {
            Err(Errno::NOENT) => procfs::write(b"self/attr/exec", v)?,
            r => {
                let f = r.ctx(t!("open"), "/proc/self/attr/apparmor/exec")?;
                mote_sys::io::write_all(mote_sys::io::fd_of(&f), v).ctx(t!("apply process.apparmorProfile"), prof.to_bytes())?;
            }
        }
    }
    if let Some(label) = p.selinux_label {
        procfs::write(b"self/attr/exec", label.to_bytes())?;
    }
    Ok(())
}

/// linux.mountLabel as the `context=` option of a filesystem mount (not proc, sysfs, cgroup:
/// they carry their own labels).
pub fn mount_context(label: Option<&CStr>, typ: &[u8], data: &mut Text) {
    let Some(l) = label else { return };
    if typ.is_empty() || crate::json::find(typ, "proc\0sysfs\0cgroup\0cgroup2\0mqueue") != usize::MAX {
        return;
    }
    if !data.is_empty() {
        data.c(b',');
    }
    data.s(b"context=\"").s(l.to_bytes()).c(b'"');
}

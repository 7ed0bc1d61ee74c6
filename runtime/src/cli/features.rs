//! `mote features`: the OCI features document, truthful about this build.

use mote_sys::io::{self, Buf};
use mote_sys::Args;

use super::{parse, Global};
use crate::error::{Result, Txt};

// In parts around what is only known at build or run time (this target's architectures, the
// kernel's seccomp flags) and the lists the parsers know by name (capabilities, seccomp actions
// and operators, memory policies): printed from the parsers' own tables, so they cannot disagree,
// and their text is in the binary once (-1.5 KB, issue 17).
const FEATURES: Txt = t!(r#"{
  "ociVersionMin": "1.0.0",
  "ociVersionMax": "1.2.0",
  "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
  "mountOptions": ["#);
// The mount options after the two flag tables of linux/rootfs.rs (printed from them): the
// propagation modes spec::propagation knows, and tmpcopyup.
const MOUNT_REST: Txt = t!(r#", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable", "tmpcopyup"],
  "linux": {
    "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
    "capabilities": ["#);
const SECCOMP: Txt = t!(r#"],
    "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false },
    "seccomp": {
      "enabled": true,
      "actions": ["#);
const OPERATORS: Txt = t!("],\n      \"operators\": [");
const ARCHS_KEY: Txt = t!("],\n      \"archs\": [");
const KNOWN: Txt = t!("],\n      \"knownFlags\": [");
const SUPPORTED: Txt = t!("],\n      \"supportedFlags\": [");
const MEMORY_POLICY: Txt = t!(r#"]
    },
    "apparmor": { "enabled": true },
    "selinux": { "enabled": true },
    "intelRdt": { "enabled": false },
    "mountExtensions": { "idmap": { "enabled": false } },
    "memoryPolicy": {
      "modes": ["#);
const MPOL_FLAGS: Txt = t!("],\n      \"flags\": [");
const TAIL: Txt = t!(r#"]
    }
  },
  "annotations": {
    "org.opencontainers.runtime-spec.features.mote.version": "0.1.0",
    "org.opencontainers.runtime-spec.features.mote.annotations": "run.oci.systemd.force_cgroup_v1"
  }
}
"#);

/// The architectures whose syscalls a filter sees on this target (other names in a profile are
/// accepted: their syscalls never reach this kernel).
#[cfg(target_arch = "x86_64")]
const ARCHS: Txt = t!(r#""SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32""#);
#[cfg(target_arch = "aarch64")]
const ARCHS: Txt = t!(r#""SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM""#);
#[cfg(target_arch = "riscv64")]
const ARCHS: Txt = t!(r#""SCMP_ARCH_RISCV64""#);

/// `"PREFIXname", ...` for every name of a space-separated list whose bit is set in `keep`, printed
/// (a mask, not a closure: one copy of this; the longest list, CAPS, has 41 names of the 64).
fn list(prefix: &str, names: &str, keep: u64) -> Result<()> {
    let mut b = Buf::<1024>::new();
    for (_, n) in names.split(' ').enumerate().filter(|&(i, _)| keep >> i & 1 != 0) {
        if !b.is_empty() {
            b.s(b", ");
        }
        b.c(b'"').s(prefix).s(n).c(b'"');
    }
    super::print(&b, t!("features output:"))
}

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    use crate::linux::rootfs;
    use crate::spec::{self, seccomp as sc};
    parse(a, from, t!("features"), &[], g, usize::MAX)?;
    let all = !0;
    io::out_txt(FEATURES);
    list("", rootfs::OPTION_NAMES, all)?;
    io::out(b", ");
    list("", rootfs::RNAMES, all)?;
    io::out_txt(MOUNT_REST);
    list("CAP_", spec::CAPS, all)?;
    io::out_txt(SECCOMP);
    list("SCMP_ACT_", sc::ACTIONS, all)?;
    io::out_txt(OPERATORS);
    list("SCMP_CMP_", sc::OPS, all)?;
    io::out_txt(ARCHS_KEY);
    io::out_txt(ARCHS);
    io::out_txt(KNOWN);
    list("SECCOMP_FILTER_FLAG_", sc::FLAGS, all)?;
    io::out_txt(SUPPORTED);
    // The flags this kernel has (asked, as libseccomp asks).
    let supported = (0..sc::FLAG_BITS.len()).fold(0, |m, i| m | (crate::linux::seccomp::flag_supported(sc::FLAG_BITS[i]) as u64) << i);
    list("SECCOMP_FILTER_FLAG_", sc::FLAGS, supported)?;
    io::out_txt(MEMORY_POLICY);
    list("", spec::MPOL_MODES, all)?;
    io::out_txt(MPOL_FLAGS);
    list("", spec::MPOL_FLAGS, all)?;
    io::out_txt(TAIL);
    Ok(0)
}

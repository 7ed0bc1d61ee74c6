//! `mote features`: the OCI features document, truthful about this build.

use mote_sys::io::{self, Buf};
use mote_sys::Args;

use super::{parse, Global};
use crate::error::Result;

// In three parts around what is only known at build or run time: this target's architectures and
// the kernel's seccomp flags.
const FEATURES: &str = r#"{
  "ociVersionMin": "1.0.0",
  "ociVersionMax": "1.2.0",
  "hooks": ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"],
  "mountOptions": [
    "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "lazytime", "loud",
    "mand", "noatime", "nodev", "nodiratime", "noexec", "nolazytime", "nomand", "norelatime",
    "nostrictatime", "nosuid", "nosymfollow", "private", "rbind", "relatime", "remount", "ro",
    "ratime", "rdev", "rdiratime", "rexec", "rnoatime", "rnodev", "rnodiratime", "rnoexec",
    "rnorelatime", "rnostrictatime", "rnosuid", "rnosymfollow", "rrelatime", "rro", "rrw",
    "rstrictatime", "rsuid", "rsymfollow", "rprivate", "rshared", "rslave", "runbindable", "rw",
    "shared", "silent", "slave", "strictatime", "suid", "symfollow", "sync", "tmpcopyup", "unbindable"
  ],
  "linux": {
    "namespaces": ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"],
    "capabilities": [
      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
      "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
      "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"
    ],
    "cgroup": { "v1": true, "v2": true, "systemd": false, "systemdUser": false, "rdma": false },
    "seccomp": {
      "enabled": true,
      "actions": [
        "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD",
        "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"
      ],
      "operators": [
        "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT", "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"
      ],
      "archs": ["#;
const FEATURES_MID: &str = r#"],
      "knownFlags": [
        "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
      ],
      "supportedFlags": ["#;
const FEATURES_TAIL: &str = r#"]
    },
    "apparmor": { "enabled": true },
    "selinux": { "enabled": true },
    "intelRdt": { "enabled": false },
    "mountExtensions": { "idmap": { "enabled": false } },
    "memoryPolicy": {
      "modes": ["MPOL_DEFAULT", "MPOL_PREFERRED", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_LOCAL",
                "MPOL_PREFERRED_MANY", "MPOL_WEIGHTED_INTERLEAVE"],
      "flags": ["MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES"]
    }
  },
  "annotations": {
    "org.opencontainers.runtime-spec.features.mote.version": "0.1.0",
    "org.opencontainers.runtime-spec.features.mote.annotations": "run.oci.systemd.force_cgroup_v1"
  }
}
"#;

/// The architectures whose syscalls a filter sees on this target (other names in a profile are
/// accepted: their syscalls never reach this kernel).
#[cfg(target_arch = "x86_64")]
const ARCHS: &str = r#""SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32""#;
#[cfg(target_arch = "aarch64")]
const ARCHS: &str = r#""SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM""#;
#[cfg(target_arch = "riscv64")]
const ARCHS: &str = r#""SCMP_ARCH_RISCV64""#;

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    parse(a, from, "features", &[], g, usize::MAX)?;
    io::out(FEATURES.as_bytes());
    io::out(ARCHS.as_bytes());
    io::out(FEATURES_MID.as_bytes());
    // The flags this kernel has (asked, as libseccomp asks).
    let mut b = Buf::<256>::new();
    use crate::spec::seccomp as sc;
    for (i, &bit) in sc::FLAG_BITS.iter().enumerate() {
        if crate::linux::seccomp::flag_supported(bit) {
            let name = sc::nth(sc::FLAGS, i);
            if !b.is_empty() {
                b.s(b", ");
            }
            b.s(b"\"SECCOMP_FILTER_FLAG_").s(name).c(b'"');
        }
    }
    super::print(&b, "features output:")?;
    io::out(FEATURES_TAIL.as_bytes());
    Ok(0)
}

//! `mote features`: the OCI features document, truthful about this build.

use mote_sys::io;
use mote_sys::Args;

use super::{parse, Global};
use crate::error::Result;

const FEATURES: &str = r#"{
  "ociVersionMin": "1.0.0",
  "ociVersionMax": "1.2.0",
  "hooks": [],
  "mountOptions": [
    "async", "atime", "bind", "defaults", "dev", "diratime", "dirsync", "exec", "loud", "mand",
    "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime", "nosuid",
    "private", "rbind", "relatime", "remount", "ro", "rprivate", "rshared", "rslave",
    "runbindable", "rw", "shared", "silent", "slave", "strictatime", "suid", "sync", "tmpcopyup",
    "unbindable"
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
    "seccomp": { "enabled": false },
    "apparmor": { "enabled": false },
    "selinux": { "enabled": false },
    "intelRdt": { "enabled": false },
    "mountExtensions": { "idmap": { "enabled": false } }
  },
  "annotations": {
    "org.opencontainers.runtime-spec.features.mote.version": "0.1.0"
  }
}
"#;

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    parse(a, from, "features", &[], g, usize::MAX)?;
    io::out(FEATURES.as_bytes());
    Ok(0)
}

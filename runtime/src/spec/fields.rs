//! Every field of a runtime-spec 1.2 config.json (and the 1.3 additions engines already send),
//! and what mote does with it. Nothing security-relevant is dropped silently: a field is
//! applied, or refused with an error naming it. tests/runtime/test_security.py walks the spec's
//! fields against this table, and tries each "refused" one.
//!
//! | field | what mote does |
//! |---|---|
//! | `ociVersion` | checked: any 1.x |
//! | `root.path` | applied: the rootfs, pivot_root into it |
//! | `root.readonly` | applied: / remounted read-only last |
//! | `mounts` | applied in order, destinations resolved inside the rootfs (linux/rootfs.rs) |
//! | `mounts.destination` | applied: resolved inside the rootfs; proc and sysfs never through a symlink |
//! | `mounts.source` | applied |
//! | `mounts.type` | applied (bind, or the filesystem; cgroup/cgroup2: the container's own cgroup, bound, or a fresh cgroup2 in its cgroup namespace on v2) |
//! | `mounts.options` | applied: flags, r* through mount_setattr, propagation, data (on the cgroup view too, but data); options a bind or a cgroup mount cannot take refused by name |
//! | `mounts.uidMappings` | refused: idmapped mounts are not supported |
//! | `mounts.gidMappings` | refused: idmapped mounts are not supported |
//! | `process.terminal` | applied: the pty to --console-socket, or proxied by a foreground run; /dev/console bound to it; an error in create or run -d without a socket |
//! | `process.consoleSize` | applied (TIOCSWINSZ on the pty) |
//! | `process.cwd` | applied, then checked to be inside the root |
//! | `process.env` | applied |
//! | `process.args` | applied: found in PATH before ready, exec'd at start |
//! | `process.commandLine` | ignored: Windows only |
//! | `process.rlimits` | applied |
//! | `process.apparmorProfile` | applied (/proc/self/attr/apparmor/exec); refused where AppArmor is off |
//! | `process.capabilities` | applied: every set, an absent one empty; unknown names refused |
//! | `process.noNewPrivileges` | applied |
//! | `process.oomScoreAdj` | applied: written by the parent to /proc/PID (before the user namespace, as runc) |
//! | `process.scheduler` | applied (sched_setattr), checked first as runc and the kernel do |
//! | `process.selinuxLabel` | applied (/proc/self/attr/exec); refused where SELinux is off |
//! | `process.ioPriority` | applied (ioprio_set) |
//! | `process.execCPUAffinity` | applied: initial before the cgroup join, final after |
//! | `process.user.uid` | applied |
//! | `process.user.gid` | applied |
//! | `process.user.umask` | applied |
//! | `process.user.additionalGids` | applied |
//! | `process.user.username` | ignored: Windows only |
//! | `hostname` | applied (needs a uts namespace) |
//! | `domainname` | applied (needs a uts namespace) |
//! | `hooks` | applied: all six stages at the spec's points |
//! | `annotations` | kept in the state; crun's run.oci.systemd.force_cgroup_v1 applied (and the hooks' output ones) |
//! | `linux.namespaces` | applied: new or joined by path |
//! | `linux.uidMappings` | applied to a new user namespace, checked against a joined one's; refused where there is no user namespace (as runc) |
//! | `linux.gidMappings` | applied to a new user namespace, checked against a joined one's; refused where there is no user namespace (as runc) |
//! | `linux.timeOffsets` | applied to a new time namespace; refused where there is none (as runc), and for a clock but monotonic and boottime |
//! | `linux.devices` | applied |
//! | `linux.cgroupsPath` | applied |
//! | `linux.resources` | applied: read and bounded in spec/resources.rs, written by cgroup/resources.rs |
//! | `linux.intelRdt` | refused: no resctrl support |
//! | `linux.sysctl` | applied through a verified procfs, namespaced keys only |
//! | `linux.seccomp` | applied: compiled to BPF by mote (linux/seccomp/), refused by field when it cannot be exact |
//! | `linux.rootfsPropagation` | applied |
//! | `linux.maskedPaths` | applied through descriptors, /dev/null verified |
//! | `linux.readonlyPaths` | applied through descriptors |
//! | `linux.mountLabel` | applied (context= on filesystem mounts); refused where SELinux is off |
//! | `linux.personality` | applied: the domain; refused where flags are given (runc ignores them) |
//! | `linux.memoryPolicy` | applied (set_mempolicy) |
//! | `linux.netDevices` | refused: not supported |
//! | `solaris` | ignored: another platform |
//! | `windows` | ignored: another platform |
//! | `vm` | ignored: another platform |
//! | `zos` | ignored: another platform |

//! Every bound on what a config.json may hold, in one place. A config that exceeds one is refused
//! with an error naming the field and the bound; nothing is ever silently truncated.
//! Sized for real engines: podman's configs carry ~40 env vars, ~15 mounts, ~30 masked paths.

/// Largest config.json read (bytes). Its buffer is in .bss: untouched pages cost nothing.
pub const CONFIG_BYTES: usize = mote_sys::mem::ARENA;
pub const ARGS: usize = 256;
pub const ENV: usize = 512;
pub const MOUNTS: usize = 128;
pub const MOUNT_OPTIONS: usize = 32;
pub const MASKED_PATHS: usize = 128;
pub const READONLY_PATHS: usize = 64;
pub const NAMESPACES: usize = 8;
pub const ID_MAPPINGS: usize = 16;
pub const ADDITIONAL_GIDS: usize = 64;
pub const RLIMITS: usize = 16;
pub const DEVICES: usize = 128;
pub const SYSCTLS: usize = 64;
pub const ANNOTATIONS: usize = 64;
/// linux.seccomp.syscalls entries, and names over all of them (podman's and Docker's default
/// profiles: ~60 rules, ~450 names).
pub const SECCOMP_RULES: usize = 256;
pub const SECCOMP_NAMES: usize = 2048;
/// Longest linux.sysctl key (its /proc/sys path is built from it).
pub const SYSCTL_KEY: usize = 256;
/// JSON nesting depth and keys of nested objects at once, enforced by json.rs itself.
#[allow(unused_imports)]
pub use crate::json::{MAX_DEPTH as JSON_DEPTH, MAX_KEYS as JSON_KEYS};
/// Longest path the runtime builds itself (state dir, PATH lookup, /proc paths).
pub const PATH: usize = 4096;
/// Longest cgroup path (room for the default /mote/<id> with the longest id).
pub const CGROUP_PATH: usize = 2048;
/// Cgroups nested below a container's own that kill, ps and delete walk.
pub const CGROUP_DEPTH: usize = 32;
/// Longest container id: a file name (the state dir and the default cgroup are named by it).
pub const ID: usize = 255;
/// Most descriptors --preserve-fds (plus LISTEN_FDS) may pass: the kernel's default fs.nr_open.
pub const PRESERVE_FDS: usize = 1 << 20;
/// Largest state.json (written by create, read by every other verb: one bound for both).
pub const STATE: usize = 65536;
/// CPUs (execCPUAffinity) and NUMA nodes (memoryPolicy) a list may name: the kernel's CPU_SETSIZE.
pub const CPUS: usize = 1024;
/// Directory levels a tmpcopyup copies at most.
pub const COPYUP_DEPTH: u32 = 64;
/// Longest AppArmor profile name.
pub const APPARMOR_PROFILE: usize = 500;
/// Propagation options of one mount (each one a mount(2) call).
pub const MOUNT_PROPAGATIONS: usize = 4;
/// Entries of each list in linux.resources (hugepageLimits, network.priorities, rdma, unified;
/// blockIO's five device lists together).
pub const RESOURCE_LIST: usize = 32;
/// linux.resources.devices rules (runc's ten defaults come on top of them): at up to 13
/// instructions a rule, the eBPF program always fits its 1900 (cgroup/bpf.rs).
pub const DEVICE_RULES: usize = 128;
/// Longest name in linux.resources that becomes part of a cgroup file's name or line (a
/// hugepage size, an interface, an rdma device, a unified key).
pub const RESOURCE_NAME: usize = 64;

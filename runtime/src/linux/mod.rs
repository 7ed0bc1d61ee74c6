//! Putting a process into a container: spawn (clone3 or unshare+fork, and the parent/child
//! sync), rootfs (mounts, devices, pivot_root), process (user, caps, rlimits, exec).

pub mod console;
pub mod lsm;
pub mod process;
pub mod procfs;
pub mod resolve;
pub mod rootfs;
pub mod sealed;
pub mod seccomp;
pub mod spawn;
pub mod unix;

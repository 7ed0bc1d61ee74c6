//! System calls rustix does not offer (or offers only per-thread or behind a private module).
//! Each is a one-line doc and one call; every `unsafe` block says why it is sound.

use core::ffi::CStr;

use linux_raw_sys::general as g;
use rustix::fd::{AsRawFd, BorrowedFd};
pub use rustix::io::Errno;

use crate::arch::{syscall, syscall3};

/// Result of a raw call: the kernel returns -errno in -4095..=-1.
pub(crate) fn ret(r: usize) -> Result<usize, Errno> {
    if r > (-4096isize) as usize { Err(Errno::from_raw_os_error(-(r as isize) as i32)) } else { Ok(r) }
}

/// exit_group(2): ends the process with `code`.
pub fn exit(code: i32) -> ! {
    // SAFETY: exit_group takes no pointers and does not return.
    unsafe { syscall3(g::__NR_exit_group, code as usize, 0, 0) };
    loop {}
}

/// Writes `msg` to stderr and exits 127; usable before relocation (no absolute addresses).
pub fn die(msg: &[u8]) -> ! {
    // SAFETY: msg is a valid slice; write(2) only reads it.
    unsafe { syscall3(g::__NR_write, 2, msg.as_ptr() as usize, msg.len()) };
    exit(127)
}

/// mprotect(2) `len` bytes at `addr` to PROT_READ.
///
/// # Safety
/// Nothing may write to the range afterwards.
pub unsafe fn mprotect_read(addr: usize, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the range is not written afterwards.
    ret(unsafe { syscall3(g::__NR_mprotect, addr, len, g::PROT_READ as usize) })
}

/// madvise(2) MADV_DONTNEED of `len` bytes at `addr`: the pages go, and read as zeros after in
/// private anonymous memory (a private file mapping's read as the file again).
///
/// # Safety
/// Nothing in the range may be read again for what it held.
pub unsafe fn discard(addr: usize, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller guarantees the range's contents are dead.
    ret(unsafe { syscall3(g::__NR_madvise, addr, len, g::MADV_DONTNEED as usize) })
}

/// fork(2) as clone(SIGCHLD): returns the child's pid in the parent and 0 in the child.
pub fn fork() -> Result<u32, Errno> {
    // SAFETY: without CLONE_VM the child gets a copy of our memory and continues on its own stack
    // copy, exactly like fork(2); the argument order differences between arches do not matter
    // with all pointer arguments zero.
    ret(unsafe { syscall(g::__NR_clone, g::SIGCHLD as usize, 0, 0, 0, 0, 0) }).map(|p| p as u32)
}

/// execve(2): replaces this process with `path`; returns only on failure.
///
/// # Safety
/// `path` must be NUL-terminated; `argv` and `envp` NULL-terminated arrays of NUL-terminated strings.
pub unsafe fn execve(path: *const u8, argv: *const *const u8, envp: *const *const u8) -> Errno {
    // SAFETY: the caller guarantees the pointers' validity.
    let r = unsafe { syscall3(g::__NR_execve, path as usize, argv as usize, envp as usize) };
    ret(r).err().unwrap_or(Errno::INVAL)
}

/// Pointer of an optional C string (NULL for None).
fn opt(s: Option<&CStr>) -> usize {
    s.map_or(0, |s| s.as_ptr() as usize)
}

/// mount(2) with raw MS_* flags.
pub fn mount(src: Option<&CStr>, target: &CStr, fstype: Option<&CStr>, flags: u64, data: Option<&CStr>) -> Result<(), Errno> {
    // SAFETY: every pointer is a NUL-terminated string or NULL; mount(2) only reads them.
    ret(unsafe { syscall(g::__NR_mount, opt(src), target.as_ptr() as usize, opt(fstype), flags as usize, opt(data), 0) }).map(drop)
}

/// mount_setattr(2) on the mount `fd` names (AT_EMPTY_PATH), with AT_RECURSIVE when `recursive`.
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, set: u64, clr: u64) -> Result<(), Errno> {
    let flags = g::AT_EMPTY_PATH | if recursive { g::AT_RECURSIVE } else { 0 };
    let attr: [u64; 4] = [set, clr, 0, 0]; // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
    // SAFETY: "" is NUL-terminated and attr is a valid struct mount_attr (v0, 32 bytes) the kernel only reads.
    ret(unsafe { syscall(g::__NR_mount_setattr, fd.as_raw_fd() as usize, c"".as_ptr() as usize, flags as usize, attr.as_ptr() as usize, 32, 0) }).map(drop)
}

/// mount_setattr(2) on `path` under `dir` (not recursive, the last component followed).
pub fn mount_setattr_at(dir: BorrowedFd<'_>, path: &CStr, set: u64, clr: u64) -> Result<(), Errno> {
    let attr: [u64; 4] = [set, clr, 0, 0]; // struct mount_attr: attr_set, attr_clr, propagation, userns_fd
    // SAFETY: path is NUL-terminated and attr is a valid struct mount_attr (v0, 32 bytes) the kernel only reads.
    ret(unsafe { syscall(g::__NR_mount_setattr, dir.as_raw_fd() as usize, path.as_ptr() as usize, 0, attr.as_ptr() as usize, 32, 0) }).map(drop)
}

/// umount2(2).
pub fn umount2(target: &CStr, flags: u32) -> Result<(), Errno> {
    // SAFETY: target is NUL-terminated; umount2 only reads it.
    ret(unsafe { syscall3(g::__NR_umount2, target.as_ptr() as usize, flags as usize, 0) }).map(drop)
}

/// unshare(2) with raw CLONE_* flags (the process is single-threaded).
pub fn unshare(flags: u32) -> Result<(), Errno> {
    // SAFETY: mote never starts threads, so unsharing process state cannot surprise another thread.
    ret(unsafe { syscall3(g::__NR_unshare, flags as usize, 0, 0) }).map(drop)
}

/// setns(2): joins the namespace `fd` refers to.
pub fn setns(fd: BorrowedFd<'_>, nstype: u32) -> Result<(), Errno> {
    // SAFETY: fd is a valid descriptor; the process is single-threaded.
    ret(unsafe { syscall3(g::__NR_setns, fd.as_raw_fd() as usize, nstype as usize, 0) }).map(drop)
}

/// setresuid(2) for the whole (single-threaded) process.
pub fn setresuid(r: u32, e: u32, s: u32) -> Result<(), Errno> {
    // SAFETY: no pointers; single-threaded, so per-thread credentials are the process's.
    ret(unsafe { syscall3(g::__NR_setresuid, r as usize, e as usize, s as usize) }).map(drop)
}

/// setresgid(2) for the whole (single-threaded) process.
pub fn setresgid(r: u32, e: u32, s: u32) -> Result<(), Errno> {
    // SAFETY: no pointers; single-threaded.
    ret(unsafe { syscall3(g::__NR_setresgid, r as usize, e as usize, s as usize) }).map(drop)
}

/// setgroups(2).
pub fn setgroups(gids: &[u32]) -> Result<(), Errno> {
    // SAFETY: gids is a valid array of gids.len() u32s; setgroups only reads it.
    ret(unsafe { syscall3(g::__NR_setgroups, gids.len(), gids.as_ptr() as usize, 0) }).map(drop)
}

/// prctl(2) with integer arguments.
pub fn prctl(op: u32, a: usize, b: usize, c: usize, d: usize) -> Result<usize, Errno> {
    // SAFETY: mote only passes the integer-argument prctl operations (caps, securebits, no_new_privs,
    // subreaper, pdeathsig), which take no pointers.
    ret(unsafe { syscall(g::__NR_prctl, op as usize, a, b, c, d, 0) })
}

/// capset(2): sets effective, permitted and inheritable sets (64-bit, version 3).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> Result<(), Errno> {
    let hdr = [0x2008_0522u32, 0]; // _LINUX_CAPABILITY_VERSION_3, this process
    let data = [
        effective as u32, permitted as u32, inheritable as u32,
        (effective >> 32) as u32, (permitted >> 32) as u32, (inheritable >> 32) as u32,
    ];
    // SAFETY: hdr and data have the layout capset(2) reads for version 3 (two data structs).
    ret(unsafe { syscall3(g::__NR_capset, hdr.as_ptr() as usize, data.as_ptr() as usize, 0) }).map(drop)
}

/// sched_setaffinity(2) of this process to the CPUs set in `mask`.
pub fn sched_setaffinity(mask: &[u64]) -> Result<(), Errno> {
    // SAFETY: mask is valid for size_of_val(mask) bytes, which the kernel only reads.
    ret(unsafe { syscall3(g::__NR_sched_setaffinity, 0, core::mem::size_of_val(mask), mask.as_ptr() as usize) }).map(drop)
}

/// sched_setattr(2) of this process; `attr` is a struct sched_attr (version 0, 48 bytes).
pub fn sched_setattr(attr: &[u64; 6]) -> Result<(), Errno> {
    // SAFETY: attr is a valid 48-byte struct sched_attr whose first field says so; read only.
    ret(unsafe { syscall3(g::__NR_sched_setattr, 0, attr.as_ptr() as usize, 0) }).map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, this process, `prio`).
pub fn ioprio_set(prio: u32) -> Result<(), Errno> {
    // SAFETY: no pointers.
    ret(unsafe { syscall3(g::__NR_ioprio_set, 1, 0, prio as usize) }).map(drop)
}

/// set_mempolicy(2): `mode` (with its flags) over the nodes set in `mask`.
pub fn set_mempolicy(mode: u32, mask: &[u64]) -> Result<(), Errno> {
    let bits = mask.len() * 64 + 1; // the kernel counts one bit less than maxnode
    // SAFETY: mask is valid for its length in bits, which the kernel only reads.
    ret(unsafe { syscall3(g::__NR_set_mempolicy, mode as usize, mask.as_ptr() as usize, bits) }).map(drop)
}

/// personality(2).
pub fn personality(p: u32) -> Result<usize, Errno> {
    // SAFETY: no pointers.
    ret(unsafe { syscall3(g::__NR_personality, p as usize, 0, 0) })
}

/// setdomainname(2).
pub fn setdomainname(name: &[u8]) -> Result<(), Errno> {
    // SAFETY: name is a valid slice; the kernel reads len bytes.
    ret(unsafe { syscall3(g::__NR_setdomainname, name.as_ptr() as usize, name.len(), 0) }).map(drop)
}

/// Flags clone3 may be given through [`clone3`]: namespaces, pidfd, cgroup. Nothing that shares
/// memory or stacks (CLONE_VM, CLONE_THREAD...), so the child is a plain fork.
pub const CLONE3_ALLOWED: u64 = (g::CLONE_NEWNS | g::CLONE_NEWCGROUP | g::CLONE_NEWUTS | g::CLONE_NEWIPC
    | g::CLONE_NEWUSER | g::CLONE_NEWPID | g::CLONE_NEWNET | g::CLONE_NEWTIME | g::CLONE_PIDFD) as u64
    | g::CLONE_INTO_CGROUP;

/// clone3(2) as a fork into new namespaces (and a cgroup): returns (child pid, pidfd or -1) in the
/// parent, (0, -1) in the child.
pub fn clone3(flags: u64, cgroup: Option<BorrowedFd<'_>>) -> Result<(u32, i32), Errno> {
    if flags & !CLONE3_ALLOWED != 0 {
        return Err(Errno::INVAL);
    }
    let mut pidfd: i32 = -1;
    // struct clone_args (v2): flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
    // tls, set_tid, set_tid_size, cgroup.
    let args: [u64; 11] = [
        flags, &mut pidfd as *mut i32 as u64, 0, 0, g::SIGCHLD as u64, 0, 0, 0, 0, 0,
        cgroup.map_or(0, |c| c.as_raw_fd() as u64),
    ];
    // SAFETY: flags exclude everything that shares memory, so with no stack given the child runs
    // on a copy of ours exactly like fork(2); args and pidfd outlive the call.
    let r = ret(unsafe { syscall3(g::__NR_clone3, args.as_ptr() as usize, core::mem::size_of_val(&args), 0) })?;
    Ok((r as u32, pidfd))
}

/// A NULL-terminated array of C string pointers for execve, filled only from `&CStr`s that
/// outlive it, so passing it to [`exec`] is sound.
pub struct CArray<'a, const N: usize> {
    ptrs: [*const u8; N],
    len: usize,
    _life: core::marker::PhantomData<&'a CStr>,
}

impl<'a, const N: usize> Default for CArray<'a, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const N: usize> CArray<'a, N> {
    /// An empty array (just the terminating NULL).
    pub const fn new() -> Self {
        CArray { ptrs: [core::ptr::null(); N], len: 0, _life: core::marker::PhantomData }
    }
    /// Appends `s`; false when full (one slot always stays NULL).
    #[must_use]
    #[inline(always)]
    pub fn push(&mut self, s: &'a CStr) -> bool {
        push_ptr(&mut self.ptrs, &mut self.len, s.as_ptr() as *const u8)
    }
}

/// [`CArray::push`], one copy for every capacity.
#[inline(never)]
fn push_ptr(ptrs: &mut [*const u8], len: &mut usize, p: *const u8) -> bool {
    if *len + 1 >= ptrs.len() {
        return false;
    }
    ptrs[*len] = p;
    *len += 1;
    true
}

/// execve(2) with arrays built from C strings; returns only on failure.
pub fn exec<const A: usize, const E: usize>(path: &CStr, argv: &CArray<'_, A>, envp: &CArray<'_, E>) -> Errno {
    // SAFETY: CArray holds only pointers to live NUL-terminated strings, followed by NULL.
    unsafe { execve(path.as_ptr() as *const u8, argv.ptrs.as_ptr(), envp.ptrs.as_ptr()) }
}

/// close_range(2) with CLOSE_RANGE_CLOEXEC: marks fds first..=last close-on-exec.
pub fn cloexec_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: only flags descriptors; no memory is touched.
    ret(unsafe { syscall3(g::__NR_close_range, first as usize, last as usize, 4) }).map(drop)
}

/// close_range(2) without flags: closes fds first..=last (none of them may be an owned fd in use).
pub fn close_range(first: u32, last: u32) -> Result<(), Errno> {
    // SAFETY: only closes descriptors; no memory is touched.
    ret(unsafe { syscall3(g::__NR_close_range, first as usize, last as usize, 0) }).map(drop)
}

/// close(2) of descriptor `fd` (not an owned fd in use, as for [`close_range`]).
pub fn close_fd(fd: u32) -> Result<(), Errno> {
    // SAFETY: only closes a descriptor; no memory is touched.
    ret(unsafe { syscall3(g::__NR_close, fd as usize, 0, 0) }).map(drop)
}

/// getcwd(2) into `buf`; returns the length without the NUL.
pub fn getcwd(buf: &mut [u8]) -> Result<usize, Errno> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    unsafe { getcwd_to(buf.as_mut_ptr(), buf.len()) }
}

/// getcwd(2) into the `len` bytes at `buf` (uninitialized room of a buffer); returns the length
/// without the NUL.
///
/// # Safety
/// `buf` must be valid for writes of `len` bytes.
pub unsafe fn getcwd_to(buf: *mut u8, len: usize) -> Result<usize, Errno> {
    // SAFETY: the caller's promise; the kernel writes at most len bytes.
    ret(unsafe { syscall3(g::__NR_getcwd, buf as usize, len, 0) }).map(|n| n.saturating_sub(1))
}

/// clock_gettime(2) CLOCK_REALTIME as (seconds, nanoseconds), by syscall (no vDSO lookup: the
/// runtime reads the clock once or twice per run).
pub fn realtime() -> (i64, i64) {
    let mut ts = [0i64; 2];
    // SAFETY: ts has the layout of a 64-bit struct timespec, which the kernel writes.
    let _ = unsafe { syscall3(g::__NR_clock_gettime, g::CLOCK_REALTIME as usize, ts.as_mut_ptr() as usize, 0) };
    (ts[0], ts[1])
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a new session keyring named `name`.
pub fn join_session_keyring(name: &CStr) -> Result<(), Errno> {
    // SAFETY: name is NUL-terminated; the kernel only reads it.
    ret(unsafe { syscall3(g::__NR_keyctl, 1, name.as_ptr() as usize, 0) }).map(drop)
}

/// bpf(BPF_PROG_LOAD) of a BPF_PROG_TYPE_CGROUP_DEVICE program (`insns`: 8-byte instructions).
pub fn bpf_load_device_program(insns: &[u64], license: &CStr) -> Result<rustix::fd::OwnedFd, Errno> {
    let mut attr = [0u32; 32];
    attr[0] = 15; // BPF_PROG_TYPE_CGROUP_DEVICE
    attr[1] = insns.len() as u32;
    let (ip, lp) = (insns.as_ptr() as u64, license.as_ptr() as u64);
    attr[2] = ip as u32;
    attr[3] = (ip >> 32) as u32;
    attr[4] = lp as u32;
    attr[5] = (lp >> 32) as u32;
    attr[17] = 6; // expected_attach_type: BPF_CGROUP_DEVICE
    // SAFETY: attr is a zeroed bpf_attr with valid pointers to insns and license, which the kernel
    // only reads during the call.
    let fd = ret(unsafe { syscall3(g::__NR_bpf, 5, attr.as_ptr() as usize, core::mem::size_of_val(&attr)) })?;
    // SAFETY: the kernel just created descriptor fd for us alone.
    Ok(unsafe { <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// bpf(BPF_PROG_QUERY): the ids of the device programs attached to `cgroup` itself, into `ids`.
pub fn bpf_device_programs(cgroup: BorrowedFd<'_>, ids: &mut [u32]) -> Result<usize, Errno> {
    let p = ids.as_mut_ptr() as u64;
    let mut attr: [u32; 8] = [cgroup.as_raw_fd() as u32, 6, 0, 0, p as u32, (p >> 32) as u32, ids.len() as u32, 0];
    // SAFETY: attr is a valid bpf_attr for BPF_PROG_QUERY; the kernel writes at most prog_cnt
    // (ids.len()) ids to `ids`, and the count and flags into attr itself.
    ret(unsafe { syscall3(g::__NR_bpf, 16, attr.as_mut_ptr() as usize, core::mem::size_of_val(&attr)) })?;
    Ok(attr[6] as usize)
}

/// bpf(BPF_PROG_GET_FD_BY_ID): a descriptor of the program with id `id`.
pub fn bpf_program_by_id(id: u32) -> Result<rustix::fd::OwnedFd, Errno> {
    let attr: [u32; 4] = [id, 0, 0, 0];
    // SAFETY: attr is a valid bpf_attr for BPF_PROG_GET_FD_BY_ID; the kernel only reads it.
    let fd = ret(unsafe { syscall3(g::__NR_bpf, 13, attr.as_ptr() as usize, core::mem::size_of_val(&attr)) })?;
    // SAFETY: the kernel just created descriptor fd for us alone.
    Ok(unsafe { <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(fd as i32) })
}

/// bpf(BPF_PROG_DETACH): detaches device program `prog` from cgroup `cgroup`.
pub fn bpf_detach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), Errno> {
    let attr: [u32; 4] = [cgroup.as_raw_fd() as u32, prog.as_raw_fd() as u32, 6, 0];
    // SAFETY: attr is a valid bpf_attr for BPF_PROG_DETACH; the kernel only reads it.
    ret(unsafe { syscall3(g::__NR_bpf, 9, attr.as_ptr() as usize, core::mem::size_of_val(&attr)) }).map(drop)
}

/// bpf(BPF_PROG_ATTACH): attaches device program `prog` to cgroup `cgroup` (BPF_F_ALLOW_MULTI).
pub fn bpf_attach_device_program(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>) -> Result<(), Errno> {
    let attr: [u32; 8] = [cgroup.as_raw_fd() as u32, prog.as_raw_fd() as u32, 6, 2, 0, 0, 0, 0];
    // SAFETY: attr is a valid bpf_attr for BPF_PROG_ATTACH; the kernel only reads it.
    ret(unsafe { syscall3(g::__NR_bpf, 8, attr.as_ptr() as usize, core::mem::size_of_val(&attr)) }).map(drop)
}

/// struct sock_fprog: a classic BPF program for seccomp(2).
#[repr(C)]
struct SockFprog {
    len: u16,
    filter: *const u64,
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) (`prog`: struct sock_filter as u64 each);
/// with `listener` (flags carry NEW_LISTENER) returns the notification descriptor.
pub fn seccomp_filter(flags: u32, prog: &[u64], listener: bool) -> Result<Option<rustix::fd::OwnedFd>, Errno> {
    let fprog = SockFprog { len: prog.len() as u16, filter: prog.as_ptr() };
    // SAFETY: fprog points to prog's instructions for the whole call; the kernel copies them.
    let r = ret(unsafe { syscall3(g::__NR_seccomp, 1, flags as usize, &fprog as *const SockFprog as usize) })?;
    // SAFETY: with SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns a new descriptor, ours alone.
    Ok(listener.then(|| unsafe { <rustix::fd::OwnedFd as rustix::fd::FromRawFd>::from_raw_fd(r as i32) }))
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, NULL): EFAULT when this kernel knows `flags`, EINVAL if not.
pub fn seccomp_probe_flags(flags: u32) -> Errno {
    // SAFETY: a NULL program is never read: the kernel checks the flags, then fails on the pointer.
    ret(unsafe { syscall3(g::__NR_seccomp, 1, flags as usize, 0) }).err().unwrap_or(Errno::INVAL)
}

/// seccomp(SECCOMP_GET_ACTION_AVAIL): whether this kernel has SECCOMP_RET_* `action`.
pub fn seccomp_action_avail(action: u32) -> Result<(), Errno> {
    // SAFETY: the kernel only reads the u32 at &action.
    ret(unsafe { syscall3(g::__NR_seccomp, 2, 0, &action as *const u32 as usize) }).map(drop)
}

/// A `struct ifreq` holding a name and interface flags (40 bytes on 64-bit Linux).
#[repr(C)]
pub struct IfFlags {
    /// The interface name, NUL-padded (IFNAMSIZ 16).
    pub name: [u8; 16],
    /// IFF_* flags.
    pub flags: u16,
    pad: [u8; 22],
}

impl IfFlags {
    /// A request for interface `name` (at most 15 bytes; longer names are cut, and then match none).
    pub fn new(name: &[u8]) -> IfFlags {
        let mut r = IfFlags { name: [0; 16], flags: 0, pad: [0; 22] };
        for (d, s) in r.name.iter_mut().take(15).zip(name) {
            *d = *s;
        }
        r
    }
}

/// ioctl(2) SIOCGIFFLAGS or SIOCSIFFLAGS (`req`) on socket `sock`: reads or sets `r.flags`.
pub fn ifflags(sock: BorrowedFd<'_>, req: u32, r: &mut IfFlags) -> Result<(), Errno> {
    // SAFETY: r is a live struct ifreq of the kernel's size; both requests read the name, and
    // SIOCGIFFLAGS writes only the flags field inside it.
    ret(unsafe { syscall3(g::__NR_ioctl, sock.as_raw_fd() as usize, req as usize, r as *mut IfFlags as usize) }).map(drop)
}

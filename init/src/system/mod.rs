//! System mode: PID 1 of a small machine (or, for tests, of a PID namespace). It mounts the API
//! filesystems, starts the services of its config file in order, restarts the ones marked
//! `respawn`, and on TERM/USR1/USR2/PWR/INT stops everything and reboots, halts or powers off.
//! It never exits: PID 1 exiting panics the kernel.

mod config;
mod mounts;
mod shutdown;
mod supervisor;

use core::ffi::CStr;

use mote_sys::io::fd;
use mote_sys::mem::Slot;
use mote_sys::rustix::fs::{open, Mode, OFlags};
use mote_sys::rustix::io::{fcntl_getfd, read};
use mote_sys::rustix::stdio::{dup2_stderr, dup2_stdin, dup2_stdout};
use mote_sys::rustix::system::{reboot, sethostname, RebootCommand};
use mote_sys::sig::cstr;
use mote_sys::Args;

use crate::args::Opts;
use crate::{after, say};
use config::Service;

/// /proc/cmdline's 1 KiB, the config file's 4 KiB and its words' 8 KiB, in .bss: as arrays on
/// the stack they were zeroed by memset at every boot, and cost the code for it (and, on
/// aarch64, compiler_builtins' memset itself).
static BUFS: Slot<[u8; 1024 + 4096 + 8192]> = Slot::new();

pub fn run(a: &Args, o: &Opts) -> ! {
    // Signals first, so a shutdown request that comes during boot waits in the signalfd.
    let sfd = crate::proc::block_signals();
    // Ctrl-Alt-Del then sends us SIGINT instead of rebooting at once. Only the machine's own init
    // may do this (a PID namespace's gets EINVAL), which also tells the two apart.
    let booted = reboot(RebootCommand::CadOff).is_ok();
    mounts::setup();
    console();
    hostname();

    let (Ok((_, sfd)), Some(bufs)) = (sfd, BUFS.take_zeroed()) else {
        // Nothing can be supervised without signals: stay, as PID 1 must. (The buffers are
        // taken only here, once: they are always there.)
        say(b"fatal: cannot set up signals", b"");
        loop {
            let _ = mote_sys::rustix::event::pause();
        }
    };
    let (cmdline, rest) = bufs.split_at_mut(1024);
    let (text, words) = rest.split_at_mut(4096);

    // mote.config=FILE and mote.shell=PROGRAM on the kernel command line (the kernel itself
    // already turned its other key=value words into our environment).
    let n = read_file(c"/proc/cmdline", &mut cmdline[..1023]);
    for c in &mut cmdline[..n] {
        if c.is_ascii_whitespace() {
            *c = 0;
        }
    }
    let (mut config, mut shell) = (o.config.unwrap_or(c"/etc/mote-init.conf"), &[][..]);
    let mut rest = &cmdline[..];
    while let Some(w) = cstr(rest) {
        let w = w.to_bytes_with_nul();
        if let Some(v) = after(w, b"mote.shell=") {
            shell = v;
        }
        if let (Some(v), None) = (after(w, b"mote.config=").and_then(cstr), o.config) {
            config = v;
        }
        rest = rest.get(w.len()..).unwrap_or_default();
    }

    let mut services = [Service::EMPTY; config::MAX];
    let n = read_file(config, &mut text[..4095]);
    if n == 0 {
        say(b"cannot read @", config.to_bytes());
        emergency_shell(shell, a, &mut services[0]);
    }
    let count = config::parse(&text[..n], words, &mut services);
    let services = &mut services[..count];

    let how = supervisor::run(&sfd, a, services);
    shutdown::run(&sfd, services, how, booted)
}

/// Starts the emergency shell (mote.shell=, NUL-terminated) on the console, if configured, in
/// `s`: a slot of the service list, which is empty without a config (a Service of its own was
/// one more 112-byte copy of EMPTY, a memcpy call).
fn emergency_shell<'a>(shell: &'a [u8], a: &Args, s: &mut Service<'a>) {
    if !shell.is_empty() {
        s.name = b"emergency-shell";
        s.cmd = shell;
        supervisor::start(s, a, &mut None);
    }
}

/// fds 0-2 on /dev/console, unless the kernel (or whoever started us) already set them up:
/// the kernel opens all three or, without a /dev/console in the initramfs, none.
fn console() {
    if fcntl_getfd(fd(0)).is_ok() {
        return;
    }
    let flags = OFlags::RDWR | OFlags::NOCTTY;
    if let Ok(f) = open(c"/dev/console", flags, Mode::empty()).or_else(|_| open(c"/dev/null", flags, Mode::empty())) {
        let _ = (dup2_stdin(&f), dup2_stdout(&f), dup2_stderr(&f));
    }
}

/// The hostname from /etc/hostname (its first word), if there is one.
fn hostname() {
    let mut b = [0u8; 64];
    let n = read_file(c"/etc/hostname", &mut b);
    let name = b[..n].split(|c| c.is_ascii_whitespace()).next().unwrap_or_default();
    if !name.is_empty() {
        let _ = sethostname(name);
    }
}

/// Reads file `path` into `buf`; how many bytes, 0 if it cannot be read. One read(2): the files
/// read are small (a config, /proc/cmdline...) and signals are blocked, so it is not cut short.
pub fn read_file(path: &CStr, buf: &mut [u8]) -> usize {
    match open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
        Ok(f) => read(f, buf).unwrap_or(0),
        Err(_) => 0,
    }
}

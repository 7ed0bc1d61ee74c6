//! process.terminal: the pseudo-terminal is made inside the container (its own devpts), its
//! slave bound on /dev/console and made the controlling terminal and stdio of the process, and
//! its master sent (SCM_RIGHTS) over a unix socket: the engine's --console-socket (conmon, the
//! containerd shim), or, for a foreground `mote run`, a socket pair whose other end mote keeps
//! to proxy the terminal itself ([`pump`]).

use core::ffi::CStr;

use mote_sys::io::{self, Fd};
use mote_sys::linux_raw_sys::general as g;
use mote_sys::raw::Errno;
use mote_sys::rustix::event::{poll, PollFd, PollFlags};
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, FileType, Mode, OFlags};
use mote_sys::rustix::net::{self, AddressFamily, SocketFlags, SocketType};
use mote_sys::rustix::termios::{self, OptionalActions, Termios, Winsize};
use mote_sys::rustix::{process, pty, stdio};

use super::resolve::{self, Make};
use crate::error::{Ctx, Error, Result};
use crate::spec::Process;

/// Connects to the engine's console socket (before the root switch: it is a host path).
pub fn connect(path: &CStr) -> Result<OwnedFd> {
    super::unix::connect(path).ctx(t!("console socket"), path.to_bytes())
}

/// A socket pair for a foreground run: (mote's end, the container's end).
pub fn pair() -> Result<(OwnedFd, OwnedFd)> {
    net::socketpair(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None).ctx(t!("socketpair"), "console")
}

/// In the container, after the root switch: makes the pty, applies consoleSize, binds the slave
/// on /dev/console (the container's init, not an exec'd process: `console`), sends the master,
/// and takes the slave as controlling terminal and stdio.
pub fn setup(sock: BorrowedFd<'_>, p: &Process<'_>, console: bool) -> Result<()> {
    let master = fs::open(c"/dev/ptmx", OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty()).ctx(t!("console"), "/dev/ptmx")?;
    // The image's /dev may plant anything there: only the pty multiplexer (5:2) is used.
    let st = fs::fstat(&master).ctx(t!("console: stat"), "/dev/ptmx")?;
    if FileType::from_raw_mode(st.st_mode) != FileType::CharacterDevice || st.st_rdev != fs::makedev(5, 2) {
        return Err(Error::msg(t!("console:"), "/dev/ptmx", t!("is not the pty multiplexer (5:2): refused")));
    }
    pty::unlockpt(&master).ctx(t!("console"), "unlockpt")?;
    let slave = pty::ioctl_tiocgptpeer(&master, pty::OpenptFlags::RDWR | pty::OpenptFlags::NOCTTY).ctx(t!("console"), "TIOCGPTPEER")?;
    if let Some((h, w)) = p.console_size {
        let ws = Winsize { ws_row: h, ws_col: w, ws_xpixel: 0, ws_ypixel: 0 };
        termios::tcsetwinsize(&slave, ws).ctx(t!("console"), "process.consoleSize")?;
    }
    if console {
        bind_console(&slave)?;
    }
    super::unix::send_fd(sock, master.fd(), b"/dev/ptmx").ctx(t!("console"), "send master to console socket")?;
    drop(master);
    process::setsid().ctx(t!("console"), "setsid")?;
    process::ioctl_tiocsctty(&slave).ctx(t!("console"), "TIOCSCTTY")?;
    stdio::dup2_stdin(&slave).ctx(t!("console"), "dup2 stdin")?;
    stdio::dup2_stdout(&slave).ctx(t!("console"), "dup2 stdout")?;
    stdio::dup2_stderr(&slave).ctx(t!("console"), "dup2 stderr")?;
    Ok(())
}

/// /dev/console becomes the pty slave (runtime-spec: "/dev/console ... bind mounted from the
/// pseudoterminal"): a bind mount over a file made for it, or over an existing file or device.
/// The image's own /dev/console is never followed (runc's rule, CVE-2025-52565): a symlink there
/// would move the pty's mount onto whatever file of the container it names.
fn bind_console(slave: &OwnedFd) -> Result<()> {
    super::procfs::root()?; // the mount below goes through /proc/self/fd
    let root = super::rootfs::open_root()?;
    let dev = resolve::open_or_create(root.fd(), b"/dev", Make::Dir).ctx(t!("create"), "/dev")?;
    match fs::openat(&dev, c"console", OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::from_raw_mode(0o644)) {
        Ok(_) | Err(Errno::EXIST) => {}
        Err(e) => return Err(Error::sys(t!("create"), "/dev/console", e)),
    }
    let target = fs::openat(&dev, c"console", OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()).ctx(t!("open"), "/dev/console")?;
    let st = fs::fstat(&target).ctx(t!("stat"), "/dev/console")?;
    if !matches!(FileType::from_raw_mode(st.st_mode), FileType::RegularFile | FileType::CharacterDevice) {
        return Err(Error::msg(t!("bind mount"), "/dev/console", t!("not a file or a character device (a symlink is refused)")));
    }
    super::rootfs::bind_fd(slave.fd(), target.fd(), g::MS_BIND as u64, t!("bind mount pty on"), b"/dev/console")
}

/// Receives the master a container sent over our end of [`pair`].
pub fn receive(sock: &OwnedFd) -> Result<OwnedFd> {
    super::unix::recv_fd(sock.fd()).ctx(t!("console"), "receive pty master")
}

/// The terminal mote runs in, put in raw mode while it proxies (restored on drop), so that the
/// container's pty does the line editing and signals (^C reaches the container as a byte).
pub struct Raw(Option<Termios>);

impl Raw {
    pub fn enter() -> Raw {
        let stdin = io::fd(0);
        let Ok(old) = termios::tcgetattr(stdin) else { return Raw(None) };
        let mut t = old.clone();
        t.make_raw();
        let _ = termios::tcsetattr(stdin, OptionalActions::Now, &t);
        Raw(Some(old))
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = termios::tcsetattr(io::fd(0), OptionalActions::Now, t);
        }
    }
}

/// The size of mote's own terminal copied to the container's (at start and on SIGWINCH).
pub fn copy_size(master: &OwnedFd) {
    // A terminal that knows no size (0x0) leaves process.consoleSize in place.
    if let Ok(ws) = termios::tcgetwinsize(io::fd(0)) {
        if ws.ws_row != 0 || ws.ws_col != 0 {
            let _ = termios::tcsetwinsize(master, ws);
        }
    }
}

/// One round of the proxy: waits for input on stdin, the master or `other` (the signalfd), and
/// copies stdin -> master and master -> stdout. Returns true when `other` is readable.
/// `stdin_open` and `master_open` are cleared at end of file (or EIO: the slave closed).
pub fn pump(master: &OwnedFd, other: BorrowedFd<'_>, stdin_open: &mut bool, master_open: &mut bool) -> bool {
    let stdin = io::fd(0);
    // Closed ends are left out: poll reports HUP on them whatever is asked.
    let mut fds: heapless::Vec<PollFd<'_>, 3> = heapless::Vec::new();
    let _ = fds.push(PollFd::new(&other, PollFlags::IN));
    if *stdin_open {
        let _ = fds.push(PollFd::new(&stdin, PollFlags::IN));
    }
    if *master_open {
        let _ = fds.push(PollFd::new(master, PollFlags::IN));
    }
    if poll(&mut fds, None).is_err() {
        return false;
    }
    let ready = |f: &PollFd<'_>| !(f.revents() & (PollFlags::IN | PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)).is_empty();
    let sig = ready(&fds[0]);
    let mut i = 1;
    if *stdin_open {
        if ready(&fds[i]) && !copy(stdin, master.fd()) {
            *stdin_open = false;
        }
        i += 1;
    }
    if *master_open && ready(&fds[i]) && !copy(master.fd(), io::fd(1)) {
        *master_open = false;
    }
    sig
}

/// What is left in the master once the process is gone (non-blocking).
pub fn drain(master: &OwnedFd) {
    let _ = fs::fcntl_setfl(master, OFlags::NONBLOCK);
    while copy(master.fd(), io::fd(1)) {}
}

/// Copies one read's worth; false at end of file or on an error.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> bool {
    let mut b = [0u8; 4096];
    loop {
        match mote_sys::rustix::io::read(from, &mut b) {
            Ok(0) => return false,
            Ok(n) => return io::write_all(to, &b[..n]).is_ok(),
            Err(Errno::INTR) => {}
            Err(_) => return false,
        }
    }
}

//! process.terminal with --console-socket: the pseudo-terminal is made inside the container (its
//! own devpts), the master sent to the engine over the socket (SCM_RIGHTS), and the slave becomes
//! the controlling terminal and stdio of the process.

use core::ffi::CStr;

use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::rustix::{process, pty, stdio};

use crate::error::{Ctx, Result};

/// Connects to the engine's console socket (before the root switch: it is a host path).
pub fn connect(path: &CStr) -> Result<OwnedFd> {
    super::unix::connect(path).ctx("console socket", path.to_bytes())
}

/// Makes the pty, sends its master, and takes the slave as the controlling terminal and stdio.
pub fn setup(sock: BorrowedFd<'_>, terminal: bool) -> Result<()> {
    if !terminal {
        return Ok(());
    }
    let master = fs::open(c"/dev/ptmx", OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty()).ctx("console", "/dev/ptmx")?;
    // The image's /dev may plant anything there: only the pty multiplexer (5:2) is used.
    let st = fs::fstat(&master).ctx("console: stat", "/dev/ptmx")?;
    if fs::FileType::from_raw_mode(st.st_mode) != fs::FileType::CharacterDevice || st.st_rdev != fs::makedev(5, 2) {
        return Err(crate::error::Error::msg("console:", "/dev/ptmx", "is not the pty multiplexer (5:2): refused"));
    }
    pty::unlockpt(&master).ctx("console", "unlockpt")?;
    let slave = pty::ioctl_tiocgptpeer(&master, pty::OpenptFlags::RDWR | pty::OpenptFlags::NOCTTY).ctx("console", "TIOCGPTPEER")?;
    super::unix::send_fd(sock, master.as_fd(), b"/dev/ptmx").ctx("console", "send master to console socket")?;
    drop(master);
    process::setsid().ctx("console", "setsid")?;
    process::ioctl_tiocsctty(&slave).ctx("console", "TIOCSCTTY")?;
    stdio::dup2_stdin(&slave).ctx("console", "dup2 stdin")?;
    stdio::dup2_stdout(&slave).ctx("console", "dup2 stdout")?;
    stdio::dup2_stderr(&slave).ctx("console", "dup2 stderr")?;
    Ok(())
}

//! Unix stream sockets that carry a descriptor (SCM_RIGHTS): the pty master to the engine's
//! console socket, the seccomp notification descriptor from the container's process to create
//! and on to the listener.

use core::ffi::CStr;
use core::mem::MaybeUninit;

use mote_sys::raw::Errno;
use mote_sys::rustix::fd::{BorrowedFd, OwnedFd};
use mote_sys::rustix::io::{IoSlice, IoSliceMut};
use mote_sys::rustix::net::{
    self, AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage,
    SendFlags, SocketAddrUnix, SocketFlags, SocketType,
};

/// Connects to the socket at `path` (a host path: before the root switch).
pub fn connect(path: &CStr) -> Result<OwnedFd, Errno> {
    let s = net::socket_with(AddressFamily::UNIX, SocketType::STREAM, SocketFlags::CLOEXEC, None)?;
    net::connect(&s, &SocketAddrUnix::new(path)?)?;
    Ok(s)
}

/// Sends `fd` with `payload` over `sock` (EPIPE, not SIGPIPE, when the peer is gone).
pub fn send_fd(sock: BorrowedFd<'_>, fd: BorrowedFd<'_>, payload: &[u8]) -> Result<(), Errno> {
    let mut space = [MaybeUninit::<u8>::uninit(); mote_sys::rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    cmsg.push(SendAncillaryMessage::ScmRights(&fds));
    net::sendmsg(sock, &[IoSlice::new(payload)], &mut cmsg, SendFlags::NOSIGNAL).map(drop)
}

/// Receives the one descriptor [`send_fd`] sent.
pub fn recv_fd(sock: BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    let mut space = [MaybeUninit::<u8>::uninit(); mote_sys::rustix::cmsg_space!(ScmRights(1))];
    let mut cmsg = RecvAncillaryBuffer::new(&mut space);
    let mut b = [0u8; 8];
    net::recvmsg(sock, &mut [IoSliceMut::new(&mut b)], &mut cmsg, RecvFlags::CMSG_CLOEXEC)?;
    for m in cmsg.drain() {
        if let RecvAncillaryMessage::ScmRights(mut fds) = m {
            if let Some(fd) = fds.next() {
                return Ok(fd);
            }
        }
    }
    Err(Errno::BADMSG)
}

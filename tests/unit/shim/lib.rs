//! The parts of mote-sys the unit-tested modules use, from sys/src itself.
#[path = "../../../sys/src/io.rs"]
pub mod io;
#[path = "../../../sys/src/mem.rs"]
pub mod mem;
#[path = "../../../sys/src/num.rs"]
pub mod num;
pub mod raw {
    pub use rustix::io::Errno;
}
pub use linux_raw_sys;
pub use rustix;

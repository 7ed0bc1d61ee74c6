//! Blobs as bounded streams: a blob is read in fixed chunks (pread: a blob may be a slice of an
//! archive file) and hashed as it goes; its digest is checked when its last byte has been read.
//! A layer on top of it is either a plain tar or gzip, inflated by miniz_oxide's core decoder
//! into a fixed 32 KiB window (deflate's largest distance): never a whole layer in memory.

use miniz_oxide::inflate::core::{decompress, inflate_flags as f, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use mote_sys::io::Buf;
use mote_sys::rustix::fd::BorrowedFd;
use mote_sys::rustix::io::{pread, Errno};

use crate::error::{Error, Result, Txt};
use crate::sha256::{self, Sha256};

const IN: usize = 32 * 1024;
const WIN: usize = 32 * 1024;

/// A blob's name in messages: its digest or its path inside an archive.
pub type Name = Buf<128>;

/// One blob: `len` bytes at `off` in `fd`, checked against `want` (sha256) at the end.
pub struct Blob<'a> {
    fd: BorrowedFd<'a>,
    off: u64,
    left: u64,
    sha: Sha256,
    want: Option<[u8; 32]>,
    /// The content's sha256, once the last byte has been read.
    pub digest: Option<[u8; 32]>,
    pub name: Name,
}

impl<'a> Blob<'a> {
    pub fn new(fd: BorrowedFd<'a>, off: u64, len: u64, want: Option<[u8; 32]>, name: &[u8]) -> Self {
        let mut n = Name::new();
        n.s(name);
        Blob { fd, off, left: len, sha: Sha256::new(), want, digest: None, name: n }
    }

    /// Reads the next bytes; 0 at the end, once the digest has matched.
    pub fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if self.left == 0 {
            if self.digest.is_none() {
                let got = core::mem::replace(&mut self.sha, Sha256::new()).finish();
                self.digest = Some(got);
                if self.want.is_some_and(|w| w != got) {
                    let mut m = Buf::<256>::new();
                    m.s(self.name.lossy()).s(b" (content has sha256:").s(sha256::hex(&got)).c(b')');
                    return Err(Error::msg(t!("blob"), m.lossy(), t!("digest mismatch")));
                }
            }
            return Ok(0);
        }
        let n = buf.len().min(self.left.min(usize::MAX as u64) as usize);
        let r = loop {
            match pread(self.fd, &mut buf[..n], self.off) {
                Err(Errno::INTR) => {}
                r => break r,
            }
        };
        let r = r.map_err(|e| Error::sys(t!("read blob"), self.name.lossy(), e))?;
        if r == 0 {
            return Err(Error::msg(t!("blob"), self.name.lossy(), t!("truncated (shorter than its descriptor says)")));
        }
        self.sha.update(&buf[..r]);
        self.off += r as u64;
        self.left -= r as u64;
        Ok(r)
    }

    /// Reads the whole (small) blob into `buf`, checking its digest.
    pub fn read_all<'b>(&mut self, buf: &'b mut [u8], what: Txt) -> Result<&'b mut [u8]> {
        if self.left > buf.len() as u64 {
            return Err(Error::msg(what, self.name.lossy(), t!("larger than the 256 KiB bound")));
        }
        let mut n = 0;
        loop {
            let r = self.read(&mut buf[n..])?;
            if r == 0 {
                return Ok(&mut buf[..n]);
            }
            n += r;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Unknown,
    Raw,
    Gzip,
    /// A gzip member ended: trailer next, then maybe another member.
    Trailer,
    End,
}

/// A layer's tar stream: raw or gunzipped, served as chunks that the tar reader consumes.
pub struct Layer<'a> {
    pub blob: Blob<'a>,
    inb: [u8; IN],
    ip: usize,
    il: usize,
    eof: bool,
    mode: Mode,
    dec: DecompressorOxide,
    win: [u8; WIN],
    wp: usize,
    rd: usize,
    wend: usize,
    crc: u32,
    isize: u32,
    /// sha256 of the uncompressed stream, checked against a diff_id (docker archives).
    diff: Option<(Sha256, [u8; 32])>,
}

impl<'a> Layer<'a> {
    pub fn new(blob: Blob<'a>, diff_id: Option<[u8; 32]>) -> Self {
        Layer {
            blob, inb: [0; IN], ip: 0, il: 0, eof: false, mode: Mode::Unknown, dec: DecompressorOxide::new(),
            win: [0; WIN], wp: 0, rd: 0, wend: 0, crc: 0, isize: 0, diff: diff_id.map(|d| (Sha256::new(), d)),
        }
    }

    fn corrupt(&self, why: Txt) -> Error {
        Error::msg(t!("layer"), self.blob.name.lossy(), why)
    }

    /// Moves unread input to the front and reads more; false at the blob's end.
    fn refill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        self.inb.copy_within(self.ip..self.il, 0);
        self.il -= self.ip;
        self.ip = 0;
        let n = self.blob.read(&mut self.inb[self.il..])?;
        self.il += n;
        self.eof = n == 0;
        Ok(n > 0)
    }

    fn byte(&mut self) -> Result<u8> {
        if self.ip == self.il && !self.refill()? {
            return Err(self.corrupt(t!("truncated gzip stream")));
        }
        self.ip += 1;
        Ok(self.inb[self.ip - 1])
    }

    /// Skips a gzip member header (RFC 1952), its optional fields included.
    fn gzip_header(&mut self) -> Result<()> {
        let mut h = [0u8; 10];
        for b in h.iter_mut() {
            *b = self.byte()?;
        }
        if h[0..3] != [0x1f, 0x8b, 8] || h[3] & 0xe0 != 0 {
            return Err(self.corrupt(t!("not a gzip member (bad header)")));
        }
        if h[3] & 4 != 0 {
            let n = self.byte()? as usize | (self.byte()? as usize) << 8;
            for _ in 0..n {
                self.byte()?;
            }
        }
        for flag in [8u8, 16] {
            if h[3] & flag != 0 {
                while self.byte()? != 0 {}
            }
        }
        if h[3] & 2 != 0 {
            self.byte()?;
            self.byte()?;
        }
        self.dec = DecompressorOxide::new();
        self.crc = 0;
        self.isize = 0;
        self.wp = 0;
        self.mode = Mode::Gzip;
        Ok(())
    }

    /// The next decoded bytes (empty at the end of the stream, after every check passed).
    pub fn chunk(&mut self) -> Result<&[u8]> {
        while self.rd == self.wend {
            self.produce()?;
            if self.mode == Mode::End && self.rd == self.wend {
                if let Some((s, want)) = self.diff.take() {
                    if s.finish() != want {
                        return Err(self.corrupt(t!("uncompressed content does not match its diff_id")));
                    }
                }
                return Ok(&[]);
            }
        }
        Ok(if self.mode == Mode::Raw { &self.inb[self.rd..self.wend] } else { &self.win[self.rd..self.wend] })
    }

    /// Marks `n` bytes of the last chunk as used.
    pub fn consume(&mut self, n: usize) {
        self.rd += n;
        if self.mode == Mode::Raw {
            self.ip = self.rd;
        }
    }

    fn produce(&mut self) -> Result<()> {
        match self.mode {
            Mode::End => Ok(()),
            Mode::Unknown => {
                while self.il - self.ip < 4 && self.refill()? {}
                let m = &self.inb[self.ip..self.il];
                if m.starts_with(&[0x1f, 0x8b]) {
                    self.gzip_header()
                } else if m.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
                    Err(self.corrupt(t!("zstd-compressed layers are not supported (only tar and tar+gzip)")))
                } else if m.starts_with(b"BZh") || m.starts_with(&[0xfd, b'7', b'z', b'X']) {
                    Err(self.corrupt(t!("bzip2/xz-compressed layers are not supported (only tar and tar+gzip)")))
                } else {
                    self.mode = Mode::Raw;
                    self.rd = self.ip;
                    self.wend = self.il;
                    if let Some((s, _)) = &mut self.diff {
                        s.update(&self.inb[self.rd..self.wend]);
                    }
                    Ok(())
                }
            }
            Mode::Raw => {
                self.ip = self.rd;
                if !self.refill()? {
                    self.mode = Mode::End;
                }
                self.rd = self.ip;
                self.wend = self.il;
                if let Some((s, _)) = &mut self.diff {
                    s.update(&self.inb[self.rd..self.wend]);
                }
                Ok(())
            }
            Mode::Trailer => {
                let mut t = [0u8; 8];
                for b in t.iter_mut() {
                    *b = self.byte()?;
                }
                if u32::from_le_bytes([t[0], t[1], t[2], t[3]]) != self.crc
                    || u32::from_le_bytes([t[4], t[5], t[6], t[7]]) != self.isize
                {
                    return Err(self.corrupt(t!("gzip CRC or length mismatch")));
                }
                if self.ip == self.il && !self.refill()? {
                    self.mode = Mode::End;
                    return Ok(());
                }
                self.gzip_header() // another member follows (concatenated gzip)
            }
            Mode::Gzip => {
                let flags = if self.eof { 0 } else { f::TINFL_FLAG_HAS_MORE_INPUT };
                let (st, used, out) = decompress(&mut self.dec, &self.inb[self.ip..self.il], &mut self.win, self.wp, flags);
                self.ip += used;
                self.rd = self.wp;
                self.wend = self.wp + out;
                self.wp = self.wend & (WIN - 1);
                let o = &self.win[self.rd..self.wend];
                self.crc = crc32(self.crc, o);
                self.isize = self.isize.wrapping_add(out as u32);
                if let Some((s, _)) = &mut self.diff {
                    s.update(o);
                }
                match st {
                    TINFLStatus::Done => self.mode = Mode::Trailer,
                    TINFLStatus::HasMoreOutput => {}
                    TINFLStatus::NeedsMoreInput => {
                        if !self.refill()? && out == 0 {
                            return Err(self.corrupt(t!("truncated gzip stream")));
                        }
                    }
                    TINFLStatus::FailedCannotMakeProgress => return Err(self.corrupt(t!("truncated gzip stream"))),
                    _ => return Err(self.corrupt(t!("corrupt deflate data"))),
                }
                Ok(())
            }
        }
    }

    /// Reads exactly `buf.len()` decoded bytes; false if the stream ended first (at 0 bytes).
    pub fn read_exact(&mut self, buf: &mut [u8]) -> Result<bool> {
        let mut n = 0;
        while n < buf.len() {
            let c = self.chunk()?;
            if c.is_empty() {
                if n == 0 {
                    return Ok(false);
                }
                return Err(self.corrupt(t!("truncated tar stream")));
            }
            let k = c.len().min(buf.len() - n);
            buf[n..n + k].copy_from_slice(&c[..k]);
            self.consume(k);
            n += k;
        }
        Ok(true)
    }

    /// Skips `n` decoded bytes.
    pub fn skip(&mut self, mut n: u64) -> Result<()> {
        while n > 0 {
            let c = self.chunk()?.len();
            if c == 0 {
                return Err(self.corrupt(t!("truncated tar stream")));
            }
            let k = (c as u64).min(n) as usize;
            self.consume(k);
            n -= k as u64;
        }
        Ok(())
    }

    /// Reads to the end (trailing blocks, gzip trailer), so that every check runs.
    pub fn finish(&mut self) -> Result<()> {
        loop {
            let c = self.chunk()?.len();
            if c == 0 {
                return Ok(());
            }
            self.consume(c);
        }
    }
}

/// CRC-32 (IEEE), table computed at compile time.
fn crc32(crc: u32, data: &[u8]) -> u32 {
    const T: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut c = !crc;
    for &b in data {
        c = T[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

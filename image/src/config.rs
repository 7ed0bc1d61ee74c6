//! config.json for the bundle: mote's default spec (the one `mote spec` writes) with the
//! process taken from the image config as the image spec's conversion document says:
//! Entrypoint+Cmd to args, Env merged over the defaults, WorkingDir to cwd, User resolved in
//! the rootfs's /etc/passwd and /etc/group, Labels and StopSignal to annotations.

use core::ffi::CStr;

use heapless::Vec;
use mote_sys::io::{write_all, Buf};
use mote_sys::rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::rustix::io::{read, Errno};

use crate::error::{Ctx, Error, Fits, Result};
use crate::json::{self, Kind, Val};
use crate::layout::field;
use crate::resolve;
use crate::spec_json::{GID5, HEAD, MIDDLE, SYS_ROOT, TAIL};

/// Supplementary groups taken from /etc/group at most.
const GROUPS: usize = 64;

/// Output through a fixed buffer.
struct Out<'a> {
    fd: BorrowedFd<'a>,
    b: Buf<4096>,
}

impl Out<'_> {
    fn s(&mut self, s: impl AsRef<[u8]>) -> Result<&mut Self> {
        let s = s.as_ref();
        if self.b.len() + s.len() + 8 > 4096 {
            self.flush()?;
        }
        if s.len() + 8 > 4096 {
            write_all(self.fd, s).ctx(t!("write"), b"config.json")?;
        } else {
            self.b.s(s);
        }
        Ok(self)
    }
    fn json(&mut self, s: &[u8]) -> Result<&mut Self> {
        // Escaping at most grows each byte to 6.
        if s.len() * 6 + 2 > 4000 {
            self.flush()?;
            let mut tmp = Buf::<{ 6 * 4096 + 2 }>::new();
            tmp.json(s);
            if tmp.overflowed() {
                return Err(Error::msg(t!("config.json"), s.get(..64).unwrap_or(s), t!("string longer than 4096 bytes")));
            }
            tmp.write_to(self.fd).ctx(t!("write"), b"config.json")?;
            return Ok(self);
        }
        if self.b.len() + s.len() * 6 + 2 > 4096 {
            self.flush()?;
        }
        self.b.json(s);
        Ok(self)
    }
    fn flush(&mut self) -> Result<()> {
        self.b.write_to(self.fd).ctx(t!("write"), b"config.json")?;
        self.b.clear();
        Ok(())
    }
}

/// Copies a JSON value as it is.
fn copy(o: &mut Out<'_>, v: Val<'_>) -> Result<()> {
    match v.kind() {
        Kind::Null => o.s(b"null").map(drop),
        Kind::Bool => o.s(if v.bool() == Some(true) { &b"true"[..] } else { b"false" }).map(drop),
        Kind::Number => {
            let mut b = Buf::<24>::new();
            b.i(v.i64().ok_or_else(|| Error::msg(t!("default spec"), b"", t!("non-integer number")))?);
            o.s(b.get().fits(t!("config.json: a number is"))?).map(drop)
        }
        Kind::String => o.json(v.bytes().unwrap_or(b"")).map(drop),
        Kind::Array => {
            o.s(b"[")?;
            for (i, x) in v.arr().into_iter().flatten().enumerate() {
                if i > 0 {
                    o.s(b",")?;
                }
                copy(o, x)?;
            }
            o.s(b"]").map(drop)
        }
        Kind::Object => {
            o.s(b"{")?;
            for (i, (k, x)) in v.obj().into_iter().flatten().enumerate() {
                if i > 0 {
                    o.s(b",")?;
                }
                o.json(k.to_bytes())?.s(b":")?;
                copy(o, x)?;
            }
            o.s(b"}").map(drop)
        }
    }
}

/// Checks that `v` is an array of strings (or absent).
fn strings<'a>(v: Option<Val<'a>>, what: &'static str) -> Result<Option<Val<'a>>> {
    if let Some(x) = v {
        if !matches!(x.kind(), Kind::Array | Kind::Null) || x.arr().into_iter().flatten().any(|s| s.kind() != Kind::String) {
            return Err(Error::msg(t!("image config"), what, t!("expected an array of strings")));
        }
    }
    Ok(v)
}

fn items<'a>(v: Option<Val<'a>>) -> impl Iterator<Item = Val<'a>> {
    v.and_then(|x| x.arr()).into_iter().flatten()
}

/// The user, resolved: uid, gid, supplementary gids.
struct User {
    uid: u32,
    gid: u32,
    groups: Vec<u32, GROUPS>,
}

fn number(s: &[u8]) -> Option<u32> {
    u32::try_from(mote_sys::io::parse_decimal(s)?).ok()
}

/// Reads /etc/NAME of the rootfs into `buf` (empty if it does not exist).
fn read_db<'b>(root: BorrowedFd<'_>, name: &CStr, buf: &'b mut [u8]) -> Result<&'b [u8]> {
    let path = name.to_bytes();
    let etc = match resolve::open(root, b"etc") {
        Ok(e) => e,
        Err(Errno::NOENT) => return Ok(&[]),
        Err(e) => return Err(Error::sys(t!("open rootfs"), b"/etc", e)),
    };
    let f: OwnedFd = match fs::openat(&etc, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
        Ok(f) => f,
        Err(Errno::NOENT) => return Ok(&[]),
        Err(e) => return Err(Error::sys(t!("open rootfs /etc/"), path, e)),
    };
    let mut n = 0;
    loop {
        if n == buf.len() {
            return Err(Error::msg(t!("rootfs /etc/"), path, t!("larger than 256 KiB")));
        }
        match read(f.as_fd(), &mut buf[n..]) {
            Ok(0) => return Ok(&buf[..n]),
            Ok(k) => n += k,
            Err(Errno::INTR) => {}
            Err(e) => return Err(Error::sys(t!("read rootfs /etc/"), path, e)),
        }
    }
}

/// Lines of a passwd/group file as fields.
fn entries(db: &[u8]) -> impl Iterator<Item = [&[u8]; 4]> {
    db.split(|&c| c == b'\n').filter_map(|l| {
        let mut f = l.split(|&c| c == b':');
        Some([f.next()?, { f.next()?; f.next()? }, f.next()?, f.next().unwrap_or(b"")])
    })
}

fn resolve_user(root: BorrowedFd<'_>, spec: &[u8], buf: &mut [u8]) -> Result<User> {
    let mut u = User { uid: 0, gid: 0, groups: Vec::new() };
    if spec.is_empty() {
        return Ok(u);
    }
    let (user, group) = match spec.iter().position(|&c| c == b':') {
        Some(i) => (&spec[..i], Some(&spec[i + 1..])),
        None => (spec, None),
    };
    let passwd = read_db(root, c"passwd", buf)?;
    let mut name: Buf<256> = Buf::new();
    match number(user) {
        Some(uid) => {
            u.uid = uid;
            if let Some(e) = entries(passwd).find(|e| number(e[1]) == Some(uid)) {
                u.gid = number(e[2]).unwrap_or(0);
                name.s(e[0]);
            }
        }
        None => {
            let e = entries(passwd).find(|e| e[0] == user).ok_or_else(|| Error::msg(t!("image config User"), user, t!("no such user in the rootfs's /etc/passwd")))?;
            u.uid = number(e[1]).ok_or_else(|| Error::msg(t!("rootfs /etc/passwd"), user, t!("bad uid")))?;
            u.gid = number(e[2]).ok_or_else(|| Error::msg(t!("rootfs /etc/passwd"), user, t!("bad gid")))?;
            name.s(user);
        }
    }
    // The name is compared whole with /etc/group's member lists: never a cut one.
    let name = name.get().map_err(|_| Error::msg(t!("image config User"), user, t!("user name longer than 256 bytes")))?;
    let group_db = read_db(root, c"group", buf)?;
    if let Some(g) = group {
        u.gid = match number(g) {
            Some(gid) => gid,
            None => entries(group_db).find(|e| e[0] == g).and_then(|e| number(e[1]))
                .ok_or_else(|| Error::msg(t!("image config User"), g, t!("no such group in the rootfs's /etc/group")))?,
        };
    } else if !name.is_empty() {
        // Supplementary groups of a named user, as engines set them.
        for e in entries(group_db) {
            if e[2].split(|&c| c == b',').any(|m| m == name) {
                if let Some(gid) = number(e[1]) {
                    if gid != u.gid && !u.groups.contains(&gid) {
                        u.groups.push(gid).map_err(|_| Error::msg(t!("rootfs /etc/group"), name, t!("user in more than 64 groups")))?;
                    }
                }
            }
        }
    }
    Ok(u)
}

/// Writes `bundle/config.json` from the image config `cfg` (a prepared JSON document), the
/// rootfs being `root`, with the annotation `id` (key, value); `buf` is scratch space of at
/// least 256 KiB.
pub fn write(bundle: BorrowedFd<'_>, root: BorrowedFd<'_>, cfg: Val<'_>, id: (&[u8], &[u8]), buf: &mut [u8]) -> Result<()> {
    let c = field(cfg, "config");
    let get = |k: &str| c.and_then(|c| field(c, k)).filter(|v| v.kind() != Kind::Null);
    let user_s = get("User").and_then(|v| v.bytes()).unwrap_or(b"");
    let user = resolve_user(root, user_s, buf)?;
    let cwd = get("WorkingDir").and_then(|v| v.bytes()).filter(|w| !w.is_empty()).unwrap_or(b"/");
    if cwd[0] != b'/' {
        return Err(Error::msg(t!("image config WorkingDir"), cwd, t!("not an absolute path")));
    }
    let entry = strings(get("Entrypoint"), "Entrypoint")?;
    let cmd = strings(get("Cmd"), "Cmd")?;
    if items(entry).chain(items(cmd)).next().is_none() {
        return Err(Error::msg(t!("image config"), b"", t!("neither Entrypoint nor Cmd: nothing to run")));
    }
    let env = strings(get("Env"), "Env")?;

    // The default spec, prepared in place.
    let mut t = Buf::<4096>::new();
    for p in [HEAD, GID5, MIDDLE, SYS_ROOT, TAIL] {
        t.t(p);
    }
    let t = t.get().fits(t!("default spec:"))?;
    let mut d = [0u8; 8192];
    let n = t.len();
    d[..n].copy_from_slice(t);
    let r = json::prepare(&mut d[..n]).map_err(|e| Error::msg(t!("default spec"), b"", e.what))?;
    let def = Val::root(&d[..n], r);

    let f = fs::openat(bundle, c"config.json", OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC, Mode::from_raw_mode(0o644))
        .ctx(t!("create"), b"config.json")?;
    let mut o = Out { fd: f.as_fd(), b: Buf::new() };
    o.s(b"{")?;
    for (i, (k, v)) in def.obj().into_iter().flatten().enumerate() {
        if i > 0 {
            o.s(b",\n")?;
        }
        o.json(k.to_bytes())?.s(b":")?;
        if k.to_bytes() != b"process" {
            copy(&mut o, v)?;
            continue;
        }
        o.s(b"{")?;
        for (j, (pk, pv)) in v.obj().into_iter().flatten().enumerate() {
            if j > 0 {
                o.s(b",\n")?;
            }
            o.json(pk.to_bytes())?.s(b":")?;
            match pk.to_bytes() {
                b"terminal" => {
                    o.s(b"false")?;
                }
                b"user" => {
                    let mut b = Buf::<1024>::new();
                    b.s(b"{\"uid\":").u(user.uid as u64).s(b",\"gid\":").u(user.gid as u64);
                    if !user.groups.is_empty() {
                        b.s(b",\"additionalGids\":[");
                        for (x, g) in user.groups.iter().enumerate() {
                            b.s(if x > 0 { &b","[..] } else { b"" }).u(*g as u64);
                        }
                        b.c(b']');
                    }
                    o.s(b.s(b"}").get().fits(t!("config.json: process.user is"))?)?;
                }
                b"args" => {
                    o.s(b"[")?;
                    for (x, a) in items(entry).chain(items(cmd)).enumerate() {
                        o.s(if x > 0 { &b","[..] } else { b"" })?.json(a.bytes().unwrap_or(b""))?;
                    }
                    o.s(b"]")?;
                }
                b"env" => {
                    o.s(b"[")?;
                    let mut first = true;
                    let key = |e: &[u8]| -> usize { e.iter().position(|&c| c == b'=').unwrap_or(e.len()) };
                    for e in items(env) {
                        o.s(if first { &b""[..] } else { b"," })?.json(e.bytes().unwrap_or(b""))?;
                        first = false;
                    }
                    for e in pv.arr().into_iter().flatten() {
                        let e = e.bytes().unwrap_or(b"");
                        let k = &e[..key(e)];
                        if !items(env).any(|i| i.bytes().is_some_and(|i| i.len() >= k.len() && &i[..key(i)] == k)) {
                            o.s(if first { &b""[..] } else { b"," })?.json(e)?;
                            first = false;
                        }
                    }
                    o.s(b"]")?;
                }
                b"cwd" => {
                    o.json(cwd)?;
                }
                _ => copy(&mut o, pv)?,
            }
        }
        o.s(b"}")?;
    }
    // Annotations: the image id (for --reuse), the stop signal under the image spec's name for
    // it, and the labels.
    // A label never repeats one of these keys (readers differ on which of two wins, and the
    // image id is mote's to say).
    const STOP: &[u8] = b"org.opencontainers.image.stopSignal";
    o.s(b",\n\"annotations\":{")?.json(id.0)?.s(b":")?.json(id.1)?;
    let sig = get("StopSignal").and_then(|v| v.bytes());
    if let Some(sig) = sig {
        o.s(b",")?.json(STOP)?.s(b":")?.json(sig)?;
    }
    if let Some(l) = get("Labels") {
        let it = l.obj().ok_or_else(|| Error::msg(t!("image config"), b"Labels", t!("expected an object")))?;
        for (k, v) in it {
            let v = v.bytes().ok_or_else(|| Error::msg(t!("image config Labels"), k.to_bytes(), t!("expected a string")))?;
            if k.to_bytes() != id.0 && !(sig.is_some() && k.to_bytes() == STOP) {
                o.s(b",")?.json(k.to_bytes())?.s(b":")?.json(v)?;
            }
        }
    }
    o.s(b"}}\n")?;
    o.flush()
}

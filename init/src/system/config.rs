//! The service list, one service per line (format: init/README.md):
//!
//! ```text
//! # KIND    NAME   [key=value...] -- CMD ARGS...
//! wait      setup  -- /etc/rc.setup
//! respawn   getty  -- /sbin/getty -L 115200 ttyS0
//! oci       web    bundle=/srv/web respawn=yes
//! ```
//!
//! Words are separated by blanks; '...' or "..." keep blanks inside a word (no escapes).

use crate::{lookup, same, say_n};

/// Most services in one config.
pub const MAX: usize = 32;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Start and go on with the next.
    Once,
    /// Start and wait until it has exited before the next.
    Wait,
    /// Start and restart whenever it exits.
    Respawn,
}

/// One line of the config and, once started, its process. The byte strings point into the
/// words buffer, where each is followed by a NUL.
#[derive(Clone, Copy)]
pub struct Service<'a> {
    pub name: &'a [u8],
    pub kind: Kind,
    /// File that gets stdout and stderr, NUL-terminated (empty: the console).
    pub log: &'a [u8],
    /// For `oci`: the bundle directory, NUL-terminated.
    pub bundle: &'a [u8],
    /// For `oci` (may be empty): the image file the bundle is made from, NUL-terminated.
    pub image: &'a [u8],
    /// The command's words, each ending in NUL; for `oci` the name's word.
    pub cmd: &'a [u8],
    /// Its pid while it runs, else 0.
    pub pid: i32,
    /// When it was last started (monotonic ms).
    pub started: u64,
    /// When a respawn is due (0: none).
    pub restart_at: u64,
    /// Delay before the next respawn, in ms.
    pub backoff: u64,
}

impl Service<'_> {
    // Empty slices need no pointer relocated at load time, unlike b"" (32 copies of this).
    pub const EMPTY: Service<'static> = Service {
        name: &[],
        kind: Kind::Once,
        log: &[],
        bundle: &[],
        image: &[],
        cmd: &[],
        pid: 0,
        started: 0,
        restart_at: 0,
        backoff: 0,
    };

    /// Sets it back to [`Service::EMPTY`] field by field: `*self = EMPTY` copied 112 bytes
    /// with a call to memcpy.
    #[inline(never)]
    pub fn clear(&mut self) {
        (self.name, self.kind, self.log, self.bundle, self.image, self.cmd) = (&[], Kind::Once, &[], &[], &[], &[]);
        (self.pid, self.started, self.restart_at, self.backoff) = (0, 0, 0, 0);
    }
}

/// Parses `text` into `out`, using `words` (at least twice as long as `text`, plus 2) for the
/// NUL-terminated words; returns how many services there are. Bad lines are reported and
/// skipped: a typo must not keep the rest of the system from booting.
pub fn parse<'a>(text: &[u8], words: &'a mut [u8], out: &mut [Service<'a>]) -> usize {
    let len = split_words(text, words);
    let (mut count, mut line_no) = (0, 0);
    for line in words[..len].split(|&c| c == b'\n') {
        line_no += 1;
        if line.is_empty() {
            continue;
        }
        if out.get_mut(count).is_some_and(|slot| service(line, slot)) {
            count += 1;
        } else {
            say_n(b"config: line # ignored", b"", line_no);
        }
    }
    count
}

/// The word at `*at` in `line` (words end in NUL); moves `*at` past it.
fn next_word<'a>(line: &'a [u8], at: &mut usize) -> &'a [u8] {
    let rest = line.get(*at..).unwrap_or_default();
    let n = rest.iter().take_while(|&&c| c != 0).count();
    *at += n + 1;
    &rest[..n]
}

/// Fills `s` from one line's words ("KIND\0NAME\0..."); false if the line is no service.
fn service<'a>(line: &'a [u8], s: &mut Service<'a>) -> bool {
    let mut at = 0;
    let kind = next_word(line, &mut at);
    s.clear();
    s.name = next_word(line, &mut at);
    let name_at = kind.len() + 1;
    let Some(k) = lookup(b"once wait respawn oci", kind) else { return false };
    let oci = k == 3;
    s.kind = [Kind::Once, Kind::Wait, Kind::Respawn, Kind::Once][k & 3];
    // key=value words up to "--" (or the end of the line, for `oci`).
    let mut w = next_word(line, &mut at);
    while !matches!(w, [] | [b'-', b'-']) {
        let Some(eq) = w.iter().position(|&c| c == b'=') else { return false };
        // The value with its NUL: `log` is opened, `bundle` becomes an argument of `mote run`.
        let value = line.get(at - w.len() + eq..at).unwrap_or_default();
        match lookup(b"log bundle respawn image", &w[..eq]) {
            Some(0) => s.log = if same(value, b"console\0") { &[] } else { value },
            Some(1) if oci => s.bundle = value,
            Some(3) if oci => s.image = value,
            Some(2) if oci => s.kind = if same(value, b"yes\0") { Kind::Respawn } else { Kind::Once },
            _ => return false,
        }
        w = next_word(line, &mut at);
    }
    s.cmd = if oci { line.get(name_at..=name_at + s.name.len()) } else { line.get(at..) }.unwrap_or_default();
    !s.cmd.is_empty() && oci != s.bundle.is_empty()
}

/// Copies the words of `text` to `out`, each followed by a NUL, lines ending in '\n'; drops
/// comments and blank space and resolves quotes. Returns the length used.
fn split_words(text: &[u8], out: &mut [u8]) -> usize {
    let (mut w, mut quote, mut in_word, mut comment) = (0, 0u8, false, false);
    let mut put = |w: &mut usize, c: u8| {
        if let Some(slot) = out.get_mut(*w) {
            *slot = c;
            *w += 1;
        }
    };
    // Every line ends in '\n', the last one included.
    for i in 0..=text.len() {
        let c = text.get(i).copied().unwrap_or(b'\n');
        if c == b'\n' {
            if in_word {
                put(&mut w, 0);
            }
            put(&mut w, b'\n');
            (quote, in_word, comment) = (0, false, false);
        } else if comment {
        } else if quote != 0 {
            if c == quote {
                quote = 0;
            } else {
                put(&mut w, c);
            }
        } else if c == b' ' || c == b'\t' || c == b'\r' || (c == b'#' && !in_word) {
            if in_word {
                put(&mut w, 0);
                in_word = false;
            }
            comment = c == b'#';
        } else {
            in_word = true;
            if c == b'\'' || c == b'"' {
                quote = c;
            } else {
                put(&mut w, c);
            }
        }
    }
    w
}

#!/usr/bin/env python3
"""mote's printed text, packed (sys/src/txt.rs): the codemod that wraps it, and the dictionary.

  python3 tests/tools/txt.py wrap [FILE...]   wrap the string literals mote only prints in t!()
  python3 tests/tools/txt.py dict             pick the dictionary from the wrapped literals and
                                              write it into sys/src/txt.rs (between its markers)
  python3 tests/tools/txt.py stats            how many wrapped literals, how many bytes

`wrap` is mechanical and idempotent, so that it can be re-run on a file taken whole from another
branch: at each call in CALLS, an argument at one of the listed positions that is a plain string
literal (or `if C { "a" } else { "b" }`) becomes t!("..."); so does a literal value of `let why`
or `let verb`; `.s(b"...")` inside an error's `.path(|p| ...)` becomes `.t(t!("..."))`; SIGS
retypes the helpers' parameters that carry such text to Txt, SUBS makes the few edits these rules
do not reach, and a file that then names Txt (or calls .fits) gets the import. Anything else is
left alone: the compiler then says where a &'static str meets a Txt. Only text that is printed
belongs here: never a JSON key matched against input, a path handed to a syscall, anything
compared.
"""
import os
import re
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
SOURCES = ["runtime/src", "image/src"]  # wrapped
DICT_FROM = ["runtime/src"]  # the dictionary's texts: mote's (mote-image has room in its budget)
TESTED = ["tests/unit/src"]  # wrapped too
TXT_RS = os.path.join(ROOT, "sys/src/txt.rs")

# The call (a regex for what precedes its "(") and which arguments (0-based) are printed text.
CALLS = [
    (r"\bError::msg", (0, 2)),
    (r"\bError::sys", (0,)),
    (r"\bError::say", (0, 1)),
    (r"\bError::too_long", (0,)),
    (r"\.set_what", (0,)),
    (r"\.set_detail", (0,)),
    (r"\.ctx", (0,)),
    (r"\.fits", (0,)),
    (r"\.err", (0,)),
    (r"\.key_err", (1,)),
    # Helpers that pass text on to an Error (their parameter is a Txt: SIGS).
    (r"(?<![\w:.])(?:cli::)?parse", (2,)),
    (r"(?<![\w:.])(?:super::)?parse_id", (2,)),
    (r"(?<![\w.])(?:rootfs::|super::)?remount", (2,)),
    (r"(?<![\w.])(?:rootfs::|super::)*bind_fd", (3,)),
    (r"\.refused", (0,)),
    (r"(?<![\w.:])opt_err", (2,)),
    (r"\.id", (0,)),
    (r"(?<![\w.])(?:cli::|super::)?number", (1,)),
    (r"(?<![\w:.])(?:super::)?print", (1,)),
    (r"(?<!\.)\bduration_ms", (1,)),
    (r"(?<![\w:.])number_bytes", (1,)),
    (r"(?<![\w:.])num", (1,)),
    (r"(?<!\.)\bmount_on", (5,)),
    (r"(?<!\.)\bgone", (1,)),
    (r"(?<!\.)\bnot_found", (0,)),
    (r"(?<!\.)\berr_at", (0, 3)),
    (r"(?<!\.)\bsys_at", (0,)),
    (r"(?<![\w.:])(?:(?:res|resources)::)?err", (1, 2)),
    (r"(?<![\w.:])bad", (0,)),
    (r"(?<!\.)\bname_set", (4,)),
    (r"(?<!\.)\bname_in", (4,)),
    (r"(?<![\w:.])descriptor", (1,)),
    (r"(?<!\.)\bread_json", (3,)),
    (r"\.corrupt", (0,)),
]

# (file, function, parameter): the parameter's type becomes Txt (it carries printed text).
SIGS = [
    ("runtime/src/spec/mod.rs", "err", "why"),
    ("runtime/src/spec/mod.rs", "key_err", "why"),
    ("runtime/src/cli/mod.rs", "id", "verb"),
    ("runtime/src/cli/mod.rs", "parse", "verb"),
    ("runtime/src/cli/mod.rs", "parse_id", "verb"),
    ("runtime/src/linux/rootfs.rs", "remount", "what"),
    ("runtime/src/linux/rootfs.rs", "bind_fd", "what"),
    ("runtime/src/state/mod.rs", "refused", "what"),
    ("runtime/src/linux/rootfs.rs", "opt_err", "why"),
    ("runtime/src/cli/mod.rs", "number", "what"),
    ("runtime/src/cli/mod.rs", "print", "what"),
    ("runtime/src/cli/mod.rs", "duration_ms", "what"),
    ("runtime/src/cli/mod.rs", "number_bytes", "what"),
    ("runtime/src/cli/exec.rs", "num", "what"),
    ("runtime/src/linux/rootfs.rs", "mount_on", "what"),
    ("runtime/src/linux/spawn.rs", "gone", "why"),
    ("runtime/src/spec/resources.rs", "err", "why"),
    ("runtime/src/json.rs", "err", "what"),
    ("runtime/src/spec/seccomp.rs", "name_set", "why"),
    ("runtime/src/spec/seccomp.rs", "name_in", "why"),
    ("image/src/tar.rs", "err_at", "what"),
    ("image/src/tar.rs", "err_at", "detail"),
    ("image/src/tar.rs", "sys_at", "what"),
    ("image/src/stream.rs", "read_all", "what"),
    ("image/src/stream.rs", "corrupt", "why"),
    ("image/src/layout.rs", "descriptor", "what"),
    ("image/src/layout.rs", "read_json", "what"),
]

# Exact substitutions (file, old, new) for what the rules above do not reach.
MACRO_USE = "#[macro_use]\nextern crate mote_sys; // t!: printed text, packed (sys/src/txt.rs)\n"
SUBS = [
    ("runtime/src/main.rs", "\nmod cgroup;\n", "\n" + MACRO_USE + "\nmod cgroup;\n"),
    ("runtime/src/main.rs", "io::out(USAGE.as_bytes());", "io::out_txt(USAGE);"),
    ("runtime/src/main.rs", "io::err(USAGE.as_bytes());", "let _ = io::write_txt(io::fd(2), USAGE);"),
    ("runtime/src/hooks.rs", """    b.s(b"mote: exec hook ").s(h.path.to_bytes()).s(b": ").s(crate::error::strerror(e)).c(b'\\n');""",
     """    b.s(b"mote: ");\n    Error::sys(t!("exec hook"), h.path.to_bytes(), e).render(&mut b);\n    b.c(b'\\n');"""),
    ("runtime/src/main.rs", "const USAGE: &str = ", "const USAGE: Txt = "),
    ("runtime/src/cli/features.rs", ": &str = r#", ": Txt = r#"),
    ("runtime/src/cli/features.rs", ': &str = "],', ': Txt = "],'),
    ("runtime/src/cli/spec_json.rs", ": &str = r#", ": mote_sys::txt::Txt = r#"),
    ("runtime/src/json.rs", "pub what: &'static str,", "pub what: Txt,"),
    ("runtime/src/cli/create.rs", ".s(e.what)", ".t(e.what)"),
    ("runtime/src/spec/resources.rs", "String::from(e.what)", "e.what.to_string()"),
    ("runtime/src/spec/mod.rs", 'p.s(b": ").s(why);', 'p.s(b": ").t(why);'),
    ("runtime/src/linux/rootfs.rs", ".s(opt).c(b' ').s(why);", ".s(opt).c(b' ').t(why);"),
    ("runtime/src/linux/seccomp/mod.rs", 'b.s(b"linux.seccomp: syscall names unknown on this architecture, skipped:");',
     'b.t(t!("linux.seccomp: syscall names unknown on this architecture, skipped:"));'),
    ("runtime/src/cli/spec_json.rs", "defaults.\n", "defaults;\n//! packed text (sys/src/txt.rs: only printed or parsed whole, never compared), expanded by\n//! whoever writes it.\n"),
    ("runtime/src/cli/update.rs", ".s(e.what)", ".t(e.what)"),
    ("image/src/tar.rs", "let mut bad: Option<&'static str> = None;", "let mut bad: Option<Txt> = None;"),
    ("image/src/tar.rs", "-> core::result::Result<(), &'static str> {", "-> core::result::Result<(), Txt> {"),
    ("runtime/src/linux/process.rs", "|why: &'static str|", "|why: Txt|"),
    ("runtime/src/linux/spawn.rs", '"was OOM-killed before it was ready: linux.resources.memory.limit is too small"',
     't!("was OOM-killed before it was ready: linux.resources.memory.limit is too small")'),
    ("runtime/src/spec/mod.rs", "pub const MOUNT_NS_REQUIRED: &str = ", "pub const MOUNT_NS_REQUIRED: Txt = "),
    ("runtime/src/spec/seccomp.rs", '(4095, "must be at most 4095 (MAX_ERRNO)")', '(4095, t!("must be at most 4095 (MAX_ERRNO)"))'),
    ("runtime/src/spec/seccomp.rs", '(65535, "must be at most 65535")', '(65535, t!("must be at most 65535"))'),
]

STR = r'"(?:[^"\\]|\\.)*"'
LIT = re.compile(r"(?s)\A(?:" + STR + r"|r(#*)\".*?\"\1)\Z")
IFELSE = re.compile(r"(?s)\A(if\s.*?\{\s*)(" + STR + r")(\s*\}\s*else\s*\{\s*)(" + STR + r")(\s*\})\Z")


def code_mask(src):
    """For each char of src: True where it is code (not in a comment, string or char literal)."""
    mask = [True] * len(src)
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
        elif src.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if src.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif src.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
        elif c == "r" and re.match(r'r#*"', src[i:i + 10]) and (i == 0 or not (src[i - 1].isalnum() or src[i - 1] == "_")) \
                or (c == "b" and re.match(r'br#*"', src[i:i + 10])):
            m = re.match(r'b?r(#*)"', src[i:])
            end = src.find('"' + m.group(1), i + m.end())
            j = end + 1 + len(m.group(1))
            for k in range(i, j):
                mask[k] = False
            i = j
            continue
        elif c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == "\\" else 1
            j += 1
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", src[i:i + 12]):
            j = i + re.match(r"'(\\.[^']*|[^\\'])'", src[i:i + 12]).end()
        else:
            i += 1
            continue
        for k in range(i, j):
            mask[k] = False
        i = j
    return mask


def args_of(src, mask, open_at):
    """The top-level arguments of the call whose "(" is at open_at: [(start, end)], or None."""
    depth, start, out = 0, open_at + 1, []
    for k in range(open_at, len(src)):
        if not mask[k]:
            continue
        c = src[k]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                out.append((start, k))
                return out
        elif c == "," and depth == 1:
            out.append((start, k))
            start = k + 1
    return None


def wrap_arg(a):
    """The argument's text with its literal(s) wrapped, or None if it is not one we wrap."""
    s = a.strip()
    lead, trail = a[:len(a) - len(a.lstrip())], a[len(a.rstrip()):]
    if LIT.match(s):
        return f"{lead}t!({s}){trail}"
    m = IFELSE.match(s)
    if m:
        return f"{lead}{m.group(1)}t!({m.group(2)}){m.group(3)}t!({m.group(4)}){m.group(5)}{trail}"
    return None


def retype(src, rel):
    """SIGS and SUBS for the file `rel`, and the import of Txt when they made it needed."""
    for f, name, param in SIGS:
        if f != rel:
            continue
        m = re.search(r"\bfn " + name + r"\b[^(]*\(", src)
        if not m:
            continue
        args = args_of(src, code_mask(src), m.end() - 1)
        a, b = args[0][0], args[-1][1]
        sig = re.sub(r"\b" + param + r": &(?:'static )?str\b", param + ": Txt", src[a:b])
        src = src[:a] + sig + src[b:]
    src = re.sub(r"(\bbad = Some\()(" + STR + r")\)", r"\1t!(\2))", src)
    if rel == "runtime/src/cli/features.rs":  # the document's fixed parts
        src = re.sub(r"\bio::out\((\w+)\.as_bytes\(\)\);", r"io::out_txt(\1);", src)
    if rel == "runtime/src/cli/spec.rs":  # the template's parts: written, or copied into a buffer
        src = re.sub(r"\bio::write_all\((io::fd_of\(&f\)), (\w+)\.as_bytes\(\)\)", r"io::write_txt(\1, \2)", src)
        src = re.sub(r"let parts: \[&str; (\d)\](.*)", lambda m: "let parts: [Txt; %s]%s" % (m.group(1), m.group(2).replace(', ""]', ', t!("")]')), src)
        src = re.sub(r"\b(\w+)\.s\(part\)", r"\1.t(part)", src)
    if rel == "image/src/tar.rs":  # clean()'s reasons
        src = re.sub(r"(\breturn Err\()(" + STR + r")\)", r"\1t!(\2))", src)
    for f, old, new in SUBS:
        if f == rel and old in src and (old not in new or new not in src):
            src = src.replace(old, new)
    src = re.sub(r"(?s)(\bconst \w+: (?:mote_sys::txt::)?Txt = )(" + STR + r'|r#"[^#]*"#);', r"\1t!(\2);", src)
    if rel.startswith("tests/") or rel == "runtime/src/error.rs":  # (error.rs defines them)
        return src
    for name, used in (("Txt", r"(?<!::)\bTxt\b"), ("Fits", r"\.fits\(")):
        if re.search(used, src) and not re.search(r"^(pub )?use [^;]*\b" + name + r"\b", src, re.M):
            src = add_import(src, name)
    return src


def add_import(src, name):
    """`use crate::error::{..., name}`, added to the file's import from crate::error (or made)."""
    m = re.search(r"^use crate::error::\{([^}]*)\};", src, re.M)
    if m:
        return src[:m.start(1)] + m.group(1) + ", " + name + src[m.end(1):]
    m = re.search(r"^use crate::error::(\w+);", src, re.M)
    if m:
        return src[:m.start()] + "use crate::error::{" + m.group(1) + ", " + name + "};" + src[m.end():]
    m = re.search(r"^use ", src, re.M)
    return src[:m.start()] + "use crate::error::" + name + ";\n" + src[m.start():]


# `let why = ...;` (or verb): every literal that is a value there (the whole right side, a
# match arm's, an if/else branch's) is printed text.
LETS = r"\blet (?:mut )?(?:why|verb)(?:: [^=]+)? = "
VALUE = re.compile(r"(?s)(=>\s*|\{\s*|\A\s*)(" + STR + r")(?=\s*(?:,|\}|\Z))")


def wrap_lets(src):
    mask = code_mask(src)
    edits = []
    for m in re.finditer(LETS, src):
        if not mask[m.start()]:
            continue
        depth, k = 0, m.end()
        while k < len(src):
            if mask[k]:
                c = src[k]
                if c in "([{":
                    depth += 1
                elif c in ")]}":
                    depth -= 1
                elif c == ";" and depth == 0:
                    break
            k += 1
        rhs = src[m.end():k]
        new = VALUE.sub(lambda v: v.group(1) + "t!(" + v.group(2) + ")", rhs)
        if new != rhs:
            edits.append((m.end(), k, new))
    for a, b, w in sorted(edits, reverse=True):
        src = src[:a] + w + src[b:]
    return src


BYTES = re.compile(r'\.s\(b("(?:[^"\\]|\\[^x])*")\)')


def wrap_paths(src):
    """In an error's `.path(|p| ...)` (what it adds to the message), `.s(b"...")` becomes
    `.t(t!("..."))`: the same bytes appended, stored packed."""
    mask = code_mask(src)
    edits = []
    for m in re.finditer(r"\.path\(\s*\|\w+\|", src):
        if not mask[m.start()]:
            continue
        args = args_of(src, mask, m.start() + len(".path"))
        if not args:
            continue
        a, b = args[0]
        body = src[a:b]
        new = BYTES.sub(lambda v: '.t(t!(' + v.group(1) + '))', body)
        if new != body:
            edits.append((a, b, new))
    for a, b, w in sorted(edits, reverse=True):
        src = src[:a] + w + src[b:]
    return src


def wrap(src, rel=""):
    src = wrap_paths(wrap_lets(retype(src, rel)))
    mask = code_mask(src)
    edits = []
    for pat, idxs in CALLS:
        for m in re.finditer(pat + r"\s*\(", src):
            if not mask[m.start()]:
                continue
            args = args_of(src, mask, m.end() - 1)
            if not args:
                continue
            for i in idxs:
                if i < len(args):
                    a, b = args[i]
                    w = wrap_arg(src[a:b])
                    if w is not None:
                        edits.append((a, b, w))
    for a, b, w in sorted(set(edits), reverse=True):
        src = src[:a] + w + src[b:]
    return src


def files(args, dirs=SOURCES + TESTED):
    if args:
        return args
    out = []
    for d in dirs:
        for dp, _, fs in os.walk(os.path.join(ROOT, d)):
            out += [os.path.join(dp, f) for f in sorted(fs) if f.endswith(".rs")]
    return sorted(out)


def unescape(lit):
    """The bytes of a Rust string literal (the subset our sources use)."""
    m = re.match(r'(?s)r(#*)"(.*)"\1\Z', lit)
    if m:
        return m.group(2).encode()
    body, out, i = lit[1:-1], [], 0
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e == "\n":
            i += 2
            while i < len(body) and body[i] in " \t\n\r":
                i += 1
            continue
        if e == "x":
            out.append(chr(int(body[i + 2:i + 4], 16)))
            i += 4
            continue
        if e == "u":
            j = body.index("}", i)
            out.append(chr(int(body[i + 3:j], 16)))
            i = j + 1
            continue
        out.append({"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}[e])
        i += 2
    return "".join(out).encode()


def wrapped_literals():
    """Every literal inside t!(...) in the sources, one entry per site."""
    out = []
    for f in files([], DICT_FROM):
        src = open(f).read()
        mask = code_mask(src)
        for m in re.finditer(r"\bt!\(", src):
            if not mask[m.start()]:
                continue
            inner = src[m.end():]
            lm = re.match(r"(?s)\s*(" + STR + r'|r(#*)".*?"\2)\s*\)', inner)
            if lm:
                out.append(unescape(lm.group(1)))
    return out


# txt.rs's code(k): 0x80..=0xff, then the control bytes but NUL, tab and newline.
CODES = list(range(0x80, 0x100)) + list(range(1, 9)) + list(range(11, 32))
WORDS, LONGEST, RANK = len(CODES), 40, 80


def pack(text, words):
    """What txt.rs's pack does: each word in turn replaced by its code, left to right."""
    for k, w in enumerate(words):
        text = text.replace(w, bytes([CODES[k]]))
    return text


def pick_words(texts):
    """Greedily, the word (a run of bytes, earlier codes included) that saves the most bytes
    over all texts, its cost in the table (its length + the NUL) counted; then the next."""
    texts, words = sorted(set(texts)), []
    while len(words) < WORDS:
        seen = {}
        for t in texts:
            for i in range(len(t)):
                for n in range(2, min(LONGEST, len(t) - i) + 1):
                    w = t[i:i + n]
                    seen[w] = seen.get(w, 0) + 1
        # Overlapping counts overestimate: re-count the most promising ones exactly.
        rough = sorted(seen, key=lambda w: (-(seen[w] * (len(w) - 1) - len(w) - 1), w))[:RANK]
        best, gain = None, 0
        for w in rough:
            g = sum(t.count(w) for t in texts) * (len(w) - 1) - len(w) - 1
            if g > gain or (g == gain and best is not None and w < best):
                best, gain = w, g
        if best is None:
            break
        words.append(best)
        texts = [t.replace(best, bytes([CODES[len(words) - 1]])) for t in texts]
    return words


def rust_bytes(b):
    out = []
    for c in b:
        if c == 0:
            out.append("\\0")
        elif c == 9:
            out.append("\\t")
        elif c == 10:
            out.append("\\n")
        elif c in (34, 92):
            out.append("\\" + chr(c))
        elif 32 <= c < 127:
            out.append(chr(c))
        else:
            out.append("\\x%02x" % c)
    return "".join(out)


def write_dict(lits):
    words = pick_words(lits)
    distinct = sorted(set(lits))
    before = sum(map(len, distinct))
    after = sum(len(pack(t, words)) for t in distinct)
    table = sum(len(w) + 1 for w in words)
    lines, line = [], ""
    for w in words:
        piece = rust_bytes(w + b"\0")
        if len(line) + len(piece) > 90:
            lines.append(line)
            line = ""
        if not line and piece.startswith(" "):  # a line continuation would eat it
            piece = "\\x20" + piece[1:]
        line += piece
    lines.append(line)
    body = "\\\n".join(lines)
    src = open(TXT_RS).read()
    a = src.index("// BEGIN DICT")
    a = src.index("\n", a) + 1
    b = src.index("// END DICT")
    src = src[:a] + f"pub const DICT: &[u8] = b\"{body}\";\n" + src[b:]
    open(TXT_RS, "w").write(src)
    print(f"{len(words)} words: {len(distinct)} texts {before} -> {after} bytes, table {table}: {before - after - table} saved")


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "wrap":
        for f in files(sys.argv[2:]):
            src = open(f).read()
            new = wrap(src, os.path.relpath(f, ROOT))
            if new != src:
                open(f, "w").write(new)
                print("wrapped", os.path.relpath(f, ROOT))
    elif cmd == "dict":
        write_dict(wrapped_literals())
    elif cmd == "stats":
        lits = wrapped_literals()
        print(len(lits), "sites", len(set(lits)), "distinct", sum(len(l) for l in set(lits)), "bytes distinct")
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

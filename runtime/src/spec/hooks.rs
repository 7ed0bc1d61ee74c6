//! config.json's `hooks` read and checked at parse time (hooks.rs runs them), and the state
//! JSON a hook gets on stdin: no syscalls here, so that the unit tests and the fuzzer
//! (tests/unit) run this code itself.

use core::ffi::CStr;

use mote_sys::io::{Buf, Text};

use super::{limits, Spec, P};
use crate::error::{Error, Result};
use crate::json::Val;

/// The lifecycle's stages (one string: a table of &str costs a relocation per entry).
pub const STAGES: &str = "prestart createRuntime createContainer startContainer poststart poststop";

/// Checks config.json's hooks at parse time: a stage's array of {path (absolute), args, env,
/// timeout (> 0)}, within the bounds hooks are run with.
pub fn validate(v: Val<'_>, p: &P) -> Result<()> {
    super::members(v, p, STAGES, &mut |_, arr, ps| {
        let mut h = Hook::empty();
        super::items(arr, ps, &mut |v, pi| parse(v, pi, &mut h))
    })
}

/// One hook, read from its JSON object.
pub struct Hook<'a> {
    pub path: &'a CStr,
    pub args: heapless::Vec<&'a CStr, { limits::ARGS }>,
    pub env: heapless::Vec<&'a CStr, { limits::ENV }>,
    pub timeout: Option<u64>,
}

impl Hook<'_> {
    /// A hook with nothing read yet.
    pub fn empty() -> Self {
        Hook { path: c"", args: heapless::Vec::new(), env: heapless::Vec::new(), timeout: None }
    }
}

/// Reads one hook at `p` into `h` (in place: a Hook is 12 KiB, returned by value it was copied
/// through a stack temporary), which is cleared first.
pub fn parse<'a>(v: Val<'a>, p: &P, h: &mut Hook<'a>) -> Result<()> {
    (h.path, h.timeout) = (c"", None);
    h.args.clear();
    h.env.clear();
    super::members(v, p, "path args env timeout", &mut |i, v, pk| {
        match i {
            0 => h.path = super::str(v, pk)?,
            1 => super::strs(v, pk, &mut h.args)?,
            2 => super::strs(v, pk, &mut h.env)?,
            _ => {
                let t = super::u64(v, pk)?;
                if t == 0 {
                    return Err(pk.err(t!("must be greater than zero")));
                }
                h.timeout = Some(t);
            }
        }
        Ok(())
    })?;
    if h.path.to_bytes().first() != Some(&b'/') {
        return Err(p.key_err("path", t!("must be an absolute path")));
    }
    Ok(())
}

/// The OCI state JSON while create runs (from the config: state.json is not final yet); an
/// error, never a document cut short, past the bound.
pub fn state_json(b: &mut Buf<{ limits::STATE }>, spec: &Spec<'_>, id: &[u8], status: &str, pid: u32, bundle: &[u8]) -> Result<()> {
    b.s(br#"{"ociVersion":"#).json(crate::OCI_VERSION).s(br#","id":"#).json(id).s(br#","status":"#).json(status);
    b.s(br#","pid":"#).u(pid as u64).s(br#","bundle":"#).json(bundle);
    annotations(b, spec);
    b.c(b'}');
    if b.overflowed() {
        let mut e = Error::say(t!("hooks:"), t!(""));
        e.path(|p| { p.t(t!("state JSON larger than ")).u(limits::STATE as u64).t(t!(" bytes (annotations?)")); });
        return Err(e);
    }
    Ok(())
}

/// `,"annotations":{...}` of a state document, from the config (create's state.json, the hooks'
/// state while create runs, the seccomp listener's).
pub fn annotations(st: &mut Text, spec: &Spec<'_>) {
    st.s(br#","annotations":{"#);
    for (i, (k, v)) in spec.annotations.iter().enumerate() {
        if i > 0 {
            st.c(b',');
        }
        st.json(k.to_bytes()).c(b':').json(v.to_bytes());
    }
    st.c(b'}');
}

//! mote: an OCI runtime with runc's command line.
//!
//! main reads the global flags, picks the verb, runs it, and prints its error once (text on
//! stderr, and as runc's JSON log lines with --log-format json) before choosing the exit code.
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

#[macro_use]
extern crate mote_sys; // t!: printed text, packed (sys/src/txt.rs)

mod cgroup;
mod cli;
mod error;
mod hooks;
mod json;
mod linux;
mod log;
mod spec;
mod state;

use crate::error::Txt;
use mote_sys::{io, Args};

use cli::Global;
use json::keys;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The runtime-spec version mote implements.
pub const OCI_VERSION: &str = "1.2.0";

mote_sys::main!(entry);

/// The verbs that make a container process: they run from a sealed copy of mote (linux/sealed.rs).
fn sealed_verb(s: &[u8]) -> bool {
    json::find(s, "create\0run\0exec\0") < 3
}

/// Re-executes from the sealed copy before anything else, main's frame included (each page of a
/// large frame is touched on entry, and the new image would redo whatever ran before). Any
/// argument naming such a verb counts (the verb is known only once the global flags are read):
/// at worst an id or flag value of that name costs one needless re-exec. A failure is reported
/// by main, once it knows the verb and the --log flags.
fn entry(a: Args) -> i32 {
    let sealed = match (1..a.len()).any(|i| a.get(i).is_some_and(sealed_verb)) {
        true => linux::sealed::reexec(&a),
        false => Ok(()),
    };
    main(a, sealed)
}

/// A fixed line: reading the PanicInfo keeps every panic site's fmt::Arguments and core::fmt's
/// number and string formatting (~5 KiB, issue 17); with -Zlocation-detail=none it said little
/// more than this (a panic is a bug; the fuzz tests assert there is none).
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    mote_sys::panic::fixed(b"mote: panic (a bug): exiting 101\n")
}

const USAGE: Txt = t!("usage: mote [global flags] COMMAND [flags] [ID] [args]

commands:
  create   create a container (its process waits for start)
  start    run the process of a created container
  run      create and start a container, wait for it (--detach: do not wait)
  state    print the state of a container as JSON
  kill     send a signal to the container's process (--all: to every process)
  delete   delete a container and everything it holds (--force: even if running)
  list     list containers (--format json)
  update   change a container's cgroup limits (--memory, --pids-limit, --cpu-quota..., -r FILE)
  pause    freeze every process of a container
  resume   thaw a paused container
  ps       list the processes of a container (--format json)
  events   cgroup statistics as JSON (--stats: once; else every --interval)
  exec     run another process in a container (ARGS... or --process FILE)
  spec     write a default config.json (runtime-spec 1.2)
  features print what this build supports, as the OCI features JSON
  seccomp  print the BPF program a bundle's linux.seccomp compiles to (--raw: its bytes)

global flags:
  --root DIR            state directory (default /run/mote)
  --log FILE            write errors and debug messages to FILE
  --log-format text|json
  --debug               log debug messages
  -v, --version         print the version
  -h, --help            print this help
");

#[inline(never)]
fn main(a: Args, sealed: error::Result<()>) -> i32 {
    let mut g = Global { root: c"/run/mote", log: None, log_json: false, debug: false };
    // Global flags come before the verb.
    let mut i = 1;
    while let Some(arg) = a.get(i) {
        keys!(arg, {
            "-v" | "--version" | "version" => {
                let mut b = io::Buf::<128>::new();
                b.s(b"mote version ").s(VERSION).s(b"\nspec: ").s(OCI_VERSION).c(b'\n');
                io::out(b.lossy());
                return 0;
            },
            "-h" | "--help" | "help" => {
                io::out_txt(USAGE);
                return 0;
            },
            _ => {
                if !arg.starts_with(b"-") {
                    break;
                }
            }
        });
        match cli::parse_global(&a, &mut i, &mut g) {
            Ok(()) => {}
            Err(e) => return log::fail(&g, &e, 1),
        }
    }
    let verb = match a.get(i) {
        Some(v) => v,
        None => {
            let _ = io::write_txt(io::fd(2), USAGE);
            return 1;
        }
    };
    if let (true, Err(e)) = (sealed_verb(verb), &sealed) {
        return log::fail(&g, e, if verb == b"exec" { 255 } else { 1 });
    }
    let r = keys!(verb, {
        "create" => cli::create::main(&a, i + 1, &mut g),
        "start" => cli::start::main(&a, i + 1, &mut g),
        "run" => cli::run::main(&a, i + 1, &mut g),
        "state" => cli::state::main(&a, i + 1, &mut g),
        "kill" => cli::kill::main(&a, i + 1, &mut g),
        "delete" => cli::delete::main(&a, i + 1, &mut g),
        "list" | "ps-all" => cli::list::main(&a, i + 1, &mut g),
        "spec" => cli::spec::main(&a, i + 1, &mut g),
        "update" => cli::update::main(&a, i + 1, &mut g),
        "pause" => cli::pause::main(&a, i + 1, &mut g, true),
        "resume" => cli::pause::main(&a, i + 1, &mut g, false),
        "ps" => cli::ps::main(&a, i + 1, &mut g),
        "events" => cli::events::main(&a, i + 1, &mut g),
        "exec" => cli::exec::main(&a, i + 1, &mut g),
        "features" => cli::features::main(&a, i + 1, &mut g),
        "seccomp" => cli::seccomp::main(&a, i + 1, &mut g),
        _ => Err(error::Error::msg(t!("unknown command"), verb, t!("see mote --help"))),
    });
    match r {
        Ok(code) => code,
        Err(e) => log::fail(&g, &e, 1),
    }
}

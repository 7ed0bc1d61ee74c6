//! cli/mod.rs's argument parser for the unit tests and the fuzzer, from the source as it is:
//! OUT_DIR/cli.rs is cli/mod.rs without its verbs' `mod` lines (each verb's module needs the
//! whole runtime) and with its inner doc comments made plain (include! takes no inner
//! attributes); OUT_DIR/verbs.rs has each verb's FLAGS table, copied from its file, and
//! main.rs's OCI_VERSION.
use std::fmt::Write;
use std::path::Path;
use std::{env, fs};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../runtime/src/cli");
    println!("cargo:rerun-if-changed={}", dir.display());
    let out = Path::new(&env::var("OUT_DIR").unwrap()).to_path_buf();
    let src = fs::read_to_string(dir.join("mod.rs")).unwrap();
    let mut cli = String::new();
    let mut verbs = Vec::new();
    for l in src.lines() {
        let t = l.trim();
        if let Some(name) = t.strip_prefix("pub mod ").or_else(|| t.strip_prefix("mod ")).and_then(|r| r.strip_suffix(';')) {
            verbs.push(name.to_string());
            continue;
        }
        match l.strip_prefix("//!") {
            Some(rest) => writeln!(cli, "//{rest}").unwrap(),
            None => writeln!(cli, "{l}").unwrap(),
        }
    }
    fs::write(out.join("cli.rs"), cli).unwrap();
    let mut tables = String::new();
    for v in &verbs {
        println!("cargo:rerun-if-changed={}", dir.join(format!("{v}.rs")).display());
        let Ok(src) = fs::read_to_string(dir.join(format!("{v}.rs"))) else { continue };
        let Some(at) = src.find("const FLAGS: &[Flag] = &[") else { continue };
        let body = &src[at + "const FLAGS: &[Flag] = ".len()..];
        let end = body.find("];").expect("the end of a FLAGS table");
        writeln!(tables, "pub const {}: &[Flag] = {}];", v.to_uppercase(), &body[..end]).unwrap();
    }
    // main.rs's OCI_VERSION, which the hooks' state JSON carries.
    let main = fs::read_to_string(dir.join("../main.rs")).unwrap();
    let v = main.lines().find(|l| l.starts_with("pub const OCI_VERSION")).expect("OCI_VERSION in main.rs");
    writeln!(tables, "{v}").unwrap();
    fs::write(out.join("verbs.rs"), tables).unwrap();
}

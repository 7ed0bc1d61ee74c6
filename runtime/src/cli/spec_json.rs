//! The default config.json `mote spec` writes, in pieces (rootless or not). Plain data with no
//! imports, so that mote-image can include this file and build bundles on the same defaults;
//! packed text (sys/src/txt.rs: only printed or parsed whole, never compared), expanded by
//! whoever writes it.
//! Default: HEAD GID5 MIDDLE SYS_ROOT TAIL; rootless: HEAD MIDDLE SYS_ROOTLESS TAIL.
//!
//! Compact JSON (a line break where it reads better): `mote spec` prints it indented with tabs
//! as runc's (json::indent), and the indentation is not kept here twice over (~1 KB).

pub const HEAD: mote_sys::txt::Txt = t!(r#"{"ociVersion":"1.2.0",
"process":{"terminal":true,"user":{"uid":0,"gid":0},"args":["sh"],
"env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","TERM=xterm"],
"cwd":"/",
"capabilities":{"bounding":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
"effective":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"],
"permitted":["CAP_AUDIT_WRITE","CAP_KILL","CAP_NET_BIND_SERVICE"]},
"rlimits":[{"type":"RLIMIT_NOFILE","hard":1024,"soft":1024}],
"noNewPrivileges":true},
"root":{"path":"rootfs","readonly":true},
"hostname":"mote",
"mounts":[{"destination":"/proc","type":"proc","source":"proc"},
{"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
{"destination":"/dev/pts","type":"devpts","source":"devpts","options":["nosuid","noexec","newinstance","ptmxmode=0666","mode=0620""#);

pub const GID5: mote_sys::txt::Txt = t!(r#","gid=5""#);

pub const MIDDLE: mote_sys::txt::Txt = t!(r#"]},
{"destination":"/dev/shm","type":"tmpfs","source":"shm","options":["nosuid","noexec","nodev","mode=1777","size=65536k"]},
{"destination":"/dev/mqueue","type":"mqueue","source":"mqueue","options":["nosuid","noexec","nodev"]},
"#);

pub const SYS_ROOT: mote_sys::txt::Txt = t!(r#"{"destination":"/sys","type":"sysfs","source":"sysfs","options":["nosuid","noexec","nodev","ro"]},
{"destination":"/sys/fs/cgroup","type":"cgroup","source":"cgroup","options":["nosuid","noexec","nodev","relatime","ro"]}],
"linux":{"resources":{"devices":[{"allow":false,"access":"rwm"}]},
"namespaces":[{"type":"pid"},{"type":"network"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"}],
"#);

pub const SYS_ROOTLESS: mote_sys::txt::Txt = t!(r#"{"destination":"/sys","type":"none","source":"/sys","options":["rbind","nosuid","noexec","nodev","ro"]}],
"linux":{"uidMappings":[{"containerID":0,"hostID":1000,"size":1}],
"gidMappings":[{"containerID":0,"hostID":1000,"size":1}],
"namespaces":[{"type":"pid"},{"type":"ipc"},{"type":"uts"},{"type":"mount"},{"type":"cgroup"},{"type":"user"}],
"#);

pub const TAIL: mote_sys::txt::Txt = t!(r#""maskedPaths":["/proc/acpi","/proc/asound","/proc/kcore","/proc/keys","/proc/latency_stats",
"/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/sys/firmware","/sys/devices/virtual/powercap","/proc/scsi"],
"readonlyPaths":["/proc/bus","/proc/fs","/proc/irq","/proc/sys","/proc/sysrq-trigger"]}}"#);

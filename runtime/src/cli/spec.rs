//! `mote spec [--bundle DIR] [--rootless]`: writes a default config.json (runtime-spec 1.2), as
//! `runc spec` does; an existing config.json is never overwritten.

use mote_sys::io::{self, Buf};
use mote_sys::raw::Errno;
use mote_sys::rustix::fs::{self, Mode, OFlags};
use mote_sys::Args;

use super::{flag, parse, Flag, Global};
use crate::error::{Ctx, Error, Result};
use crate::spec::limits;

const FLAGS: &[Flag] = &[flag("bundle", b'b', true), flag("rootless", 0, false)];

const HEAD: &str = r#"{
	"ociVersion": "1.2.0",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "mote",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620"
"#;

const GID5: &str = r#",
				"gid=5"
"#;

const MIDDLE: &str = r#"			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
"#;

const SYS_ROOT: &str = r#"		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "cgroup"
			}
		],
"#;

const SYS_ROOTLESS: &str = r#"		{
			"destination": "/sys",
			"type": "none",
			"source": "/sys",
			"options": [
				"rbind",
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		}
	],
	"linux": {
		"uidMappings": [
			{
				"containerID": 0,
				"hostID": 1000,
				"size": 1
			}
		],
		"gidMappings": [
			{
				"containerID": 0,
				"hostID": 1000,
				"size": 1
			}
		],
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "cgroup"
			},
			{
				"type": "user"
			}
		],
"#;

const TAIL: &str = r#"		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/sys/devices/virtual/powercap",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
}
"#;

pub fn main(a: &Args, from: usize, g: &mut Global) -> Result<i32> {
    let p = parse(a, from, "spec", FLAGS, g, usize::MAX)?;
    let rootless = p.has("rootless");
    let mut path = Buf::<{ limits::PATH }>::new();
    if let Some(b) = p.get("bundle") {
        path.s(b.to_bytes()).c(b'/');
    }
    path.s(b"config.json");
    let f = match fs::open(path.cstr(), OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC, Mode::from_raw_mode(0o666)) {
        Err(Errno::EXIST) => return Err(Error::msg("spec:", path.as_bytes(), "already exists; remove it first")),
        r => r.ctx("spec: create", path.as_bytes())?,
    };
    let parts: [&str; 4] = if rootless { [HEAD, MIDDLE, SYS_ROOTLESS, TAIL] } else { [HEAD, GID5, MIDDLE, SYS_ROOT] };
    for part in parts {
        io::write_all(io::fd_of(&f), part.as_bytes()).ctx("spec: write", path.as_bytes())?;
    }
    if !rootless {
        io::write_all(io::fd_of(&f), TAIL.as_bytes()).ctx("spec: write", path.as_bytes())?;
    }
    Ok(0)
}

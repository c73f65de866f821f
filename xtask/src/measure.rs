//! Running one child process and measuring it: wall time, and peak RSS and CPU time from the
//! `rusage` that `wait4` returns for exactly that child.

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

/// One measured child process.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    pub wall: Duration,
    /// User + system CPU time of the child (and of any children it waited for).
    pub cpu: Duration,
    /// `ru_maxrss`: the child's peak resident set size, in KiB on Linux.
    pub max_rss_kib: u64,
    pub exit: Exit,
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
}

/// Runs `cmd` with stdin closed, stdout and stderr written to the given files, and waits for it
/// with `wait4`. The clock starts just before the spawn and stops when `wait4` returns.
pub fn run(cmd: &mut Command, stdout: &Path, stderr: &Path) -> Result<Measured> {
    let out = File::create(stdout).map_err(|e| format!("creating {}: {e}", stdout.display()))?;
    let err = File::create(stderr).map_err(|e| format!("creating {}: {e}", stderr.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);

    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is a plain C struct for which all-zero bytes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child that nothing else waits for (`child` is never waited
        // on through std: dropping a `Child` does not wait), and both out-pointers point to
        // live, writable locals of the right types.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(format!("wait4({pid}): {e}"));
        }
    }
    let wall = start.elapsed();
    drop(child);

    let exit = if libc::WIFEXITED(status) {
        Exit::Code(libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        Exit::Signal(libc::WTERMSIG(status))
    } else {
        Exit::Signal(-1)
    };
    Ok(Measured {
        wall,
        cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
        exit,
    })
}

//! Running one child process and measuring it: wall time, and peak RSS and CPU time from the
//! `rusage` that `wait4` returns for exactly that child; a watchdog kills it after a timeout.

use std::fs::File;
use std::io;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
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
    /// Killed by the harness after the timeout.
    pub timed_out: bool,
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec as u64) + Duration::from_micros(tv.tv_usec as u64)
}

/// Runs `cmd` with stdin closed, stdout and stderr written to the given files, and waits for it.
/// The clock starts just before the spawn and stops when the child has exited; `wait4` then
/// reaps it and gives its `rusage`. A child still running after `timeout` is killed (SIGKILL).
pub fn run(cmd: &mut Command, stdout: &Path, stderr: &Path, timeout: Duration) -> Result<Measured> {
    let out = File::create(stdout).map_err(|e| format!("creating {}: {e}", stdout.display()))?;
    let err = File::create(stderr).map_err(|e| format!("creating {}: {e}", stderr.display()))?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);

    let start = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("starting {:?}: {e}", cmd.get_program()))?;
    let pid = child.id() as libc::pid_t;

    // The watchdog kills the child only while `exited` is false, under the lock. `exited` is
    // set before the child is reaped, so the pid it kills is always still ours (a zombie at
    // worst), never a reused one.
    let exited = Arc::new((Mutex::new(false), Condvar::new()));
    let watchdog = {
        let exited = Arc::clone(&exited);
        thread::spawn(move || {
            let (lock, cvar) = &*exited;
            let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
            let (guard, _) = cvar
                .wait_timeout_while(guard, timeout, |exited| !*exited)
                .unwrap_or_else(|e| e.into_inner());
            if *guard {
                return false;
            }
            // SAFETY: plain syscall on our own, not yet reaped child (see above).
            unsafe { libc::kill(pid, libc::SIGKILL) };
            true
        })
    };

    // Wait for the exit without reaping (WNOWAIT), so that the pid stays ours.
    loop {
        // SAFETY: `siginfo_t` is a plain C struct for which all-zero bytes is a valid value.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `pid` is our child; `info` is a live, writable local of the right type.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if r == 0 {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(format!("waitid({pid}): {e}"));
        }
    }
    let wall = start.elapsed();
    {
        let (lock, cvar) = &*exited;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }
    let timed_out = watchdog.join().unwrap_or(false);

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
        timed_out,
    })
}

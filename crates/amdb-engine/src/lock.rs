//! The `LOCK` file: an exclusive `flock` held by the one writer process. The holder writes its
//! pid and command line into the file so a second writer's error can name it.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::Path;

use crate::error::{Error, Result};
use crate::filenames;

pub struct DirLock {
    _file: File,
}

impl DirLock {
    pub fn acquire(dir: &Path) -> Result<DirLock> {
        let path = dir.join(filenames::LOCK);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open", &path, e))?;
        // SAFETY: flock on a valid descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = describe_holder(&holder);
                return Err(Error::Locked {
                    dir: dir.to_path_buf(),
                    holder,
                });
            }
            return Err(Error::io("flock", &path, err));
        }
        let identity = format!("pid {}\ncmd {}\n", std::process::id(), own_command_line());
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(identity.as_bytes()))
            .map_err(|e| Error::io("write", &path, e))?;
        Ok(DirLock { _file: file })
    }
}

fn own_command_line() -> String {
    std::env::args().collect::<Vec<_>>().join(" ")
}

/// "pid 123: amdb kv load x.tsv" from the LOCK contents, if they parse.
fn describe_holder(contents: &str) -> Option<String> {
    let mut pid = None;
    let mut cmd = None;
    for line in contents.lines() {
        if let Some(p) = line.strip_prefix("pid ") {
            pid = Some(p.trim().to_string());
        } else if let Some(c) = line.strip_prefix("cmd ") {
            cmd = Some(c.trim().to_string());
        }
    }
    match (pid, cmd) {
        (Some(p), Some(c)) if !c.is_empty() => Some(format!("pid {p}: {c}")),
        (Some(p), _) => Some(format!("pid {p}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let _held = DirLock::acquire(dir.path()).unwrap();
        match DirLock::acquire(dir.path()) {
            Err(Error::Locked {
                holder: Some(h), ..
            }) => {
                assert!(h.starts_with(&format!("pid {}", std::process::id())), "{h}");
            }
            Err(e) => panic!("expected Locked, got {e}"),
            Ok(_) => panic!("expected Locked, got a second lock"),
        }
    }

    #[test]
    fn lock_is_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        drop(DirLock::acquire(dir.path()).unwrap());
        DirLock::acquire(dir.path()).unwrap();
    }
}

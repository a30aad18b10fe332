//! Reading a file a user named (a template, a TenantSet, a kubeconfig handed in): only a
//! regular file (never a FIFO, a device or a directory, which could block or stream without
//! end), and at most [`MAX_FILE_BYTES`]. The one place besides `templates` where the core
//! touches the file system, and only to read what it was pointed at.

use std::io::Read;
use std::path::Path;

/// The largest file kscope reads: far above any template, TenantSet or kubeconfig.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Why a named file was not read, as a clause ("is a FIFO, not a regular file").
#[derive(Debug)]
pub enum Unreadable {
    NotRegular(&'static str),
    TooLarge(u64),
    Io(std::io::Error),
}

impl std::fmt::Display for Unreadable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreadable::NotRegular(what) => write!(f, "it is {what}, not a regular file"),
            Unreadable::TooLarge(size) => write!(
                f,
                "it is {size} bytes; kscope reads files of at most {MAX_FILE_BYTES} bytes"
            ),
            Unreadable::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Checks that `path` is a regular file of a sane size, without reading it.
pub fn check(path: &Path) -> Result<(), Unreadable> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).map_err(Unreadable::Io)?;
    let kind = meta.file_type();
    let not_regular = if kind.is_dir() {
        Some("a directory")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_char_device() || kind.is_block_device() {
        Some("a device")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        None
    };
    if let Some(what) = not_regular {
        return Err(Unreadable::NotRegular(what));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(Unreadable::TooLarge(meta.len()));
    }
    Ok(())
}

/// The text of a regular file of at most [`MAX_FILE_BYTES`].
pub fn read_text(path: &Path) -> Result<String, Unreadable> {
    check(path)?;
    let file = std::fs::File::open(path).map_err(Unreadable::Io)?;
    let mut text = String::new();
    // The size was checked, but the file may grow between the check and the read.
    file.take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(Unreadable::Io)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Unreadable::TooLarge(text.len() as u64));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_a_sane_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let small = dir.path().join("small.yaml");
        std::fs::write(&small, "name: x\n").unwrap();
        assert_eq!(read_text(&small).unwrap(), "name: x\n");
        let big = dir.path().join("big.yaml");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        assert!(matches!(read_text(&big), Err(Unreadable::TooLarge(_))));
        assert!(matches!(
            read_text(dir.path()),
            Err(Unreadable::NotRegular("a directory"))
        ));
        assert!(matches!(
            read_text(Path::new("/dev/zero")),
            Err(Unreadable::NotRegular("a device"))
        ));
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            assert!(read_text(&fifo).unwrap_err().to_string().contains("a FIFO"));
        }
    }
}

//! Durable appends to a file of lines, shared by the file outputs (`jsonl`, `ocsf`) and the
//! dead-letter file: a run's text goes in one write followed by an fsync, so a reader (a log
//! shipper, a SIEM agent) never sees half a run; a write that fails part way is cut back to
//! where it started, so what did not land can wait for the next run without leaving a
//! broken line behind; and a file this call created has its directory entry synced too. Only
//! a regular file is appended to: the path is opened without blocking and anything else (a
//! FIFO nobody reads would hold the run, and the status file's lock, for ever) is refused.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Appends `text` to `path` (created when missing) durably, or leaves the file as it was.
/// Nothing to append touches nothing.
pub(crate) fn append_durably(path: &Path, text: &str) -> Result<()> {
    append(path, text, None)
}

/// [`append_durably`] for a file that holds what the status file holds (the dead-letter
/// file): created with the mode of `like` (0600 when it does not exist), and narrowed to it
/// when an older run left it wider.
pub(crate) fn append_private(path: &Path, text: &str, like: &Path) -> Result<()> {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt as _;
        Some(std::fs::metadata(like).map_or(0o600, |m| m.permissions().mode() & 0o777))
    };
    #[cfg(not(unix))]
    let mode = {
        let _ = like;
        None
    };
    append(path, text, mode)
}

fn append(path: &Path, text: &str, mode: Option<u32>) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let existed = path.exists();
    let mut file = open_regular(path, mode)?;
    let start = file
        .metadata()
        .with_context(|| format!("failed to read the size of {}", path.display()))?
        .len();
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(err) = written {
        // Best effort: the write's own error is the one worth reporting.
        let _ = file.set_len(start);
        return Err(err).with_context(|| format!("failed to append to {}", path.display()));
    }
    if !existed {
        // A new file is only durable once its directory entry is.
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

/// Opens `path` for appending without ever blocking, and refuses what is not a regular file.
fn open_regular(path: &Path, mode: Option<u32>) -> Result<std::fs::File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader.
        options.custom_flags(libc::O_NONBLOCK);
        if let Some(mode) = mode {
            options.mode(mode);
        }
    }
    let file = options.open(path).with_context(|| {
        format!(
            "failed to open {} (it must be a regular file it can append to)",
            path.display()
        )
    })?;
    let meta = file
        .metadata()
        .with_context(|| format!("failed to read the metadata of {}", path.display()))?;
    if !meta.is_file() {
        anyhow::bail!(
            "{} is not a regular file ({}); remove it, or point the output at a file",
            path.display(),
            kind(&meta)
        );
    }
    #[cfg(unix)]
    if let Some(mode) = mode {
        use std::os::unix::fs::PermissionsExt as _;
        if meta.permissions().mode() & 0o777 & !mode != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("failed to narrow the mode of {}", path.display()))?;
        }
    }
    Ok(file)
}

/// What a file that is not a regular one is, for the error.
fn kind(meta: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        let t = meta.file_type();
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    if meta.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;

    use super::*;

    #[test]
    fn appends_create_the_file_then_add_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.jsonl");
        append_durably(&path, "a\n").unwrap();
        append_durably(&path, "").unwrap();
        append_durably(&path, "b\nc\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\nc\n");
    }

    #[test]
    fn an_empty_append_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines.jsonl");
        append_durably(&path, "").unwrap();
        assert!(!path.exists());
    }

    #[test]
    fn a_path_that_cannot_be_opened_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = append_durably(dir.path(), "a\n").unwrap_err();
        let text = format!("{err:#}");
        assert!(text.starts_with("failed to open "), "{text}");
        assert!(text.contains(&dir.path().display().to_string()), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_or_a_device_is_refused_without_waiting_for_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("alerts.jsonl");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        // Nobody reads it: opening it for writing would block for ever.
        let err = format!("{:#}", append_durably(&fifo, "a\n").unwrap_err());
        assert!(err.contains("must be a regular file"), "{err}");
        // Somebody does: it opens, and is refused.
        let reader = std::fs::File::options()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&fifo)
            .unwrap();
        let err = format!("{:#}", append_durably(&fifo, "a\n").unwrap_err());
        assert!(err.contains("is not a regular file (a FIFO)"), "{err}");
        drop(reader);
        let err = format!(
            "{:#}",
            append_durably(Path::new("/dev/null"), "a\n").unwrap_err()
        );
        assert!(err.contains("is not a regular file (a device)"), "{err}");
    }
}

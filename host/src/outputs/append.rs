//! Durable appends to a file of lines, shared by the file outputs (`jsonl`, `ocsf`) and the
//! dead-letter file: a run's text goes in one write followed by an fsync, so a reader (a log
//! shipper, a SIEM agent) never sees half a run; a write that fails part way is cut back to
//! where it started, so what did not land can wait for the next run without leaving a
//! broken line behind; and a file this call created has its directory entry synced too.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};

/// Appends `text` to `path` (created when missing) durably, or leaves the file as it was.
/// Nothing to append touches nothing.
pub(crate) fn append_durably(path: &Path, text: &str) -> Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let existed = path.exists();
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("failed to open {}", path.display()))?;
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

#[cfg(test)]
mod tests {
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

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_write_is_an_error_naming_the_file() {
        // /dev/full opens like a file and fails every write with ENOSPC, as a full disk would.
        let err = append_durably(Path::new("/dev/full"), "a\n").unwrap_err();
        assert!(
            format!("{err:#}").starts_with("failed to append to /dev/full"),
            "{err:#}"
        );
    }
}

//! What waits for outputs, bounded in alerts and in bytes per account, so that neither a rule
//! raising huge alerts nor an output that refuses everything can fill the disk under the
//! status file (whose save every honest rule needs). Past `max_waiting_alerts` the oldest
//! waiting alerts, past `max_waiting_mib` the largest, are moved to the account's dead-letter
//! file, which is bounded itself (`max_dead_letter_mib`): what no longer fits there is not
//! written. Either way one log line says how many and where, and the run's metrics count them
//! by bound. The dead-letter file is written before the status file that no longer lists them
//! is saved, so a run killed in between loses nothing (the next run finds them in both).

use std::path::Path;

use crate::alert::PendingAlert;
use crate::config::WaitingBounds;
use crate::outcome::Shed;

/// Takes out of one account's `waiting` list (oldest first) what is past `bounds` and moves
/// it to the dead-letter file `dead_letter` (created with the mode of the status file
/// `statusfile`), as far as that file's own bound allows; logs one line when anything moved.
pub fn shed_waiting(
    waiting: &mut Vec<PendingAlert>,
    bounds: &WaitingBounds,
    dead_letter: &Path,
    statusfile: &Path,
) -> Shed {
    let over_count = waiting.len().saturating_sub(bounds.alerts);
    let mut moved: Vec<PendingAlert> = waiting.drain(..over_count).collect();
    let over_bytes = take_largest(waiting, bounds.bytes);
    let mut shed = Shed {
        over_count: over_count as u64,
        over_bytes: over_bytes.len() as u64,
        ..Shed::default()
    };
    moved.extend(over_bytes);
    if moved.is_empty() {
        return shed;
    }
    let (written, failure) = write_dead_letters(dead_letter, statusfile, &moved, bounds);
    shed.lost = (moved.len() - written) as u64;
    let lost = match (shed.lost, failure) {
        (0, _) => String::new(),
        (n, Some(err)) => format!("; {n} of them could not be kept: {err:#}"),
        (n, None) => format!(
            "; {n} of them could not be kept: the dead-letter file is at max_dead_letter_mib \
             ({} MiB): move it away to keep the next ones",
            bounds.dead_letter_bytes >> 20
        ),
    };
    tracing::error!(
        past_max_waiting_alerts = shed.over_count,
        past_max_waiting_mib = shed.over_bytes,
        dead_letter = %dead_letter.display(),
        "more alerts waited than max_waiting_alerts ({}) or max_waiting_mib ({} MiB) allow: \
         the oldest, then the largest, were moved to the dead-letter file{lost}",
        bounds.alerts,
        bounds.bytes >> 20,
    );
    shed
}

/// The bytes an alert takes where it waits (its JSON).
fn size(entry: &PendingAlert) -> u64 {
    serde_json::to_string(entry).map_or(0, |t| t.len() as u64)
}

/// Takes the largest alerts (the newest of equals first) out of `waiting` until the rest
/// take at most `bytes`; the others keep their order.
fn take_largest(waiting: &mut Vec<PendingAlert>, bytes: u64) -> Vec<PendingAlert> {
    let sizes: Vec<u64> = waiting.iter().map(size).collect();
    let mut total: u64 = sizes.iter().sum();
    if total <= bytes {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..waiting.len()).collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(b.cmp(&a)));
    let mut out = vec![false; waiting.len()];
    for i in order {
        if total <= bytes {
            break;
        }
        out[i] = true;
        total -= sizes[i];
    }
    let mut taken = Vec::new();
    let mut kept = Vec::with_capacity(waiting.len());
    for (entry, out) in waiting.drain(..).zip(out) {
        if out {
            taken.push(entry);
        } else {
            kept.push(entry);
        }
    }
    *waiting = kept;
    taken
}

/// Appends `moved` to the dead-letter file, one JSON line each, as far as its bound allows
/// (a line that does not fit is skipped). How many were written, and the error when the
/// file could not be written at all.
fn write_dead_letters(
    path: &Path,
    statusfile: &Path,
    moved: &[PendingAlert],
    bounds: &WaitingBounds,
) -> (usize, Option<anyhow::Error>) {
    let mut size = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut text = String::new();
    let mut written = 0;
    for entry in moved {
        let line = super::json_line(entry);
        let grown = size + line.len() as u64 + 1;
        if grown <= bounds.dead_letter_bytes {
            text.push_str(&line);
            text.push('\n');
            size = grown;
            written += 1;
        }
    }
    match super::append::append_private(path, &text, statusfile) {
        Ok(()) => (written, None),
        Err(err) => (0, Some(err.context("failed to write the dead-letter file"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::AlertRecord;
    use crate::contract::Window;

    fn pending(id: &str, bytes: usize) -> PendingAlert {
        PendingAlert::owed(
            AlertRecord {
                rule: "r".into(),
                id: id.into(),
                details: serde_json::Value::String("x".repeat(bytes)),
                rule_version: "1".into(),
                window: Window {
                    since_ms: 0,
                    until_ms: 1,
                },
                raised_ms: 1,
                account: None,
            },
            &["webhook".to_owned()],
        )
    }

    fn bounds(alerts: usize, bytes: u64, dead_letter_bytes: u64) -> WaitingBounds {
        WaitingBounds {
            alerts,
            bytes,
            alert_bytes: 1 << 20,
            dead_letter_bytes,
        }
    }

    fn ids(entries: &[PendingAlert]) -> Vec<&str> {
        entries.iter().map(|e| e.alert.id.as_str()).collect()
    }

    fn dead_letters(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["alert"]["id"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn past_the_count_the_oldest_go_and_past_the_bytes_the_largest() {
        let dir = tempfile::tempdir().unwrap();
        let (dead, status) = (dir.path().join("s.dropped.jsonl"), dir.path().join("s"));
        let mut waiting = vec![
            pending("old", 10),
            pending("big", 5000),
            pending("a", 10),
            pending("huge", 9000),
            pending("b", 10),
        ];
        let one = size(&pending("a", 10));
        let shed = shed_waiting(
            &mut waiting,
            &bounds(4, 3 * one + 5000, 1 << 20),
            &dead,
            &status,
        );
        assert_eq!(ids(&waiting), ["big", "a", "b"]);
        assert_eq!((shed.over_count, shed.over_bytes, shed.lost), (1, 1, 0));
        assert_eq!(dead_letters(&dead), ["old", "huge"]);
    }

    #[test]
    fn the_dead_letter_file_takes_no_more_than_its_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (dead, status) = (dir.path().join("s.dropped.jsonl"), dir.path().join("s"));
        let line = super::super::json_line(&pending("a", 100)).len() as u64 + 1;
        let mut waiting: Vec<PendingAlert> = (0..5).map(|i| pending(&i.to_string(), 100)).collect();
        let shed = shed_waiting(&mut waiting, &bounds(0, 1 << 20, 3 * line), &dead, &status);
        assert_eq!((shed.over_count, shed.lost), (5, 2));
        assert_eq!(dead_letters(&dead), ["0", "1", "2"]);
        let mut more = vec![pending("9", 100)];
        let shed = shed_waiting(&mut more, &bounds(0, 1 << 20, 3 * line), &dead, &status);
        assert_eq!(shed.lost, 1, "a full file takes nothing more");
        assert_eq!(std::fs::metadata(&dead).unwrap().len(), 3 * line);
    }

    #[cfg(unix)]
    #[test]
    fn the_dead_letter_file_gets_the_status_files_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let (dead, status) = (dir.path().join("s.dropped.jsonl"), dir.path().join("s"));
        std::fs::write(&status, "{}").unwrap();
        std::fs::set_permissions(&status, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut waiting = vec![pending("a", 10)];
        shed_waiting(&mut waiting, &bounds(0, 1 << 20, 1 << 20), &dead, &status);
        let mode = std::fs::metadata(&dead).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

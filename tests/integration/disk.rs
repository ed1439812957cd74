//! What a rule or an outage can make reddalert write to disk, on a small volume of its own (a
//! tmpfs mounted for the test): a rule raising huge alerts every run while an output is down
//! fills neither the status file nor the dead-letter file past their bounds, and every run
//! still delivers the honest rule's alerts; a volume filled by something else still takes the
//! write-ahead save (from the reserve kept beside the status file); and each account's bounds
//! hold for its own alerts, so a noisy account never pushes a quiet one's out.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use reddalert_testkit::guests;
use reddalert_testkit::http::closed_port;
use reddalert_testkit::prometheus;

use crate::support::*;

const MIB: u64 = 1 << 20;

/// A tmpfs of `mib` MiB mounted at a fresh directory, unmounted when dropped.
struct Volume {
    dir: PathBuf,
    _parent: tempfile::TempDir,
}

impl Volume {
    fn mount(mib: u64) -> Volume {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("volume");
        std::fs::create_dir(&dir).unwrap();
        let done = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .unwrap();
        assert!(
            done.success(),
            "mount a tmpfs at {} (needs root)",
            dir.display()
        );
        Volume {
            dir,
            _parent: parent,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Fills what is left of the volume with one file.
    fn fill(&self) {
        let mut file = std::fs::File::create(self.path("filler")).unwrap();
        let chunk = vec![7u8; 1 << 16];
        while std::io::Write::write_all(&mut file, &chunk).is_ok() {}
        let mut probe = std::fs::File::create(self.path("probe")).unwrap();
        assert!(
            std::io::Write::write_all(&mut probe, &chunk).is_err(),
            "the volume is full"
        );
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
    }
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn metric(env: &Env, name: &str, labels: &[(&str, &str)]) -> f64 {
    let text = std::fs::read_to_string(env.path("reddalert.prom")).expect("metrics written");
    prometheus::parse(&text)
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.value(labels))
        .unwrap_or_else(|| panic!("no {name}{labels:?} in\n{text}"))
}

#[test]
fn huge_alerts_behind_a_dead_output_never_fill_the_status_volume_or_stop_detection() {
    let volume = Volume::mount(40);
    let edda = basic_edda();
    let env = Env::new(
        &edda.base_url(),
        &[guests::HOSTILE, guests::ELBS],
        &format!(
            "output = [\"stdout_json\", \"webhook\"]\nmax_waiting_mib = 8\n\
             max_dead_letter_mib = 8\nmax_alert_kib = 1024\n\
             [webhook]\nurl = \"http://127.0.0.1:{}\"\nretries = 0\n\
             [metrics]\ntextfile = \"reddalert.prom\"\n\
             [plugin.hostile]\nalerts = 4\nalert_bytes = 3000000\n",
            closed_port()
        ),
    );
    env.edit_config("output = [\"stdout_json\"]\n", "");
    let status = volume.path("status.json");
    let dead = volume.path("status.json.dropped.jsonl");
    for n in 0..12u64 {
        let args = [
            "--configfile",
            path_str(&env.config),
            "--statusfile",
            path_str(&status),
            "--since",
            &T2.to_string(),
            "--until",
            &(T4 + n).to_string(),
        ];
        let run = run_binary(&args);
        // The webhook is down, and alerts are moved past the bounds: exit 1, never 2.
        assert_eq!(run.code, 1, "run {n}: {}", run.stderr);
        assert_eq!(
            run.alerts_of("elbs").len(),
            1,
            "run {n}: the honest rule's alert is delivered: {}",
            run.stderr
        );
        assert!(
            size(&status) <= 9 * MIB,
            "run {n}: status file {} bytes",
            size(&status)
        );
        assert!(
            size(&dead) <= 8 * MIB,
            "run {n}: dead-letter file {} bytes",
            size(&dead)
        );
    }
    // The alerts were cut to 1 MiB each, the largest moved out, and, once the dead-letter
    // file was full, not kept: each said, each counted.
    assert_eq!(metric(&env, "reddalert_alerts_cut", &[]), 4.0);
    assert!(
        metric(
            &env,
            "reddalert_alerts_dropped",
            &[("bound", "max_waiting_mib")]
        ) >= 4.0
    );
    assert!(
        metric(
            &env,
            "reddalert_alerts_dropped",
            &[("bound", "max_dead_letter_mib")]
        ) >= 1.0
    );
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
    let waiting: Vec<&Value> = saved["pending"].as_array().unwrap().iter().collect();
    assert!(
        waiting.iter().any(|p| p["alert"]["plugin_name"] == "elbs"),
        "the honest rule's alerts still wait for the webhook"
    );
}

#[test]
fn a_full_status_volume_still_takes_the_write_ahead_save() {
    let volume = Volume::mount(8);
    let edda = basic_edda();
    let env = Env::new(&edda.base_url(), &[guests::ELBS], "");
    let status = volume.path("status.json");
    let run = |n: u64| {
        run_binary(&[
            "--configfile",
            path_str(&env.config),
            "--statusfile",
            path_str(&status),
            "--since",
            &T2.to_string(),
            "--until",
            &(T4 + n).to_string(),
        ])
    };
    let first = run(0);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        size(&volume.path("status.json.reserve")) > MIB,
        "a reserve is kept"
    );

    // Something else fills the volume: the next runs save from the reserve and deliver.
    volume.fill();
    for n in 1..4 {
        let run = run(n);
        assert_eq!(run.code, 0, "run {n}: {}", run.stderr);
        assert_eq!(run.alerts_of("elbs").len(), 1, "run {n}: {}", run.stdout);
        let saved: Value =
            serde_json::from_str(&std::fs::read_to_string(&status).unwrap()).unwrap();
        assert!(saved["rules"]["elbs"]["last_success"].is_u64(), "run {n}");
    }
}

#[test]
fn a_noisy_account_never_pushes_a_quiet_accounts_alerts_out() {
    let eddas = [basic_edda(), basic_edda()];
    let env = Env::new(
        &eddas[0].base_url(),
        &[guests::SECGROUPS, guests::ELBS],
        &format!(
            "output = [\"webhook\"]\nmax_waiting_alerts = 2\n\
             [webhook]\nurl = \"http://127.0.0.1:{}\"\nretries = 0\n",
            closed_port()
        ),
    );
    env.edit_config("output = [\"stdout_json\"]\n", "");
    env.edit_config(&format!("edda = {:?}\n", eddas[0].base_url()), "");
    let mut text = std::fs::read_to_string(&env.config).unwrap();
    // `quiet` whitelists every address for secgroups: only elbs raises an alert there.
    text.push_str(&format!(
        "\n[[account]]\nname = \"quiet\"\nedda = {:?}\n\
         [account.plugin.secgroups]\nwhitelisted_ips = [\"0.0.0.0/0\", \"::/0\"]\n\
         [[account]]\nname = \"noisy\"\nedda = {:?}\n",
        eddas[0].base_url(),
        eddas[1].base_url()
    ));
    std::fs::write(&env.config, text).unwrap();
    let run = env.run(&strs(&alerting()));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let pending = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(env.path(&format!("status.{name}.json"))).unwrap();
        let status: Value = serde_json::from_str(&text).unwrap();
        status["pending"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(|e| e["alert"]["plugin_name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        pending("quiet"),
        ["elbs"],
        "the quiet account's alert waits"
    );
    assert!(!env.path("status.quiet.json.dropped.jsonl").exists());
    assert_eq!(
        pending("noisy").len(),
        2,
        "the noisy account keeps its bound"
    );
    let dropped = std::fs::read_to_string(env.path("status.noisy.json.dropped.jsonl")).unwrap();
    assert_eq!(dropped.lines().count(), 2, "{dropped}");
}

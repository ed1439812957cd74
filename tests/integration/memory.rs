//! What one rule can make the host hold, measured by the run's own peak-memory gauge
//! (`reddalert_last_run_peak_resident_bytes`), against a run of the same rule that asks for
//! next to nothing: many distinct run-time answers (the run's cache keeps `edda_cache_mib` of
//! them), one `fetch-many` of one large answer many times (`limits.edda_call_mib`), many
//! answers in a run (`limits.edda_run_mib`), and a large declared body (handed to the guest
//! without a copy for the rule). Each would hold hundreds of MiB on the host without its bound.

use reddalert_testkit::guests;
use reddalert_testkit::prometheus;

use crate::support::*;

const MIB: u64 = 1 << 20;
/// The size of each run-time answer, and how many of them the hostile rule asks for.
const ANSWER: u64 = 4 * MIB;
const ASKED: usize = 128;

/// An installation reading snapshot files (`snap/`): `aws/iamUsers/big-<i>` answers
/// `ANSWER` bytes each (hard links of one file), the declared body is `declared` bytes.
fn setup(declared: u64) -> Env {
    let env = Env::new("dir:snap", &[guests::HOSTILE], "parallelism = 1\n");
    let snap = env.path("snap");
    std::fs::create_dir(&snap).unwrap();
    let one = snap.join("answer");
    std::fs::write(&one, json_string(ANSWER)).unwrap();
    for i in 0..ASKED {
        std::fs::hard_link(&one, snap.join(format!("aws.iamUsers.big-{i}.json"))).unwrap();
    }
    set_declared(&env, declared);
    env
}

fn set_declared(env: &Env, bytes: u64) {
    let file = env.path("snap").join("aws.loadBalancers;_expand.json");
    std::fs::write(file, json_string(bytes)).unwrap();
}

/// A JSON string of `bytes` bytes in all.
fn json_string(bytes: u64) -> String {
    format!("\"{}\"", "x".repeat(bytes as usize - 2))
}

/// The settings of one run: the hostile rule's section, top-level keys and `[limits]` keys.
struct Ask<'a> {
    rule: &'a str,
    top: &'a str,
    limits: &'a str,
}

fn ask(rule: &str) -> Ask<'_> {
    Ask {
        rule,
        top: "",
        limits: "",
    }
}

/// Runs the hostile rule as `ask` says, returning the run's peak resident bytes, what its
/// alert says it was given, and the log.
fn run(env: &Env, ask: Ask) -> (u64, serde_json::Value, String) {
    let base = std::fs::read_to_string(&env.config).unwrap();
    let head = base.split("#run\n").next().unwrap().to_owned();
    let Ask { rule, top, limits } = ask;
    std::fs::write(
        &env.config,
        format!(
            "{head}#run\n{top}\n[metrics]\ntextfile = \"reddalert.prom\"\n[limits]\n{limits}\n\
             [plugin.hostile]\n{rule}\n"
        ),
    )
    .unwrap();
    let run = env.run(&strs(&window(T2, T4)));
    assert!(run.code <= 1, "{}", run.stderr);
    let text = std::fs::read_to_string(env.path("reddalert.prom")).expect("metrics written");
    let families = prometheus::parse(&text);
    let peak = families
        .iter()
        .find(|f| f.name == "reddalert_last_run_peak_resident_bytes")
        .and_then(|f| f.value(&[]))
        .expect("the run's peak memory") as u64;
    let given = run
        .alerts_of("hostile")
        .first()
        .map_or(serde_json::Value::Null, |a| a["details"].clone());
    (peak, given, run.stderr)
}

fn mib(bytes: u64) -> u64 {
    bytes / MIB
}

#[test]
fn a_hostile_rule_cannot_make_the_host_hold_more_than_its_budgets() {
    let env = setup(1024);
    // The module is compiled once (the compiler's memory is not the rule's): warm the cache.
    run(&env, ask("queries = 1"));
    let (base, given, _) = run(&env, ask("queries = 1"));
    assert_eq!(given["answers"], 1, "{given}");

    // 128 distinct answers of 4 MiB, each dropped by the rule as soon as it has it: the run's
    // cache keeps 16 MiB of them, not 512.
    let many = format!("queries = {ASKED}");
    let (peak, given, _) = run(
        &env,
        Ask {
            top: "edda_cache_mib = 16",
            ..ask(&many)
        },
    );
    eprintln!(
        "peak: one answer {} MiB, 128 distinct {} MiB",
        mib(base),
        mib(peak)
    );
    assert_eq!(given["answers"], ASKED, "every answer was given: {given}");
    assert!(
        peak < base + 96 * MIB,
        "distinct answers: peak {} MiB, a run asking one {} MiB",
        mib(peak),
        mib(base)
    );

    // The same within a run budget of 32 MiB: 8 answers, then limit-exceeded.
    let (peak, given, log) = run(
        &env,
        Ask {
            limits: "edda_run_mib = 32",
            ..ask(&many)
        },
    );
    assert_eq!(
        (given["answers"].as_u64(), given["refused"].as_u64()),
        (Some(8), Some(ASKED as u64 - 8)),
        "{given}"
    );
    assert!(
        log.contains("past limits.edda_run_mib (32 MiB per run)"),
        "{log}"
    );
    assert!(peak < base + 96 * MIB, "run budget: peak {} MiB", mib(peak));
    eprintln!("peak: 128 distinct within 32 MiB a run {} MiB", mib(peak));

    // One fetch-many of 128 copies of one 4 MiB answer, within a call budget of 32 MiB.
    let copies = format!("copies = {ASKED}");
    let (peak, given, log) = run(
        &env,
        Ask {
            limits: "edda_call_mib = 32",
            ..ask(&copies)
        },
    );
    assert_eq!(
        (given["answers"].as_u64(), given["refused"].as_u64()),
        (Some(8), Some(ASKED as u64 - 8)),
        "{given}"
    );
    assert!(
        log.contains("past limits.edda_call_mib (32 MiB per call)"),
        "{log}"
    );
    assert!(peak < base + 96 * MIB, "one batch: peak {} MiB", mib(peak));
    eprintln!(
        "peak: a batch of 128 copies within 32 MiB a call {} MiB",
        mib(peak)
    );

    // A declared body of 96 MiB: the host holds it once and the guest gets it (its linear
    // memory is host memory too), without a copy made for the rule on the way in.
    let declared = 96 * MIB;
    set_declared(&env, declared);
    let (peak, given, _) = run(&env, ask("queries = 1"));
    assert_eq!(given["declared_bytes"], declared, "{given}");
    eprintln!("peak: a 96 MiB declared body {} MiB", mib(peak));
    assert!(
        peak < base + declared * 5 / 2,
        "a {} MiB declared body: peak {} MiB, a run with a 1 KiB one {} MiB",
        mib(declared),
        mib(peak),
        mib(base)
    );
}

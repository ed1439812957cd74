//! Times how a rule could receive the instances it reads, in each candidate form, natively and in
//! wasmtime configured as the host configures it (fuel metered, epoch interruption on, a fresh
//! store and instance per call), and prints a Markdown table for `bench/README.md`.
//!
//! Usage: candidates-runner INSTANCES_JSON GUEST_WASM [RUNS]
//!   INSTANCES_JSON  the whole `view/instances;_expand` body (a benchmark snapshot file); the
//!                   runner keeps the selected top-level keys, as the host's projection does
//!   GUEST_WASM      candidates-guest built for wasm32-unknown-unknown in release
//!   RUNS            rounds, each timing every figure once; medians quoted (default 5)

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use candidates_model::{Form, SELECTED, parse_json, read, to_plain, to_postcard, to_rkyv};
use wasmtime::{
    Config, Engine, Instance, InstanceAllocationStrategy, Module, PoolingAllocationConfig, Store,
};

/// What one wasm call costs, as the host would pay it for one rule.
struct Call {
    /// Instantiating and copying the input into linear memory.
    setup: Duration,
    /// The guest reading the input.
    run: Duration,
    fuel: u64,
    memory: usize,
    digest: u64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, wasm, rest @ ..] = args.as_slice() else {
        bail!("usage: candidates-runner INSTANCES_JSON GUEST_WASM [RUNS]");
    };
    let runs: usize = match rest.first() {
        Some(n) => n.parse().context("failed to read RUNS as a number")?,
        None => 5,
    };
    ensure!(runs > 0, "RUNS must be at least 1");

    let whole = std::fs::read(path).with_context(|| format!("failed to read {path}"))?;
    let selected = select(&whole)?;
    eprintln!(
        "candidates: {} bytes, {} selected",
        whole.len(),
        selected.len()
    );

    // What a 0.2.0 host would do once per run: parse the collection, then encode it once.
    let parse = median(runs, || parse_json(&selected).map(|v| v.len()).unwrap_or(0));
    let parsed = parse_json(&selected).context("failed to parse the selected instances")?;
    let plain = to_plain(&parsed);
    let encode_postcard = median(runs, || to_postcard(&plain).len());
    let encode_rkyv = median(runs, || to_rkyv(&plain).len());
    let postcard = to_postcard(&plain);
    // Kept in rkyv's aligned buffer: an archive is read in place, so its alignment matters.
    let rkyv = to_rkyv(&plain);
    let inputs: [(Form, &[u8]); 4] = [
        (Form::Json, &selected),
        (Form::Postcard, &postcard),
        (Form::Rkyv, &rkyv),
        (Form::RkyvUnchecked, &rkyv),
    ];

    let expected = read(Form::Json, &selected).context("the JSON does not parse")?;
    println!(
        "{} instances, selected JSON {} bytes; medians of {runs} interleaved rounds\n",
        parsed.len(),
        selected.len()
    );
    println!(
        "host, once per run: parse the JSON {:.1} ms; then encode postcard {:.1} ms, rkyv {:.1} ms\n",
        ms(parse),
        ms(encode_postcard),
        ms(encode_rkyv)
    );
    println!(
        "| engine | form | bytes | native read | wasm: instantiate + copy | wasm: read | wasm / native | fuel | guest memory |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (form, input) in &inputs {
        ensure!(
            read(*form, input) == Some(expected),
            "{}: native digest differs",
            form.name()
        );
    }
    let mut engines = Vec::new();
    for variant in Variant::ALL {
        let engine = variant.engine()?;
        let module = Module::from_file(&engine, wasm).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        engines.push((variant, engine, module));
    }
    // The unchecked read is measured under the host's engine only: it is there for the cost
    // of validation, not as a candidate.
    let cases: Vec<(usize, usize)> = (0..engines.len())
        .flat_map(|e| (0..inputs.len()).map(move |i| (e, i)))
        .filter(|&(e, i)| engines[e].0 == Variant::Host || inputs[i].0 != Form::RkyvUnchecked)
        .collect();
    // Interleaved: each round times every form natively and every case in wasm once, so a
    // change in the machine's speed during the sitting reaches every figure alike.
    let mut native: Vec<Vec<Duration>> = vec![Vec::new(); inputs.len()];
    let mut calls: Vec<Vec<Call>> = cases.iter().map(|_| Vec::new()).collect();
    for _ in 0..runs {
        for (i, (form, input)) in inputs.iter().enumerate() {
            native[i].push(time(|| read(*form, input).unwrap_or(0) as usize));
        }
        for (c, &(e, i)) in cases.iter().enumerate() {
            let (_, engine, module) = &engines[e];
            let (form, input) = inputs[i];
            let call = call(engine, module, form, input)?;
            ensure!(
                call.digest == expected,
                "{}: wasm digest {:x} differs from {expected:x}",
                form.name(),
                call.digest
            );
            calls[c].push(call);
        }
    }
    let native: Vec<Duration> = (native.into_iter())
        .map(|mut times| {
            times.sort();
            times[runs / 2]
        })
        .collect();
    for (c, &(e, i)) in cases.iter().enumerate() {
        let (form, input) = inputs[i];
        let native = native[i];
        calls[c].sort_by_key(|c| c.setup + c.run);
        let mid = &calls[c][runs / 2];
        println!(
            "| {} | {} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.2}× | {:.0} M | {:.1} MB |",
            engines[e].0.name(),
            form.name(),
            input.len(),
            ms(native),
            ms(mid.setup),
            ms(mid.run),
            (mid.setup + mid.run).as_secs_f64() / native.as_secs_f64(),
            mid.fuel as f64 / 1e6,
            mid.memory as f64 / 1e6,
        );
    }
    Ok(())
}

/// Keeps the top-level keys of `SELECTED` in each document, as the host's projection does.
fn select(whole: &[u8]) -> Result<Vec<u8>> {
    let docs: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_slice(whole)
        .context("failed to parse the instances as a JSON array of objects")?;
    let kept: Vec<serde_json::Map<String, serde_json::Value>> = docs
        .into_iter()
        .map(|doc| {
            doc.into_iter()
                .filter(|(k, _)| SELECTED.contains(&k.as_str()))
                .collect()
        })
        .collect();
    Ok(serde_json::to_vec(&kept)?)
}

/// The engines measured: the host's settings (`host/src/engine.rs`), and the two alternatives
/// issue 24 names.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    /// Fuel metered, epoch interruption on, memory allocated per instance.
    Host,
    /// Epoch interruption only: the deadline still bounds a call, fuel no longer counts it.
    EpochOnly,
    /// The host's settings with the pooling allocator keeping linear memory resident between
    /// instances, so a call's memory is reused rather than faulted in afresh.
    Pooling,
}

impl Variant {
    const ALL: [Variant; 3] = [Variant::Host, Variant::EpochOnly, Variant::Pooling];

    fn name(self) -> &'static str {
        match self {
            Variant::Host => "host (fuel, epoch)",
            Variant::EpochOnly => "epoch only",
            Variant::Pooling => "host + pooling, 256 MB resident",
        }
    }

    fn engine(self) -> Result<Engine> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        match self {
            Variant::Host => {
                config.consume_fuel(true);
            }
            Variant::EpochOnly => {}
            Variant::Pooling => {
                let mut pool = PoolingAllocationConfig::default();
                pool.total_memories(2)
                    .total_core_instances(2)
                    .total_tables(2)
                    .max_memory_size(1 << 30)
                    .linear_memory_keep_resident(256 << 20);
                config
                    .consume_fuel(true)
                    .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
            }
        }
        Engine::new(&config).map_err(|e| anyhow::anyhow!("{e:?}"))
    }
}

fn call(engine: &Engine, module: &Module, form: Form, input: &[u8]) -> Result<Call> {
    const FUEL: u64 = 1 << 40;
    let wasm = |e: wasmtime::Error| anyhow::anyhow!("{e:?}");
    let started = Instant::now();
    let mut store = Store::new(engine, ());
    // Fails only on an engine that meters no fuel (epoch only), where it has no meaning.
    let _ = store.set_fuel(FUEL);
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = Instance::new(&mut store, module, &[]).map_err(wasm)?;
    let memory = instance
        .get_memory(&mut store, "memory")
        .context("no memory export")?;
    let buffer = instance
        .get_typed_func::<u32, u32>(&mut store, "input")
        .map_err(wasm)?;
    let run = instance
        .get_typed_func::<(u32, u32, u32), u64>(&mut store, "run")
        .map_err(wasm)?;
    let len = u32::try_from(input.len())?;
    let ptr = buffer.call(&mut store, len).map_err(wasm)?;
    ensure!(ptr != 0, "the guest could not allocate {len} bytes");
    memory.write(&mut store, ptr as usize, input)?;
    let setup = started.elapsed();
    let started = Instant::now();
    let digest = run
        .call(&mut store, (form as u32, ptr, len))
        .map_err(wasm)?;
    let run = started.elapsed();
    let fuel = FUEL - store.get_fuel().unwrap_or(FUEL);
    Ok(Call {
        setup,
        run,
        fuel,
        memory: memory.data_size(&store),
        digest,
    })
}

fn time(f: impl FnOnce() -> usize) -> Duration {
    let started = Instant::now();
    std::hint::black_box(f());
    started.elapsed()
}

fn median(runs: usize, mut f: impl FnMut() -> usize) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| time(&mut f)).collect();
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

//! `reddalert crawl`, the cron job that stands in for EDDA's crawler. For each account (the
//! config's single one, or each `[[account]]` of this `--shard` that reads a store), with its
//! own `[account.crawl]` settings: take the store's crawl lock (a second crawl of one store
//! waits 3 seconds, then gives up), open the store, resolve the AWS credentials (none is
//! fatal, before anything is read), read every collection in every region, and record each
//! one that was read whole, one transaction each; a collection that was not keeps every
//! revision it had and is noted as a failed attempt with the reason. Then revisions closed
//! more than `retention_days` ago are deleted, and the metrics are written, however the crawl
//! ended.
//!
//! With one account a fatal error (config, credentials, store) ends the crawl with exit 2;
//! with several, that account fails alone (exit 1, named on stderr) and the others go on, as
//! in a run. Credentials AWS refuses (a key deleted or expired, which the chain cannot know
//! before it is used) are as fatal as none: the collections read before the refusal are
//! recorded, the others noted as failed.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context as _, Result, bail, ensure};

use super::metrics::{CollectionMetrics, CrawlMetrics, JOB};
use super::{Collection, read_account};
use crate::cli::CrawlArgs;
use crate::config::{Config, CrawlSettings, EddaSource};
use crate::outcome::{Failure, FailureKind, Outcome};
use crate::store::Store;
use crate::time::now_ms;

/// How long a crawl waits for another crawl of the same store, as a run waits for the
/// status file.
const LOCK_WAIT: Duration = Duration::from_secs(3);

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

/// One account to crawl.
#[derive(Debug)]
struct Target {
    /// Its name, with `[[account]]`s.
    account: Option<String>,
    store: PathBuf,
    settings: CrawlSettings,
}

/// Crawls every account of this shard and writes the metrics.
pub(crate) fn run(config: &Config, args: &CrawlArgs) -> Result<Outcome> {
    let started_ms = now_ms();
    let collected = Mutex::new(Vec::new());
    let mut result = crawl_all(config, args, &collected);
    if let Some(settings) = &config.metrics {
        let metrics = CrawlMetrics {
            started_ms,
            finished_ms: now_ms(),
            exit_code: match &result {
                Ok(outcome) if outcome.failures.is_empty() => 0,
                Ok(_) => 1,
                Err(_) => 2,
            },
            collections: collected.into_inner().unwrap_or_else(|e| e.into_inner()),
        };
        let render = |push_failed: bool| {
            let exit_code = match push_failed {
                true => metrics.exit_code.max(1),
                false => metrics.exit_code,
            };
            super::metrics::render(&CrawlMetrics {
                exit_code,
                ..metrics.clone()
            })
        };
        if let Err(err) = crate::metrics::publish_text(settings, &JOB, args.shard, render) {
            tracing::error!("{err:#}");
            if let Ok(outcome) = &mut result {
                let why = format!("{err:#}");
                outcome
                    .failures
                    .push(Failure::new(FailureKind::Output, "metrics", why));
            }
        }
    }
    result
}

fn crawl_all(
    config: &Config,
    args: &CrawlArgs,
    collected: &Mutex<Vec<CollectionMetrics>>,
) -> Result<Outcome> {
    let targets = targets(config, args)?;
    let mut outcome = Outcome::default();
    if let [single] = targets.as_slice()
        && single.account.is_none()
    {
        outcome.failures = crawl_account(single, collected)?;
        return Ok(outcome);
    }
    let workers = targets.len().clamp(1, config.parallelism);
    let done = crate::pool::map(
        &targets,
        workers,
        |t| {
            format!(
                "crawling account {}",
                t.account.as_deref().unwrap_or_default()
            )
        },
        |target| {
            let span = tracing::info_span!("crawl", account = target.account.as_deref());
            let _entered = span.enter();
            crawl_account(target, collected)
        },
    );
    for (target, result) in targets.iter().zip(done) {
        let name = target.account.clone().unwrap_or_default();
        match result
            .map_err(|panic| anyhow::anyhow!(panic))
            .and_then(|r| r)
        {
            Ok(mut failures) => outcome.failures.append(&mut failures),
            Err(err) => {
                let why = format!("{err:#}");
                tracing::error!(account = name, "account not crawled: {why}");
                outcome
                    .failures
                    .push(Failure::new(FailureKind::Account, name, why));
            }
        }
    }
    Ok(outcome)
}

/// The accounts to crawl: the config's single one, or its `[[account]]`s in `--shard` that
/// read a store (an account that reads an EDDA server has nothing to crawl into).
fn targets(config: &Config, args: &CrawlArgs) -> Result<Vec<Target>> {
    if config.accounts.is_empty() {
        ensure!(
            args.shard.is_none(),
            "--shard splits the config's accounts, and it lists none (`[[account]]`)"
        );
        let EddaSource::Store(store) = &config.edda else {
            bail!(
                "the crawl records into a store, and the config's `edda` is not one: set \
                 edda = \"store:<path>\" (the run then reads what the crawl records)"
            );
        };
        return Ok(vec![Target {
            account: None,
            store: store.clone(),
            settings: config.crawl.clone(),
        }]);
    }
    let mut targets = Vec::new();
    for account in &config.accounts {
        if args.shard.is_some_and(|s| !s.has(&account.name)) {
            continue;
        }
        match &account.edda {
            EddaSource::Store(store) => targets.push(Target {
                account: Some(account.name.clone()),
                store: store.clone(),
                settings: account.crawl.clone(),
            }),
            _ => tracing::info!(
                account = account.name,
                "not crawled: it reads an EDDA, not a store"
            ),
        }
    }
    if targets.is_empty() {
        if config
            .accounts
            .iter()
            .any(|a| matches!(a.edda, EddaSource::Store(_)))
        {
            tracing::warn!("no account of the config that reads a store falls in this shard");
        } else {
            bail!(
                "no account of the config reads a store (edda = \"store:<path>\"): nothing to crawl"
            );
        }
    }
    Ok(targets)
}

/// Crawls one account: the collections that failed, or why the account could not be
/// crawled at all.
fn crawl_account(
    target: &Target,
    collected: &Mutex<Vec<CollectionMetrics>>,
) -> Result<Vec<Failure>> {
    let settings = &target.settings;
    ensure!(
        !settings.regions.is_empty(),
        "no region to crawl: set `regions` in [crawl] (or AWS_REGION)"
    );
    let _lock = Store::lock_for_crawl(&target.store, LOCK_WAIT)?;
    let mut store = Store::open(&target.store)?;
    let client = crate::aws::Client::new(settings).context("failed to set up AWS access")?;
    client
        .check_credentials()
        .context("no usable AWS credentials; nothing was crawled")?;
    let started = now_ms();
    let read = read_account(&client, &settings.regions, &Collection::ALL);
    let mut failures = Vec::new();
    let mut metrics = Vec::new();
    let mut refusal = None;
    for (collection, read) in read {
        let root = collection.root();
        let mut m = CollectionMetrics {
            collection: root.to_owned(),
            account: target.account.clone(),
            ..CollectionMetrics::default()
        };
        let recorded = read.and_then(|documents| {
            let count = documents.len();
            let delta = store.record(root, documents, now_ms())?;
            tracing::info!(
                collection = root,
                "recorded {count} resources: {} new, {} changed, {} gone",
                delta.added,
                delta.changed,
                delta.gone
            );
            Ok(delta)
        });
        if let Err(err) = &recorded
            && refused(err)
        {
            refusal.get_or_insert_with(|| format!("{err:#}"));
        }
        match recorded {
            Ok(delta) => {
                m.revisions = (delta.added + delta.changed) as u64;
                m.gone = delta.gone as u64;
            }
            Err(err) => {
                let why = format!("{err:#}");
                tracing::error!(
                    collection = root,
                    "not crawled, nothing of it recorded: {why}"
                );
                if let Err(err) = store.record_failure(root, &why, now_ms()) {
                    tracing::error!(collection = root, "{err:#}");
                }
                let what = match &target.account {
                    Some(account) => format!("{account}: {root}"),
                    None => root.to_owned(),
                };
                failures.push(Failure::new(FailureKind::Collection, what, why));
                m.failed = true;
            }
        }
        metrics.push(m);
    }
    let retention = u64::from(settings.retention_days) * DAY_MS;
    let purged = store.purge(now_ms().saturating_sub(retention))?;
    if purged > 0 {
        let days = settings.retention_days;
        tracing::info!("deleted {purged} revisions closed more than {days} days ago");
    }
    // What the store holds now, for the metrics.
    for status in store.status()? {
        if let Some(m) = metrics.iter_mut().find(|m| m.collection == status.root) {
            m.resources = status.live;
            m.last_success_ms = status.last_success_ms;
        }
    }
    let clock = store.clock_ms()?;
    tracing::info!(
        seconds = now_ms().saturating_sub(started) as f64 / 1000.0,
        failed = failures.len(),
        "crawled into {} (clock {})",
        store.path().display(),
        clock.map_or_else(|| "unset".to_owned(), crate::time::iso_time),
    );
    collected
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .extend(metrics);
    if let Some(why) = refusal {
        bail!("AWS refused the credentials: {why}");
    }
    Ok(failures)
}

/// Whether `err` comes from AWS refusing the credentials themselves (not their permissions).
fn refused(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<crate::aws::AwsError>())
        .any(crate::aws::AwsError::is_credentials)
}

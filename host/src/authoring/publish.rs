//! `reddalert push RULE.wasm REF [--sign KEY.pem]` and `reddalert sign REF --key KEY.pem`: a
//! rule author publishes a module as a CNCF WebAssembly artifact and signs it in cosign's
//! key-based format, with reddalert alone. The module is loaded first, as a run would load
//! it, so that what is published is a rule this host accepts; the registry settings
//! (`[registry]`: plain HTTP hosts, CA, credentials) are the config file's.

use anyhow::{Context as _, Result};

use crate::cli::{PushArgs, SignArgs};
use crate::config::Config;
use crate::registry::{Ref, Registry, SigningKey, World};

pub fn push(config: &Config, args: &PushArgs) -> Result<()> {
    // The key is read before anything is uploaded: a typo in its path uploads nothing.
    let key = args.sign.as_deref().map(SigningKey::read).transpose()?;
    let reference = Ref::parse(&args.reference)?;
    let bytes = std::fs::read(&args.module)
        .with_context(|| format!("failed to read the module {}", args.module.display()))?;
    let engine = crate::rules::engine_for(config)?;
    let (module, info) = crate::rules::load_module(&engine, &bytes, &args.module, &config.limits)
        .map_err(|why| {
        anyhow::anyhow!("refusing to publish a module this host cannot run: {why}")
    })?;
    let (imports, exports) = engine.world(&module);
    let registry = Registry::new(&config.registry.registry)?;
    let file_name = format!("{}.wasm", info.name);
    let digest = crate::registry::push(
        &registry,
        &reference,
        &bytes,
        &file_name,
        &World { imports, exports },
    )
    .with_context(|| format!("failed to push {} to {reference}", args.module.display()))?;
    println!(
        "pushed {} {} to {reference}: {digest}",
        info.name, info.version
    );
    if let Some(key) = key {
        crate::registry::sign(&registry, &reference, &digest, &key)
            .with_context(|| format!("failed to sign {reference} ({digest})"))?;
        println!(
            "signed {digest} with {}",
            args.sign
                .as_deref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub fn sign(config: &Config, args: &SignArgs) -> Result<()> {
    let key = SigningKey::read(&args.key)?;
    let reference = Ref::parse(&args.reference)?;
    let registry = Registry::new(&config.registry.registry)?;
    let digest = crate::registry::resolve(
        &registry,
        &reference,
        config.registry.registry.max_module_bytes,
    )?;
    let added = crate::registry::sign(&registry, &reference, &digest, &key)
        .with_context(|| format!("failed to sign {reference} ({digest})"))?;
    if added {
        println!("signed {reference}: {digest}");
    } else {
        println!("{reference} ({digest}) is signed with this key already");
    }
    Ok(())
}

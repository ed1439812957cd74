//! Paths of the wasm guests `build.rs` built from source, and a helper that installs a
//! chosen set of them into a fresh rules directory.

use std::path::Path;

pub const SECGROUPS: &str = env!("GUEST_RULE_SECGROUPS");
pub const ELBS: &str = env!("GUEST_RULE_ELBS");
pub const IAM: &str = env!("GUEST_RULE_IAM");
pub const AMI: &str = env!("GUEST_RULE_AMI");
pub const NEWTAG: &str = env!("GUEST_RULE_NEWTAG");
pub const MISSINGTAG: &str = env!("GUEST_RULE_MISSINGTAG");
pub const ROUTE53UNKNOWN: &str = env!("GUEST_RULE_ROUTE53UNKNOWN");
pub const ROUTE53CHANGED: &str = env!("GUEST_RULE_ROUTE53CHANGED");
pub const SSO_UNPROTECTED: &str = env!("GUEST_RULE_SSO_UNPROTECTED");
pub const SECURITY_HEADERS: &str = env!("GUEST_RULE_SECURITY_HEADERS");
pub const NON_CHEF: &str = env!("GUEST_RULE_NON_CHEF");
pub const S3ACL: &str = env!("GUEST_RULE_S3ACL");
pub const SPIN: &str = env!("GUEST_GUEST_SPIN");
pub const AMBIENT: &str = env!("GUEST_GUEST_AMBIENT");
pub const ALLOC: &str = env!("GUEST_GUEST_ALLOC");
pub const TRAP: &str = env!("GUEST_GUEST_TRAP");
pub const HUGE: &str = env!("GUEST_GUEST_HUGE");
pub const BADJSON: &str = env!("GUEST_GUEST_BADJSON");
pub const HOSTILE: &str = env!("GUEST_GUEST_HOSTILE");
pub const BADNAME: &str = env!("GUEST_GUEST_BADNAME");
pub const MANYQUERIES: &str = env!("GUEST_GUEST_MANYQUERIES");
pub const WRONGWORLD: &str = env!("GUEST_GUEST_WRONGWORLD");
pub const FUTURE: &str = env!("GUEST_GUEST_FUTURE");
/// Built against the frozen 0.1.0 contract.
pub const OLDER: &str = env!("GUEST_GUEST_OLDER");
pub const CAPCHECK: &str = env!("GUEST_GUEST_CAPCHECK");
pub const CAPCHECK_UNDECLARED: &str = env!("GUEST_GUEST_CAPCHECK_UNDECLARED");

/// The six stock rules ported from the original.
pub const STOCK: &[&str] = &[SECGROUPS, ELBS, IAM, AMI, NEWTAG, MISSINGTAG];

/// The stock rules that reach beyond EDDA through the host's capabilities (HTTP, TCP probe,
/// Chef, S3); secgroups also probes ports.
pub const BEYOND_EDDA: &[&str] = &[
    ROUTE53UNKNOWN,
    ROUTE53CHANGED,
    SSO_UNPROTECTED,
    SECURITY_HEADERS,
    NON_CHEF,
    S3ACL,
];

/// Copies `modules` into `dir` (created if needed), keeping their file names.
pub fn install(dir: &Path, modules: &[&str]) {
    std::fs::create_dir_all(dir).expect("create rules dir");
    for module in modules {
        let src = Path::new(module);
        let name = src.file_name().expect("module has a file name");
        std::fs::copy(src, dir.join(name)).unwrap_or_else(|e| panic!("copy {module}: {e}"));
    }
}

//! Third-party rules from OCI registries, signed, and verified offline before every run. The
//! formats are others': the CNCF WebAssembly artifact (`wkg oci push`'s; Kubewarden's is read
//! too) and cosign's key-based signatures (ECDSA P-256, checked with ring). `pull` resolves a
//! reference once, verifies its signatures before downloading the module, and installs the
//! module with its lock entry (`reddalert.lock`: reference, digests, the manifest and the
//! signatures as pulled) atomically; every run then checks each module against the lock and
//! the keys configured now, with no network, before the engine ever sees it ([`Trust`]).
//! Only `pull`, `push` and `sign` reach a registry, through [`Registry`].

mod artifact;
mod client;
mod cosign;
mod fetch;
mod keys;
mod lock;
mod publish;
mod trust;

pub(crate) use artifact::{World, sha256_hex};
pub(crate) use client::{Ref, Registry};
pub(crate) use fetch::{Puller, install};
pub(crate) use keys::SigningKey;
pub(crate) use lock::{Guard, Lockfile};
pub(crate) use publish::{push, resolve, sign};
pub(crate) use trust::{Admission, Provenance, Trust, TrustedKeys};

#[doc(hidden)]
pub(crate) mod fuzzing {
    //! What the fuzz target `registry` feeds: the lock, a manifest, a signature.
    pub use super::artifact::Manifest;
    pub use super::cosign::{Signature, check};
    pub use super::keys::PublicKey;
    pub use super::lock::Lockfile;
}

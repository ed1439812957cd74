//! The archive form of a collection (interface 0.2.0). The host parses a collection's EDDA body
//! once a run into the typed models and archives it with rkyv; every rule that declared the
//! query with the `archive` form gets those bytes, validates them and reads them in place,
//! without parsing JSON or allocating per field.
//!
//! The archived layout is part of the interface: a field added to or changed in an archived
//! model, or a collection's model swapped, is a new interface version. The format is rkyv's
//! default (little-endian, aligned, 32-bit relative pointers) on both sides.

use rkyv::api::high::HighSerializer;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::vec::ArchivedVec;

use crate::{HostedRecord, Instance, SecurityGroup};

/// A collection that has an archive form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    /// `view/instances`: a list of [`Instance`].
    Instances,
    /// `aws/securityGroups`: a list of [`SecurityGroup`].
    SecurityGroups,
    /// `aws/hostedRecords`: a list of [`HostedRecord`].
    HostedRecords,
}

/// Why a body could not be archived.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The body is not a list of documents the model reads.
    #[error("the body does not fit the {model} model: {source}")]
    Shape {
        model: &'static str,
        source: serde_json::Error,
    },
    /// rkyv refused to write the archive.
    #[error("failed to archive the {model} list: {source}")]
    Encode {
        model: &'static str,
        source: rancor::Error,
    },
}

impl Collection {
    /// The collection a declared query reads, when that has an archive form: the expanded
    /// documents of `view/instances`, `aws/securityGroups` or `aws/hostedRecords`, whole
    /// (`;_expand`) or with a field selector (`;_expand:(…)`). Any other matrix argument
    /// (`_meta`, `_diff`, `_all`, …) changes what EDDA answers, so it has none.
    pub fn of_query(path: &str) -> Option<Collection> {
        let (collection, args) = path.split_once(';')?;
        if args != "_expand" && !(args.starts_with("_expand:(") && args.ends_with(')')) {
            return None;
        }
        match collection {
            "view/instances" | "aws/instances" => Some(Collection::Instances),
            "aws/securityGroups" => Some(Collection::SecurityGroups),
            "aws/hostedRecords" => Some(Collection::HostedRecords),
            _ => None,
        }
    }

    /// The model's name, for messages.
    pub fn model(self) -> &'static str {
        match self {
            Collection::Instances => "Instance",
            Collection::SecurityGroups => "SecurityGroup",
            Collection::HostedRecords => "HostedRecord",
        }
    }

    /// Parses an EDDA body of this collection into its models and archives the list.
    pub fn archive(self, body: &[u8]) -> Result<AlignedVec, ArchiveError> {
        match self {
            Collection::Instances => encode::<Instance>(self, body),
            Collection::SecurityGroups => encode::<SecurityGroup>(self, body),
            Collection::HostedRecords => encode::<HostedRecord>(self, body),
        }
    }
}

fn encode<T>(collection: Collection, body: &[u8]) -> Result<AlignedVec, ArchiveError>
where
    T: serde::de::DeserializeOwned
        + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>,
{
    let model = collection.model();
    let list: Vec<T> =
        serde_json::from_slice(body).map_err(|source| ArchiveError::Shape { model, source })?;
    rkyv::to_bytes::<rancor::Error>(&list).map_err(|source| ArchiveError::Encode { model, source })
}

/// A model with an archive form: what a rule reads from [`access`].
pub trait Archived: rkyv::Archive {
    /// The collection whose archive holds a list of these.
    const COLLECTION: Collection;
}

impl Archived for Instance {
    const COLLECTION: Collection = Collection::Instances;
}

impl Archived for SecurityGroup {
    const COLLECTION: Collection = Collection::SecurityGroups;
}

impl Archived for HostedRecord {
    const COLLECTION: Collection = Collection::HostedRecords;
}

/// The archived list in `bytes`, validated first: nothing the host wrote is trusted. The bytes
/// must start at an address aligned to 16 (rkyv's `AlignedVec`; see [`aligned`]).
pub fn access<T>(bytes: &[u8]) -> Result<&ArchivedVec<T::Archived>, rancor::Error>
where
    T: Archived,
    T::Archived:
        for<'a> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'a, rancor::Error>>,
{
    rkyv::access::<ArchivedVec<T::Archived>, rancor::Error>(bytes)
}

/// `bytes` where [`access`] can read them: as they are when already aligned, else copied once.
pub fn aligned(bytes: Vec<u8>) -> Aligned {
    if bytes.as_ptr().align_offset(ALIGN) == 0 {
        Aligned::Owned(bytes)
    } else {
        Aligned::Copied(copy_aligned(&bytes))
    }
}

fn copy_aligned(bytes: &[u8]) -> AlignedVec<ALIGN> {
    let mut copy = AlignedVec::<ALIGN>::with_capacity(bytes.len());
    copy.extend_from_slice(bytes);
    copy
}

const ALIGN: usize = 16;

/// An archive's bytes at an aligned address.
pub enum Aligned {
    /// The buffer the host's bytes arrived in, which happened to be aligned.
    Owned(Vec<u8>),
    /// A copy made to align them.
    Copied(AlignedVec<ALIGN>),
}

impl Aligned {
    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Aligned::Owned(v) => v,
            Aligned::Copied(v) => v,
        }
    }
}

impl Clone for Aligned {
    fn clone(&self) -> Aligned {
        Aligned::Copied(copy_aligned(self.bytes()))
    }
}

impl std::fmt::Debug for Aligned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aligned({} bytes)", self.bytes().len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTANCES: &str = include_str!("../../util/fixtures/instances.json");
    const GROUPS: &str = include_str!("../../util/fixtures/security_groups.json");

    #[test]
    fn queries_with_an_archive_form_are_the_expanded_collections() {
        for (path, want) in [
            ("view/instances;_expand", Some(Collection::Instances)),
            (crate::INSTANCES_SELECTED, Some(Collection::Instances)),
            (crate::SECURITY_GROUPS, Some(Collection::SecurityGroups)),
            (
                crate::SECURITY_GROUPS_SELECTED,
                Some(Collection::SecurityGroups),
            ),
            (crate::HOSTED_RECORDS, Some(Collection::HostedRecords)),
            ("view/instances", None),
            ("view/instances;_expand;_meta", None),
            ("view/instances;_all;_expand", None),
            ("aws/securityGroups;_expand:(groupId", None),
            (crate::LOAD_BALANCERS, None),
            (crate::IAM_USERS, None),
        ] {
            assert_eq!(Collection::of_query(path), want, "{path}");
        }
    }

    #[test]
    fn an_archive_reads_back_as_the_models_the_json_gives() {
        let models: Vec<Instance> = serde_json::from_str(INSTANCES).unwrap();
        let archive = Collection::Instances.archive(INSTANCES.as_bytes()).unwrap();
        let read = access::<Instance>(&archive).unwrap();
        assert_eq!(read.len(), models.len());
        let back: Vec<Instance> = rkyv::deserialize::<_, rancor::Error>(read).unwrap();
        assert_eq!(back, models);
        assert!(
            models.iter().any(|i| !i.tags.is_empty()),
            "the fixture has tags"
        );

        let groups: Vec<SecurityGroup> = serde_json::from_str(GROUPS).unwrap();
        let archive = Collection::SecurityGroups
            .archive(GROUPS.as_bytes())
            .unwrap();
        let back: Vec<SecurityGroup> =
            rkyv::deserialize::<_, rancor::Error>(access::<SecurityGroup>(&archive).unwrap())
                .unwrap();
        assert_eq!(back, groups);
    }

    #[test]
    fn a_body_of_another_shape_names_the_model() {
        let err = Collection::Instances
            .archive(br#"{"not": "a list"}"#)
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the body does not fit the Instance model"),
            "{err}"
        );
        let err = Collection::SecurityGroups
            .archive(br#"[{"groupName": "x"}]"#)
            .unwrap_err();
        assert!(err.to_string().contains("groupId"), "{err}");
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_not_read() {
        let archive = Collection::Instances.archive(INSTANCES.as_bytes()).unwrap();
        // Cut short, or another collection's archive read as this one.
        assert!(access::<Instance>(&archive[..archive.len() / 2]).is_err());
        let groups = Collection::SecurityGroups
            .archive(GROUPS.as_bytes())
            .unwrap();
        assert!(
            access::<Instance>(&groups).is_err(),
            "groups read as instances"
        );
        // Every byte flipped in turn: refused or read, never a crash.
        let mut bytes = archive.to_vec();
        for i in 0..bytes.len() {
            bytes[i] ^= 0xff;
            let copy = aligned(bytes.clone());
            let _ = access::<Instance>(copy.bytes());
            bytes[i] ^= 0xff;
        }
    }

    #[test]
    fn misaligned_bytes_are_copied_to_an_aligned_buffer() {
        let archive = Collection::Instances.archive(INSTANCES.as_bytes()).unwrap();
        let mut shifted = vec![0u8; archive.len() + 1];
        shifted[1..].copy_from_slice(&archive);
        let misaligned = &shifted[1..];
        assert_ne!(misaligned.as_ptr().align_offset(ALIGN), 0);
        assert!(
            access::<Instance>(misaligned).is_err(),
            "rkyv reads only aligned bytes"
        );
        let copy = copy_aligned(misaligned);
        assert_eq!(copy.as_ptr().align_offset(ALIGN), 0);
        assert_eq!(access::<Instance>(&copy).unwrap().len(), 4);
        let owned = aligned(archive.to_vec());
        assert!(
            matches!(owned, Aligned::Owned(_)),
            "an aligned buffer is not copied"
        );
    }
}

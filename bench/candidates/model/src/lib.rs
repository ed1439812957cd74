//! The instance model in each form interface 0.2.0 could hand to a rule, and one digest of what
//! the stock rules read from an instance, computed the same way from every form.
//!
//! [`json`] reads the SDK's own `models::Instance` (the SDK builds for `wasm32-unknown-unknown`
//! too: only its models are used, so none of its component imports are linked); [`plain`] is
//! the same fields without the JSON leniency, deriving serde for a binary format and rkyv for an
//! archive.
//!
//! [`Digest`] hashes every field a stock rule reads, so a candidate that skipped a field, or read
//! one wrong, gives another digest: the runner checks that all forms agree.

pub mod json;
pub mod plain;

use reddalert_rule_sdk::models::Instance;

/// FNV-1a over the fields read, with a separator after each so that moving bytes between
/// fields changes the digest.
pub struct Digest(u64);

impl Default for Digest {
    fn default() -> Digest {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes.iter().chain(&[0xff]) {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }

    pub fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.bytes(&[0xfe]),
        }
    }

    pub fn opt_u64(&mut self, n: Option<u64>) {
        match n {
            Some(n) => self.bytes(&n.to_le_bytes()),
            None => self.bytes(&[0xfe]),
        }
    }

    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The selector of the SDK's `INSTANCES_SELECTED`: the top-level keys the instance rules read.
pub const SELECTED: [&str; 11] = [
    "instanceId",
    "imageId",
    "keyName",
    "launchTime",
    "state",
    "tags",
    "securityGroups",
    "placement",
    "iamInstanceProfile",
    "publicIpAddress",
    "privateIpAddress",
];

/// Parses a JSON body into the SDK's model, as a 0.1 rule does.
pub fn parse_json(body: &[u8]) -> Result<Vec<Instance>, serde_json::Error> {
    serde_json::from_slice(body)
}

/// The owned plain form of parsed instances (what the host would hold after parsing once).
pub fn to_plain(instances: &[Instance]) -> Vec<plain::Instance> {
    instances.iter().map(plain::Instance::from).collect()
}

/// A postcard encoding of the plain form: compact, decoded into owned values.
pub fn to_postcard(instances: &[plain::Instance]) -> Vec<u8> {
    postcard::to_allocvec(instances).expect("postcard encodes owned values")
}

/// An rkyv archive of the plain form: read in place after validation.
pub fn to_rkyv(instances: &Vec<plain::Instance>) -> rkyv::util::AlignedVec {
    rkyv::to_bytes::<rkyv::rancor::Error>(instances).expect("rkyv archives owned values")
}

/// Which form an input is in: the runner and the guest agree on these numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Form {
    Json = 0,
    Postcard = 1,
    Rkyv = 2,
    RkyvUnchecked = 3,
}

impl Form {
    pub const ALL: [Form; 4] = [Form::Json, Form::Postcard, Form::Rkyv, Form::RkyvUnchecked];

    pub fn name(self) -> &'static str {
        match self {
            Form::Json => "JSON, parsed by serde into the SDK's models (today)",
            Form::Postcard => "postcard, decoded into owned models",
            Form::Rkyv => "rkyv archive, validated, read in place",
            Form::RkyvUnchecked => "rkyv archive, not validated (unsafe; the cost of validation)",
        }
    }

    pub fn from_u32(n: u32) -> Option<Form> {
        Form::ALL.into_iter().find(|f| *f as u32 == n)
    }
}

/// Reads `input` in `form` and digests every instance; `None` when the input does not decode.
pub fn read(form: Form, input: &[u8]) -> Option<u64> {
    let mut d = Digest::default();
    match form {
        Form::Json => parse_json(input)
            .ok()?
            .iter()
            .for_each(|i| json::digest(i, &mut d)),
        Form::Postcard => postcard::from_bytes::<Vec<plain::Instance>>(input)
            .ok()?
            .iter()
            .for_each(|i| i.digest(&mut d)),
        Form::Rkyv => {
            rkyv::access::<rkyv::Archived<Vec<plain::Instance>>, rkyv::rancor::Error>(input)
                .ok()?
                .iter()
                .for_each(|i| i.digest(&mut d))
        }
        Form::RkyvUnchecked => {
            // SAFETY: only for the measurement, on bytes the runner archived itself.
            unsafe { rkyv::access_unchecked::<rkyv::Archived<Vec<plain::Instance>>>(input) }
                .iter()
                .for_each(|i| i.digest(&mut d))
        }
    }
    Some(d.finish())
}

//! The instance's fields as the host would hold them after parsing once: no JSON leniency, serde
//! for postcard and rkyv for an archive. Nested options of the JSON model are flattened where a
//! rule reads only one field of them (`state.name`, `placement.availabilityZone`,
//! `iamInstanceProfile.arn`), as a typed 0.2.0 model could.

use rkyv::{Archive, Deserialize as RkyvDeserialize, Serialize as RkyvSerialize};
use serde::{Deserialize, Serialize};

use reddalert_rule_sdk::models::Instance as SdkInstance;

use crate::Digest;

#[derive(Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize)]
pub struct GroupIdentifier {
    pub group_id: String,
    pub group_name: String,
}

#[derive(Serialize, Deserialize, Archive, RkyvSerialize, RkyvDeserialize)]
pub struct Instance {
    pub instance_id: String,
    pub image_id: String,
    pub key_name: Option<String>,
    pub launch_time: Option<u64>,
    pub state: Option<String>,
    pub tags: Vec<Tag>,
    pub security_groups: Vec<GroupIdentifier>,
    pub availability_zone: Option<String>,
    pub iam_instance_profile_arn: Option<String>,
    pub public_ip_address: Option<String>,
    pub private_ip_address: Option<String>,
}

impl From<&SdkInstance> for Instance {
    fn from(i: &SdkInstance) -> Instance {
        Instance {
            instance_id: i.instance_id.clone(),
            image_id: i.image_id.clone(),
            key_name: i.key_name.clone(),
            launch_time: i.launch_time,
            state: i.state.as_ref().map(|s| s.name.clone()),
            tags: (i.tags.iter())
                .map(|t| Tag {
                    key: t.key.clone(),
                    value: t.value.clone(),
                })
                .collect(),
            security_groups: (i.security_groups.iter())
                .map(|g| GroupIdentifier {
                    group_id: g.group_id.clone(),
                    group_name: g.group_name.clone(),
                })
                .collect(),
            availability_zone: i
                .placement
                .as_ref()
                .and_then(|p| p.availability_zone.clone()),
            iam_instance_profile_arn: i.iam_instance_profile.as_ref().and_then(|p| p.arn.clone()),
            public_ip_address: i.public_ip_address.clone(),
            private_ip_address: i.private_ip_address.clone(),
        }
    }
}

impl Instance {
    pub fn digest(&self, d: &mut Digest) {
        d.str(&self.instance_id);
        d.str(&self.image_id);
        d.opt_str(self.key_name.as_deref());
        d.opt_u64(self.launch_time);
        d.opt_str(self.state.as_deref());
        for t in &self.tags {
            d.str(&t.key);
            d.str(&t.value);
        }
        for g in &self.security_groups {
            d.str(&g.group_id);
            d.str(&g.group_name);
        }
        d.opt_str(self.availability_zone.as_deref());
        d.opt_str(self.iam_instance_profile_arn.as_deref());
        d.opt_str(self.public_ip_address.as_deref());
        d.opt_str(self.private_ip_address.as_deref());
    }
}

impl ArchivedInstance {
    pub fn digest(&self, d: &mut Digest) {
        d.str(&self.instance_id);
        d.str(&self.image_id);
        d.opt_str(self.key_name.as_ref().map(|s| s.as_str()));
        d.opt_u64(self.launch_time.as_ref().map(|n| n.to_native()));
        d.opt_str(self.state.as_ref().map(|s| s.as_str()));
        for t in self.tags.iter() {
            d.str(&t.key);
            d.str(&t.value);
        }
        for g in self.security_groups.iter() {
            d.str(&g.group_id);
            d.str(&g.group_name);
        }
        d.opt_str(self.availability_zone.as_ref().map(|s| s.as_str()));
        d.opt_str(self.iam_instance_profile_arn.as_ref().map(|s| s.as_str()));
        d.opt_str(self.public_ip_address.as_ref().map(|s| s.as_str()));
        d.opt_str(self.private_ip_address.as_ref().map(|s| s.as_str()));
    }
}

//! The SDK's `models::Instance` and its parts, with the same serde attributes
//! (`rules/sdk/src/models/ec2.rs`): what a rule of interface 0.1 parses.

use serde::{Deserialize, Deserializer};

use crate::Digest;

fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[derive(Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    pub instance_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub image_id: String,
    #[serde(default)]
    pub key_name: Option<String>,
    #[serde(default)]
    pub launch_time: Option<u64>,
    #[serde(default)]
    pub state: Option<InstanceState>,
    #[serde(default, deserialize_with = "nullable")]
    pub tags: Vec<Tag>,
    #[serde(default, deserialize_with = "nullable")]
    pub security_groups: Vec<GroupIdentifier>,
    #[serde(default)]
    pub placement: Option<Placement>,
    #[serde(default)]
    pub iam_instance_profile: Option<IamInstanceProfile>,
    #[serde(default)]
    pub public_ip_address: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
}

#[derive(Deserialize)]
pub struct InstanceState {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupIdentifier {
    #[serde(default, deserialize_with = "nullable")]
    pub group_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub group_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    #[serde(default)]
    pub availability_zone: Option<String>,
}

#[derive(Deserialize)]
pub struct IamInstanceProfile {
    #[serde(default)]
    pub arn: Option<String>,
}

impl Instance {
    pub fn digest(&self, d: &mut Digest) {
        d.str(&self.instance_id);
        d.str(&self.image_id);
        d.opt_str(self.key_name.as_deref());
        d.opt_u64(self.launch_time);
        d.opt_str(self.state.as_ref().map(|s| s.name.as_str()));
        for t in &self.tags {
            d.str(&t.key);
            d.str(&t.value);
        }
        for g in &self.security_groups {
            d.str(&g.group_id);
            d.str(&g.group_name);
        }
        let az = self
            .placement
            .as_ref()
            .and_then(|p| p.availability_zone.as_deref());
        d.opt_str(az);
        d.opt_str(
            self.iam_instance_profile
                .as_ref()
                .and_then(|p| p.arn.as_deref()),
        );
        d.opt_str(self.public_ip_address.as_deref());
        d.opt_str(self.private_ip_address.as_deref());
    }
}

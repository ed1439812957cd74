//! The digest of the SDK's own `models::Instance`: what a rule of interface 0.1 parses, read
//! through the SDK itself so that the measurement follows its model as it changes.

use reddalert_rule_sdk::models::Instance;

use crate::Digest;

pub fn digest(i: &Instance, d: &mut Digest) {
    d.str(&i.instance_id);
    d.str(&i.image_id);
    d.opt_str(i.key_name.as_deref());
    d.opt_u64(i.launch_time);
    d.opt_str(i.state.as_ref().map(|s| s.name.as_str()));
    for t in &i.tags {
        d.str(&t.key);
        d.str(&t.value);
    }
    for g in &i.security_groups {
        d.str(&g.group_id);
        d.str(&g.group_name);
    }
    d.opt_str(
        i.placement
            .as_ref()
            .and_then(|p| p.availability_zone.as_deref()),
    );
    d.opt_str(
        i.iam_instance_profile
            .as_ref()
            .and_then(|p| p.arn.as_deref()),
    );
    d.opt_str(i.public_ip_address.as_deref());
    d.opt_str(i.private_ip_address.as_deref());
}

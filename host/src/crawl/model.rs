//! The AWS shapes the crawl turns into EDDA's documents, as tables cut from botocore's service
//! models by `model/generate.py`: for each structure, every member the model has today, with
//! its element name on the wire (`groupSet`, `LoadBalancerName`), its name in EDDA's documents
//! (the AWS SDK for Java v1 bean property EDDA served: `securityGroups`, `loadBalancerName`)
//! and its shape. A table lists every member so that a document has every key whether or not
//! AWS sent it, as EDDA's beans had; the conversion itself is `document`.

// The tables are generated: one line per member reads better than rustfmt's five.
#[rustfmt::skip]
pub(crate) mod ec2;
#[rustfmt::skip]
pub(crate) mod elb;
#[rustfmt::skip]
pub(crate) mod iam;
#[rustfmt::skip]
pub(crate) mod route53;

/// What a member holds, and so what its text becomes in a document.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// Text, kept as sent (blobs too, as their base64 text).
    Str,
    /// An integer or a long.
    Int,
    /// `true` or `false`.
    Bool,
    /// An ISO 8601 time, written as epoch milliseconds as EDDA wrote dates.
    Time,
    /// A structure, written as an object with a `class` key.
    Struct(&'static Structure),
    /// A list of items of one shape (the wire wraps each in `<item>` or `<member>`).
    List(&'static Shape),
}

/// One structure of a service model.
#[derive(Debug)]
pub(crate) struct Structure {
    /// The Java class EDDA named in the document's `class` key.
    pub class: &'static str,
    /// Every member of the model's structure.
    pub members: &'static [Member],
}

/// One member of a structure.
#[derive(Debug)]
pub(crate) struct Member {
    /// The element's name in AWS's XML answer.
    pub wire: &'static str,
    /// The key in EDDA's document.
    pub bean: &'static str,
    pub shape: Shape,
}

impl Member {
    pub(crate) const fn new(wire: &'static str, bean: &'static str, shape: Shape) -> Member {
        Member { wire, bean, shape }
    }
}

impl Structure {
    /// The member whose element is named `wire`.
    pub(crate) fn member(&self, wire: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.wire == wire)
    }

    /// The structure's name in the model (the last part of its class).
    pub(crate) fn name(&self) -> &'static str {
        self.class.rsplit('.').next().unwrap_or(self.class)
    }
}

/// A property name as `java.beans.Introspector.decapitalize` makes it from a getter, the rule
/// behind every key EDDA wrote: `LoadBalancerName` -> `loadBalancerName`, but `DNSName`,
/// `TTL` and `VPCId` stay as they are (their first two letters are capitals).
pub(crate) fn decapitalise(name: &str) -> String {
    let mut chars = name.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && b.is_uppercase() => name.to_owned(),
        (Some(a), _) => a
            .to_lowercase()
            .chain(name[a.len_utf8()..].chars())
            .collect(),
        (None, _) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_decapitalised_the_java_way() {
        for (name, bean) in [
            ("LoadBalancerName", "loadBalancerName"),
            ("DNSName", "DNSName"),
            ("TTL", "TTL"),
            ("VPCId", "VPCId"),
            ("CanonicalHostedZoneNameID", "canonicalHostedZoneNameID"),
            ("groupSet", "groupSet"),
            ("A", "a"),
            ("", ""),
        ] {
            assert_eq!(decapitalise(name), bean, "{name}");
        }
    }

    /// The generator's rule and the tables agree: every member of a PascalCase service (IAM,
    /// ELB, Route 53) is named the decapitalised way, and EC2's renames are the SDK's.
    #[test]
    fn the_tables_name_members_as_the_sdk_did() {
        let ec2 = &ec2::INSTANCE;
        let bean = |s: &Structure, wire: &str| s.member(wire).map(|m| m.bean);
        assert_eq!(bean(ec2, "groupSet"), Some("securityGroups"));
        assert_eq!(bean(ec2, "tagSet"), Some("tags"));
        assert_eq!(bean(ec2, "instanceState"), Some("state"));
        assert_eq!(bean(ec2, "dnsName"), Some("publicDnsName"));
        assert_eq!(bean(ec2, "ipAddress"), Some("publicIpAddress"));
        assert_eq!(bean(ec2, "reason"), Some("stateTransitionReason"));
        assert_eq!(bean(ec2, "blockDeviceMapping"), Some("blockDeviceMappings"));
        assert_eq!(bean(ec2, "networkInterfaceSet"), Some("networkInterfaces"));
        assert_eq!(
            bean(&ec2::SECURITY_GROUP, "groupDescription"),
            Some("description")
        );
        assert_eq!(
            bean(&ec2::IP_PERMISSION, "groups"),
            Some("userIdGroupPairs")
        );
        assert_eq!(bean(&ec2::IP_PERMISSION, "ipRanges"), Some("ipv4Ranges"));
        let lb = &elb::LOAD_BALANCER_DESCRIPTION;
        assert_eq!(bean(lb, "LoadBalancerName"), Some("loadBalancerName"));
        assert_eq!(bean(lb, "DNSName"), Some("DNSName"));
        assert_eq!(bean(lb, "VPCId"), Some("VPCId"));
        assert_eq!(bean(&route53::RESOURCE_RECORD_SET, "TTL"), Some("TTL"));
        for s in [
            lb,
            &iam::USER,
            &route53::HOSTED_ZONE,
            &route53::RESOURCE_RECORD_SET,
        ] {
            for m in s.members {
                assert_eq!(m.bean, decapitalise(m.wire), "{}.{}", s.name(), m.wire);
            }
        }
        assert_eq!(ec2.name(), "Instance");
        assert_eq!(ec2.class, "com.amazonaws.services.ec2.model.Instance");
    }
}

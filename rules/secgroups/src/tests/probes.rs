//! The `port_open` probe over the fixture: denied, failed, and aimed at the first machine
//! that has an address.

use super::{
    DENIED, GROUPS, MACHINES, WEB, alerts, db_probed, harness, legacy, skipped, web, web_probed,
};
use reddalert_rule_sdk::prelude::*;

#[test]
fn denied_probes_leave_port_open_null_with_a_note() {
    let h = harness(json!({}), GROUPS, MACHINES).deny(Capability::TcpProbe);
    let alerts = alerts(h).expect("rule runs");
    assert_eq!(
        alerts,
        vec![
            web(0, 65535),
            web_probed(22, 22, skipped(DENIED)),
            web_probed(443, 443, skipped(DENIED)),
            db_probed(skipped(DENIED)),
            legacy(),
        ]
    );
}

#[test]
fn failed_probes_leave_port_open_null_with_the_error() {
    let h = harness(json!({"allowed_ports": [22, 443]}), GROUPS, MACHINES).probe(
        "10.0.2.10",
        5432,
        Err(NetError::LimitExceeded),
    );
    let alerts = alerts(h).expect("rule runs");
    let note = "not probed: the run's call budget is used up";
    assert_eq!(
        alerts,
        vec![web(0, 65535), db_probed(skipped(note)), legacy()]
    );
}

#[test]
fn the_first_machine_with_an_address_is_probed() {
    // i-0a1b… (54.12.34.56) loses its addresses: web's probes go to i-0b2c… (54.12.34.57).
    let mut instances: Value =
        reddalert_rule_sdk::serde_json::from_str(MACHINES).expect("fixture is JSON");
    assert_eq!(instances[1]["instanceId"], "i-0a1b2c3d4e5f60718");
    instances[1]["publicIpAddress"] = Value::Null;
    instances[1]["privateIpAddress"] = Value::Null;
    let h = harness(
        json!({"allowed_ports": [443]}),
        GROUPS,
        &instances.to_string(),
    )
    .probe("54.12.34.57", 22, Ok(false));
    let alerts = alerts(h).expect("rule runs");
    assert_eq!(alerts[1].0, WEB);
    assert_eq!(alerts[1].1["ipAddresses"], json!(["54.12.34.57"]));
    assert_eq!(alerts[1].1["fromPort"], 22);
    assert_eq!(alerts[1].1["port_open"], false);
}

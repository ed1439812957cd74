"""Native unit tests of the ami-py rule's logic: `python3 -m unittest` in this directory (the
integration tests run them too). No WebAssembly or host is involved."""

import json
import unittest

import ami

T0 = 1514764800000


def instance(instance_id, image_id, launch_time, service=None):
    tags = [{"key": "service_name", "value": service}] if service else []
    return {"instanceId": instance_id, "imageId": image_id, "launchTime": launch_time, "tags": tags}


def data(*instances):
    return {ami.INSTANCES: json.dumps(list(instances))}


class AmiTest(unittest.TestCase):
    def test_a_new_ami_alerts_once_per_new_instance(self):
        alerts, state = ami.evaluate({}, None, data(
            instance("i-1", "ami-new", T0 + 10, "web"),
            instance("i-2", "ami-old", T0 - 10, "db"),
        ), T0)
        self.assertEqual([(i, d["instanceId"]) for i, d in alerts], [("ami-new", "i-1")])
        self.assertEqual(alerts[0][1]["service_type"], "web")
        self.assertEqual(state, {"first_seen": {"ami-new": T0 + 10, "ami-old": T0 - 10}})

    def test_an_ami_seen_before_does_not_alert_again(self):
        state = {"first_seen": {"ami-new": T0 - 1}}
        alerts, _ = ami.evaluate({}, state, data(instance("i-1", "ami-new", T0 + 10)), T0)
        self.assertEqual(alerts, [])

    def test_allowed_service_types_do_not_alert(self):
        config = {"allowed_tags": ["web"]}
        alerts, _ = ami.evaluate(config, None, data(instance("i-1", "ami-new", T0 + 10, "web")), T0)
        self.assertEqual(alerts, [])

    def test_a_bad_config_is_an_error_naming_the_key(self):
        with self.assertRaisesRegex(ValueError, "allowed_tags"):
            ami.evaluate({"allowed_tags": "web"}, None, data(), T0)


if __name__ == "__main__":
    unittest.main()

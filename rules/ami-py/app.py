"""The component side of the ami-py rule: adapts `ami.py` to the `reddalert:rules/guest`
interface of 0.1.1 (`wit/deps/reddalert-rules-0.1.1`), which reads every answer as JSON.
componentize-py generates the `wit_world` bindings when it builds:

    componentize-py -d ../../wit/deps/reddalert-rules-0.1.1/rules.wit -w rule componentize app \
        -o ../../target/rule_ami_py.wasm
"""

import json

import ami
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types


class Guest(exports.Guest):
    def info(self) -> types.RuleInfo:
        return types.RuleInfo(
            name=ami.NAME,
            version=ami.VERSION,
            description=ami.DESCRIPTION,
            queries=[types.Query(path=p, window=w, updated_only=u) for p, w, u in ami.QUERIES],
            capabilities=[],
            default_config=json.dumps(ami.DEFAULT_CONFIG),
        )

    def evaluate(self, input: types.RuleInput) -> types.RuleOutput:
        try:
            config = json.loads(input.config)
            state = json.loads(input.state) if input.state is not None else None
            alerts, new_state = ami.evaluate(config, state, dict(input.data), input.window.since_ms)
        except Exception as err:  # the host reports it as this rule's failure
            raise Err(f"{type(err).__name__}: {err}")
        log.log(log.Level.DEBUG, f"ami-py: {len(alerts)} alerts")
        return types.RuleOutput(
            alerts=[types.Alert(id=i, details=json.dumps(d)) for i, d in alerts],
            state=json.dumps(new_state),
        )

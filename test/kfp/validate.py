"""Validate compiled Kubeflow Pipelines specs with KFP's own libraries.

For each YAML file given: the first document must parse strictly (unknown
fields refused) into kfp-pipeline-spec's PipelineSpec message, the second
into PlatformSpec, and the file must load with the kfp SDK's
kfp.components.load_component_from_file. Prints one JSON line per file with
what the SDK read back, for the test to check; exits 1 with the parser's
message on the first failure.
"""
import json
import sys

import yaml
from google.protobuf import json_format
from kfp import components
from kfp.pipeline_spec import pipeline_spec_pb2


def validate(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    if len(docs) != 2:
        raise ValueError(f"{path}: expected 2 documents (pipeline spec, platform spec), got {len(docs)}")
    spec = pipeline_spec_pb2.PipelineSpec()
    json_format.ParseDict(docs[0], spec, ignore_unknown_fields=False)
    platform = pipeline_spec_pb2.PlatformSpec()
    json_format.ParseDict(docs[1], platform, ignore_unknown_fields=False)
    loaded = components.load_component_from_file(path)
    root = spec.root.dag.tasks
    return {
        "file": path,
        "name": loaded.name,
        "sdk_inputs": sorted(loaded.component_spec.inputs.keys()),
        "components": sorted(spec.components.keys()),
        "root_tasks": {
            name: {
                "dependent_tasks": list(task.dependent_tasks),
                "retries": task.retry_policy.max_retry_count,
                "iterator": task.parameter_iterator.items.input_parameter or None,
            }
            for name, task in root.items()
        },
        "platform_executors": sorted(platform.platforms["kubernetes"].deployment_spec.executors.keys()),
    }


def main() -> int:
    for path in sys.argv[1:]:
        try:
            print(json.dumps(validate(path)), flush=True)
        except Exception as error:  # noqa: BLE001 - the message is the report
            print(f"{path}: {type(error).__name__}: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

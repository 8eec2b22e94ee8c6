#!/usr/bin/env python3
"""Policy and structure checks of infra/template.yaml that cfn-lint does not make.

Usage: check_iam.py TEMPLATE                 run the checks, print one line per check
       check_iam.py TEMPLATE --router FILE   also write the CloudFront Function's code to FILE

Checks:
  - no IAM / resource policy statement allows Action "*", a service-wide "svc:*" or any
    other wildcard action, nor uses NotAction in an Allow;
  - an Allow on Resource "*" only for actions AWS offers no resource-level permission
    for (X-Ray's PutTraceSegments/PutTelemetryRecords), and no Allow to Principal "*";
  - "s3:*" appears only in Deny statements (the TLS-only guard), never "*" itself;
  - no hard-coded partition ("arn:aws:", "arn:aws-cn:", ...): every ARN uses
    ${AWS::Partition};
  - the buckets: public access blocked, encrypted, versioned; the evidence bucket has
    Object Lock with a default retention; each bucket denies non-TLS requests;
  - CloudFront can read only site/releases/*, site/errors/* and datasets/* of the store;
  - the functions are provided.al2023 / arm64 / bootstrap with JSON logs, and nightly is
    scheduled with a retry policy, a dead-letter queue and no flexible window.

Prints "ok   NAME" or "FAIL NAME: why" per check and a last line "passed=N failed=M";
exits 1 when a check failed.
"""

import re
import sys

import yaml

# Actions that have no resource-level permissions: AWS requires Resource "*" for them.
RESOURCE_STAR_EXCEPTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation short-form tags (!Ref, !Sub, !GetAtt...)."""


def _construct_tag(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    if suffix == "Condition":
        return {"Condition": value}
    return {"Fn::" + suffix: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def expand_if(item):
    """Both branches of an Fn::If (minus AWS::NoValue), else the item itself."""
    if isinstance(item, dict) and list(item) == ["Fn::If"]:
        out = []
        for branch in item["Fn::If"][1:]:
            out.extend(expand_if(branch))
        return out
    if item == {"Ref": "AWS::NoValue"}:
        return []
    return [item]


def policy_documents(node, where):
    """Every mapping with a Statement list of Effect-bearing statements, with its path."""
    if isinstance(node, dict):
        stmts = node.get("Statement")
        if isinstance(stmts, list):
            expanded = [s for item in stmts for s in expand_if(item)]
            if expanded and all(isinstance(s, dict) and "Effect" in s for s in expanded):
                yield where, expanded
        for key, value in node.items():
            yield from policy_documents(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from policy_documents(value, f"{where}[{i}]")


def strings(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for k, v in node.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from strings(v)


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        problems = [p for p in problems if p]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            self.passed += 1
            print(f"ok   {name}")


def statement_problems(where, stmt):
    sid = stmt.get("Sid", "?")
    effect = stmt.get("Effect")
    actions = [a for a in as_list(stmt.get("Action")) if isinstance(a, str)]
    resources = as_list(stmt.get("Resource"))
    principal = stmt.get("Principal")
    here = f"{where} Sid={sid}"
    if "NotAction" in stmt and effect == "Allow":
        yield f"{here}: NotAction in an Allow"
    for action in actions:
        if action == "*":
            yield f"{here}: Action \"*\""
        elif "*" in action:
            if effect == "Allow":
                yield f"{here}: wildcard action {action!r} in an Allow"
            elif not re.fullmatch(r"s3:\*", action):
                yield f"{here}: wildcard action {action!r} (only the s3:* TLS guard may be a Deny wildcard)"
    if effect == "Allow":
        if "NotResource" in stmt:
            yield f"{here}: NotResource in an Allow"
        if "*" in resources and not set(actions) <= RESOURCE_STAR_EXCEPTIONS:
            yield f"{here}: Resource \"*\" for {actions}"
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            yield f"{here}: Allow to Principal \"*\""


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--router"):
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    text = open(path, encoding="utf-8").read()
    template = yaml.load(text, Loader=CfnLoader)
    resources = template["Resources"]
    c = Checks()

    # --- IAM and resource policies -----------------------------------------------------
    docs = list(policy_documents(resources, "Resources"))
    c.check("policy documents found", [None if len(docs) >= 8 else f"only {len(docs)} found"])
    problems = [p for where, stmts in docs for s in stmts for p in statement_problems(where, s)]
    c.check("no wildcard actions, no Resource * beyond X-Ray, no public Allow", problems)

    # --- partitions ----------------------------------------------------------------------
    hard = sorted({m.group(0) for m in re.finditer(r"arn:aws(-[a-z]+)*:", text)})
    c.check("no hard-coded partition in ARNs", [f"found {h!r}" for h in hard])
    subs = [s for s in strings(resources) if s.startswith("arn:") and "${AWS::Partition}" not in s]
    c.check("every ARN string uses ${AWS::Partition}", [f"{s!r}" for s in subs])

    # --- buckets -------------------------------------------------------------------------
    buckets = {k: v for k, v in resources.items() if v["Type"] == "AWS::S3::Bucket"}
    bucket_problems = []
    for name, bucket in buckets.items():
        props = bucket["Properties"]
        pab = props.get("PublicAccessBlockConfiguration", {})
        for key in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"):
            if pab.get(key) is not True:
                bucket_problems.append(f"{name}: {key} not true")
        if "BucketEncryption" not in props:
            bucket_problems.append(f"{name}: no default encryption")
        if props.get("VersioningConfiguration", {}).get("Status") != "Enabled":
            bucket_problems.append(f"{name}: versioning not enabled")
        if bucket.get("DeletionPolicy") != "Retain":
            bucket_problems.append(f"{name}: DeletionPolicy is not Retain")
        rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
        if not any("AbortIncompleteMultipartUpload" in r for r in rules):
            bucket_problems.append(f"{name}: no rule aborting incomplete multipart uploads")
    c.check("buckets private, encrypted, versioned, retained", bucket_problems)

    evidence = resources.get("EvidenceBucket", {}).get("Properties", {})
    lock = evidence.get("ObjectLockConfiguration", {})
    retention = lock.get("Rule", {}).get("DefaultRetention", {})
    c.check(
        "evidence bucket has Object Lock with a default retention",
        [
            None if evidence.get("ObjectLockEnabled") is True else "ObjectLockEnabled is not true",
            None if lock.get("ObjectLockEnabled") == "Enabled" else "ObjectLockConfiguration not enabled",
            None if retention.get("Mode") and (retention.get("Days") or retention.get("Years")) else "no default retention",
        ],
    )

    policies = {v["Properties"]["Bucket"].get("Ref"): v for v in resources.values() if v["Type"] == "AWS::S3::BucketPolicy"}
    tls = []
    for name in buckets:
        policy = policies.get(name)
        stmts = [s for item in (policy or {}).get("Properties", {}).get("PolicyDocument", {}).get("Statement", []) for s in expand_if(item)]
        if not any(
            s.get("Effect") == "Deny" and s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false"
            for s in stmts
        ):
            tls.append(f"{name}: no Deny on aws:SecureTransport=false")
    c.check("every bucket denies requests without TLS", tls)

    store_stmts = [s for item in policies["StoreBucket"]["Properties"]["PolicyDocument"]["Statement"] for s in expand_if(item)]
    cf_problems = []
    for s in store_stmts:
        principal = s.get("Principal")
        if isinstance(principal, dict) and principal.get("Service") == "cloudfront.amazonaws.com":
            if as_list(s.get("Action")) != ["s3:GetObject"]:
                cf_problems.append(f"CloudFront may {s.get('Action')}")
            for r in as_list(s.get("Resource")):
                sub = r.get("Fn::Sub", "") if isinstance(r, dict) else r
                if not re.search(r"\}/(site/releases|site/errors|datasets)/\*$", sub):
                    cf_problems.append(f"CloudFront may read {sub!r}")
            if "AWS:SourceArn" not in str(s.get("Condition")):
                cf_problems.append("no AWS:SourceArn condition on the CloudFront grant")
    evidence_grants = [
        s for item in policies["EvidenceBucket"]["Properties"]["PolicyDocument"]["Statement"]
        for s in expand_if(item) if s.get("Effect") == "Allow"
    ]
    if evidence_grants:
        cf_problems.append("the evidence bucket policy grants access")
    c.check("CloudFront reads only the live-release, error-page and dataset paths", cf_problems)

    # --- functions and schedule -----------------------------------------------------------
    glob = template.get("Globals", {}).get("Function", {})
    fn_problems = []
    for name, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        props = {**glob, **res["Properties"]}
        if props.get("Runtime") != "provided.al2023":
            fn_problems.append(f"{name}: runtime {props.get('Runtime')}")
        if props.get("Architectures") != ["arm64"]:
            fn_problems.append(f"{name}: architectures {props.get('Architectures')}")
        if props.get("Handler") != "bootstrap":
            fn_problems.append(f"{name}: handler {props.get('Handler')}")
        if props.get("LoggingConfig", {}).get("LogFormat") != "JSON":
            fn_problems.append(f"{name}: logs are not JSON")
        if "Role" not in props or "Policies" in props:
            fn_problems.append(f"{name}: must use its own explicit role")
    c.check("functions: provided.al2023, arm64, bootstrap, JSON logs, own role", fn_problems)

    schedules = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::Scheduler::Schedule"]
    sched_problems = [] if schedules else ["no schedule"]
    for s in schedules:
        target = s.get("Target", {})
        if s.get("FlexibleTimeWindow", {}).get("Mode") != "OFF":
            sched_problems.append("flexible time window is not OFF")
        if "RetryPolicy" not in target or "DeadLetterConfig" not in target:
            sched_problems.append("no retry policy or dead-letter queue")
        if not s.get("ScheduleExpressionTimezone"):
            sched_problems.append("no time zone")
    c.check("nightly schedule: no flexible window, retries, dead-letter queue, time zone", sched_problems)

    router = resources.get("SiteRouterFunction", {}).get("Properties", {})
    code = router.get("FunctionCode", "")
    config = router.get("FunctionConfig", {})
    c.check(
        "CloudFront router: cloudfront-js-2.0 with the release KeyValueStore",
        [
            None if config.get("Runtime") == "cloudfront-js-2.0" else "runtime is not cloudfront-js-2.0",
            None if config.get("KeyValueStoreAssociations") else "no KeyValueStore association",
            None if "'site/current'" in code else "does not read key site/current",
            None if len(code.encode()) < 10240 else "code over CloudFront's 10 KB limit",
        ],
    )
    if len(argv) == 4:
        with open(argv[3], "w", encoding="utf-8") as f:
            f.write(code)

    print(f"passed={c.passed} failed={c.failed}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

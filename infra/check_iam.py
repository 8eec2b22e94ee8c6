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
  - CloudFront can read only site/releases/*, site/errors/* and datasets/*/archive/* of the
    store (the stable dataset URLs are files of the live release);
  - the functions are provided.al2023 / arm64 / bootstrap with JSON logs, and nightly is
    scheduled with a retry policy, a dead-letter queue and no flexible window;
  - the fan-out night's state machine: every ${...} of its definition substituted, one
    Distributed Map with ItemReader, a MaxConcurrency bound, ToleratedFailurePercentage 0
    and ResultWriter, Lambda throttling retried with backoff by every task, logs delivered,
    the schedule able to target it (its role alone may use the log-delivery actions, which
    AWS offers on Resource "*" only);
  - the access simulation (see "Simulating requests" below): one provider policy per
    source of functions/dataset/src/source.rs, each confined to its own prefixes with
    write-once raw keys; the functions' roles still reach the layout they need.

Fn::ForEach (AWS::LanguageExtensions) is expanded first, as CloudFormation does: the
identifier is replaced in keys (${X}, and &{X} with non-alphanumerics removed), in Fn::Sub
strings and in a Ref to it. Plain strings are left alone, as cfn-lint leaves them, so a
"${Source}" outside Fn::Sub shows up as a failure rather than as a working grant.

Simulating requests: evaluate() applies IAM's evaluation logic for one account to the
identity policy under test plus the target bucket's policy: an explicit Deny anywhere wins,
else an Allow anywhere allows, else the request is implicitly denied. It understands
Action/NotAction, Resource/NotResource (wildcards * and ?), Principal "*" in bucket
policies, and the condition operators String(Not)Equals(IgnoreCase), String(Not)Like,
Bool, Null, Arn(Not)Equals/Like and ...IfExists; any other operator (or ForAnyValue /
ForAllValues) is an error, never a silent pass. A missing key makes a positive operator
false and a negated one true (IAM's rule). The S3 requests are modelled as AWS documents
them: PutObject, CopyObject and CompleteMultipartUpload are s3:PutObject with
s3:ObjectCreationOperation = true (and s3:if-none-match when the If-None-Match header is
sent); CreateMultipartUpload and UploadPart are s3:PutObject with
s3:ObjectCreationOperation = false; ListObjectsV2 is s3:ListBucket with s3:prefix.
The expected outcome of every request is written from the rule ("a provider writes only
raw/{its source}/, only new keys, and reads only its own ingest reports and rejects"),
never from the evaluator's answer; the evaluator itself is checked first on hand-written
policies whose outcomes IAM's documentation fixes.

Prints "ok   NAME" or "FAIL NAME: why" per check and a last line "passed=N failed=M";
exits 1 when a check failed.
"""

import os
import re
import sys

import yaml

# Actions that have no resource-level permissions: AWS requires Resource "*" for them.
RESOURCE_STAR_EXCEPTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
# A Step Functions state machine delivering its logs to CloudWatch Logs: AWS documents these
# log-delivery actions as supporting no resource type (Resource "*" is required). Allowed on
# Resource "*" only in the role of a state machine, and only these.
LOG_DELIVERY_STAR_ACTIONS = {
    "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
}


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

    def assertion(self, name, ok, why):
        """One counted assertion; printed only when it fails (there are hundreds)."""
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {name}: {why}")

    def check(self, name, problems):
        problems = [p for p in problems if p]
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            self.passed += 1
            print(f"ok   {name}")


def statement_problems(where, stmt, star_ok=frozenset()):
    """Problems of one statement; `star_ok`: actions also allowed on Resource "*" here."""
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
        if "*" in resources and not set(actions) <= RESOURCE_STAR_EXCEPTIONS | star_ok:
            yield f"{here}: Resource \"*\" for {actions}"
        if principal == "*" or (isinstance(principal, dict) and principal.get("AWS") == "*"):
            yield f"{here}: Allow to Principal \"*\""


# --- Fn::ForEach ------------------------------------------------------------------------

FOREACH = re.compile(r"^Fn::ForEach::[A-Za-z0-9]+$")


def _subst(text, params):
    for name, value in params.items():
        text = text.replace("${" + name + "}", value)
        text = text.replace("&{" + name + "}", re.sub(r"[^0-9A-Za-z]+", "", value))
    return text


def expand_foreach(node, params=None):
    """The template with every Fn::ForEach loop unrolled (see the module docstring)."""
    params = params or {}
    if isinstance(node, list):
        return [expand_foreach(v, params) for v in node]
    if not isinstance(node, dict):
        return node
    if params and list(node) == ["Ref"] and node["Ref"] in params:
        return params[node["Ref"]]
    out = {}
    for key, value in node.items():
        if FOREACH.match(key):
            if not (isinstance(value, list) and len(value) == 3 and isinstance(value[0], str)
                    and isinstance(value[1], list) and isinstance(value[2], dict)):
                raise ValueError(f"{key}: expected [Identifier, [values...], {{OutputKey: OutputValue}}]")
            ident, collection, fragment = value
            for item in collection:
                if not isinstance(item, str):
                    raise ValueError(f"{key}: collection item {item!r} is not a string")
                for k, v in expand_foreach(fragment, {**params, ident: item}).items():
                    if k in out or k in node:
                        raise ValueError(f"{key}: duplicate key {k}")
                    out[k] = v
            continue
        new_key = _subst(key, params) if params else key
        if params and key == "Fn::Sub":
            if isinstance(value, str):
                out[key] = _subst(value, params)
                continue
            if isinstance(value, list) and value and isinstance(value[0], str):
                out[key] = [_subst(value[0], params)] + [expand_foreach(v, params) for v in value[1:]]
                continue
        if new_key in out:
            raise ValueError(f"duplicate key {new_key}")
        out[new_key] = expand_foreach(value, params)
    return out


def foreach_collections(node, loop):
    """The collections of every Fn::ForEach::{loop} in the template, as written."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == f"Fn::ForEach::{loop}":
                found.append(value[1])
            found.extend(foreach_collections(value, loop))
    elif isinstance(node, list):
        for value in node:
            found.extend(foreach_collections(value, loop))
    return found


# --- Resolving policy values --------------------------------------------------------------

PARTITION = "aws-cn"  # any partition: the ARNs must all use the same one
ACCOUNT = "111122223333"
REGION = "cn-north-1"
EVIDENCE = f"prod-envgov-evidence-{ACCOUNT}-{REGION}"
STORE = f"prod-envgov-store-{ACCOUNT}-{REGION}"
SYMBOLS = {
    "AWS::Partition": PARTITION,
    "AWS::AccountId": ACCOUNT,
    "AWS::Region": REGION,
    "AWS::URLSuffix": "amazonaws.com.cn",
    "EvidenceBucket": EVIDENCE,
    "StoreBucket": STORE,
    "Stage": "prod",
}


def resolve(value):
    """A policy value (string, Ref, Fn::Sub, Fn::GetAtt) as the string CloudFormation makes."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        (fn, arg), = value.items()
        if fn == "Ref":
            return SYMBOLS.get(arg, f"ref:{arg}")
        if fn == "Fn::GetAtt":
            name, attr = arg if isinstance(arg, list) else arg.split(".", 1)
            return f"arn:{PARTITION}:getatt:{REGION}:{ACCOUNT}:{resolve(name)}.{attr}"
        if fn == "Fn::Sub":
            text, local = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1] if len(arg) > 1 else {})

            def one(m):
                name = m.group(1)
                if name in local:
                    return resolve(local[name])
                if "." in name:
                    return resolve({"Fn::GetAtt": name.split(".", 1)})
                if name not in SYMBOLS:
                    raise ValueError(f"Fn::Sub of unknown ${{{name}}} in {text!r}")
                return SYMBOLS[name]

            return re.sub(r"\$\{([^}!]+)\}", one, text)
    raise ValueError(f"cannot resolve {value!r}")


# --- Evaluating a request -----------------------------------------------------------------


class UnsupportedPolicy(Exception):
    """The policy uses something evaluate() does not model: a failure, never a pass."""


def glob(pattern, value, ignore_case=False):
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.S | (re.I if ignore_case else 0)) is not None


NEGATED = {"StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike"}
POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"}


def _compare(op, expected, actual):
    if op in ("StringEquals", "StringNotEquals"):
        return actual == expected
    if op in ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase"):
        return actual.lower() == expected.lower()
    if op in ("StringLike", "StringNotLike", "ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"):
        return glob(expected, actual)
    if op == "Bool":
        return actual.lower() == expected.lower()
    raise UnsupportedPolicy(op)


def condition_holds(condition, context):
    """Every operator, every key of an operator (AND); any value of a key (OR)."""
    ctx = {k.lower(): v for k, v in context.items()}
    for op, pairs in (condition or {}).items():
        if op.startswith(("ForAnyValue:", "ForAllValues:")):
            raise UnsupportedPolicy(f"set operator {op}")
        base = op[: -len("IfExists")] if op.endswith("IfExists") else op
        if base not in NEGATED | POSITIVE | {"Null"}:
            raise UnsupportedPolicy(f"condition operator {op}")
        for key, expected in pairs.items():
            expected = [resolve(e) for e in as_list(expected)]
            actual = ctx.get(key.lower())
            if base == "Null":
                if op != base or len(expected) != 1 or expected[0] not in ("true", "false"):
                    raise UnsupportedPolicy(f"Null {key}: {expected}")
                holds = (actual is None) == (expected[0] == "true")
            elif actual is None:
                holds = op != base or base in NEGATED
            else:
                matched = any(_compare(base, e, resolve(actual)) for e in expected)
                holds = not matched if base in NEGATED else matched
            if not holds:
                return False
    return True


def statement_applies(stmt, request, resource_policy):
    if resource_policy:
        principal = stmt.get("Principal")
        if not (principal == "*" or (isinstance(principal, dict) and as_list(principal.get("AWS")) == ["*"])):
            return False  # a grant to a service or another principal, not to the caller
    action = request["action"]
    if "Action" in stmt:
        if not any(glob(a, action, ignore_case=True) for a in as_list(stmt["Action"])):
            return False
    elif "NotAction" in stmt:
        if any(glob(a, action, ignore_case=True) for a in as_list(stmt["NotAction"])):
            return False
    else:
        raise UnsupportedPolicy(f"statement {stmt.get('Sid')} has neither Action nor NotAction")
    arn = request["resource"]
    if "Resource" in stmt:
        if not any(glob(resolve(r), arn) for r in as_list(stmt["Resource"])):
            return False
    elif "NotResource" in stmt:
        if any(glob(resolve(r), arn) for r in as_list(stmt["NotResource"])):
            return False
    else:
        raise UnsupportedPolicy(f"statement {stmt.get('Sid')} has neither Resource nor NotResource")
    return condition_holds(stmt.get("Condition"), request["context"])


def evaluate(identity_statements, resource_statements, request):
    """'allow', 'explicit deny' or 'implicit deny' for a caller of the bucket's own account."""
    applied = [(s, False) for s in identity_statements] + [(s, True) for s in resource_statements]
    effects = [s["Effect"] for s, res in applied if statement_applies(s, request, res)]
    if "Deny" in effects:
        return "explicit deny"
    return "allow" if "Allow" in effects else "implicit deny"


# --- S3 requests, as AWS authorises them ----------------------------------------------------


def s3_request(op, bucket, key=None, *, if_none_match=False, if_match=False, copy_source=None, prefix=None):
    """One S3 API call as (action, resource ARN, condition context)."""
    context = {"aws:SecureTransport": "true"}
    creating = {"PutObject", "CopyObject", "CompleteMultipartUpload"}
    parts = {"CreateMultipartUpload", "UploadPart"}
    if op in creating | parts:
        action = "s3:PutObject"
        context["s3:ObjectCreationOperation"] = "true" if op in creating else "false"
        if op in creating and if_none_match:
            context["s3:if-none-match"] = "*"
        if op in creating and if_match:
            context["s3:if-match"] = '"0123456789abcdef0123456789abcdef"'
        if op == "CopyObject":
            context["s3:x-amz-copy-source"] = copy_source
    elif op in ("ListObjectsV2", "ListObjects"):
        action = "s3:ListBucket"
        if prefix is not None:
            context["s3:prefix"] = prefix
    else:
        action = {"HeadObject": "s3:GetObject"}.get(op, "s3:" + op)
    resource = f"arn:{PARTITION}:s3:::{bucket}" + (f"/{key}" if key is not None else "")
    return {"op": op, "action": action, "resource": resource, "context": context}


def describe(req):
    extra = {k: v for k, v in req["context"].items() if k != "aws:SecureTransport"}
    return f"{req['op']} {req['resource'].split(':::', 1)[1]}" + (f" {extra}" if extra else "")


def source_slugs(repo_root):
    """The source slugs of functions/dataset/src/source.rs (Source::as_str)."""
    text = open(f"{repo_root}/functions/dataset/src/source.rs", encoding="utf-8").read()
    body = text[text.index("fn as_str"):]
    body = body[: body.index("\n    }\n")]
    return re.findall(r'Source::\w+ => "([a-z0-9-]+)"', body)


def bucket_statements(resources, bucket):
    for res in resources.values():
        if res.get("Type") == "AWS::S3::BucketPolicy" and res["Properties"]["Bucket"] == {"Ref": bucket}:
            return [s for item in res["Properties"]["PolicyDocument"]["Statement"] for s in expand_if(item)]
    return []


def identity_statements(doc):
    return [s for item in doc["Statement"] for s in expand_if(item)]


def evaluator_self_test(c):
    """The evaluator on hand-written policies; the expected outcomes are IAM's documented rules."""
    b = "arn:aws:s3:::b"

    def req(action, key, **ctx):
        return {"op": action, "action": action, "resource": f"{b}/{key}" if key is not None else b,
                "context": {"aws:SecureTransport": "true", **ctx}}

    allow_a = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{b}/a/*"}
    cases = [
        ("an Allow on a/* allows a/x", [allow_a], [], req("s3:GetObject", "a/x"), "allow"),
        ("an Allow on a/* does not reach ab/x", [allow_a], [], req("s3:GetObject", "ab/x"), "implicit deny"),
        ("an Allow of GetObject does not allow PutObject", [allow_a], [], req("s3:PutObject", "a/x"), "implicit deny"),
        ("actions match case-insensitively, with wildcards",
         [{"Effect": "Allow", "Action": "S3:get*", "Resource": f"{b}/*"}], [], req("s3:GetObject", "x"), "allow"),
        ("an explicit Deny wins over an Allow",
         [allow_a, {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{b}/a/secret"}], [],
         req("s3:GetObject", "a/secret"), "explicit deny"),
        ("a Deny in the bucket policy to Principal * binds the caller",
         [allow_a], [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{b}/*"}],
         req("s3:GetObject", "a/x"), "explicit deny"),
        ("a bucket-policy Allow to a service is not the caller's",
         [], [{"Effect": "Allow", "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
               "Resource": f"{b}/*"}], req("s3:GetObject", "x"), "implicit deny"),
        ("NotResource: a Deny outside raw/* hits x",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*"},
          {"Effect": "Deny", "Action": "s3:PutObject", "NotResource": f"{b}/raw/*"}], [],
         req("s3:PutObject", "x"), "explicit deny"),
        ("NotResource: a Deny outside raw/* spares raw/x",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*"},
          {"Effect": "Deny", "Action": "s3:PutObject", "NotResource": f"{b}/raw/*"}], [],
         req("s3:PutObject", "raw/x"), "allow"),
        ("NotAction: a Deny of all but GetObject hits PutObject",
         [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{b}/*"},
          {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": f"{b}/*"}], [],
         req("s3:PutObject", "x"), "explicit deny"),
        ("NotAction: a Deny of all but GetObject spares GetObject",
         [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{b}/*"},
          {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": f"{b}/*"}], [],
         req("s3:GetObject", "x"), "allow"),
        ("Null false requires the key: absent",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"Null": {"s3:if-none-match": "false"}}}], [], req("s3:PutObject", "x"), "implicit deny"),
        ("Null false requires the key: present",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"Null": {"s3:if-none-match": "false"}}}], [],
         req("s3:PutObject", "x", **{"s3:if-none-match": "*"}), "allow"),
        ("Null true matches an absent key",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*"},
          {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"Null": {"s3:if-none-match": "true"}}}], [], req("s3:PutObject", "x"), "explicit deny"),
        ("StringNotEquals holds when the key is absent",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"StringNotEquals": {"s3:if-none-match": "*"}}}], [], req("s3:PutObject", "x"), "allow"),
        ("StringEquals fails when the key is absent",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"StringEquals": {"s3:if-none-match": "*"}}}], [], req("s3:PutObject", "x"), "implicit deny"),
        ("StringEquals compares exactly (no wildcard)",
         [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": b,
           "Condition": {"StringEquals": {"s3:prefix": "a/*"}}}], [], req("s3:ListBucket", None, **{"s3:prefix": "a/x"}),
         "implicit deny"),
        ("StringLike on s3:prefix: any listed pattern",
         [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": b,
           "Condition": {"StringLike": {"s3:prefix": ["a/*", "c/*"]}}}], [],
         req("s3:ListBucket", None, **{"s3:prefix": "c/d/"}), "allow"),
        ("StringLike on s3:prefix: another prefix",
         [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": b,
           "Condition": {"StringLike": {"s3:prefix": ["a/*"]}}}], [],
         req("s3:ListBucket", None, **{"s3:prefix": "ab/"}), "implicit deny"),
        ("StringLike on s3:prefix: no prefix at all",
         [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": b,
           "Condition": {"StringLike": {"s3:prefix": ["a/*"]}}}], [], req("s3:ListBucket", None), "implicit deny"),
        ("two operators of one statement must both hold",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*"},
          {"Effect": "Deny", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"Null": {"s3:if-none-match": "true"}, "Bool": {"s3:ObjectCreationOperation": "true"}}}], [],
         req("s3:PutObject", "x", **{"s3:ObjectCreationOperation": "false"}), "allow"),
        ("Bool matches its value",
         [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"{b}/*",
           "Condition": {"Bool": {"s3:ObjectCreationOperation": "false"}}}], [],
         req("s3:PutObject", "x", **{"s3:ObjectCreationOperation": "true"}), "implicit deny"),
    ]
    before = c.failed
    for name, ident, resource, request, want in cases:
        got = evaluate(ident, resource, request)
        c.assertion(f"evaluator: {name}", got == want, f"expected {want}, got {got}")
    if c.failed == before:
        print(f"ok   evaluator: {len(cases)} hand-written policies evaluate as IAM documents")
    try:
        evaluate([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{b}/*",
                   "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}], [], req("s3:GetObject", "x"))
        c.assertion("evaluator: an operator it does not model is an error", False, "no error raised")
    except UnsupportedPolicy:
        c.assertion("evaluator: an operator it does not model is an error", True, "")


def provider_cases(source, sources):
    """(request, allowed?) for the provider of `source`, from the rule: it writes only
    raw/{source}/ and only keys that do not exist yet (If-None-Match: *), never deletes,
    copies or changes settings, and reads and lists only runs/ingest/{source}/ and
    rejects/{source}/ of the store."""
    day = "2026-01-31"
    others = [s for s in sources if s != source]
    own_raw = f"raw/{source}/{day}/x.csv"
    own_report = f"runs/ingest/{source}/{day}/x.csv.json"
    own_rejects = f"rejects/{source}/date={day}/rejects.csv"
    E, S = EVIDENCE, STORE
    cases = [
        (s3_request("PutObject", E, own_raw, if_none_match=True), True),
        (s3_request("PutObject", E, f"raw/{source}/{day}/x-correction-1.csv", if_none_match=True), True),
        (s3_request("PutObject", E, own_raw), False),  # an overwrite
        (s3_request("PutObject", E, own_raw, if_match=True), False),  # an overwrite of a known version
        (s3_request("CreateMultipartUpload", E, own_raw), True),
        (s3_request("UploadPart", E, own_raw), True),
        (s3_request("CompleteMultipartUpload", E, own_raw, if_none_match=True), True),
        (s3_request("CompleteMultipartUpload", E, own_raw), False),  # a multipart overwrite
        (s3_request("CompleteMultipartUpload", E, own_raw, if_match=True), False),
        (s3_request("CopyObject", E, own_raw, if_none_match=True, copy_source=f"{S}/{own_report}"), False),
        (s3_request("CopyObject", E, own_raw, copy_source=f"{S}/{own_report}"), False),
        (s3_request("PutObject", E, f"raw/{source}x/{day}/x.csv", if_none_match=True), False),
        (s3_request("PutObject", E, f"raw/{source}", if_none_match=True), False),
        (s3_request("PutObject", E, f"{source}/{day}/x.csv", if_none_match=True), False),
        (s3_request("PutObject", E, "raw/x.csv", if_none_match=True), False),
        (s3_request("DeleteObject", E, own_raw), False),
        (s3_request("DeleteObjectVersion", E, own_raw), False),
        (s3_request("PutObjectAcl", E, own_raw), False),
        (s3_request("PutObjectRetention", E, own_raw), False),
        (s3_request("PutObjectLegalHold", E, own_raw), False),
        (s3_request("BypassGovernanceRetention", E, own_raw), False),
        (s3_request("AbortMultipartUpload", E, own_raw), False),
        (s3_request("GetObject", E, own_raw), False),
        (s3_request("ListObjectsV2", E, prefix=f"raw/{source}/"), False),
        (s3_request("GetObject", S, own_report), True),
        (s3_request("HeadObject", S, own_report), True),
        (s3_request("GetObject", S, own_rejects), True),
        (s3_request("GetObjectVersion", S, own_report), False),
        (s3_request("PutObject", S, own_report, if_none_match=True), False),  # forging its own report
        (s3_request("PutObject", S, own_rejects), False),
        (s3_request("DeleteObject", S, own_report), False),
        (s3_request("GetObject", S, f"runs/{day}/report.json"), False),
        (s3_request("GetObject", S, "runs/raw-ledger.json"), False),
        (s3_request("GetObject", S, f"runs/ingest/{source}x/{day}/x.csv.json"), False),
        (s3_request("GetObject", S, f"validated/{source}/date={day}/part.parquet"), False),
        (s3_request("GetObject", S, "site/current"), False),
        (s3_request("ListObjectsV2", S, prefix=f"runs/ingest/{source}/"), True),
        (s3_request("ListObjectsV2", S, prefix=f"runs/ingest/{source}/{day}/"), True),
        (s3_request("ListObjectsV2", S, prefix=f"rejects/{source}/"), True),
        (s3_request("ListObjectsV2", S, prefix=f"runs/ingest/{source}"), False),  # would list siblings too
        (s3_request("ListObjectsV2", S), False),
        (s3_request("ListObjectsV2", S, prefix=""), False),
        (s3_request("ListObjectsV2", S, prefix="runs/"), False),
        (s3_request("ListObjectsV2", S, prefix="runs/ingest/"), False),
        (s3_request("ListObjectsV2", S, prefix="rejects/"), False),
        (s3_request("ListObjectVersions", S, prefix=f"runs/ingest/{source}/"), False),
    ]
    for other in others:
        other_raw = f"raw/{other}/{day}/x.csv"
        cases += [
            (s3_request("PutObject", E, other_raw, if_none_match=True), False),
            (s3_request("CreateMultipartUpload", E, other_raw), False),
            (s3_request("CompleteMultipartUpload", E, other_raw, if_none_match=True), False),
            (s3_request("GetObject", S, f"runs/ingest/{other}/{day}/x.csv.json"), False),
            (s3_request("GetObject", S, f"rejects/{other}/date={day}/rejects.csv"), False),
            (s3_request("ListObjectsV2", S, prefix=f"runs/ingest/{other}/"), False),
            (s3_request("ListObjectsV2", S, prefix=f"rejects/{other}/"), False),
        ]
    return cases


def function_role_cases(role, sources):
    """(request, allowed?) for the functions' roles, from the layout (layout.rs): both read
    raw/ and write validated/, rejects/ and runs/; only nightly writes datasets/ and site/
    and deletes old releases; neither writes raw/ nor deletes anything else."""
    day = "2026-01-31"
    E, S = EVIDENCE, STORE
    # The fan-out's reduce publishes as nightly does but reads no raw/; its plan and tasks
    # validate as ingest does, and also write the partial aggregates (as nightly does).
    nightly = role in ("NightlyRole", "FanOutReduceRole")
    raw = role != "FanOutReduceRole"
    partials = role != "IngestRole"
    cases = [(s3_request("ListObjectsV2", E, prefix="raw/"), raw), (s3_request("ListObjectsV2", S), False)]
    for source in sources:
        raw_key = f"raw/{source}/{day}/x.csv"
        cases += [
            (s3_request("GetObject", E, raw_key), raw),
            (s3_request("GetObjectVersion", E, raw_key), raw),
            (s3_request("ListObjectsV2", E, prefix=f"raw/{source}/{day}/"), raw),
            (s3_request("PutObject", E, raw_key, if_none_match=True), False),
            (s3_request("DeleteObject", E, raw_key), False),
            (s3_request("GetObject", S, f"validated/{source}/date={day}/part.parquet"), True),
            (s3_request("PutObject", S, f"validated/{source}/date={day}/part.parquet"), True),
            (s3_request("PutObject", S, f"validated/{source}/date={day}/manifest.json"), True),
            (s3_request("PutObject", S, f"rejects/{source}/date={day}/rejects.csv"), True),
            (s3_request("PutObject", S, f"runs/ingest/{source}/{day}/x.csv.json"), True),
            (s3_request("ListObjectsV2", S, prefix=f"validated/{source}/"), True),
            (s3_request("DeleteObject", S, f"validated/{source}/date={day}/part.parquet"), False),
        ]
    cases += [
        (s3_request("GetObject", S, "runs/raw-ledger.json"), True),
        (s3_request("PutObject", S, "runs/raw-ledger.json", if_match=True), True),
        (s3_request("PutObject", S, f"runs/{day}/report.json"), True),
        (s3_request("PutObject", S, f"runs/{day}/fanout/exec-1/outcomes/cems/{day}.json"), True),
        (s3_request("PutObject", S, f"partials/cems/date={day}/daily.parquet"), partials),
        (s3_request("GetObject", S, f"partials/cems/date={day}/manifest.json"), partials),
        (s3_request("DeleteObject", S, f"partials/cems/date={day}/daily.parquet"), False),
        (s3_request("PutObject", S, "datasets/catalogue.json"), nightly),
        (s3_request("PutObject", S, "site/current", if_match=True), nightly),
        (s3_request("PutObject", S, "site/releases/2026-01-31-0123456789ab/index.html"), nightly),
        (s3_request("DeleteObject", S, "site/releases/2026-01-30-0123456789ab/index.html"), nightly),
        (s3_request("DeleteObject", S, "site/current"), False),
        # The development signing key (granted when no SigningKeySecretArn is given): only
        # the functions that sign a release, and never deleted.
        (s3_request("GetObject", S, "private/signing/development.key"), nightly),
        (s3_request("PutObject", S, "private/signing/development.key"), nightly),
        (s3_request("DeleteObject", S, "private/signing/development.key"), False),
        (s3_request("GetObject", S, "private/other"), False),
        (s3_request("DeleteObject", S, "datasets/catalogue.json"), False),
        (s3_request("ListObjectsV2", S, prefix="site/releases/"), nightly),
    ]
    # Dated archives are write-once (the store bucket's DenyOverwritingDatasetArchives):
    # nightly creates them with If-None-Match: *, and nothing replaces one.
    archive = f"datasets/cems-daily/archive/{day}/cems-daily.csv"
    revision = f"datasets/cems-daily/archive/{day}/r2/datapackage.json"
    cases += [
        (s3_request("PutObject", S, archive, if_none_match=True), nightly),
        (s3_request("PutObject", S, revision, if_none_match=True), nightly),
        (s3_request("PutObject", S, archive), False),
        (s3_request("PutObject", S, revision), False),
        (s3_request("PutObject", S, archive, if_match=True), False),
        (s3_request("CompleteMultipartUpload", S, archive), False),
        (s3_request("CompleteMultipartUpload", S, archive, if_none_match=True), nightly),
        (s3_request("CopyObject", S, archive, copy_source=f"{S}/datasets/publications/x/cems-daily.csv"), False),
        (s3_request("DeleteObject", S, archive), False),
        (s3_request("GetObject", S, archive), nightly),
        # Beside the archives, datasets/ keeps its ordinary (non-conditional) writes.
        (s3_request("PutObject", S, "datasets/staged", if_match=True), nightly),
        (s3_request("PutObject", S, f"datasets/publications/{day}-0123456789ab/catalogue.json"), nightly),
    ]
    return cases


def access_simulation(c, template, raw_template, repo_root):
    resources = template["Resources"]
    sources = source_slugs(repo_root)
    c.check("source.rs lists the nine sources", [None if len(sources) == 9 and len(set(sources)) == 9
                                                 else f"found {sources}"])
    collections = foreach_collections(raw_template, "ProviderPolicies") + foreach_collections(raw_template, "ProviderPolicyArns")
    c.check(
        "provider policies and their outputs loop over exactly the sources of source.rs",
        [None if len(collections) == 2 else f"{len(collections)} loops found"]
        + [None if col == sources else f"collection {col} != {sources}" for col in collections],
    )
    providers = {}
    for source in sources:
        name = "ProviderPolicy" + re.sub(r"[^0-9A-Za-z]+", "", source)
        res = resources.get(name)
        if res and res.get("Type") == "AWS::IAM::ManagedPolicy":
            providers[source] = res
    outputs = template.get("Outputs", {})
    c.check(
        "one provider policy and one ARN output per source",
        [f"no managed policy for {s}" for s in sources if s not in providers]
        + [f"no output {'ProviderPolicy' + re.sub(r'[^0-9A-Za-z]+', '', s) + 'Arn'}" for s in sources
           if "ProviderPolicy" + re.sub(r"[^0-9A-Za-z]+", "", s) + "Arn" not in outputs],
    )
    leftovers = sorted({s for s in strings(template) if re.search(r"[$&]\{Source\}", s)})
    c.check("no ${Source} left outside Fn::Sub after expanding the loops", [repr(s) for s in leftovers])

    evidence_policy = bucket_statements(resources, "EvidenceBucket")
    store_policy = bucket_statements(resources, "StoreBucket")

    def run(group, statements, cases):
        before = c.failed
        for req, allowed in cases:
            bucket_policy = evidence_policy if f":::{EVIDENCE}" in req["resource"] else store_policy
            try:
                got = evaluate(statements, bucket_policy, req)
            except (UnsupportedPolicy, ValueError) as e:
                c.assertion(f"{group}: {describe(req)}", False, f"cannot evaluate: {e}")
                continue
            want = "allow" if allowed else "denied"
            ok = (got == "allow") == allowed
            c.assertion(f"{group}: {describe(req)}", ok, f"expected {want}, got {got}")
        n = len(cases)
        print(f"{'ok  ' if c.failed == before else 'FAIL'} {group}: {n - (c.failed - before)}/{n} requests as the rule says")

    for source in sources:
        if source in providers:
            doc = providers[source]["Properties"]["PolicyDocument"]
            run(f"provider {source}", identity_statements(doc), provider_cases(source, sources))

    # A provider delivering two sources gets both policies: each adds its own prefix only.
    pair = [s for s in ("msw", "construction-waste") if s in providers]
    if len(pair) == 2:
        both = [s for src in pair for s in identity_statements(providers[src]["Properties"]["PolicyDocument"])]
        third = next(s for s in sources if s not in pair)
        cases = []
        for src in pair:
            key = f"raw/{src}/2026-01-31/x.csv"
            cases += [
                (s3_request("PutObject", EVIDENCE, key, if_none_match=True), True),
                (s3_request("PutObject", EVIDENCE, key), False),
                (s3_request("GetObject", STORE, f"rejects/{src}/date=2026-01-31/rejects.csv"), True),
            ]
        cases += [
            (s3_request("PutObject", EVIDENCE, f"raw/{third}/2026-01-31/x.csv", if_none_match=True), False),
            (s3_request("GetObject", STORE, f"rejects/{third}/date=2026-01-31/rejects.csv"), False),
        ]
        run("provider of msw and construction-waste (both policies)", both, cases)

    # The simulation is not vacuous: weakened copies of a provider policy must fail it.
    if "cems" in providers:
        doc = providers["cems"]["Properties"]["PolicyDocument"]
        weakened = {
            "without conditions and denies": [
                {k: v for k, v in s.items() if k != "Condition"} for s in identity_statements(doc) if s["Effect"] == "Allow"
            ],
            "with raw/* instead of raw/cems/*": [
                {**s, "Resource": [{"Fn::Sub": resolve(r).replace("/raw/cems/", "/raw/")} for r in as_list(s["Resource"])]}
                if "Resource" in s else s
                for s in identity_statements(doc)
            ],
            "reading runs/* instead of runs/ingest/cems/*": [
                {**s, "Resource": [{"Fn::Sub": resolve(r).replace("/runs/ingest/cems/", "/runs/")} for r in as_list(s["Resource"])]}
                if "Resource" in s else s
                for s in identity_statements(doc)
            ],
        }
        for what, statements in weakened.items():
            wrong = [
                req for req, allowed in provider_cases("cems", sources)
                if (evaluate(statements, evidence_policy if f":::{EVIDENCE}" in req["resource"] else store_policy, req)
                    == "allow") != allowed
            ]
            c.assertion(f"the simulation fails the cems policy {what}", bool(wrong), "no request came out wrong")
            if wrong:
                print(f"ok   the simulation fails the cems policy {what} ({len(wrong)} requests wrong)")

    # No other identity policy of the stack may deliver raw data except the operator's.
    other_writers = []
    for name, res in resources.items():
        docs = []
        if res.get("Type") == "AWS::IAM::ManagedPolicy" and name != "OperatorPolicy" and name not in {
            "ProviderPolicy" + re.sub(r"[^0-9A-Za-z]+", "", s) for s in sources
        }:
            docs.append(res["Properties"]["PolicyDocument"])
        if res.get("Type") == "AWS::IAM::Role":
            docs += [p["PolicyDocument"] for p in res["Properties"].get("Policies", [])]
        for doc in docs:
            for source in sources:
                req = s3_request("PutObject", EVIDENCE, f"raw/{source}/2026-01-31/x.csv", if_none_match=True)
                if evaluate(identity_statements(doc), evidence_policy, req) == "allow":
                    other_writers.append(f"{name} can write raw/{source}/")
    c.assertion("only the provider policies and OperatorPolicy can write raw/", not other_writers,
                "; ".join(other_writers))
    if not other_writers:
        print("ok   only the provider policies and OperatorPolicy can write raw/")

    for role in ("IngestRole", "NightlyRole", "FanOutTaskRole", "FanOutReduceRole"):
        statements = [s for p in resources[role]["Properties"]["Policies"] for s in identity_statements(p["PolicyDocument"])]
        run(f"{role} (layout.rs)", statements, function_role_cases(role, sources))


def state_machine_problems(resources):
    """The NightStateMachine: its definition's ${...} all substituted; Plan -> a Distributed
    Map reading its items from S3 (ItemReader), bounded (MaxConcurrency), tolerating no
    failure, writing its results (ResultWriter) -> Reduce; every Lambda task retries
    throttling with backoff; logs delivered; the schedule can target it."""
    machines = {k: v for k, v in resources.items() if v["Type"] == "AWS::StepFunctions::StateMachine"}
    if "NightStateMachine" not in machines:
        return ["no NightStateMachine"]
    props = machines["NightStateMachine"]["Properties"]
    definition = props.get("Definition", {})
    subs = props.get("DefinitionSubstitutions", {})
    problems = []
    used = {m for text in strings(definition) for m in re.findall(r"\$\{([A-Za-z0-9_]+)\}", text)}
    problems += [f"${{{u}}} has no DefinitionSubstitutions entry" for u in sorted(used - set(subs))]
    problems += [f"substitution {u} unused" for u in sorted(set(subs) - used)]
    if not props.get("LoggingConfiguration", {}).get("Destinations"):
        problems.append("no log destination")

    def states(d):
        for name, state in d.get("States", {}).items():
            yield name, state
            if state.get("Type") == "Map":
                yield from states(state.get("ItemProcessor", {}))

    maps = [st for _, st in states(definition) if st.get("Type") == "Map"]
    if len(maps) != 1:
        problems.append(f"{len(maps)} Map states, expected one")
    for m in maps:
        if m.get("ItemProcessor", {}).get("ProcessorConfig", {}).get("Mode") != "DISTRIBUTED":
            problems.append("the Map is not DISTRIBUTED")
        if "ItemReader" not in m:
            problems.append("the Map has no ItemReader")
        if not isinstance(m.get("MaxConcurrency"), int) or not 0 < m["MaxConcurrency"] <= 1000:
            problems.append("the Map's MaxConcurrency is not a bound between 1 and 1000")
        if m.get("ToleratedFailurePercentage") != 0:
            problems.append("the Map tolerates failures")
        if "ResultWriter" not in m:
            problems.append("the Map has no ResultWriter")
    tasks = [(n, st) for n, st in states(definition) if st.get("Type") == "Task"]
    for name, task in tasks:
        throttling = [
            r for r in task.get("Retry", [])
            if "Lambda.TooManyRequestsException" in r.get("ErrorEquals", []) and r.get("BackoffRate", 1) > 1
        ]
        if not throttling:
            problems.append(f"task {name} does not retry Lambda throttling with backoff")
    if [n for n, _ in tasks] != ["Plan", "Task", "Reduce"]:
        problems.append(f"tasks {[n for n, _ in tasks]}, expected Plan, Task (in the map), Reduce")
    schedule = resources.get("NightlySchedule", {}).get("Properties", {})
    if "NightStateMachine" not in str(schedule.get("Target", {}).get("Arn")):
        problems.append("the nightly schedule cannot target the state machine")
    return problems


def main(argv):
    if len(argv) not in (2, 4) or (len(argv) == 4 and argv[2] != "--router"):
        print(__doc__, file=sys.stderr)
        return 2
    path = argv[1]
    text = open(path, encoding="utf-8").read()
    raw_template = yaml.load(text, Loader=CfnLoader)
    c = Checks()
    try:
        template = expand_foreach(raw_template)
    except ValueError as e:
        print(f"FAIL Fn::ForEach: {e}")
        print("passed=0 failed=1")
        return 1
    resources = template["Resources"]

    # --- IAM and resource policies -----------------------------------------------------
    docs = list(policy_documents(resources, "Resources"))
    c.check("policy documents found", [None if len(docs) >= 8 else f"only {len(docs)} found"])
    # Roles that only Step Functions assumes may deliver their logs (Resource "*" actions).
    states_roles = {
        name for name, res in resources.items()
        if res["Type"] == "AWS::IAM::Role"
        and all(
            as_list(st.get("Principal", {}).get("Service")) == ["states.amazonaws.com"]
            for st in res["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        )
    }

    def star_ok(where):
        in_states_role = any(where.startswith(f"Resources.{r}.") for r in states_roles)
        return frozenset(LOG_DELIVERY_STAR_ACTIONS) if in_states_role else frozenset()

    problems = [p for where, stmts in docs for s in stmts for p in statement_problems(where, s, star_ok(where))]
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
                if not re.search(r"\}/(site/releases/|site/errors/|datasets/\*/archive/)\*$", sub):
                    cf_problems.append(f"CloudFront may read {sub!r}")
            if "AWS:SourceArn" not in str(s.get("Condition")):
                cf_problems.append("no AWS:SourceArn condition on the CloudFront grant")
    evidence_grants = [
        s for item in policies["EvidenceBucket"]["Properties"]["PolicyDocument"]["Statement"]
        for s in expand_if(item) if s.get("Effect") == "Allow"
    ]
    if evidence_grants:
        cf_problems.append("the evidence bucket policy grants access")
    c.check("CloudFront reads only the live-release, error-page and dataset-archive paths", cf_problems)

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

    c.check("fan-out night: a distributed map as infra/README.md describes it", state_machine_problems(resources))

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

    # --- who can do what: providers confined, functions' roles match the layout -----------
    evaluator_self_test(c)
    repo_root = os.path.join(os.path.dirname(os.path.abspath(path)), "..")
    access_simulation(c, template, raw_template, repo_root)

    print(f"passed={c.passed} failed={c.failed}")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

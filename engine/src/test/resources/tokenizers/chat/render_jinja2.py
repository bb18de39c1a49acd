#!/usr/bin/env python3
"""Renders chat templates with Python's jinja2 exactly as transformers' apply_chat_template sets it up.

ChatTemplateJinja2Test runs this live (python3 with jinja2, e.g. Debian's python3-jinja2): stdin is a JSON list of
cases {template, messages, add_generation_prompt, bos_token, eos_token, date, tools (optional)}, stdout a JSON list of results, each
{"text": ...} or {"raise": message}. The environment mirrors transformers' _compile_jinja_template:
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True) with loopcontrols, raise_exception raising
TemplateError, strftime_now (here reading the case's fixed date, so that both sides render the same day) and its
tojson filter (ensure_ascii=False).
"""
import datetime
import json
import sys

from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def main():
    cases = json.load(sys.stdin)
    out = []
    for case in cases:
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
        env.filters["tojson"] = tojson
        env.globals["raise_exception"] = raise_exception
        day = datetime.date.fromisoformat(case["date"])
        env.globals["strftime_now"] = lambda fmt, day=day: day.strftime(fmt)
        try:
            extra = {"tools": case["tools"]} if case.get("tools") is not None else {}
            text = env.from_string(case["template"]).render(messages=case["messages"], add_generation_prompt=case["add_generation_prompt"],
                                                            bos_token=case["bos_token"], eos_token=case["eos_token"], **extra)
            out.append({"text": text})
        except TemplateError as e:
            out.append({"raise": e.message})
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Parses dcf files with the parser generated from format-spec/dcf.ksy and prints, for each
file, one line of JSON: {"file": PATH, "dump": STRUCTURE} or {"file": PATH, "error": TEXT}.

    python3 dump.py [--gen DIR] [--lib DIR] [--pretty] FILE...

--gen is where compile.js wrote dcf.py (default .build/gen beside this file), --lib where the
`kaitaistruct` runtime is installed (default .build/pylib beside this file; an installed
runtime is used when that folder does not exist). Exit status 0 when every file parsed, 1 when
one did not, 2 on a usage or setup error.

STRUCTURE is the canonical form that conformance/conformance/kaitai/dump.rs also builds from dcf-parser's view
of the same file; keep the two in step. Everything in it comes from the generated parser: the
string texts are its `entries[i].text`, string references are {"index", "text"} resolved
through them, codes are plain integers, byte strings are lowercase hex.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def load_parser(gen_dir, lib_dir):
    for folder in (lib_dir, gen_dir):
        if folder and os.path.isdir(folder):
            sys.path.insert(0, folder)
    import kaitaistruct  # noqa: E402  (path set above)

    version = getattr(kaitaistruct, "__version__", "?")
    if not version.startswith("0.11"):
        raise RuntimeError(f"kaitaistruct {version} found, 0.11 required")
    from dcf import Dcf  # noqa: E402

    return Dcf


def hexs(data):
    return bytes(data).hex()


def dump(Dcf, data):
    root = Dcf.from_bytes(data)
    # Evaluate every instance (string texts, comparison constants, ...) so that each one's
    # checks run and a lazy failure surfaces here, not half-way through building the output.
    root._fetch_instances()
    if not root._io.is_eof():
        raise ValueError(f"{root._io.size() - root._io.pos()} bytes left after the file's end")

    h = root.header
    body = root.body
    strings = body.strings
    texts = [entry.text for entry in strings.entries]

    def ref(index):
        return {"index": index, "text": texts[index]}

    sections = []
    extensions = []
    for section in body.sections:
        tag = int(section.tag)
        sections.append({"tag": tag, "len": section.len})
        if not section.is_known:
            extensions.append({"tag": tag, "payload": hexs(section.payload)})
    # Every typed payload must have been read to its end.
    for section in body.sections:
        if section.is_known and not section.payload._io.is_eof():
            raise ValueError(f"section {int(section.tag)}: payload not read to its end")

    interface = body.interface
    nodes = []
    for n in body.nodes.nodes:
        node = {"op": int(n.op), "flags": n.flags, "field": n.field, "a": n.a, "b": n.b}
        if n.is_compare:
            node["value"] = n.compare_value
        nodes.append(node)

    return {
        "file_size": len(data),
        "header": {
            "magic": hexs(h.magic),
            "major": h.major,
            "minor": h.minor,
            "flags": h.flags,
            "channel": h.channel,
            "sequence": h.sequence,
            "created_at": h.created_at,
            "expires_at": h.expires_at,
            "sensor_min": [h.sensor_min.major, h.sensor_min.minor, h.sensor_min.patch],
            "sensor_max": [h.sensor_max.major, h.sensor_max.minor, h.sensor_max.patch],
        },
        "sections": sections,
        "strings": {
            "text": texts,
            "ends": [e.value for e in strings.ends],
            "sorted": [e.value for e in strings.sorted],
        },
        "templates": [
            {
                "id": t.id,
                "name": ref(t.name),
                "first_field": t.first_field,
                "field_count": t.field_count,
            }
            for t in interface.templates
        ],
        "fields": [{"name": ref(f.name), "type": int(f.type)} for f in interface.fields],
        "attributes": [
            {"key": ref(a.key), "value": ref(a.value)} for a in body.attributes.attributes
        ],
        "values": [ref(v) for v in body.values.values],
        "rules": [
            {
                "id": hexs(r.id),
                "template": r.template,
                "severity": int(r.severity),
                "action": int(r.action),
                "title": ref(r.title),
                "author": ref(r.author),
                "attr_first": r.attr_first,
                "attr_count": r.attr_count,
                "node_first": r.node_first,
                "node_count": r.node_count,
            }
            for r in body.rules.rules
        ],
        "nodes": nodes,
        "extensions": extensions,
        "digest": hexs(root.digest),
        "signature": (
            {
                "key_id": hexs(root.signature_block.key_id),
                "signature": hexs(root.signature_block.signature),
            }
            if h.is_signed
            else None
        ),
    }


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gen", default=os.path.join(HERE, ".build", "gen"))
    parser.add_argument("--lib", default=os.path.join(HERE, ".build", "pylib"))
    parser.add_argument("--pretty", action="store_true", help="indent the JSON (one document per file)")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    try:
        Dcf = load_parser(args.gen, args.lib)
    except Exception as e:  # noqa: BLE001  (any import failure is a setup error)
        print(f"dump.py: cannot load the generated parser: {type(e).__name__}: {e}", file=sys.stderr)
        return 2

    failed = False
    for path in args.files:
        try:
            with open(path, "rb") as f:
                data = f.read()
            line = {"file": path, "dump": dump(Dcf, data)}
        except Exception as e:  # noqa: BLE001  (report every failure, file by file)
            failed = True
            line = {"file": path, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(line, sort_keys=True, indent=2 if args.pretty else None))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

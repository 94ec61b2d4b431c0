#!/usr/bin/env python3
"""Regenerates the catalog tables of docs/errors.md from the misuse tests.

usage: scripts/gen-errors-doc.py BUILD_DIR [DOC]        (DOC defaults to docs/errors.md)

Runs every misuse test of BUILD_DIR (tests/gpu_misuse*) with MISUSE_LIST=1, which prints each case
as a row ("MISUSE CASE <file> <function> <input> <expected> <log>") before running it, and
rewrites the doc's tables from those rows:

  * A row already in the doc (same function and input; the n-th occurrence for the n-th) is
    rewritten in place from the test: the result column from the expected code, the log column
    from the log check. Where the test compares a plain value (a query's answer), the doc's own
    wording of the result is kept ("returns the default", "returns an empty buffer"): the test
    prints only the C expression it compares with.
  * A new row goes after the last row of its function in its section, or, for a function with
    no row yet, where the header declares it (the order of SEDX_API declarations).
  * The section of a function is the one its rows are in already, else the one named after the
    header that declares it, else the home section of the test file (HOME below). A section
    must exist with its table header ("| function | bad input | result | log line |"); write
    its introduction by hand.
  * Rows of the doc that no test prints are kept and listed on stderr (check them).
  * The counts table of "## The catalog" is recomputed: rows per section, and the share of each
    test file where the table lists several.

Rows of a test that are open bugs (MIS_OPEN_BUG) are marked through OPEN_BUGS below. Run it after
changing a misuse test, then read the diff.
"""
import os
import re
import subprocess
import sys
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE_HEAD = '| function | bad input | result | log line |\n|---|---|---|---|\n'

# Row names of the tests that are not the public name of the function they call.
ALIASES = {'sedx_copy': 'sedx_gpu_copy'}
# Where a test file's rows of functions declared nowhere (or in another header's section, such
# as sedx_context_destroy) go when the doc has no row of that function yet.
HOME = {
    'misuse.c': 'context.h', 'misuse_core.c': 'core.h', 'misuse_memory.c': 'memory.h',
    'misuse_buffer.c': 'buffer.h', 'misuse_transfer.c': 'transfer.h', 'misuse_reserve.c': 'transfer.h',
    'misuse_readback.c': 'transfer.h', 'misuse_frame.c': 'frame.h', 'misuse_image.c': 'image.h',
}
# Functions whose rows follow the test file's topic rather than the header (context teardown
# with something of the layer still outstanding).
BY_FILE = {'sedx_context_destroy'}
# (function, input) -> note appended to the result, for MIS_OPEN_BUG rows.
OPEN_BUGS = {}
# What the counts table says about a test file where a header's rows come from several.
FILE_NOTE = {
    'misuse_reserve.c': 'zero-copy staging', 'misuse_readback.c': 'asynchronous readback',
    'misuse_image.c': 'images', 'misuse_core.c': 'sedx_bytes', 'misuse_transfer.c': '',
}


def esc(s):
    return s.replace('|', '\\|')


def run_tests(build):
    tests = sorted(f for f in os.listdir(os.path.join(build, 'tests')) if f.startswith('gpu_misuse'))
    if not tests:
        sys.exit('no tests/gpu_misuse* in %s: build first' % build)
    rows = []
    for t in tests:
        p = subprocess.run([os.path.join(build, 'tests', t)], capture_output=True, text=True,
                           env=dict(os.environ, MISUSE_LIST='1', SEDX_LOG_LEVEL='error'))
        got = [l.split('\t')[1:] for l in p.stdout.splitlines() if l.startswith('MISUSE CASE\t')]
        if p.returncode != 0:
            print('warning: %s exited with %d (its failing cases are listed all the same)' % (t, p.returncode),
                  file=sys.stderr)
        for f, fn, inp, exp, log in got:
            rows.append({'file': f, 'fn': ALIASES.get(fn, fn), 'input': inp, 'exp': exp, 'log': log})
    return rows


def declarations():
    """function -> header, and each header's functions in declaration order."""
    where, order = {}, defaultdict(list)
    inc = os.path.join(ROOT, 'include', 'sedx')
    for h in sorted(os.listdir(inc)):
        if not h.endswith('.h'):
            continue
        text = open(os.path.join(inc, h)).read()
        names = re.findall(r'SEDX_API[^;{(]*?\b(sedx_\w+)\s*\(', text) + re.findall(r'#define\s+(SEDX_\w+)\(', text)
        for n in names:
            where.setdefault(n, h)
            order[h].append(n)
    return where, order


def render_result(r):
    exp = r['exp']
    if exp.startswith('SEDX_'):
        res = '`%s`' % exp
    elif exp == '(no result)':
        res = '— (no result)'
    else:
        res = 'returns `%s`' % exp
    return res + OPEN_BUGS.get((r['fn'], r['input']), '')


def render_log(log):
    m = re.match(r'(ERROR|WARN) "(.*)"$', log)
    if m:
        return ('ERROR: “%s”' if m.group(1) == 'ERROR' else 'WARN or ERROR: “%s”') % m.group(2)
    return log


def split_row(line):
    """(function, input, result, log) of a table line."""
    cells = re.split(r'(?<!\\) \| ', line.strip()[2:-2])
    if len(cells) != 4:
        return None
    return cells[0].strip('`'), cells[1], cells[2], cells[3]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    build = sys.argv[1]
    doc = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, 'docs', 'errors.md')
    text = open(doc).read()
    rows = run_tests(build)
    where, order = declarations()

    # the doc's sections and their tables
    heads = [(m.group(1), m.start()) for m in re.finditer(r'^### (\S+)\n', text, re.M)]
    sections = {}
    for i, (name, start) in enumerate(heads):
        end = heads[i + 1][1] if i + 1 < len(heads) else len(text)
        body = text[start:end]
        t = body.find(TABLE_HEAD)
        if t < 0:
            continue
        t += len(TABLE_HEAD)
        m = re.compile(r'(?:\|[^\n]*\n)*').match(body, t)
        lines = [l for l in body[t:m.end()].splitlines()]
        sections[name] = {'start': start + t, 'end': start + m.end(), 'lines': lines}

    fn_section = {}
    for name, s in sections.items():
        for l in s['lines']:
            c = split_row(l)
            if c and (c[0] not in BY_FILE or name == 'context.h'):
                fn_section.setdefault(c[0], name)

    def section_of(r):
        if r['fn'] in BY_FILE and HOME.get(r['file']) != 'context.h':
            return HOME[r['file']]
        if r['fn'] in fn_section:
            return fn_section[r['fn']]
        h = where.get(r['fn'])
        return h if h in sections else HOME.get(r['file'])

    per_section = defaultdict(list)
    for r in rows:
        s = section_of(r)
        if s not in sections:
            sys.exit('no "### %s" section with a table for %s (%s): add one' % (s, r['fn'], r['file']))
        per_section[s].append(r)

    counts = {}
    for name, s in sections.items():
        entries = []  # [line, key or None, file or None]
        seen = defaultdict(int)
        index = {}
        for l in s['lines']:
            c = split_row(l)
            key = None
            if c:
                k = (c[0], c[1])
                key = (k, seen[k])
                seen[k] += 1
                index[key] = len(entries)
            entries.append([l, key, None, c])
        tseen = defaultdict(int)
        new = []
        for r in per_section[name]:
            k = (r['fn'], esc(r['input']))
            key = (k, tseen[k])
            tseen[k] += 1
            res, log = render_result(r), render_log(r['log'])
            if key in index:
                e = entries[index[key]]
                old = e[3]
                if not (r['exp'].startswith('SEDX_') or r['exp'] == '(no result)') and old:
                    res = old[2]  # the doc's wording of a plain value
                e[0] = '| `%s` | %s | %s | %s |' % (r['fn'], esc(r['input']), res, esc(log))
                e[2] = r['file']
            else:
                new.append(('| `%s` | %s | %s | %s |' % (r['fn'], esc(r['input']), res, esc(log)), r))
        for e in entries:
            if e[1] is not None and e[2] is None:
                print('%s: row no test prints (kept): %s' % (name, e[0]), file=sys.stderr)
        hdr_order = order.get(name, [])

        def pos_of(fn):
            return hdr_order.index(fn) if fn in hdr_order else None

        for line, r in new:
            fn = r['fn']
            at = None
            for i, e in enumerate(entries):  # after the function's last row
                if e[3] and e[3][0] == fn:
                    at = i + 1
            if at is None and pos_of(fn) is not None:  # where the header declares it
                p = pos_of(fn)
                for i, e in enumerate(entries):
                    q = pos_of(e[3][0]) if e[3] else None
                    if q is not None and q > p:
                        at = i
                        break
                if at is None:
                    last = [i for i, e in enumerate(entries) if e[3] and pos_of(e[3][0]) is not None]
                    at = last[-1] + 1 if last else len(entries)
            if at is None:
                at = len(entries)
            entries.insert(at, [line, None, r['file'], split_row(line)])
        s['lines'] = [e[0] for e in entries]
        files = defaultdict(int)
        for e in entries:
            if e[2]:
                files[e[2]] += 1
        counts[name] = (len([e for e in entries if e[3]]), files)

    # write the tables back, last first so that the offsets hold
    for name, s in sorted(sections.items(), key=lambda kv: -kv[1]['start']):
        text = text[:s['start']] + '\n'.join(s['lines']) + '\n' + text[s['end']:]

    # the counts table
    def count_line(m):
        name, n, cell = m.group(1), m.group(2), m.group(3)
        if name not in counts:
            return m.group(0)
        total, files = counts[name]
        if len(files) > 1:
            main_file = max(files, key=lambda f: (HOME.get(f) == name and not FILE_NOTE.get(f), files[f]))
            parts = ['`tests/gpu/%s` (%d)' % (main_file, files[main_file])]
            for f in sorted(files, key=lambda f: (f != main_file, list(HOME).index(f) if f in HOME else 99)):
                if f != main_file:
                    note = FILE_NOTE.get(f)
                    parts.append('`%s` (%s%d)' % (f, note + ', ' if note else '', files[f]))
            cell = ', '.join(parts)
        return '| `%s` | %d | %s |' % (name, total, cell)

    text = re.sub(r'^\| `([\w.]+\.h)` \| (\d+) \| (.*) \|$', count_line, text, flags=re.M)
    all_rows = sum(c[0] for c in counts.values())
    text = re.sub(r'^\| all \| \d+ \| \|$', '| all | %d | |' % all_rows, text, flags=re.M)
    open(doc, 'w').write(text)
    print('%s: %d rows in %d sections (%d printed by the tests)' % (os.path.relpath(doc), all_rows, len(counts),
                                                                   len(rows)))


if __name__ == '__main__':
    main()
